#include "eval/evaluator.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <thread>

#include <fmt/format.h>

#include "eval/inception.h"
#include "eval/metric_plot.h"
#include "eval/ode_solvers.h"
#include "eval/reference_stats.h"
#include "trainer/core/atomic_file.h"
#include "trainer/core/checksum.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/core/workdir_lock.h"

namespace sgm::eval {
namespace fs = std::filesystem;

struct Evaluator::Detector {
  FidInception net{nullptr};
  ReferenceStats reference;
};

namespace {

std::string hash_of(const std::string& text) {
  return core::hex64(core::fnv1a(text.data(), text.size()));
}

}  // namespace

Evaluator::Evaluator(EvaluationOptions options, dist::Communicator& comm, const at::Device& device)
    : o_(std::move(options)), comm_(comm), device_(device), table_(o_.eval_dir) {
  if (o_.sampling && o_.image_metrics) {
    if (o_.inception_weights.empty())
      throw core::UsageError("eval.inception_weights: FID/IS/KID need the converted detector");
    if (o_.ref_stats.empty())
      throw core::UsageError("eval.ref_stats: FID/KID need reference statistics (sgm-eval stats)");
    detector_ = std::make_unique<Detector>();
    detector_->reference = load_reference_stats(o_.ref_stats);
    detector_->net = load_fid_inception(o_.inception_weights);
    detector_->net->to(device_);
  }
}

Evaluator::~Evaluator() = default;

std::string Evaluator::samples_config() const {
  std::string text = sample_manifest(o_.samples, "", detector_ != nullptr);
  if (detector_) {
    text += fmt::format("ref {} is {} kid {}x{} seed {}", detector_->reference.checksum,
                        o_.metrics.is_splits, o_.metrics.kid_subsets, o_.metrics.kid_subset_size,
                        o_.metrics.kid_seed);
  }
  return hash_of(text);
}

std::string Evaluator::bpd_config() const {
  return hash_of(bpd_manifest(o_.bpd_options, o_.bpd_data, ""));
}

std::string Evaluator::loss_config() const {
  return hash_of(loss_manifest(o_.loss_options, o_.loss_data, ""));
}

bool Evaluator::recorded(std::int64_t step, const std::vector<std::string>& metrics,
                         const std::string& config) {
  bool missing = false;
  if (comm_.rank() == 0)
    for (const std::string& m : metrics) missing = missing || !table_.has(step, m, config);
  return !comm_.any(missing, "recorded");
}

namespace {

std::vector<std::string> sample_metrics(bool detector, bool kid) {
  std::vector<std::string> m{"nfe"};
  if (detector) m.insert(m.end(), {"fid", "is"});
  if (kid) m.push_back("kid");
  return m;
}

}  // namespace

bool Evaluator::complete(std::int64_t step) {
  bool done = true;
  const bool kid = detector_ && detector_->reference.features.defined();
  if (o_.sampling)
    done = recorded(step, sample_metrics(detector_ != nullptr, kid), samples_config()) && done;
  if (o_.bpd) done = recorded(step, {"bpd"}, bpd_config()) && done;
  if (o_.loss) done = recorded(step, {"loss"}, loss_config()) && done;
  return done;
}

bool Evaluator::lock_output(const std::string& dir, std::int64_t step,
                            std::unique_ptr<core::WorkdirLock>& lock) {
  // Rank 0 takes the lock; every rank takes part in each round of the wait (a collective), so
  // none waits in a collective past dist.timeout while another job finishes this checkpoint.
  for (bool waited = false;; waited = true) {
    bool busy = false;
    if (comm_.rank() == 0) {
      fs::create_directories(dir);
      try {
        lock = std::make_unique<core::WorkdirLock>(dir, "sgm-eval", o_.lock_timeout);
      } catch (const core::LockHeld& e) {
        if (!o_.wait_for_busy_output) throw;
        if (!waited) core::log::info("step {}: waiting: {}", step, e.what());
        busy = true;
      }
    }
    if (!comm_.any(busy, "output lock")) {
      if (comm_.rank() == 0) {
        for (const std::string& left : core::remove_staging_leftovers(dir))
          core::log::info("removed {} (left by a killed writer)", left);
      }
      if (!waited) return true;
      if (comm_.rank() == 0) table_.reload();
      if (!complete(step)) return true;
      core::log::info("step {}: recorded by the other job meanwhile", step);
      return false;
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
}

std::vector<ResultRecord> Evaluator::evaluate(const Weights& w) {
  std::vector<ResultRecord> added;
  const fs::path dir = fs::path(o_.eval_dir) / fmt::format("ckpt-{:08d}", w.step);
  std::unique_ptr<core::WorkdirLock> lock;  // this checkpoint's output is ours while we write it
  if (!lock_output(dir.string(), w.step, lock)) return added;  // recorded by another job meanwhile
  const std::string weights_id = w.source + " " + w.checksum;
  std::unique_ptr<EvalNetwork> net;
  auto network = [&]() -> const EvalNetwork& {
    if (!net) net = std::make_unique<EvalNetwork>(make_eval_network(o_.network, w, device_));
    return *net;
  };
  auto record = [&](const std::string& metric, double value, double spread, std::int64_t count,
                    double nfe, const std::string& config, const std::string& protocol,
                    std::map<std::string, std::string> details) {
    ResultRecord r{w.step, metric, value,    spread,   count,
                   nfe,    config, protocol, w.source, std::move(details)};
    table_.add(r);
    added.push_back(r);
    core::log::info("step {}: {} = {:.6g}{} ({})", w.step, metric, value,
                    spread > 0 ? fmt::format(" ± {:.3g}", spread) : "", protocol);
  };
  const models::DataShape& shape = o_.network.shape;
  const std::vector<std::int64_t> sample_shape{shape.num_channels, shape.image_size,
                                               shape.image_size};

  const bool kid = detector_ && detector_->reference.features.defined();
  const std::string samples_dir = o_.samples.task == "sample" ? "samples" : o_.samples.task;
  if (o_.sampling &&
      !recorded(w.step, sample_metrics(detector_ != nullptr, kid), samples_config())) {
    const std::string config = samples_config();
    const SampleSummary s =
        draw_sample_rounds(network(), sample_shape, shape.centered, o_.samples,
                           detector_ ? detector_->net.get() : nullptr, weights_id,
                           (dir / samples_dir).string(), comm_, device_);
    if (comm_.rank() == 0) {
      const SamplingOptions& so = o_.samples.sampling;
      std::string sampler =
          so.method == "ode"
              ? fmt::format("ode {} rtol {} atol {}", so.ode_solver, so.rtol, so.atol)
              : fmt::format("pc {}/{} snr {}", so.predictor, so.corrector, so.snr);
      if (so.method == "ode" && ode_solver(so.ode_solver).edm_schedule)
        sampler = fmt::format("ode {} {} steps rho {}", so.ode_solver, so.edm.steps, so.edm.rho);
      if (o_.samples.task != "sample") sampler = o_.samples.task + ", " + sampler;
      if (!o_.samples.classifier.empty()) {
        sampler += fmt::format(", guided by {} (label {}, scale {})", o_.samples.classifier,
                               o_.samples.class_label, o_.samples.guidance_scale);
      }
      std::map<std::string, std::string> details{{"sampler", sampler},
                                                 {"seed", std::to_string(o_.samples.seed)},
                                                 {"reference_nfe", std::to_string(s.reference_nfe)},
                                                 {"samples", (dir / samples_dir).string()}};
      record("nfe", s.nfe_mean, 0, s.count, s.nfe_mean, config, sampler, details);
      if (detector_) {
        const ImageMetrics m =
            image_metrics((dir / samples_dir).string(), o_.samples.num_samples,
                          o_.samples.batch_size, detector_->reference, o_.metrics);
        const std::string& quantize = o_.samples.quantize;
        details["reference"] = detector_->reference.path;
        details["reference_checksum"] = detector_->reference.checksum;
        details["detector"] = "pt_inception-2015-12-05-6726825d";
        const std::string base = fmt::format("pytorch-fid inception, uint8 {}", quantize);
        record("fid", m.fid, 0, m.count, s.nfe_mean, config, base, details);
        record("is", m.inception_score.mean, m.inception_score.std, m.count, s.nfe_mean, config,
               fmt::format("{}, {} splits", base, std::min(o_.metrics.is_splits, m.count)),
               details);
        if (m.has_kid) {
          details["kid_seed"] = std::to_string(o_.metrics.kid_seed);
          record("kid", m.kid.mean, m.kid.std, m.count, s.nfe_mean, config,
                 fmt::format("{}, {} subsets of {}", base, o_.metrics.kid_subsets,
                             std::min(o_.metrics.kid_subset_size, m.count)),
                 details);
        }
      }
    }
  }
  if (o_.bpd && !recorded(w.step, {"bpd"}, bpd_config())) {
    const BpdSummary b =
        bits_per_dim(network(), o_.bpd_data, shape.centered, o_.bpd_options, weights_id,
                     (dir / ("bpd-" + o_.bpd_split)).string(), comm_, device_);
    if (comm_.rank() == 0) {
      const LikelihoodOptions& l = o_.bpd_options.likelihood;
      record("bpd", b.mean, b.standard_error, b.count, b.nfe_mean, bpd_config(),
             fmt::format("{} split, {} passes, {} x{}, rtol {} atol {}", o_.bpd_split,
                         o_.bpd_options.passes, l.divergence, l.probes, l.rtol, l.atol),
             {{"dataset", o_.bpd_data}, {"seed", std::to_string(o_.bpd_options.seed)}});
    }
  }
  if (o_.loss && !recorded(w.step, {"loss"}, loss_config())) {
    const LossSummary l = evaluation_loss(network(), o_.loss_data, shape.centered, o_.loss_options,
                                          weights_id, (dir / "loss").string(), comm_, device_);
    if (comm_.rank() == 0) {
      record("loss", l.mean, 0, l.count, 0, loss_config(), "continuous DSM, EMA weights",
             {{"dataset", o_.loss_data}, {"seed", std::to_string(o_.loss_options.seed)}});
    }
  }
  if (comm_.rank() == 0 && !added.empty()) plot();
  return added;
}

void Evaluator::plot() const {
  // Per metric: the points of the configuration of its newest record.
  std::map<std::string, std::string> config;
  for (const ResultRecord& r : table_.records()) config[r.metric] = r.config;
  for (const auto& [metric, id] : config) {
    std::vector<std::pair<double, double>> points;
    for (const ResultRecord& r : table_.records())
      if (r.metric == metric && r.config == id && std::isfinite(r.value))
        points.emplace_back(static_cast<double>(r.step), r.value);
    if (points.empty()) continue;
    write_metric_plot((fs::path(o_.eval_dir) / (metric + ".png")).string(), metric, points);
  }
}

}  // namespace sgm::eval

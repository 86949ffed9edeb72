#include "eval/evaluator.h"

#include <algorithm>
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
#include "eval/rounds.h"
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

void Evaluator::set_samples(SampleJobOptions samples, std::string dir_name) {
  o_.samples = std::move(samples);
  samples_dir_name_ = std::move(dir_name);
}

SampleJobOptions Evaluator::sample_set(std::int64_t k) const {
  SampleJobOptions set = o_.samples;
  set.first_index = k * set.num_samples;
  return set;
}

std::string Evaluator::set_config(std::int64_t k) const {
  std::string text = sample_manifest(sample_set(k), "", detector_ != nullptr);
  if (detector_) {
    text += fmt::format("ref {} is {} kid {}x{} seed {}", detector_->reference.checksum,
                        o_.metrics.is_splits, o_.metrics.kid_subsets, o_.metrics.kid_subset_size,
                        o_.metrics.kid_seed);
  }
  return hash_of(text);
}

std::string Evaluator::samples_config() const {
  if (o_.seed_sets <= 1) return set_config(0);
  std::string text = fmt::format("{} seed sets:", o_.seed_sets);
  for (std::int64_t k = 0; k < o_.seed_sets; ++k) text += " " + set_config(k);
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

// The record of the best seed set: lower is better for FID and KID, higher for IS.
std::string best_of(const std::string& metric) {
  return metric == "is" ? "is_max" : metric + "_min";
}

std::vector<std::string> sample_metrics(bool detector, bool kid, std::int64_t sets = 1) {
  std::vector<std::string> m{"nfe"};
  if (detector) m.insert(m.end(), {"fid", "is"});
  if (kid) m.push_back("kid");
  if (sets > 1) {  // the summary also records the best set: min FID and KID, max IS
    for (std::size_t i = 1, n = m.size(); i < n; ++i) m.push_back(best_of(m[i]));
  }
  return m;
}

}  // namespace

bool Evaluator::complete(std::int64_t step) {
  bool done = true;
  const bool kid = detector_ && detector_->reference.features.defined();
  if (o_.sampling)
    done =
        recorded(step, sample_metrics(detector_ != nullptr, kid, o_.seed_sets), samples_config()) &&
        done;
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

void Evaluator::add(const ResultRecord& r, std::vector<ResultRecord>& added) {
  table_.add(r);
  added.push_back(r);
  core::log::info("step {}: {} = {:.6g}{} ({})", r.step, r.metric, r.value,
                  r.spread > 0 ? fmt::format(" ± {:.3g}", r.spread) : "", r.protocol);
}

namespace {

const ResultRecord* find_record(const ResultsTable& table, std::int64_t step,
                                const std::string& metric, const std::string& config) {
  for (const ResultRecord& r : table.records())
    if (r.step == step && r.metric == metric && r.config == config) return &r;
  return nullptr;
}

}  // namespace

std::map<std::string, double> Evaluator::evaluate_set(const Weights& w, std::int64_t k,
                                                      const std::string& dir,
                                                      const EvalNetwork& net,
                                                      std::vector<ResultRecord>& added) {
  const bool kid = detector_ && detector_->reference.features.defined();
  const std::vector<std::string> metrics = sample_metrics(detector_ != nullptr, kid);
  const std::string config = set_config(k);
  const SampleJobOptions set = sample_set(k);
  const std::int64_t sets = o_.seed_sets;
  // Seed set 0 is the single evaluation: its directory and records are those of a run without
  // eval.seed_sets, so either reuses the other's work.
  const std::string name = !samples_dir_name_.empty() ? samples_dir_name_
                           : set.task == "sample"     ? "samples"
                                                      : set.task;
  const std::string samples_dir =
      (fs::path(dir) / (k == 0 ? name : fmt::format("{}-set{}", name, k))).string();
  const std::string of_set =
      sets > 1 ? fmt::format(", seed set {} of {} (samples {}-{})", k + 1, sets, set.first_index,
                             set.first_index + set.num_samples - 1)
               : "";
  if (!recorded(w.step, metrics, config)) {
    const models::DataShape& shape = o_.network.shape;
    const SampleSummary s =
        draw_sample_rounds(net, {shape.num_channels, shape.image_size, shape.image_size},
                           shape.centered, set, detector_ ? detector_->net.get() : nullptr,
                           w.source + " " + w.checksum, samples_dir, comm_, device_);
    if (comm_.rank() == 0) {
      const SamplingOptions& so = set.sampling;
      std::string sampler =
          so.method == "ode"
              ? fmt::format("ode {} rtol {} atol {}", so.ode_solver, so.rtol, so.atol)
              : fmt::format("pc {}/{} snr {}", so.predictor, so.corrector, so.snr);
      if (so.method == "ode" && ode_solver(so.ode_solver).edm_schedule)
        sampler = fmt::format("ode {} {} steps rho {}", so.ode_solver, so.edm.steps, so.edm.rho);
      if (so.method == "ode" && ode_solver(so.ode_solver).few_step)
        sampler = fmt::format("ode {} {} nfe, {} schedule", so.ode_solver, so.multistep.nfe,
                              so.multistep.schedule);
      if (set.task != "sample") sampler = set.task + ", " + sampler;
      if (!set.classifier.empty()) {
        sampler += fmt::format(", guided by {} (label {}, scale {})", set.classifier,
                               set.class_label, set.guidance_scale);
      }
      std::map<std::string, std::string> details{{"sampler", sampler},
                                                 {"seed", std::to_string(set.seed)},
                                                 {"reference_nfe", std::to_string(s.reference_nfe)},
                                                 {"samples", samples_dir}};
      if (sets > 1) {
        details["seed_set"] = std::to_string(k);
        details["first_index"] = std::to_string(set.first_index);
      }
      auto record = [&](const std::string& metric, double value, double spread, std::int64_t count,
                        const std::string& protocol) {
        add({w.step, metric, value, spread, count, s.nfe_mean, config, protocol + of_set, w.source,
             details},
            added);
      };
      record("nfe", s.nfe_mean, 0, s.count, sampler);
      if (detector_) {
        const ImageMetrics m = image_metrics(samples_dir, set.num_samples, set.batch_size,
                                             detector_->reference, o_.metrics);
        details["reference"] = detector_->reference.path;
        details["reference_checksum"] = detector_->reference.checksum;
        details["detector"] = "pt_inception-2015-12-05-6726825d";
        const std::string base = fmt::format("pytorch-fid inception, uint8 {}", set.quantize);
        record("fid", m.fid, 0, m.count, base);
        record("is", m.inception_score.mean, m.inception_score.std, m.count,
               fmt::format("{}, {} splits", base, std::min(o_.metrics.is_splits, m.count)));
        if (m.has_kid) {
          details["kid_seed"] = std::to_string(o_.metrics.kid_seed);
          record("kid", m.kid.mean, m.kid.std, m.count,
                 fmt::format("{}, {} subsets of {}", base, o_.metrics.kid_subsets,
                             std::min(o_.metrics.kid_subset_size, m.count)));
        }
      }
    }
  } else {
    core::log::info("step {}: seed set {} of {} recorded already", w.step, k + 1, sets);
  }
  std::map<std::string, double> values;
  if (comm_.rank() == 0) {
    for (const std::string& metric : metrics) {
      const ResultRecord* r = find_record(table_, w.step, metric, config);
      SGM_CHECK(r != nullptr, "step {}: no {} record of seed set {}", w.step, metric, k);
      values[metric] = r->value;
    }
  }
  return values;
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
    add({w.step, metric, value, spread, count, nfe, config, protocol, w.source, std::move(details)},
        added);
  };
  const models::DataShape& shape = o_.network.shape;

  const bool kid = detector_ && detector_->reference.features.defined();
  if (o_.sampling && !recorded(w.step, sample_metrics(detector_ != nullptr, kid, o_.seed_sets),
                               samples_config())) {
    std::map<std::string, std::vector<double>> per_set;
    for (std::int64_t k = 0; k < o_.seed_sets; ++k) {
      check_stop(comm_);
      for (const auto& [metric, value] : evaluate_set(w, k, dir.string(), network(), added))
        per_set[metric].push_back(value);
    }
    if (o_.seed_sets > 1 && comm_.rank() == 0) {
      // mean, std (n - 1) and best (min FID/KID, max IS) over the sets; protocol and details
      // of set 0.
      const std::int64_t count = o_.seed_sets * o_.samples.num_samples;
      const double nfe = find_record(table_, w.step, "nfe", set_config(0))->nfe;
      for (const std::string& metric : sample_metrics(detector_ != nullptr, kid)) {
        const std::vector<double>& v = per_set.at(metric);
        double mean = 0, var = 0;
        for (double x : v) mean += x / static_cast<double>(v.size());
        for (double x : v) var += (x - mean) * (x - mean) / static_cast<double>(v.size() - 1);
        const double best = metric == "is" ? *std::max_element(v.begin(), v.end())
                                           : *std::min_element(v.begin(), v.end());
        const ResultRecord& first = *find_record(table_, w.step, metric, set_config(0));
        std::string protocol = first.protocol.substr(0, first.protocol.rfind(", seed set 1 of"));
        std::map<std::string, std::string> details = first.details;
        details.erase("seed_set");
        details.erase("first_index");
        details["seed_sets"] = std::to_string(o_.seed_sets);
        std::string values;
        for (double x : v) values += fmt::format("{}{:.6g}", values.empty() ? "" : " ", x);
        details["per_set"] = values;
        details["best"] = fmt::format("{:.10g}", best);
        const std::string over =
            fmt::format(", over {} seed sets of {}", o_.seed_sets, o_.samples.num_samples);
        record(metric, mean, std::sqrt(var), count, nfe, samples_config(),
               protocol + over + ": mean ± std", details);
        if (metric != "nfe") {
          record(best_of(metric), best, 0, o_.samples.num_samples, nfe, samples_config(),
                 protocol + over + (metric == "is" ? ": max" : ": min"), details);
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

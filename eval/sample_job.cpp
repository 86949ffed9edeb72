#include "eval/sample_job.h"

#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "data/image_set.h"
#include "data/numpy_arrays.h"
#include "data/sharded_dataset.h"
#include "eval/classifier_guidance.h"
#include "eval/controllable.h"
#include "eval/dataset_batch.h"
#include "eval/image_features.h"
#include "eval/metrics.h"
#include "eval/ode_solvers.h"
#include "trainer/core/checksum.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"

namespace sgm::eval {
namespace fs = std::filesystem;

namespace {

// The known images of a controllable task (eval/controllable.h), by sample index.
class Condition {
 public:
  Condition(const SampleJobOptions& o, const std::vector<std::int64_t>& shape,
            const at::Device& device)
      : task_(o.task), device_(device), rng_(o.seed) {
    if (task_ == "sample") return;
    if (task_ != "inpaint" && task_ != "colorize") {
      throw core::UsageError(
          fmt::format("eval.task = '{}': expected sample, inpaint or colorize", task_));
    }
    if (o.condition_data.empty())
      throw core::UsageError(fmt::format("eval.data_path: eval.task = {} needs images", task_));
    dataset_ = std::make_unique<data::ShardedDataset>(o.condition_data);
    if (dataset_->channels() != shape[0] || dataset_->height() != shape[1] ||
        dataset_->width() != shape[2]) {
      throw core::UsageError(fmt::format("{}: images are {}x{}x{}, the model's {}x{}x{}",
                                         o.condition_data, dataset_->channels(), dataset_->height(),
                                         dataset_->width(), shape[0], shape[1], shape[2]));
    }
    if (task_ == "colorize" && shape[0] != 3)
      throw core::UsageError("eval.task = colorize needs 3-channel images");
    if (task_ == "inpaint") mask_ = inpainting_mask(o.mask, shape[1], shape[2]).to(device);
  }

  bool active() const { return dataset_ != nullptr; }
  // The constraint of the samples `indices` (image i mod size); none for plain sampling.
  std::optional<Constraint> of(const at::Tensor& indices, bool centered) const {
    if (!dataset_) return std::nullopt;
    const at::Tensor known = dataset_batch(*dataset_, indices.remainder(dataset_->size()), indices,
                                           centered, false, rng_)
                                 .to(device_);
    return task_ == "inpaint" ? inpainting(known, mask_) : colorization(greyscale(known));
  }

 private:
  std::string task_;
  at::Device device_;
  core::CounterRng rng_;
  std::unique_ptr<data::ShardedDataset> dataset_;
  at::Tensor mask_;
};

}  // namespace

std::string sample_manifest(const SampleJobOptions& o, const std::string& weights_id,
                            bool features) {
  const SamplingOptions& s = o.sampling;
  nlohmann::json j = {{"kind", "samples"},
                      {"weights", weights_id},
                      {"seed", o.seed},
                      {"num_samples", o.num_samples},
                      {"batch_size", o.batch_size},
                      {"quantize", o.quantize},
                      {"features", features},
                      {"sampler",
                       {{"method", s.method},
                        {"predictor", s.predictor},
                        {"corrector", s.corrector},
                        {"n_steps_each", s.n_steps_each},
                        {"snr", s.snr},
                        {"noise_removal", s.noise_removal},
                        {"probability_flow", s.probability_flow},
                        {"eps", s.eps},
                        {"paper_order", s.paper_order},
                        {"batch_norms", s.batch_norms},
                        {"ode_solver", s.ode_solver},
                        {"rtol", s.rtol},
                        {"atol", s.atol}}}};
  if (o.first_index != 0) j["first_index"] = o.first_index;  // set 0 keeps earlier manifests
  if (s.steps != 0) j["sampler"]["steps"] = s.steps;         // 0 keeps earlier manifests
  if (o.task != "sample") {
    j["task"] = {{"name", o.task}, {"data", o.condition_data}};
    if (o.task == "inpaint") j["task"]["mask"] = o.mask;
  }
  if (!o.classifier.empty()) {
    j["classifier"] = {{"path", o.classifier},
                       {"checksum", core::hex64(core::file_checksum(o.classifier))},
                       {"label", o.class_label},
                       {"classes", o.num_classes},
                       {"scale", o.guidance_scale}};
  }
  if (s.method == "ode" && ode_solver(s.ode_solver).few_step) {
    j["sampler"]["few_step"] = {{"nfe", s.multistep.nfe},
                                {"schedule", s.multistep.schedule},
                                {"lower_order_final", s.multistep.lower_order_final},
                                {"sigma_min", s.edm.sigma_min},
                                {"sigma_max", s.edm.sigma_max}};
    if (s.multistep.schedule == "edm") j["sampler"]["few_step"]["rho"] = s.edm.rho;
  }
  if (s.method == "ode" && ode_solver(s.ode_solver).edm_schedule) {
    j["sampler"]["edm"] = {{"steps", s.edm.steps},         {"rho", s.edm.rho},
                           {"sigma_min", s.edm.sigma_min}, {"sigma_max", s.edm.sigma_max},
                           {"churn", s.edm.churn},         {"s_min", s.edm.s_min},
                           {"s_max", s.edm.s_max},         {"s_noise", s.edm.s_noise}};
  }
  return j.dump(2) + "\n";
}

SampleSummary draw_sample_rounds(const EvalNetwork& net, const std::vector<std::int64_t>& shape,
                                 bool centered, const SampleJobOptions& o,
                                 FidInceptionImpl* inception, const std::string& weights_id,
                                 const std::string& dir, dist::Communicator& comm,
                                 const at::Device& device) {
  const Condition condition(o, shape, device);
  ClassifierFn classifier;
  if (!o.classifier.empty())
    classifier = load_torchscript_classifier(o.classifier, net.sde, device);
  RoundStore store(dir, sample_manifest(o, weights_id, inception != nullptr), comm);
  // The samplers' levels (sampling.steps); the score stays the model's.
  const std::shared_ptr<const sde::SDE> sampler_sde =
      o.sampling.steps > 0 ? sde::make_sde(sampler_sde_options(net.sde_options, o.sampling.steps))
                           : net.sde;
  const RoundPlan plan{o.num_samples, o.batch_size, "samples", "images"};
  const data::Quantize quantize =
      o.quantize == "round" ? data::Quantize::kRound : data::Quantize::kTruncate;
  // Langevin's batch norms over the whole round, whatever the world size: a sum in float64. A
  // rank without samples in a round runs one stand-in sample that does not count.
  bool stand_in = false;
  const BatchMean round_mean = [&](const at::Tensor& v) {
    const double weight = stand_in ? 0.0 : 1.0;
    at::Tensor s =
        at::stack({v.sum().to(at::kCPU, at::kDouble) * weight,
                   at::scalar_tensor(weight * static_cast<double>(v.size(0)), at::kDouble)});
    comm.all_reduce(s, dist::ReduceOp::kSum, "batch norm").wait();
    return (s[0] / s[1]).to(v.options()).expand({v.size(0)});
  };
  // Collectives inside the sampler: every rank must run it, a stand-in if it has no samples.
  const bool collective = o.sampling.method == "pc" && o.sampling.corrector != "none" &&
                          o.sampling.batch_norms && comm.world_size() > 1;
  store.run(plan, [&](std::int64_t begin, std::int64_t size) {
    const at::Tensor indices =
        at::arange(o.first_index + begin, o.first_index + begin + size, at::kLong);
    std::vector<std::int64_t> image_shape{size, shape[1], shape[2], shape[0]};
    Arrays out{{"indices", indices}};
    at::Tensor images = at::empty(image_shape, at::kByte);
    at::Tensor inputs = at::empty(image_shape, at::kByte);  // controllable tasks
    at::Tensor labels = at::empty({size}, at::kLong);       // classifier guidance
    at::Tensor nfe = at::zeros({size}, at::kLong);
    std::int64_t reference_nfe = 0;
    if (size > 0 || collective) {
      stand_in = size == 0;
      const at::Tensor drawn = stand_in ? at::zeros({1}, at::kLong) : indices;
      const std::optional<Constraint> constraint = condition.of(drawn, centered);
      sde::ScoreFn score = net.score;
      if (classifier) {
        const at::Tensor classes = sample_labels(drawn, o.class_label, o.num_classes);
        score = guided_score(score, classifier, classes.to(device), o.guidance_scale);
        if (size > 0) labels = classes;
      }
      const Samples s = draw_samples(sampler_sde, score, drawn, shape, o.seed, o.sampling, device,
                                     round_mean, constraint ? &*constraint : nullptr);
      if (size > 0) {
        images = data::to_uint8(s.x, centered, quantize);
        nfe = at::tensor(s.nfe, at::kLong);
        // The same conversion as the samples: known pixels come out identical.
        if (constraint)
          inputs = data::to_uint8(visible_input(*constraint, centered), centered, quantize);
      }
      reference_nfe = s.reference_nfe;
    }
    // Every rank stores the same arrays (possibly empty): rank 0 gathers them.
    if (condition.active()) out.emplace_back("inputs", inputs);
    if (classifier) out.emplace_back("labels", labels);
    out.emplace_back("samples", images);
    out.emplace_back("nfe", nfe);
    out.emplace_back("reference_nfe", at::full({size}, reference_nfe, at::kLong));
    if (inception) {
      const InceptionOutput f = inception_features(*inception, images, o.feature_batch, device);
      out.emplace_back("pool3", f.pool3);
      out.emplace_back("logits", f.logits);
    }
    return out;
  });

  SampleSummary summary;
  summary.count = o.num_samples;
  summary.features = inception != nullptr;
  if (comm.rank() == 0) {
    const at::Tensor nfe = concatenate_rounds(dir, plan, "nfe");
    summary.nfe_mean = nfe.to(at::kDouble).mean().item<double>();
    summary.reference_nfe = concatenate_rounds(dir, plan, "reference_nfe").max().item<int64_t>();
    const auto round0 = data::read_numpy_arrays(round_path(dir, 0));
    const std::int64_t n = std::min(o.grid, round0.at("samples").size(0));
    at::Tensor shown = round0.at("samples").narrow(0, 0, n);
    auto columns = static_cast<std::int64_t>(std::ceil(std::sqrt(static_cast<double>(n))));
    if (round0.count("inputs") != 0) {
      // Input and result side by side.
      shown = at::stack({round0.at("inputs").narrow(0, 0, n), shown}, 1).flatten(0, 1);
      columns *= 2;
    }
    if (n > 0) {
      const std::string path = (fs::path(dir) / "grid.png").string();
      data::write_png(path + ".tmp", data::tile_images(shown, columns));
      fs::rename(path + ".tmp", path);
    }
    if (o.image_format == "png") write_sample_pngs(dir, plan);
  }
  return summary;
}

void write_sample_pngs(const std::string& dir, const RoundPlan& plan) {
  const fs::path out = fs::path(dir) / "png";
  fs::create_directories(out);
  std::int64_t written = 0;
  for (std::int64_t r = 0; r < plan.rounds(); ++r) {
    const auto round = data::read_numpy_arrays(round_path(dir, r));
    const at::Tensor& samples = round.at("samples");
    const at::Tensor& indices = round.at("indices");
    for (std::int64_t i = 0; i < samples.size(0); ++i) {
      const fs::path file = out / fmt::format("{:06d}.png", indices[i].item<std::int64_t>());
      if (fs::exists(file)) continue;
      data::write_png(file.string(), samples[i]);
      ++written;
    }
  }
  core::log::info("samples: {} PNGs written to {}", written, out.string());
}

ImageMetrics image_metrics(const std::string& dir, std::int64_t num_samples,
                           std::int64_t batch_size, const ReferenceStats& reference,
                           const ImageMetricOptions& o) {
  const RoundPlan plan{num_samples, batch_size};
  const at::Tensor pool3 = concatenate_rounds(dir, plan, "pool3");
  const at::Tensor logits = concatenate_rounds(dir, plan, "logits");
  if (pool3.size(1) != reference.mu.size(0)) {
    throw core::UsageError(fmt::format("{}: features have {} dimensions, the reference {}",
                                       reference.path, pool3.size(1), reference.mu.size(0)));
  }
  if (pool3.size(0) < 2) throw core::UsageError("FID needs at least 2 samples (eval.num_samples)");
  ImageMetrics m;
  m.count = pool3.size(0);
  m.fid = frechet_distance_of_features(pool3, reference.mu, reference.sigma);
  m.inception_score = inception_score(logits, std::min(o.is_splits, m.count));
  if (reference.features.defined()) {
    const std::int64_t size = std::min({o.kid_subset_size, m.count, reference.features.size(0)});
    m.kid = kernel_inception_distance(
        pool3, reference.features, kid_subset_indices(m.count, o.kid_subsets, size, o.kid_seed),
        kid_subset_indices(reference.features.size(0), o.kid_subsets, size, o.kid_seed + 1));
    m.has_kid = true;
  }
  return m;
}

}  // namespace sgm::eval

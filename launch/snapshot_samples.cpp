#include "launch/snapshot_samples.h"

#include <filesystem>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "data/image_grid.h"
#include "data/image_set.h"
#include "eval/sampling.h"
#include "trainer/core/log.h"
#include "trainer/sde/registry.h"
#include "trainer/sde/score_fn.h"

namespace sgm::launch {
namespace fs = std::filesystem;

SnapshotSampler snapshot_sampler(const cli::Config& c, const std::string& workdir) {
  const train::TrainOptions& t = c.train;
  const eval::SamplingOptions sampling = c.eval.samples.sampling;
  // The grid's levels: training.snapshot_sample_steps, else sampling.steps, else the model's;
  // the score comes from the model's own SDE (its labels).
  const std::int64_t steps = c.snapshots.steps > 0 ? c.snapshots.steps : sampling.steps;
  const std::shared_ptr<const sde::SDE> sde =
      sde::make_sde(eval::sampler_sde_options(t.sde, steps));
  const std::shared_ptr<const sde::SDE> model_sde = sde::make_sde(t.sde);
  eval::validate(sampling, t.sde.name);
  const models::DataShape shape = t.shape;
  const std::int64_t count = c.eval.samples.grid;
  const bool continuous = t.sde.continuous;
  const auto seed = static_cast<std::uint64_t>(t.seed);
  const fs::path dir = fs::path(workdir) / "samples";
  return [=](std::int64_t step, models::ScoreModel& model) {
    const at::Device device = model.parameters().front().device();
    const sde::ModelFn net = [&model](const at::Tensor& x, const at::Tensor& labels) {
      return model.forward(x, labels);
    };
    const at::NoGradGuard no_grad;
    const eval::Samples samples = eval::draw_samples(
        sde, sde::get_score_fn(model_sde, net, continuous), at::arange(count, at::kLong),
        {shape.num_channels, shape.image_size, shape.image_size}, seed, sampling, device);
    fs::create_directories(dir);
    const std::string path = (dir / fmt::format("snapshot-{:08d}.png", step)).string();
    data::write_png(
        path + ".tmp",
        data::tile_images(data::to_uint8(samples.x, shape.centered, data::Quantize::kRound), 8));
    fs::rename(path + ".tmp", path);
    core::log::info("samples: {}", path);
  };
}

}  // namespace sgm::launch

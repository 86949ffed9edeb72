#include "launch/snapshot_samples.h"

#include <filesystem>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "data/image_grid.h"
#include "data/image_set.h"
#include "eval/sampling.h"
#include "launch/eval_setup.h"
#include "trainer/core/log.h"
#include "trainer/sde/registry.h"
#include "trainer/sde/score_fn.h"

namespace sgm::launch {
namespace fs = std::filesystem;

SnapshotSampler snapshot_sampler(const cli::Config& c, const std::string& workdir) {
  sde::SdeOptions so = cli::sde_options(c);
  if (c.training.snapshot_sample_steps > 0) so.num_scales = c.training.snapshot_sample_steps;
  const std::shared_ptr<const sde::SDE> sde = sde::make_sde(so);
  const eval::SamplingOptions sampling = sampling_options(c.sampling);
  eval::validate(sampling, c.training.sde);
  const models::DataShape shape = cli::data_shape(c);
  const std::int64_t count = c.eval.grid;
  const bool continuous = c.training.continuous;
  const auto seed = static_cast<std::uint64_t>(c.seed);
  const fs::path dir = fs::path(workdir) / "samples";
  return [=](std::int64_t step, models::ScoreModel& model) {
    const at::Device device = model.parameters().front().device();
    const sde::ModelFn net = [&model](const at::Tensor& x, const at::Tensor& labels) {
      return model.forward(x, labels);
    };
    const at::NoGradGuard no_grad;
    const eval::Samples samples = eval::draw_samples(
        sde, sde::get_score_fn(sde, net, continuous), at::arange(count, at::kLong),
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

#include "trainer/train/snapshot_sampler.h"

#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "trainer/core/error.h"
#include "trainer/core/rng.h"

namespace sgm::train {

at::Tensor sample_reverse_sde(std::shared_ptr<const sde::SDE> sde, const sde::ScoreFn& score,
                              std::int64_t count, at::IntArrayRef shape, std::int64_t steps,
                              std::uint64_t seed, const at::Device& device) {
  SGM_CHECK(steps >= 1 && count >= 1, "sample_reverse_sde: {} steps, {} samples", steps, count);
  at::NoGradGuard no_grad;
  const core::CounterRng rng(seed);
  std::vector<std::int64_t> full{count};
  full.insert(full.end(), shape.begin(), shape.end());
  const std::int64_t D = at::IntArrayRef(shape).size() ? c10::multiply_integers(shape) : 1;
  auto noise = [&](std::int64_t step) {
    const at::Tensor index = at::arange(step * count, (step + 1) * count, at::kLong);
    return rng.normal(index, D, core::RngStream::kSampler).view(full).to(device);
  };
  const std::shared_ptr<sde::ReverseSDE> reverse = sde->reverse(score, false);
  at::Tensor x = sde->prior_sampling(noise(0));
  at::Tensor mean = x;
  const double eps = 1e-3;
  const double dt = -(sde->T() - eps) / static_cast<double>(steps);
  for (std::int64_t i = 0; i < steps; ++i) {
    const double t =
        sde->T() - static_cast<double>(i) * (sde->T() - eps) / static_cast<double>(steps);
    const at::Tensor vec_t = at::full({count}, t, at::TensorOptions().device(device));
    const sde::DriftDiffusion dd = reverse->sde(x, vec_t);
    mean = x + dd.drift * dt;
    x = mean + sde::batch_view(dd.diffusion, x) * std::sqrt(-dt) * noise(i + 1);
  }
  return mean;
}

}  // namespace sgm::train

#include "trainer/sde/training_loss.h"

#include <ATen/ATen.h>

#include "trainer/core/error.h"
#include "trainer/sde/losses.h"

namespace sgm::sde {

TrainingLoss make_training_loss(std::shared_ptr<const SDE> sde, bool continuous,
                                const TrainingLossOptions& o, const core::CounterRng& rng) {
  if (continuous) {
    return [sde, o, rng](const ModelFn& net, const at::Tensor& x, const at::Tensor& z,
                         const at::Tensor& positions) {
      const at::Tensor u = rng.uniform(positions, 1, core::RngStream::kTime).view({-1});
      const at::Tensor t = training_time(u.to(x.device()), *sde);
      return sde_loss(*sde, get_score_fn(sde, net, true), x, t, z, o.reduce_mean,
                      o.likelihood_weighting);
    };
  }
  const auto labels = [sde, rng](const at::Tensor& positions, const at::Device& device) {
    return rng.words(positions, 1, core::RngStream::kLabel)
        .view({-1})
        .remainder(sde->N())
        .to(device);
  };
  if (!sde->has_discrete_form())
    throw core::UsageError("training.continuous = false needs vesde (SMLD) or vpsde (DDPM)");
  // SMLD for VE, DDPM for VP.
  return [sde, o, labels](const ModelFn& net, const at::Tensor& x, const at::Tensor& z,
                          const at::Tensor& positions) {
    return sde->discrete_loss(net, x, labels(positions, x.device()), z, o.reduce_mean);
  };
}

}  // namespace sgm::sde

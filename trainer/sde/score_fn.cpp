#define TORCH_ASSERT_ONLY_METHOD_OPERATORS
#include "trainer/sde/score_fn.h"

namespace sgm::sde {

at::Tensor network_labels(const SDE& sde, const at::Tensor& t, bool continuous) {
  return sde.network_labels(t, continuous);
}

ScoreFn get_score_fn(std::shared_ptr<const SDE> sde, ModelFn net, bool continuous) {
  return [sde, net, continuous](const at::Tensor& x, const at::Tensor& t) {
    const at::Tensor labels = sde->network_labels(t, continuous);
    const at::Tensor out = net(x, labels);
    const at::Tensor std = sde->noise_std(x, t, labels, continuous);
    if (!std.defined()) return out;  // VE: the network outputs the score
    return out.neg().div(batch_view(std, x));
  };
}

}  // namespace sgm::sde

#define TORCH_ASSERT_ONLY_METHOD_OPERATORS
#include "trainer/sde/score_fn.h"

#include <ATen/ops/zeros_like.h>

#include "trainer/core/error.h"
#include "trainer/sde/vesde.h"
#include "trainer/sde/vpsde.h"

namespace sgm::sde {

at::Tensor network_labels(const SDE& sde, const at::Tensor& t, bool continuous) {
  const double n_minus_1 = static_cast<double>(sde.N() - 1);
  if (dynamic_cast<const SubVPSDE*>(&sde) != nullptr) return t.mul(999.0);
  if (dynamic_cast<const VPSDE*>(&sde) != nullptr) return continuous ? t.mul(999.0) : t.mul(n_minus_1);
  if (dynamic_cast<const VESDE*>(&sde) != nullptr) {
    if (continuous) return sde.marginal_prob(t, t).std;
    return t.neg().add(sde.T()).mul(n_minus_1).round().to(at::kLong);
  }
  throw core::Error("network_labels: unknown SDE type");
}

ScoreFn get_score_fn(std::shared_ptr<const SDE> sde, ModelFn net, bool continuous) {
  const SDE* raw = sde.get();
  if (dynamic_cast<const VESDE*>(raw) != nullptr) {
    return [sde, net, continuous](const at::Tensor& x, const at::Tensor& t) {
      return net(x, network_labels(*sde, t, continuous));
    };
  }
  const auto* vp = dynamic_cast<const VPSDE*>(raw);
  const bool subvp = dynamic_cast<const SubVPSDE*>(raw) != nullptr;
  SGM_CHECK(vp != nullptr || subvp, "get_score_fn: SDE class not recognised");
  return [sde, net, continuous, vp, subvp](const at::Tensor& x, const at::Tensor& t) {
    at::Tensor labels = network_labels(*sde, t, continuous);
    at::Tensor out = net(x, labels);
    at::Tensor std;
    if (continuous || subvp) {
      std = sde->marginal_prob(at::zeros_like(x), t).std;
    } else {
      at::Tensor i = labels.to(at::kLong).to(vp->sqrt_1m_alphas_cumprod().device());
      std = vp->sqrt_1m_alphas_cumprod().index_select(0, i).to(x.device());
    }
    return out.neg().div(batch_view(std, x));
  };
}

}  // namespace sgm::sde

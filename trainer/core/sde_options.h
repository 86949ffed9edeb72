// The noise process of a run: which SDE, its noise levels, and whether time is continuous. The
// SDEs (trainer/sde) and the networks (trainer/models: the `sigmas` buffer, time labels, the
// analytic scores) both read it, so it lives below both. Defaults: score_sde's
// ve/cifar10_ncsnpp_continuous.
#pragma once

#include <cstdint>
#include <string>

#include "trainer/core/keys.h"

namespace sgm::core {

struct SdeOptions {
  std::string name = "vesde";
  double sigma_min = 0.01;
  double sigma_max = 50.0;
  double beta_min = 0.1;
  double beta_max = 20.0;
  std::int64_t num_scales = 1000;
  bool continuous = true;

  void declare_keys(Keys& k) {
    k("training.sde", name, "vesde | vpsde | subvpsde");
    k("training.continuous", continuous,
      "continuous-time training (t ~ U(eps, 1)) instead of discrete noise levels");
    k("model.sigma_min", sigma_min, "VE: smallest noise scale");
    k("model.sigma_max", sigma_max, "VE: largest noise scale");
    k("model.num_scales", num_scales, "number of discrete noise levels N");
    k("model.beta_min", beta_min, "VP/subVP: beta(0)");
    k("model.beta_max", beta_max, "VP/subVP: beta(1)");
  }
};

}  // namespace sgm::core

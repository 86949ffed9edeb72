// The noise process of a run: which SDE, its noise levels, and whether time is continuous. The
// SDEs (trainer/sde) and the networks (trainer/models: the `sigmas` buffer, time labels, the
// analytic scores) both read it, so it lives below both. Defaults: score_sde's
// ve/cifar10_ncsnpp_continuous. The keys are declared by the SDE library
// (sde::declare_keys in trainer/sde/registry.h) next to the SDE registry.
#pragma once

#include <cstdint>
#include <string>

namespace sgm::core {

struct SdeOptions {
  std::string name = "vesde";
  double sigma_min = 0.01;
  double sigma_max = 50.0;
  double beta_min = 0.1;
  double beta_max = 20.0;
  std::int64_t num_scales = 1000;
  bool continuous = true;
};

}  // namespace sgm::core

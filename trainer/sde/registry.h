// The SDE factory: one place that maps training.sde to a class (score_sde selects the SDE
// twice, in run_lib and in the losses; here it is chosen once and passed down).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "trainer/sde/sde.h"

namespace sgm::sde {

// What the SDEs consume; filled from training.sde and model.{sigma,beta}_{min,max}, num_scales.
struct SdeOptions {
  std::string name = "vesde";  // vesde | vpsde | subvpsde
  double sigma_min = 0.01;
  double sigma_max = 50.0;
  double beta_min = 0.1;
  double beta_max = 20.0;
  std::int64_t num_scales = 1000;
};

std::shared_ptr<SDE> make_sde(const SdeOptions& options);

}  // namespace sgm::sde

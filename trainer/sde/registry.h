// The SDE factory: one place that maps training.sde to a class (score_sde selects the SDE
// twice, in run_lib and in the losses; here it is chosen once and passed down).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "trainer/core/sde_options.h"
#include "trainer/sde/sde.h"

namespace sgm::sde {

// training.sde and model.{sigma,beta}_{min,max}, num_scales (declared in core, where the
// networks can read them too).
using SdeOptions = core::SdeOptions;

std::shared_ptr<SDE> make_sde(const SdeOptions& options);

}  // namespace sgm::sde

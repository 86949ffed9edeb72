#include "trainer/sde/registry.h"

#include "trainer/core/error.h"
#include "trainer/sde/vesde.h"
#include "trainer/sde/vpsde.h"

namespace sgm::sde {

std::shared_ptr<SDE> make_sde(const SdeOptions& o) {
  if (o.name == "vesde") return std::make_shared<VESDE>(o.sigma_min, o.sigma_max, o.num_scales);
  if (o.name == "vpsde") return std::make_shared<VPSDE>(o.beta_min, o.beta_max, o.num_scales);
  if (o.name == "subvpsde") return std::make_shared<SubVPSDE>(o.beta_min, o.beta_max, o.num_scales);
  throw core::UsageError("training.sde: '" + o.name + "' is not one of vesde, vpsde, subvpsde");
}

}  // namespace sgm::sde

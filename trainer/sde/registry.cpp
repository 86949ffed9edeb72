#include "trainer/sde/registry.h"

#include "trainer/core/key_checks.h"
#include "trainer/sde/vesde.h"
#include "trainer/sde/vpsde.h"

namespace sgm::sde {

const std::vector<SdeEntry>& sde_registry() {
  static const std::vector<SdeEntry> table = {
      {"vesde", "variance exploding (SMLD; model.sigma_min/max)",
       [](const SdeOptions& o) {
         return std::make_shared<VESDE>(o.sigma_min, o.sigma_max, o.num_scales);
       }},
      {"vpsde", "variance preserving (DDPM; model.beta_min/max)",
       [](const SdeOptions& o) {
         return std::make_shared<VPSDE>(o.beta_min, o.beta_max, o.num_scales);
       }},
      {"subvpsde", "sub-variance preserving (model.beta_min/max; no discrete form)",
       [](const SdeOptions& o) {
         return std::make_shared<SubVPSDE>(o.beta_min, o.beta_max, o.num_scales);
       }},
  };
  return table;
}

std::shared_ptr<SDE> make_sde(const SdeOptions& o) {
  return core::registered("training.sde", o.name, sde_registry()).make(o);
}

void declare_keys(SdeOptions& o, core::Keys& k) {
  k("training.sde", o.name, core::entry_names(sde_registry()));
  k("training.continuous", o.continuous,
    "continuous-time training (t ~ U(eps, 1)) instead of discrete noise levels");
  k("model.sigma_min", o.sigma_min, "VE: smallest noise scale");
  k("model.sigma_max", o.sigma_max, "VE: largest noise scale");
  k("model.num_scales", o.num_scales, "number of discrete noise levels N");
  k("model.beta_min", o.beta_min, "VP/subVP: beta(0)");
  k("model.beta_max", o.beta_max, "VP/subVP: beta(1)");
}

}  // namespace sgm::sde

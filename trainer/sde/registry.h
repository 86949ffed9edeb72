// The SDE registry: training.sde -> how to build the process, with a one-line description.
// make_sde, the validator and --help all read this one table (score_sde selects the SDE twice,
// in run_lib and in the losses; here it is chosen once and passed down).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "trainer/core/keys.h"
#include "trainer/core/sde_options.h"
#include "trainer/sde/sde.h"

namespace sgm::sde {

// training.sde and model.{sigma,beta}_{min,max}, num_scales (held in core, where the networks
// can read them too; declared here, where the SDEs are).
using SdeOptions = core::SdeOptions;

struct SdeEntry {
  std::string name;  // training.sde
  std::string help;  // one line
  std::function<std::shared_ptr<SDE>(const SdeOptions&)> make;
};

const std::vector<SdeEntry>& sde_registry();

// Throws core::UsageError naming training.sde when the name is not in the registry.
std::shared_ptr<SDE> make_sde(const SdeOptions& options);

// The keys of SdeOptions.
void declare_keys(SdeOptions& options, core::Keys& keys);

}  // namespace sgm::sde

// The model registry: model.name -> how to build the network, with a one-line description. The
// factory, the validator and --help all read this one table (no static self-registration), as
// score_sde's models/utils.py::create_model but with typed options.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "trainer/core/sde_options.h"
#include "trainer/models/options.h"
#include "trainer/models/score_model.h"

namespace sgm::models {

struct ModelEntry {
  std::string name;  // model.name
  std::string help;  // one line
  bool classes;      // takes class labels (model.num_classes > 0)
  std::function<std::shared_ptr<ScoreModel>(const ModelOptions&, const DataShape&,
                                            const core::SdeOptions&)>
      make;
};

const std::vector<ModelEntry>& model_registry();

// core::UsageError naming model.name when the name is not in the registry, and naming
// model.num_classes when it is negative, or > 0 for a network that takes no classes (what
// make_model checks first; sgm-train asks before it writes anything).
void check_model_options(const ModelOptions& options);

std::shared_ptr<ScoreModel> make_model(const ModelOptions& options, const DataShape& data,
                                       const core::SdeOptions& sde);

}  // namespace sgm::models

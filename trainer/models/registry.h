// The model factory: model.name -> a ScoreModel, built inside one function (no static
// self-registration), as score_sde's models/utils.py::create_model but with typed options.
#pragma once

#include <memory>

#include "trainer/models/options.h"
#include "trainer/models/score_model.h"

namespace sgm::models {

std::shared_ptr<ScoreModel> make_model(const ModelOptions& options, const DataShape& data);

}  // namespace sgm::models

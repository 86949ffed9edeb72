#include "trainer/models/registry.h"

#include "trainer/core/error.h"
#include "trainer/core/registry.h"
#include "trainer/models/analytic.h"
#include "trainer/models/ddpm.h"
#include "trainer/models/mlp.h"
#include "trainer/models/ncsnpp.h"
#include "trainer/models/ncsnv2.h"

namespace sgm::models {
namespace {

template <typename Model>
ModelEntry entry(const char* name, const char* help) {
  return {name, help, [](const ModelOptions& o, const DataShape& d, const core::SdeOptions& s) {
            return std::static_pointer_cast<ScoreModel>(std::make_shared<Model>(o, d, s));
          }};
}

}  // namespace

const std::vector<ModelEntry>& model_registry() {
  static const std::vector<ModelEntry> table = {
      entry<NCSNpp>("ncsnpp", "NCSN++ / DDPM++ U-Net (score_sde's ncsnpp)"),
      entry<DDPM>("ddpm", "DDPM U-Net (score_sde's ddpm)"),
      entry<NCSNv2>("ncsnv2_64", "NCSNv2 RefineNet for 64x64 and smaller (score_sde's ncsnv2_64)"),
      entry<NCSNv2>("ncsnv2_128", "NCSNv2 RefineNet for 128x128 (score_sde's ncsnv2_128)"),
      entry<NCSNv2>("ncsnv2_256", "NCSNv2 RefineNet for 256x256 (score_sde's ncsnv2_256)"),
      entry<GaussianMixtureScore>("gaussian",
                                  "analytic score of a Gaussian mixture (model.gaussian_*)"),
      entry<MlpScore>("mlp", "small residual MLP for low-dimensional data"),
  };
  return table;
}

std::string model_names() { return core::entry_names(model_registry()); }

std::shared_ptr<ScoreModel> make_model(const ModelOptions& options, const DataShape& data,
                                       const core::SdeOptions& sde) {
  if (const ModelEntry* e = core::find_entry(model_registry(), options.name))
    return e->make(options, data, sde);
  throw core::UsageError("model.name: '" + options.name +
                         "' is not a model of this build (available: " + model_names() + ")");
}

}  // namespace sgm::models

#include "trainer/models/registry.h"

#include "trainer/core/error.h"
#include "trainer/models/analytic.h"
#include "trainer/models/ddpm.h"
#include "trainer/models/mlp.h"
#include "trainer/models/ncsnpp.h"
#include "trainer/models/ncsnv2.h"

namespace sgm::models {

std::shared_ptr<ScoreModel> make_model(const ModelOptions& options, const DataShape& data) {
  if (options.name == "ncsnpp") return std::make_shared<NCSNpp>(options, data);
  if (options.name == "ddpm") return std::make_shared<DDPM>(options, data);
  if (options.name.rfind("ncsnv2_", 0) == 0) return std::make_shared<NCSNv2>(options, data);
  if (options.name == "gaussian") return std::make_shared<GaussianMixtureScore>(options, data);
  if (options.name == "mlp") return std::make_shared<MlpScore>(options, data);
  throw core::UsageError("model.name: '" + options.name +
                         "' is not a model of this build (available: ncsnpp, ddpm, ncsnv2_64, "
                         "ncsnv2_128, ncsnv2_256, gaussian, mlp)");
}

}  // namespace sgm::models

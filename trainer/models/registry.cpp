#include "trainer/models/registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "trainer/core/error.h"
#include "trainer/core/registry.h"
#include "trainer/models/analytic.h"
#include "trainer/models/ddpm.h"
#include "trainer/models/dropout.h"
#include "trainer/models/mlp.h"
#include "trainer/models/ncsn.h"
#include "trainer/models/ncsnpp.h"
#include "trainer/models/ncsnv2.h"

namespace sgm::models {
namespace {

// Each network gets its own options, built here from [model], [data] and the run's SDE.

// What NCSN++ and DDPM share: the U-Net's skeleton and the `sigmas` buffer.
template <typename Options>
Options unet_options(const ModelOptions& m, const DataShape& d, const core::SdeOptions& s) {
  return Options(d.num_channels, d.image_size)
      .centered(d.centered)
      .nf(m.nf)
      .ch_mult(m.ch_mult)
      .num_res_blocks(m.num_res_blocks)
      .attn_resolutions(m.attn_resolutions)
      .dropout(m.dropout)
      .nonlinearity(m.nonlinearity)
      .resamp_with_conv(m.resamp_with_conv)
      .conditional(m.conditional)
      .num_classes(m.num_classes)
      .fir_kernel(m.fir_kernel)
      .scale_by_sigma(m.scale_by_sigma)
      .sigma_min(s.sigma_min)
      .sigma_max(s.sigma_max)
      .num_scales(s.num_scales);
}

NCSNppOptions ncsnpp_options(const ModelOptions& m, const DataShape& d, const core::SdeOptions& s) {
  NCSNppOptions o = unet_options<NCSNppOptions>(m, d, s);
  o.fir(m.fir)
      .skip_rescale(m.skip_rescale)
      .resblock_type(m.resblock_type)
      .progressive(m.progressive)
      .progressive_input(m.progressive_input)
      .progressive_combine(m.progressive_combine)
      .embedding_type(m.embedding_type)
      .init_scale(m.init_scale)
      .fourier_scale(m.fourier_scale)
      .continuous(s.continuous);
  return o;
}

DDPMOptions ddpm_options(const ModelOptions& m, const DataShape& d, const core::SdeOptions& s) {
  return unet_options<DDPMOptions>(m, d, s);
}

NCSNv2Options ncsnv2_options(const ModelOptions& m, const DataShape& d, const core::SdeOptions& s) {
  return NCSNv2Options(d.num_channels, d.image_size)
      .centered(d.centered)
      .architecture(m.name)
      .nf(m.nf)
      .normalization(m.normalization)
      .nonlinearity(m.nonlinearity)
      .sigma_min(s.sigma_min)
      .sigma_max(s.sigma_max)
      .num_scales(s.num_scales);
}

NCSNOptions ncsn_options(const ModelOptions& m, const DataShape& d, const core::SdeOptions& s) {
  return NCSNOptions(d.num_channels, d.image_size)
      .centered(d.centered)
      .nf(m.nf)
      .normalization(m.normalization)
      .nonlinearity(m.nonlinearity)
      .num_classes(s.num_scales);
}

MlpOptions mlp_options(const ModelOptions& m, const DataShape& d, const core::SdeOptions& s) {
  return MlpOptions(d.num_channels, d.image_size)
      .nf(m.nf)
      .num_res_blocks(m.num_res_blocks)
      .nonlinearity(m.nonlinearity)
      .embedding_type(m.embedding_type)
      .fourier_scale(m.fourier_scale)
      .scale_by_sigma(m.scale_by_sigma)
      .continuous(s.continuous)
      .num_classes(m.num_classes);
}

GaussianMixtureOptions gaussian_options(const ModelOptions& m, const DataShape&,
                                        const core::SdeOptions& s) {
  return GaussianMixtureOptions()
      .mean(m.gaussian_mean)
      .std(m.gaussian_std)
      .weight(m.gaussian_weight)
      .sde(s);
}

enum class Classes { kNo, kYes };

template <typename Model, typename Options>
ModelEntry entry(const char* name, const char* help, Classes classes,
                 Options (*options)(const ModelOptions&, const DataShape&,
                                    const core::SdeOptions&)) {
  return {name, help, classes == Classes::kYes,
          [options](const ModelOptions& m, const DataShape& d, const core::SdeOptions& s) {
            return std::static_pointer_cast<ScoreModel>(std::make_shared<Model>(options(m, d, s)));
          }};
}

}  // namespace

const std::vector<ModelEntry>& model_registry() {
  static const std::vector<ModelEntry> table = {
      entry<NCSNpp>("ncsnpp", "NCSN++ / DDPM++ U-Net (score_sde's ncsnpp)", Classes::kYes,
                    ncsnpp_options),
      entry<DDPM>("ddpm", "DDPM U-Net (score_sde's ddpm)", Classes::kYes, ddpm_options),
      entry<NCSN>("ncsn",
                  "NCSN RefineNet with dilations and conditional InstanceNorm++, one class per "
                  "noise level (score_sde's ncsn, repaired)",
                  Classes::kNo, ncsn_options),
      entry<NCSNv2>("ncsnv2_64", "NCSNv2 RefineNet for 64x64 and smaller (score_sde's ncsnv2_64)",
                    Classes::kNo, ncsnv2_options),
      entry<NCSNv2>("ncsnv2_128", "NCSNv2 RefineNet for 128x128 (score_sde's ncsnv2_128)",
                    Classes::kNo, ncsnv2_options),
      entry<NCSNv2>("ncsnv2_256", "NCSNv2 RefineNet for 256x256 (score_sde's ncsnv2_256)",
                    Classes::kNo, ncsnv2_options),
      entry<GaussianMixtureScore>("gaussian",
                                  "analytic score of a Gaussian mixture (model.gaussian_*)",
                                  Classes::kNo, gaussian_options),
      entry<MlpScore>("mlp", "small residual MLP for low-dimensional data", Classes::kYes,
                      mlp_options),
  };
  return table;
}

std::string model_names() { return core::entry_names(model_registry()); }

void check_model_options(const ModelOptions& options) {
  const ModelEntry* e = core::find_entry(model_registry(), options.name);
  if (e == nullptr)
    throw core::UsageError("model.name: '" + options.name +
                           "' is not a model of this build (available: " + model_names() + ")");
  if (options.num_classes < 0)
    throw core::UsageError(
        fmt::format("model.num_classes = {}: must be >= 0", options.num_classes));
  if (options.num_classes > 0 && !e->classes) {
    std::vector<std::string> conditional;
    for (const ModelEntry& other : model_registry())
      if (other.classes) conditional.push_back(other.name);
    throw core::UsageError(
        fmt::format("model.num_classes = {}: model.name = {} takes no class labels ({} do)",
                    options.num_classes, options.name, fmt::join(conditional, ", ")));
  }
}

std::shared_ptr<ScoreModel> make_model(const ModelOptions& options, const DataShape& data,
                                       const core::SdeOptions& sde) {
  check_model_options(options);
  std::shared_ptr<ScoreModel> model =
      core::find_entry(model_registry(), options.name)->make(options, data, sde);
  key_dropout_layers(*model);
  return model;
}

}  // namespace sgm::models

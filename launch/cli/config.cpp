#include "launch/cli/config.h"

namespace sgm::cli {

models::DataShape data_shape(const Config& c) {
  models::DataShape d;
  d.image_size = c.data.image_size;
  d.num_channels = c.data.num_channels;
  d.centered = c.data.centered;
  d.continuous = c.training.continuous;
  d.sde = c.training.sde;
  return d;
}

sde::SdeOptions sde_options(const Config& c) {
  sde::SdeOptions s;
  s.name = c.training.sde;
  s.sigma_min = c.model.sigma_min;
  s.sigma_max = c.model.sigma_max;
  s.beta_min = c.model.beta_min;
  s.beta_max = c.model.beta_max;
  s.num_scales = c.model.num_scales;
  return s;
}

}  // namespace sgm::cli

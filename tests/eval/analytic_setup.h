// The analytic `gaussian` score model under one SDE, ready for the samplers and the likelihood
// (shared by the evaluation tests).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "trainer/models/analytic.h"
#include "trainer/sde/registry.h"
#include "trainer/sde/score_fn.h"

namespace sgm::eval {

struct Analytic {
  std::shared_ptr<sde::SDE> sde;
  std::shared_ptr<models::GaussianMixtureScore> model;
  sde::ScoreFn score;
};

// Data sum_k w_k N(means_k, stds_k^2 I) under `sde_name` with N noise levels.
inline Analytic analytic(const std::string& sde_name, std::vector<double> means,
                         std::vector<double> stds, std::vector<double> weights,
                         std::int64_t N = 1000) {
  sde::SdeOptions so;
  so.name = sde_name;
  so.num_scales = N;
  Analytic s;
  s.sde = sde::make_sde(so);
  s.model = std::make_shared<models::GaussianMixtureScore>(models::GaussianMixtureOptions()
                                                               .mean(std::move(means))
                                                               .std(std::move(stds))
                                                               .weight(std::move(weights))
                                                               .sde(so));
  auto model = s.model;
  s.score = sde::get_score_fn(
      s.sde, [model](const at::Tensor& x, const at::Tensor& l) { return model->forward(x, l); },
      true);
  return s;
}

}  // namespace sgm::eval

// Analytic score model `gaussian`: the exact score of data p_0 = sum_k w_k N(mu_k 1, s_k^2 I)
// perturbed by the chosen SDE, returned in the network convention the score
// wrappers expect, so sampling and likelihood run end to end without training:
//   VP / sub-VP: net = -std(t) * score (label 999 t);  VE: net = score (label sigma(t)).
// p_t = sum_k w_k N(a(t) mu_k, (a(t)^2 s_k^2 + v(t)) I) with VP a = e^L, v = 1 - a^2;
// sub-VP v = (1 - a^2)^2; VE a = 1, v = sigma(t)^2 - sigma_min^2 (the exact VE variance).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <torch/arg.h>

#include "trainer/core/sde_options.h"
#include "trainer/models/score_model.h"

namespace sgm::models {

// The mixture (one mean, std and weight per component; a mean is the same in every dimension)
// and the SDE that perturbs it, in LibTorch's builder style. The model registry builds them from
// model.gaussian_* and the run's SDE.
struct GaussianMixtureOptions {
  TORCH_ARG(std::vector<double>, mean) = std::vector<double>{0.0};
  TORCH_ARG(std::vector<double>, std) = std::vector<double>{0.5};
  TORCH_ARG(std::vector<double>, weight) = std::vector<double>{1.0};
  TORCH_ARG(core::SdeOptions, sde);
};

class GaussianMixtureScore : public ScoreModel {
 public:
  explicit GaussianMixtureScore(const GaussianMixtureOptions& options);
  // labels: continuous-time labels as get_score_fn makes them (999 t, or sigma(t) for VE).
  using ScoreModel::forward;
  // Takes no class labels (model.num_classes = 0; class_labels undefined).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& labels,
                        const torch::Tensor& class_labels) override;
  std::vector<std::pair<std::string, std::string>> reference_names() const override { return {}; }

  // The exact score of p_t at x [B, ...] for times t [B].
  torch::Tensor score(const torch::Tensor& x, const torch::Tensor& t) const;
  // log p_t(x) per sample [B].
  torch::Tensor log_density(const torch::Tensor& x, const torch::Tensor& t) const;
  // log p_t(k | x), the exact noise-conditional classifier of the components: [B, K].
  torch::Tensor log_posterior(const torch::Tensor& x, const torch::Tensor& t) const;
  // Time of a label (inverse of the label rule).
  torch::Tensor time_of(const torch::Tensor& labels) const;
  // Mean coefficient a(t), added variance v(t) and the std the score wrapper divides by.
  torch::Tensor mean_coeff(const torch::Tensor& t) const;
  torch::Tensor added_variance(const torch::Tensor& t) const;
  torch::Tensor wrapper_std(const torch::Tensor& t) const;

 private:
  // Per component k at (x, t): log(w_k N(x; a mu_k, var_k I)) [B] and the score -(x - a
  // mu_k)/var_k.
  struct Component {
    torch::Tensor log_weighted_density;
    torch::Tensor score;
  };
  std::vector<Component> components(const torch::Tensor& x, const torch::Tensor& t) const;
  // log(w_k N_k(x)) of every component: [B, K].
  torch::Tensor log_weighted_densities(const torch::Tensor& x, const torch::Tensor& t) const;

  GaussianMixtureOptions o_;
  core::SdeOptions sde_;
};

}  // namespace sgm::models

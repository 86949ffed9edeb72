#include "trainer/models/analytic.h"

#include <cmath>

#include "trainer/core/error.h"

namespace sgm::models {
namespace {

torch::Tensor per_sample(const torch::Tensor& v, const torch::Tensor& x) {
  std::vector<std::int64_t> shape(static_cast<std::size_t>(x.dim()), 1);
  shape[0] = v.size(0);
  return v.reshape(shape);
}

}  // namespace

GaussianMixtureScore::GaussianMixtureScore(const GaussianMixtureOptions& options)
    : o_(options), sde_(options.sde()) {
  const std::size_t k = o_.mean().size();
  if (k == 0 || o_.std().size() != k || o_.weight().size() != k) {
    throw core::UsageError(
        "model.gaussian_mean, model.gaussian_std and model.gaussian_weight need the same number "
        "(>= 1) of entries");
  }
  if (!sde_.continuous)
    throw core::UsageError("model.name=gaussian needs training.continuous = true");
  if (sde_.name != "vesde" && sde_.name != "vpsde" && sde_.name != "subvpsde") {
    throw core::UsageError("training.sde: '" + sde_.name +
                           "' is not one of vesde, vpsde, subvpsde");
  }
}

torch::Tensor GaussianMixtureScore::time_of(const torch::Tensor& labels) const {
  torch::Tensor l = labels.to(torch::kDouble);
  if (sde_.name == "vesde")
    return l.div(sde_.sigma_min).log().div(std::log(sde_.sigma_max / sde_.sigma_min));
  return l.div(999.0);
}

torch::Tensor GaussianMixtureScore::mean_coeff(const torch::Tensor& t) const {
  if (sde_.name == "vesde") return torch::ones_like(t);
  const double b0 = sde_.beta_min, b1 = sde_.beta_max;
  return t.square().mul(-0.25 * (b1 - b0)).sub(t.mul(0.5 * b0)).exp();
}

torch::Tensor GaussianMixtureScore::added_variance(const torch::Tensor& t) const {
  if (sde_.name == "vesde") {
    torch::Tensor sigma = torch::pow(sde_.sigma_max / sde_.sigma_min, t).mul(sde_.sigma_min);
    return sigma.square().sub(sde_.sigma_min * sde_.sigma_min);
  }
  torch::Tensor one_minus = mean_coeff(t).square().neg().add(1);
  return sde_.name == "vpsde" ? one_minus : one_minus.square();
}

torch::Tensor GaussianMixtureScore::wrapper_std(const torch::Tensor& t) const {
  torch::Tensor one_minus = mean_coeff(t).square().neg().add(1);
  return sde_.name == "vpsde" ? one_minus.sqrt() : one_minus;  // subVP: std = 1 - a^2
}

std::vector<GaussianMixtureScore::Component> GaussianMixtureScore::components(
    const torch::Tensor& x, const torch::Tensor& t) const {
  const double D = static_cast<double>(x.numel() / x.size(0));
  double total_weight = 0;
  for (double w : o_.weight()) total_weight += w;
  torch::Tensor a = mean_coeff(t), v = added_variance(t);
  std::vector<Component> out;
  for (std::size_t k = 0; k < o_.mean().size(); ++k) {
    torch::Tensor var = a.square().mul(o_.std()[k] * o_.std()[k]).add(v);  // [B]
    torch::Tensor diff = x.sub(per_sample(a.mul(o_.mean()[k]), x));
    torch::Tensor sq = diff.square().reshape({x.size(0), -1}).sum(1);
    torch::Tensor logp =
        sq.div(var).mul(-0.5).sub(var.log().mul(0.5 * D)).sub(0.5 * D * std::log(2 * M_PI));
    out.push_back(
        {logp.add(std::log(o_.weight()[k] / total_weight)), diff.neg().div(per_sample(var, x))});
  }
  return out;
}

torch::Tensor GaussianMixtureScore::log_weighted_densities(const torch::Tensor& x_in,
                                                           const torch::Tensor& t_in) const {
  torch::Tensor x = x_in.to(torch::kDouble);
  std::vector<torch::Tensor> terms;
  for (const Component& c : components(x, t_in.to(torch::kDouble).to(x.device())))
    terms.push_back(c.log_weighted_density);
  return torch::stack(terms, 1);
}

torch::Tensor GaussianMixtureScore::log_density(const torch::Tensor& x,
                                                const torch::Tensor& t) const {
  return torch::logsumexp(log_weighted_densities(x, t), 1);
}

torch::Tensor GaussianMixtureScore::log_posterior(const torch::Tensor& x,
                                                  const torch::Tensor& t) const {
  return torch::log_softmax(log_weighted_densities(x, t), 1);
}

torch::Tensor GaussianMixtureScore::score(const torch::Tensor& x_in,
                                          const torch::Tensor& t_in) const {
  torch::Tensor x = x_in.to(torch::kDouble);
  const std::vector<Component> parts = components(x, t_in.to(torch::kDouble).to(x.device()));
  std::vector<torch::Tensor> log_r;
  for (const Component& c : parts) log_r.push_back(c.log_weighted_density);
  // Responsibilities r_k(x): a softmax over components (log-sum-exp stable).
  torch::Tensor r = torch::stack(log_r, 0).softmax(0);  // [K, B]
  torch::Tensor out = torch::zeros_like(x);
  for (std::size_t k = 0; k < parts.size(); ++k)
    out = out.add(per_sample(r[static_cast<std::int64_t>(k)], x).mul(parts[k].score));
  return out.to(x_in.dtype());
}

torch::Tensor GaussianMixtureScore::forward(const torch::Tensor& x, const torch::Tensor& labels,
                                            const torch::Tensor& class_labels) {
  SGM_CHECK(!class_labels.defined(), "this network takes no class labels");
  torch::Tensor t = time_of(labels);
  torch::Tensor s = score(x, t);
  if (sde_.name == "vesde") return s;
  return s.neg().mul(per_sample(wrapper_std(t).to(s.dtype()), s));
}

}  // namespace sgm::models

#include "trainer/train/optimizer.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "trainer/core/error.h"

namespace sgm::train {

double learning_rate(const AdamOptions& o, std::int64_t steps_done) {
  if (o.warmup <= 0) return o.lr;
  return o.lr * std::min(static_cast<double>(steps_done) / static_cast<double>(o.warmup), 1.0);
}

double clip_factor(double norm, double max_norm) {
  if (max_norm < 0) return 1.0;
  return std::min(1.0, max_norm / (norm + 1e-6));
}

FlatAdam::FlatAdam(std::vector<at::Tensor> params, std::vector<at::Tensor> grads,
                   AdamOptions options)
    : params_(std::move(params)), grads_(std::move(grads)), options_(options) {
  SGM_CHECK(params_.size() == grads_.size() && !params_.empty(),
            "FlatAdam: {} parameter buffers and {} gradient buffers", params_.size(),
            grads_.size());
  for (const at::Tensor& p : params_) {
    exp_avg_.push_back(at::zeros_like(p));
    exp_avg_sq_.push_back(at::zeros_like(p));
  }
}

double FlatAdam::grad_norm() const {
  double squares = 0;
  for (const at::Tensor& g : grads_) {
    const double n = g.norm().item<double>();
    squares += n * n;
  }
  return std::sqrt(squares);
}

void FlatAdam::step(double lr, double clip) {
  at::NoGradGuard no_grad;
  ++steps_;
  const double bias1 = 1.0 - std::pow(options_.beta1, static_cast<double>(steps_));
  const double bias2_sqrt = std::sqrt(1.0 - std::pow(options_.beta2, static_cast<double>(steps_)));
  for (std::size_t i = 0; i < params_.size(); ++i) {
    at::Tensor grad = grads_[i];
    if (clip != 1.0) grad.mul_(clip);  // clip_grad_norm_ scales in place
    if (options_.weight_decay != 0) grad = grad.add(params_[i], options_.weight_decay);
    exp_avg_[i].lerp_(grad, 1.0 - options_.beta1);
    exp_avg_sq_[i].mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);
    const at::Tensor denom = (exp_avg_sq_[i].sqrt() / bias2_sqrt).add_(options_.eps);
    params_[i].addcdiv_(exp_avg_[i], denom, -lr / bias1);
  }
}

}  // namespace sgm::train

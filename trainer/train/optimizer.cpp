#include "trainer/train/optimizer.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>

#include "trainer/core/error.h"
#include "trainer/core/flat_chunks.h"

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
    denom_.push_back(at::empty({core::flat_scratch_size(p.numel())}, p.options()));
    if (options_.weight_decay != 0) decayed_.push_back(at::empty_like(denom_.back()));
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
    // torch.optim.Adam's single-tensor update, slice by slice, the temporaries in scratch.
    core::for_each_flat_chunk(params_[i].numel(), [&](std::int64_t begin, std::int64_t count) {
      at::Tensor grad = grads_[i].narrow(0, begin, count);
      const at::Tensor param = params_[i].narrow(0, begin, count);
      if (clip != 1.0) grad.mul_(clip);  // clip_grad_norm_ scales the gradients in place
      if (options_.weight_decay != 0) {
        at::Tensor decayed = decayed_[i].narrow(0, 0, count);
        grad = at::add_out(decayed, grad, param, options_.weight_decay);
      }
      const at::Tensor exp_avg_sq = exp_avg_sq_[i].narrow(0, begin, count);
      exp_avg_[i].narrow(0, begin, count).lerp_(grad, 1.0 - options_.beta1);
      exp_avg_sq.mul_(options_.beta2).addcmul_(grad, grad, 1.0 - options_.beta2);
      // (exp_avg_sq.sqrt() / bias2_sqrt).add_(eps)
      at::Tensor denom = denom_[i].narrow(0, 0, count);
      at::sqrt_out(denom, exp_avg_sq).div_(bias2_sqrt).add_(options_.eps);
      param.addcdiv_(exp_avg_[i].narrow(0, begin, count), denom, -lr / bias1);
    });
  }
}

}  // namespace sgm::train

// Adam over the reducer's flat buffers, with score_sde's warm-up and global-norm clipping. The
// update is torch.optim.Adam's (single-tensor path, PyTorch 2.x) applied to the flat buffers
// slice by slice (core::for_each_flat_chunk): per element the same arithmetic as per-parameter
// Adam, with its temporaries in scratch allocated once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/core/keys.h"

namespace sgm::train {

struct AdamOptions {
  double lr = 2e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;  // hard-coded in score_sde (config sets beta1 only)
  double eps = 1e-8;
  double weight_decay = 0.0;
  std::int64_t warmup = 5000;      // linear ramp; 0: none
  double grad_clip = 1.0;          // global-norm clip; negative: off
  std::string optimizer = "Adam";  // the only one score_sde offers

  void declare_keys(core::Keys& k) {
    k("optim.weight_decay", weight_decay, "Adam weight decay");
    k("optim.optimizer", optimizer, "Adam (beta2 = 0.999 as in score_sde)");
    k("optim.lr", lr, "learning rate");
    k("optim.beta1", beta1, "Adam beta1");
    k("optim.eps", eps, "Adam epsilon");
    k("optim.warmup", warmup, "linear learning-rate warm-up steps");
    k("optim.grad_clip", grad_clip, "global gradient-norm clip (negative: off)");
  }
};

// The learning rate of the step taken after `steps_done` completed steps: lr * min(k / warmup, 1)
// with k = steps_done, so the very first step runs at lr 0 (the reference's quirk).
double learning_rate(const AdamOptions& options, std::int64_t steps_done);

// torch.nn.utils.clip_grad_norm_'s factor: min(1, max_norm / (norm + 1e-6)); 1 when clipping is
// off (max_norm < 0).
double clip_factor(double norm, double max_norm);

class FlatAdam {
 public:
  FlatAdam(std::vector<at::Tensor> params, std::vector<at::Tensor> grads, AdamOptions options);

  // The 2-norm of all gradients together (after the all-reduce: the same on every rank). Not
  // finite when some gradient is not: the caller then skips the step on every rank.
  double grad_norm() const;
  // Scales the gradients by `clip` (from clip_factor) and takes one Adam step at `lr`.
  void step(double lr, double clip);

  std::int64_t steps() const { return steps_; }
  // State for checkpoints: first and second moments per flat buffer, and the step count.
  const std::vector<at::Tensor>& exp_avg() const { return exp_avg_; }
  const std::vector<at::Tensor>& exp_avg_sq() const { return exp_avg_sq_; }
  void set_steps(std::int64_t steps) { steps_ = steps; }
  const AdamOptions& options() const { return options_; }

 private:
  std::vector<at::Tensor> params_, grads_, exp_avg_, exp_avg_sq_;
  // Per buffer, one slice's scratch: the denominator, and the decayed gradient (weight decay).
  std::vector<at::Tensor> denom_, decayed_;
  AdamOptions options_;
  std::int64_t steps_ = 0;
};

}  // namespace sgm::train

// The network an evaluation runs: the model of the training run's configuration with a
// checkpoint's weights and its EMA over them (score_sde evaluates ema.copy_to(model)), in
// inference mode, wrapped as a score function of its SDE. On the CPU it runs, unless
// eval.channels_last = false, on NHWC activations with prepacked convolution weights
// (models::Conv2d); its inputs and outputs stay NCHW.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/models/options.h"
#include "trainer/models/score_model.h"
#include "trainer/sde/registry.h"
#include "trainer/sde/sde.h"

namespace sgm::eval {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// What a checkpoint gives the evaluation job (train::Checkpoint's model and ema, read by the
// launch layer): every parameter and buffer, the EMA of the trainable parameters, the step.
struct Weights {
  NamedTensors model;
  NamedTensors ema;
  std::int64_t step = 0;
  std::string source;    // the checkpoint directory, for messages and records
  std::string checksum;  // of the weights file: rounds made from other weights are not reused
};

struct NetworkOptions {
  models::ModelOptions model;
  models::DataShape shape;
  sde::SdeOptions sde;        // with training.continuous
  bool use_ema = true;        // false: the raw weights
  bool channels_last = true;  // on the CPU: NHWC activations, convolution weights prepacked

  void declare_keys(core::Keys& k) {
    k("eval.use_ema", use_ema, "evaluate the EMA weights (score_sde) or the raw weights");
    k("eval.channels_last", channels_last,
      "on the CPU, run the network on NHWC activations with its convolution weights prepacked "
      "for oneDNN (about 1.25x faster; float32 rounding differs from NCHW); false: the NCHW "
      "path training takes");
  }
};

struct EvalNetwork {
  std::shared_ptr<models::ScoreModel> model;
  std::shared_ptr<const sde::SDE> sde;  // the model's (its model.num_scales)
  sde::SdeOptions sde_options;
  sde::ScoreFn score;
};

// `weights` reduced to what make_eval_network reads of them with `use_ema`: every tensor of the
// model, its trainable parameters replaced by their EMA when use_ema, and no separate EMA list.
// A caller that keeps only these holds one set of weights instead of two. An EMA tensor without
// a model tensor of its name is a core::UsageError naming the checkpoint.
Weights evaluated_weights(Weights weights, bool use_ema);

// Builds the model on `device` and loads `weights`; a missing, extra or mis-shaped name is a
// core::UsageError naming the checkpoint and the tensor.
EvalNetwork make_eval_network(const NetworkOptions& options, const Weights& weights,
                              const at::Device& device);

}  // namespace sgm::eval

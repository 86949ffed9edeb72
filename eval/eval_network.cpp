#include "eval/eval_network.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "trainer/core/named_tensors.h"
#include "trainer/models/registry.h"
#include "trainer/sde/score_fn.h"

namespace sgm::eval {

EvalNetwork make_eval_network(const NetworkOptions& options, const Weights& weights,
                              const at::Device& device) {
  EvalNetwork net;
  net.model = models::make_model(options.model, options.shape, options.sde);
  net.model->to(device);
  net.model->eval();
  core::NamedTensors state;
  for (const auto& item : net.model->named_parameters())
    state.emplace_back(item.key(), item.value());
  for (const auto& item : net.model->named_buffers()) state.emplace_back(item.key(), item.value());
  core::copy_named(weights.model, state, "weights", weights.source, /*every_destination=*/true,
                   /*every_source=*/true);
  if (options.use_ema) core::copy_named(weights.ema, state, "EMA", weights.source, false, true);
  for (auto& p : net.model->parameters()) p.set_requires_grad(false);
  net.sde = sde::make_sde(options.sde);
  net.sde_options = options.sde;
  std::shared_ptr<models::ScoreModel> model = net.model;
  const sde::ModelFn fn = [model](const at::Tensor& x, const at::Tensor& labels) {
    return model->forward(x, labels);
  };
  net.score = sde::get_score_fn(net.sde, fn, options.sde.continuous);
  return net;
}

}  // namespace sgm::eval

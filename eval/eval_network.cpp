#include "eval/eval_network.h"

#include <map>

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "trainer/core/error.h"
#include "trainer/core/named_tensors.h"
#include "trainer/models/conv.h"
#include "trainer/models/registry.h"
#include "trainer/sde/score_fn.h"

namespace sgm::eval {

Weights evaluated_weights(Weights weights, bool use_ema) {
  if (use_ema) {
    std::map<std::string, at::Tensor*> model;
    for (auto& [name, tensor] : weights.model) model[name] = &tensor;
    for (const auto& [name, tensor] : weights.ema) {
      const auto it = model.find(name);
      if (it == model.end())
        throw core::UsageError(weights.source + ": EMA '" + name + "' is not in the model");
      *it->second = tensor;
    }
  }
  weights.ema.clear();
  return weights;
}

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
  // The checkpoint's tensors become the model's (no second copy in memory).
  core::share_named(weights.model, state, "weights", weights.source, /*every_destination=*/true,
                    /*every_source=*/true);
  if (options.use_ema) core::share_named(weights.ema, state, "EMA", weights.source, false, true);
  for (auto& p : net.model->parameters()) p.set_requires_grad(false);
  net.sde = sde::make_sde(options.sde);
  net.sde_options = options.sde;
  std::shared_ptr<models::ScoreModel> model = net.model;
  const bool nhwc = options.channels_last && device.is_cpu() &&
                    models::set_convolution_packing(*net.model, true) > 0;
  const sde::ModelFn fn = [model, nhwc](const at::Tensor& x, const at::Tensor& labels) {
    if (!nhwc || x.dim() != 4) return model->forward(x, labels);
    return model->forward(x.contiguous(at::MemoryFormat::ChannelsLast), labels).contiguous();
  };
  net.score = sde::get_score_fn(net.sde, fn, options.sde.continuous);
  return net;
}

}  // namespace sgm::eval

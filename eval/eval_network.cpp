#include "eval/eval_network.h"

#include <map>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/module.h>

#include "trainer/core/error.h"
#include "trainer/models/registry.h"
#include "trainer/sde/score_fn.h"

namespace sgm::eval {
namespace {

void copy_into(const NamedTensors& from, std::map<std::string, at::Tensor>& to,
               const std::string& what, const std::string& where, bool every_destination) {
  std::map<std::string, at::Tensor> by_name(from.begin(), from.end());
  for (const auto& [name, source] : by_name) {
    auto it = to.find(name);
    if (it == to.end())
      throw core::UsageError(fmt::format("{}: {} '{}' is not in the model", where, what, name));
    if (it->second.sizes() != source.sizes()) {
      throw core::UsageError(fmt::format("{}: {} '{}' has shape {}, the model needs {}", where,
                                         what, name, fmt::join(source.sizes(), "x"),
                                         fmt::join(it->second.sizes(), "x")));
    }
    it->second.copy_(source);
  }
  if (!every_destination) return;
  for (const auto& [name, destination] : to) {
    if (!by_name.count(name))
      throw core::UsageError(fmt::format("{}: no {} for '{}'", where, what, name));
  }
}

}  // namespace

EvalNetwork make_eval_network(const NetworkOptions& options, const Weights& weights,
                              const at::Device& device) {
  EvalNetwork net;
  net.model = models::make_model(options.model, options.shape);
  net.model->to(device);
  net.model->eval();
  std::map<std::string, at::Tensor> state;
  for (const auto& item : net.model->named_parameters()) state.emplace(item.key(), item.value());
  for (const auto& item : net.model->named_buffers()) state.emplace(item.key(), item.value());
  {
    at::NoGradGuard no_grad;
    copy_into(weights.model, state, "weights", weights.source, /*every_destination=*/true);
    if (options.use_ema) copy_into(weights.ema, state, "EMA", weights.source, false);
  }
  for (auto& p : net.model->parameters()) p.set_requires_grad(false);
  net.sde = sde::make_sde(options.sde);
  std::shared_ptr<models::ScoreModel> model = net.model;
  const sde::ModelFn fn = [model](const at::Tensor& x, const at::Tensor& labels) {
    return model->forward(x, labels);
  };
  net.score = sde::get_score_fn(net.sde, fn, options.continuous);
  return net;
}

}  // namespace sgm::eval

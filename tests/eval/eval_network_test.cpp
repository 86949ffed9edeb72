// The evaluation network's weights: evaluated_weights keeps one set (the EMA in place of each
// trainable parameter, every buffer as saved); make_eval_network takes those tensors as the
// model's own (same memory, no copy) and, on the packed NHWC path, scores within float32
// rounding of the NCHW path (eval.channels_last = false).
#include "eval/eval_network.h"

#include <cstdio>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "trainer/core/error.h"
#include "trainer/models/registry.h"

namespace sgm::eval {
namespace {

NetworkOptions small_ncsnpp() {
  NetworkOptions o;
  o.model.nf = 16;
  o.model.ch_mult = {1, 2};
  o.model.num_res_blocks = 1;
  o.model.attn_resolutions = {4};
  o.model.dropout = 0;
  o.shape.image_size = 8;
  o.sde.continuous = true;
  return o;
}

// A checkpoint's weights for `o`'s model: the state at one seed, the EMA at another.
Weights weights_for(const NetworkOptions& o) {
  Weights w;
  w.source = "ckpt";
  at::manual_seed(1);
  auto model = models::make_model(o.model, o.shape, o.sde);
  for (const auto& [name, t] : models::named_state(*model))
    w.model.emplace_back(name, t.detach().clone());
  at::manual_seed(2);
  auto other = models::make_model(o.model, o.shape, o.sde);
  for (const auto& item : other->named_parameters())
    w.ema.emplace_back(item.key(), item.value().detach().clone().mul_(0.5));
  return w;
}

TEST(EvalNetwork, EvaluatedWeightsKeepOneSet) {
  const NetworkOptions o = small_ncsnpp();
  const Weights w = weights_for(o);
  const Weights ema = evaluated_weights(w, true);
  const Weights raw = evaluated_weights(w, false);
  EXPECT_TRUE(ema.ema.empty());
  EXPECT_TRUE(raw.ema.empty());
  ASSERT_EQ(ema.model.size(), w.model.size());
  std::size_t replaced = 0;
  for (std::size_t i = 0; i < w.model.size(); ++i) {
    EXPECT_EQ(ema.model[i].first, w.model[i].first);
    EXPECT_EQ(raw.model[i].second.data_ptr(), w.model[i].second.data_ptr());
    if (ema.model[i].second.data_ptr() != w.model[i].second.data_ptr()) ++replaced;
  }
  std::printf("[evidence] %zu of %zu model tensors replaced by their EMA (%zu EMA tensors)\n",
              replaced, w.model.size(), w.ema.size());
  EXPECT_EQ(replaced, w.ema.size());
  Weights stray = w;
  stray.ema.emplace_back("no.such.tensor", at::zeros({1}));
  EXPECT_THROW(evaluated_weights(stray, true), core::UsageError);
}

TEST(EvalNetwork, TakesTheWeightsMemoryAndThePackedPathStaysWithinRounding) {
  NetworkOptions o = small_ncsnpp();
  const Weights w = evaluated_weights(weights_for(o), true);
  const at::Device cpu(at::kCPU);
  o.channels_last = false;
  const EvalNetwork nchw = make_eval_network(o, w, cpu);
  o.channels_last = true;
  const EvalNetwork packed = make_eval_network(o, w, cpu);
  std::size_t shared = 0;
  const auto params = packed.model->named_parameters();
  for (const auto& [name, t] : w.model) {
    if (params.contains(name) && params[name].data_ptr() == t.data_ptr()) ++shared;
  }
  std::printf("[evidence] %zu of %zu parameters share the checkpoint's memory\n", shared,
              params.size());
  EXPECT_EQ(shared, params.size());

  const at::NoGradGuard no_grad;
  at::manual_seed(3);
  const at::Tensor x = at::randn({3, 3, 8, 8}), t = at::full({3}, 0.4);
  const at::Tensor a = nchw.score(x, t), b = packed.score(x, t);
  const double r = (a - b).abs().max().item<double>() / a.abs().max().item<double>();
  std::printf("[evidence] score, packed NHWC vs NCHW: %.2e of max |score| (tolerance 1e-5)\n", r);
  EXPECT_TRUE(b.is_contiguous()) << "the score comes back NCHW";
  EXPECT_LE(r, 1e-5);
}

}  // namespace
}  // namespace sgm::eval

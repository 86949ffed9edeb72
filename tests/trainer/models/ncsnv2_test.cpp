// NCSNv2: every variant runs a forward pass at its resolution (dilated residual sums line up),
// the network is unconditional with output / sigma[label] (technique 3), and InstanceNorm++
// follows its formula.
#include "trainer/models/ncsnv2.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "trainer/models/ncsnpp.h"
#include "trainer/models/registry.h"

namespace sgm::models {
namespace {

using sgm::testing::tensors_close;

TEST(NCSNv2, EveryVariantRunsAndDividesBySigma) {
  for (auto [name, size] : std::vector<std::pair<std::string, std::int64_t>>{
           {"ncsnv2_64", 32}, {"ncsnv2_128", 32}, {"ncsnv2_256", 64}}) {
    ModelOptions o;
    o.name = name;
    o.nf = 8;
    o.normalization = "InstanceNorm++";
    o.nonlinearity = "elu";
    core::SdeOptions s;
    s.num_scales = 10;
    s.continuous = false;
    DataShape d;
    d.image_size = size;
    auto model = make_model(o, d, s);
    model->eval();
    at::NoGradGuard no_grad;
    at::Tensor x = at::rand({2, 3, size, size});
    at::Tensor a = model->forward(x, at::tensor({0, 0}, at::kLong));
    at::Tensor b = model->forward(x, at::tensor({7, 7}, at::kLong));
    EXPECT_EQ(a.sizes(), x.sizes()) << name;
    at::Tensor sigmas = reference_sigmas(s.sigma_min, s.sigma_max, s.num_scales).to(at::kFloat);
    EXPECT_TRUE(tensors_close(name + ": out * sigma does not depend on the label", a * sigmas[0],
                              b * sigmas[7], 1e-5 * (a * sigmas[0]).abs().max().item<double>()));
  }
}

TEST(NCSNv2, InstanceNormPlusFormula) {
  InstanceNorm2dPlus norm(4);
  at::Tensor x = at::randn({2, 4, 5, 5}).mul(3).add(1);
  at::Tensor mu = x.mean({2, 3});
  at::Tensor mu_hat = (mu - mu.mean(-1, true)) / (mu.var(-1, true, true) + 1e-5).sqrt();
  at::Tensor in = (x - x.mean({2, 3}, true)) / (x.var({2, 3}, false, true) + 1e-5).sqrt();
  auto params = norm->named_parameters();
  at::Tensor alpha = params["alpha"].view({1, -1, 1, 1}),
             gamma = params["gamma"].view({1, -1, 1, 1});
  at::Tensor expected =
      gamma * (in + mu_hat.view({2, 4, 1, 1}) * alpha) + params["beta"].view({1, -1, 1, 1});
  EXPECT_TRUE(tensors_close("InstanceNorm++", norm->forward(x), expected, 1e-5));
}

}  // namespace
}  // namespace sgm::models

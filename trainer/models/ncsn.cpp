#include "trainer/models/ncsn.h"

#include <ATen/ops/instance_norm.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>

#include "trainer/core/error.h"
#include "trainer/models/ncsn_blocks.h"

namespace sgm::models {
namespace F = torch::nn::functional;
namespace {

using Norm = ConditionalInstanceNorm2dPlus;

// layers.ConditionalResidualBlock with resample 'down' or none (registration order conv1,
// normalize2, conv2, shortcut, normalize1). Down-sampling blocks pool only without dilation.
class CondResidualBlockImpl : public torch::nn::Module {
 public:
  CondResidualBlockImpl(std::int64_t in, std::int64_t out, bool down, std::int64_t dilation,
                        std::int64_t classes, Activation act)
      : act_(std::move(act)), identity_(in == out && !down) {
    if (down && dilation == 1) {
      conv1_ = register_module("conv1", ncsn_conv(in, in, 3));
      normalize2 = register_module("normalize2", Norm(in, classes));
      conv2_ = register_module("conv2", ConvMeanPool(in, out, 3).ptr());
      shortcut_ = register_module("shortcut", ConvMeanPool(in, out, 1).ptr());
    } else {
      const std::int64_t mid = down ? in : out;
      conv1_ = register_module("conv1", ncsn_conv(in, mid, 3, true, dilation));
      normalize2 = register_module("normalize2", Norm(mid, classes));
      conv2_ = register_module("conv2", ncsn_conv(mid, out, 3, true, dilation));
      if (!identity_) {
        if (dilation == 1)
          throw core::UsageError("NCSN: a residual block that changes width needs a dilation");
        shortcut_ = register_module("shortcut", ncsn_conv(in, out, 3, true, dilation).ptr());
      }
    }
    normalize1 = register_module("normalize1", Norm(in, classes));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& y) {
    torch::Tensor h = forward_conv(conv1_, act_(normalize1->forward(x, y)));
    h = forward_conv(conv2_, act_(normalize2->forward(h, y)));
    return (identity_ ? x : forward_conv(shortcut_, x)) + h;
  }
  Norm normalize1{nullptr}, normalize2{nullptr};

 private:
  Activation act_;
  bool identity_;
  std::shared_ptr<torch::nn::Module> conv1_, conv2_, shortcut_;
};
TORCH_MODULE(CondResidualBlock);

// Residual conv units: n_blocks x (n_stages x [norm, act, conv 3x3 without bias]) + skip.
class CondRCUBlockImpl : public torch::nn::Module {
 public:
  CondRCUBlockImpl(std::int64_t features, int n_blocks, int n_stages, std::int64_t classes,
                   Activation act)
      : act_(std::move(act)) {
    for (int i = 0; i < n_blocks; ++i) {
      stages_.emplace_back();
      for (int j = 0; j < n_stages; ++j) {
        const std::string name = std::to_string(i + 1) + "_" + std::to_string(j + 1);
        Norm norm = register_module(name + "_norm", Norm(features, classes));
        Conv2d conv = register_module(name + "_conv", ncsn_conv(features, features, 3, false));
        stages_.back().emplace_back(norm, conv);
      }
    }
  }
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& y) {
    for (auto& block : stages_) {
      torch::Tensor residual = x;
      for (auto& [norm, conv] : block) x = conv->forward(act_(norm->forward(x, y)));
      x = x + residual;
    }
    return x;
  }

 private:
  Activation act_;
  std::vector<std::vector<std::pair<Norm, Conv2d>>> stages_;
};
TORCH_MODULE(CondRCUBlock);

// Chained residual pooling: act, then n_stages x (norm, 5x5 average pool, conv) accumulated.
class CondCRPBlockImpl : public torch::nn::Module {
 public:
  CondCRPBlockImpl(std::int64_t features, int n_stages, std::int64_t classes, Activation act)
      : act_(std::move(act)) {
    convs = register_module("convs", torch::nn::ModuleList());
    norms = register_module("norms", torch::nn::ModuleList());
    for (int i = 0; i < n_stages; ++i) {
      norms->push_back(Norm(features, classes));
      convs->push_back(ncsn_conv(features, features, 3, false));
    }
  }
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& y) {
    x = act_(x);
    torch::Tensor path = x;
    for (std::size_t i = 0; i < convs->size(); ++i) {
      path = norms[i]->as<Norm>()->forward(path, y);
      path = F::avg_pool2d(path, F::AvgPool2dFuncOptions(5).stride(1).padding(2));
      path = convs[i]->as<Conv2d>()->forward(path);
      x = path + x;
    }
    return x;
  }
  torch::nn::ModuleList convs{nullptr}, norms{nullptr};

 private:
  Activation act_;
};
TORCH_MODULE(CondCRPBlock);

// Multi-resolution fusion: norm and conv each input, bilinear (align_corners) to `shape`, sum.
class CondMSFBlockImpl : public torch::nn::Module {
 public:
  CondMSFBlockImpl(const std::vector<std::int64_t>& in_planes, std::int64_t features,
                   std::int64_t classes) {
    convs = register_module("convs", torch::nn::ModuleList());
    norms = register_module("norms", torch::nn::ModuleList());
    for (auto in : in_planes) {
      convs->push_back(ncsn_conv(in, features, 3, true));
      norms->push_back(Norm(in, classes));
    }
  }
  torch::Tensor forward(const std::vector<torch::Tensor>& xs, const torch::Tensor& y,
                        const std::vector<std::int64_t>& shape) {
    torch::Tensor sum;
    for (std::size_t i = 0; i < convs->size(); ++i) {
      torch::Tensor h = convs[i]->as<Conv2d>()->forward(norms[i]->as<Norm>()->forward(xs[i], y));
      h = F::interpolate(
          h, F::InterpolateFuncOptions().size(shape).mode(torch::kBilinear).align_corners(true));
      sum = sum.defined() ? sum + h : h;
    }
    return sum;
  }
  torch::nn::ModuleList convs{nullptr}, norms{nullptr};
};
TORCH_MODULE(CondMSFBlock);

class CondRefineBlockImpl : public torch::nn::Module {
 public:
  CondRefineBlockImpl(const std::vector<std::int64_t>& in_planes, std::int64_t features,
                      std::int64_t classes, const Activation& act, bool start, bool end) {
    adapt_convs = register_module("adapt_convs", torch::nn::ModuleList());
    for (auto in : in_planes) adapt_convs->push_back(CondRCUBlock(in, 2, 2, classes, act));
    output_convs =
        register_module("output_convs", CondRCUBlock(features, end ? 3 : 1, 2, classes, act));
    if (!start) msf = register_module("msf", CondMSFBlock(in_planes, features, classes));
    crp = register_module("crp", CondCRPBlock(features, 2, classes, act));
  }
  torch::Tensor forward(const std::vector<torch::Tensor>& xs, const torch::Tensor& y,
                        const std::vector<std::int64_t>& shape) {
    std::vector<torch::Tensor> hs;
    for (std::size_t i = 0; i < xs.size(); ++i)
      hs.push_back(adapt_convs[i]->as<CondRCUBlock>()->forward(xs[i], y));
    torch::Tensor h = hs.size() > 1 ? msf->forward(hs, y, shape) : hs[0];
    return output_convs->forward(crp->forward(h, y), y);
  }
  torch::nn::ModuleList adapt_convs{nullptr};
  CondRCUBlock output_convs{nullptr};
  CondMSFBlock msf{nullptr};
  CondCRPBlock crp{nullptr};
};
TORCH_MODULE(CondRefineBlock);

}  // namespace

ConditionalInstanceNorm2dPlusImpl::ConditionalInstanceNorm2dPlusImpl(std::int64_t channels,
                                                                     std::int64_t classes)
    : channels_(channels) {
  embed = register_module("embed", torch::nn::Embedding(classes, 3 * channels));
  torch::NoGradGuard no_grad;
  embed->weight.narrow(1, 0, 2 * channels).normal_(1, 0.02);
  embed->weight.narrow(1, 2 * channels, channels).zero_();
}

torch::Tensor ConditionalInstanceNorm2dPlusImpl::forward(const torch::Tensor& x,
                                                         const torch::Tensor& y) {
  torch::Tensor means = x.mean({2, 3});
  torch::Tensor m = means.mean(-1, true);
  torch::Tensor v = means.var(-1, /*unbiased=*/true, true);
  means = (means - m) / (v + 1e-5).sqrt();
  torch::Tensor h = at::instance_norm(x, {}, {}, {}, {}, true, 0.1, 1e-5, false);
  const std::vector<torch::Tensor> parts = embed->forward(y.to(torch::kLong)).chunk(3, -1);
  const torch::Tensor& gamma = parts[0];
  const torch::Tensor& alpha = parts[1];
  const torch::Tensor& beta = parts[2];
  h = h + means.unsqueeze(-1).unsqueeze(-1) * alpha.unsqueeze(-1).unsqueeze(-1);
  return gamma.view({-1, channels_, 1, 1}) * h + beta.view({-1, channels_, 1, 1});
}

NCSN::NCSN(const NCSNOptions& options) : o_(options), act_(activation(options.nonlinearity())) {
  if (o_.normalization() != "InstanceNorm++") {
    throw core::UsageError("model.normalization: NCSN has conditional InstanceNorm++ only, not '" +
                           o_.normalization() + "'");
  }
  if (o_.image_size() % 2 != 0) {
    throw core::UsageError("data.image_size: NCSN halves the resolution once; " +
                           std::to_string(o_.image_size()) + " is odd");
  }
  const std::int64_t nf = o_.nf(), classes = o_.num_classes();
  begin_conv_ = register_module("begin_conv", ncsn_conv(o_.channels(), nf, 3));
  normalizer_ = register_module("normalizer", Norm(nf, classes));
  end_conv_ = register_module("end_conv", ncsn_conv(nf, o_.channels(), 3));
  struct Stage {
    const char* name;
    std::int64_t in, out;
    bool down;
    std::int64_t dilation;
  };
  const Stage stages[] = {{"res1", nf, nf, false, 1},
                          {"res2", nf, 2 * nf, true, 1},
                          {"res3", 2 * nf, 2 * nf, true, 2},
                          {"res4", 2 * nf, 2 * nf, true, 4}};
  for (const Stage& s : stages) {
    auto list = register_module(s.name, torch::nn::ModuleList());
    list->push_back(CondResidualBlock(s.in, s.out, s.down, s.dilation, classes, act_));
    list->push_back(CondResidualBlock(s.out, s.out, false, s.dilation, classes, act_));
    res_.push_back(list);
  }
  refine_.push_back(register_module(
      "refine1",
      CondRefineBlock(std::vector<std::int64_t>{2 * nf}, 2 * nf, classes, act_, true, false)));
  refine_.push_back(
      register_module("refine2", CondRefineBlock(std::vector<std::int64_t>{2 * nf, 2 * nf}, 2 * nf,
                                                 classes, act_, false, false)));
  refine_.push_back(register_module(
      "refine3",
      CondRefineBlock(std::vector<std::int64_t>{2 * nf, 2 * nf}, nf, classes, act_, false, false)));
  refine_.push_back(register_module("refine4", CondRefineBlock(std::vector<std::int64_t>{nf, nf},
                                                               nf, classes, act_, false, true)));
}

torch::Tensor NCSN::forward(const torch::Tensor& x, const torch::Tensor& labels,
                            const torch::Tensor& class_labels) {
  SGM_CHECK(!class_labels.defined(), "this network takes no class labels");
  const torch::Tensor y = labels.to(torch::kLong);
  torch::Tensor h = begin_conv_->forward(o_.centered() ? x : x * 2 - 1);
  std::vector<torch::Tensor> layers;
  for (auto& stage : res_) {
    for (std::size_t i = 0; i < stage->size(); ++i)
      h = stage[i]->as<CondResidualBlock>()->forward(h, y);
    layers.push_back(h);
  }
  // Coarsest first: refine1([layer4]), refine2([layer3, ref1]), ..., refine4([layer1, ref3]).
  const torch::Tensor ref = refine_upward(
      layers, refine_.size(),
      [&](std::size_t i, const std::vector<torch::Tensor>& in,
          const std::vector<std::int64_t>& shape) {
        return std::dynamic_pointer_cast<CondRefineBlockImpl>(refine_[i])->forward(in, y, shape);
      });
  return end_conv_->forward(act_(normalizer_->forward(ref, y)));
}

std::vector<std::pair<std::string, std::string>> NCSN::reference_names() const {
  std::vector<std::pair<std::string, std::string>> names;
  for (const auto& p : named_parameters(true)) names.emplace_back(p.key(), p.key());
  return names;
}

}  // namespace sgm::models

#include "trainer/models/ncsnv2.h"

#include <algorithm>

#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/nn/modules/instancenorm.h>
#include <torch/nn/modules/normalization.h>

#include "trainer/core/error.h"
#include "trainer/models/ncsn_blocks.h"
#include "trainer/models/ncsnpp.h"

namespace sgm::models {
namespace F = torch::nn::functional;
namespace {

// Normalisation chosen by model.normalization, with the reference's parameter names.
std::shared_ptr<torch::nn::Module> make_norm(const std::string& kind, std::int64_t channels) {
  if (kind == "InstanceNorm++") return InstanceNorm2dPlus(channels).ptr();
  if (kind == "InstanceNorm")
    return torch::nn::InstanceNorm2d(torch::nn::InstanceNorm2dOptions(channels)).ptr();
  throw core::UsageError(
      "model.normalization: NCSNv2 supports InstanceNorm++ and InstanceNorm, not '" + kind + "'");
}

torch::Tensor apply_norm(const std::shared_ptr<torch::nn::Module>& norm, const torch::Tensor& x) {
  if (auto plus = std::dynamic_pointer_cast<InstanceNorm2dPlusImpl>(norm)) return plus->forward(x);
  return std::dynamic_pointer_cast<torch::nn::InstanceNorm2dImpl>(norm)->forward(x);
}

// layers.ResidualBlock (registration order conv1, normalize2, conv2, shortcut, normalize1).
class ResidualBlockImpl : public torch::nn::Module {
 public:
  ResidualBlockImpl(std::int64_t in, std::int64_t out, bool down, std::int64_t dilation,
                    const std::string& norm, Activation act)
      : act_(std::move(act)), identity_(in == out && !down) {
    if (down && dilation == 1) {
      conv1_ = register_module("conv1", ncsn_conv(in, in, 3));
      normalize2_ = register_module("normalize2", make_norm(norm, in));
      conv2_ = register_module("conv2", ConvMeanPool(in, out, 3).ptr());
      if (!identity_) shortcut_ = register_module("shortcut", ConvMeanPool(in, out, 1).ptr());
    } else {
      const std::int64_t mid = down ? in : out;
      conv1_ = register_module("conv1", ncsn_conv(in, mid, 3, true, dilation));
      normalize2_ = register_module("normalize2", make_norm(norm, mid));
      conv2_ = register_module("conv2", ncsn_conv(mid, out, 3, true, dilation));
      if (!identity_) {
        shortcut_ =
            register_module("shortcut", dilation > 1 ? ncsn_conv(in, out, 3, true, dilation).ptr()
                                                     : ncsn_conv(in, out, 1).ptr());
      }
    }
    normalize1_ = register_module("normalize1", make_norm(norm, in));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor h = forward_conv(conv1_, act_(apply_norm(normalize1_, x)));
    h = forward_conv(conv2_, act_(apply_norm(normalize2_, h)));
    return (identity_ ? x : forward_conv(shortcut_, x)) + h;
  }

 private:
  Activation act_;
  bool identity_;
  std::shared_ptr<torch::nn::Module> conv1_, conv2_, shortcut_, normalize1_, normalize2_;
};
TORCH_MODULE(ResidualBlock);

// Residual conv units: n_blocks x (n_stages x [act, conv 3x3 without bias]) + skip.
class RCUBlockImpl : public torch::nn::Module {
 public:
  RCUBlockImpl(std::int64_t features, int n_blocks, int n_stages, Activation act)
      : act_(std::move(act)) {
    for (int i = 0; i < n_blocks; ++i) {
      convs_.emplace_back();
      for (int j = 0; j < n_stages; ++j) {
        convs_.back().push_back(
            register_module(std::to_string(i + 1) + "_" + std::to_string(j + 1) + "_conv",
                            ncsn_conv(features, features, 3, false)));
      }
    }
  }
  torch::Tensor forward(torch::Tensor x) {
    for (auto& block : convs_) {
      torch::Tensor residual = x;
      for (auto& conv : block) x = conv->forward(act_(x));
      x = x + residual;
    }
    return x;
  }

 private:
  Activation act_;
  std::vector<std::vector<Conv2d>> convs_;
};
TORCH_MODULE(RCUBlock);

// Chained residual pooling: act, then n_stages x (5x5 max pool, conv) accumulated.
class CRPBlockImpl : public torch::nn::Module {
 public:
  CRPBlockImpl(std::int64_t features, int n_stages, Activation act) : act_(std::move(act)) {
    convs = register_module("convs", torch::nn::ModuleList());
    for (int i = 0; i < n_stages; ++i) convs->push_back(ncsn_conv(features, features, 3, false));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = act_(x);
    torch::Tensor path = x;
    for (std::size_t i = 0; i < convs->size(); ++i) {
      path = convs[i]->as<Conv2d>()->forward(
          F::max_pool2d(path, F::MaxPool2dFuncOptions(5).stride(1).padding(2)));
      x = path + x;
    }
    return x;
  }
  torch::nn::ModuleList convs{nullptr};

 private:
  Activation act_;
};
TORCH_MODULE(CRPBlock);

// Multi-resolution fusion: conv each input, bilinear (align_corners) to `shape`, sum.
class MSFBlockImpl : public torch::nn::Module {
 public:
  MSFBlockImpl(const std::vector<std::int64_t>& in_planes, std::int64_t features) {
    convs = register_module("convs", torch::nn::ModuleList());
    for (auto in : in_planes) convs->push_back(ncsn_conv(in, features, 3, true));
  }
  torch::Tensor forward(const std::vector<torch::Tensor>& xs,
                        const std::vector<std::int64_t>& shape) {
    torch::Tensor sum;
    for (std::size_t i = 0; i < convs->size(); ++i) {
      torch::Tensor h = convs[i]->as<Conv2d>()->forward(xs[i]);
      h = F::interpolate(
          h, F::InterpolateFuncOptions().size(shape).mode(torch::kBilinear).align_corners(true));
      sum = sum.defined() ? sum + h : h;
    }
    return sum;
  }
  torch::nn::ModuleList convs{nullptr};
};
TORCH_MODULE(MSFBlock);

class RefineBlockImpl : public torch::nn::Module {
 public:
  RefineBlockImpl(const std::vector<std::int64_t>& in_planes, std::int64_t features,
                  const Activation& act, bool start, bool end) {
    adapt_convs = register_module("adapt_convs", torch::nn::ModuleList());
    for (auto in : in_planes) adapt_convs->push_back(RCUBlock(in, 2, 2, act));
    output_convs = register_module("output_convs", RCUBlock(features, end ? 3 : 1, 2, act));
    if (!start) msf = register_module("msf", MSFBlock(in_planes, features));
    crp = register_module("crp", CRPBlock(features, 2, act));
  }
  torch::Tensor forward(const std::vector<torch::Tensor>& xs,
                        const std::vector<std::int64_t>& shape) {
    std::vector<torch::Tensor> hs;
    for (std::size_t i = 0; i < xs.size(); ++i)
      hs.push_back(adapt_convs[i]->as<RCUBlock>()->forward(xs[i]));
    torch::Tensor h = hs.size() > 1 ? msf->forward(hs, shape) : hs[0];
    return output_convs->forward(crp->forward(h));
  }
  torch::nn::ModuleList adapt_convs{nullptr};
  RCUBlock output_convs{nullptr};
  MSFBlock msf{nullptr};
  CRPBlock crp{nullptr};
};
TORCH_MODULE(RefineBlock);

struct StageSpec {
  const char* name;
  std::int64_t in_mult, out_mult;
  bool down;
  std::int64_t dilation;
};

struct RefineSpec {
  const char* name;
  std::vector<std::int64_t> in_mult;  // widths of the inputs, in units of nf
  std::int64_t out_mult;
};

// The three score_sde variants (NCSNv2, NCSNv2Deeper, NCSNv2Deepest), widths in units of nf.
// Refine blocks are listed in forward order (coarsest first).
struct Architecture {
  std::vector<StageSpec> stages;
  std::vector<RefineSpec> refines;
};

Architecture architecture(const std::string& name) {
  if (name == "ncsnv2_64") {
    return {{{"res1", 1, 1, false, 1},
             {"res2", 1, 2, true, 1},
             {"res3", 2, 2, true, 2},
             {"res4", 2, 2, true, 4}},
            {{"refine1", {2}, 2},
             {"refine2", {2, 2}, 2},
             {"refine3", {2, 2}, 1},
             {"refine4", {1, 1}, 1}}};
  }
  if (name == "ncsnv2_128") {
    return {{{"res1", 1, 1, false, 1},
             {"res2", 1, 2, true, 1},
             {"res3", 2, 2, true, 1},
             {"res4", 2, 4, true, 2},
             {"res5", 4, 4, true, 4}},
            {{"refine1", {4}, 4},
             {"refine2", {4, 4}, 2},
             {"refine3", {2, 2}, 2},
             {"refine4", {2, 2}, 1},
             {"refine5", {1, 1}, 1}}};
  }
  if (name == "ncsnv2_256") {
    return {{{"res1", 1, 1, false, 1},
             {"res2", 1, 2, true, 1},
             {"res3", 2, 2, true, 1},
             {"res31", 2, 2, true, 1},
             {"res4", 2, 4, true, 2},
             {"res5", 4, 4, true, 4}},
            {{"refine1", {4}, 4},
             {"refine2", {4, 4}, 2},
             {"refine31", {2, 2}, 2},
             {"refine3", {2, 2}, 2},
             {"refine4", {2, 2}, 1},
             {"refine5", {1, 1}, 1}}};
  }
  throw core::UsageError("model.name: '" + name + "' is not an NCSNv2 variant");
}

}  // namespace

InstanceNorm2dPlusImpl::InstanceNorm2dPlusImpl(std::int64_t channels) {
  alpha_ = register_parameter("alpha", torch::empty({channels}).normal_(1, 0.02));
  gamma_ = register_parameter("gamma", torch::empty({channels}).normal_(1, 0.02));
  beta_ = register_parameter("beta", torch::zeros({channels}));
}

torch::Tensor InstanceNorm2dPlusImpl::forward(const torch::Tensor& x) {
  torch::Tensor means = x.mean({2, 3});
  torch::Tensor m = means.mean(-1, true);
  torch::Tensor v = means.var(-1, /*unbiased=*/true, true);
  means = (means - m) / (v + 1e-5).sqrt();
  torch::Tensor h = torch::instance_norm(x, {}, {}, {}, {}, true, 0.1, 1e-5, false);
  h = h + means.unsqueeze(-1).unsqueeze(-1) * alpha_.view({1, -1, 1, 1});
  return gamma_.view({1, -1, 1, 1}) * h + beta_.view({1, -1, 1, 1});
}

NCSNv2::NCSNv2(const NCSNv2Options& options)
    : o_(options), act_(activation(options.nonlinearity())) {
  if (o_.image_size() == 28)
    throw core::UsageError(
        "data.image_size: NCSNv2's 28-pixel variant (adjust_padding) is not supported");
  const std::int64_t nf = o_.nf();
  const Architecture arch = architecture(o_.architecture());
  sigmas_ =
      register_buffer("sigmas", reference_sigmas(o_.sigma_min(), o_.sigma_max(), o_.num_scales()));
  begin_conv_ = register_module("begin_conv", ncsn_conv(o_.channels(), nf, 3));
  normalizer_ = register_module("normalizer", make_norm(o_.normalization(), nf));
  end_conv_ = register_module("end_conv", ncsn_conv(nf, o_.channels(), 3));
  for (const StageSpec& s : arch.stages) {
    // Each stage: a (possibly down-sampling) block, then a block at the stage's width.
    auto list = register_module(s.name, torch::nn::ModuleList());
    list->push_back(ResidualBlock(s.in_mult * nf, s.out_mult * nf, s.down, s.dilation,
                                  o_.normalization(), act_));
    list->push_back(ResidualBlock(s.out_mult * nf, s.out_mult * nf, false, s.dilation,
                                  o_.normalization(), act_));
    res_.push_back(list);
  }
  std::vector<std::pair<std::string, std::shared_ptr<torch::nn::Module>>> blocks;
  for (std::size_t i = 0; i < arch.refines.size(); ++i) {
    const RefineSpec& r = arch.refines[i];
    std::vector<std::int64_t> in;
    for (auto m : r.in_mult) in.push_back(m * nf);
    const bool start = i == 0, end = i + 1 == arch.refines.size();
    refine_.push_back(RefineBlock(in, r.out_mult * nf, act_, start, end).ptr());
    blocks.emplace_back(r.name, refine_.back());
  }
  // Register in the reference's attribute order (its refine31 follows refine3), so parameters()
  // and hence EMA shadow lists come in the same order as score_sde's.
  std::stable_sort(blocks.begin(), blocks.end(), [](const auto& a, const auto& b) {
    auto key = [](const std::string& n) {
      return n == "refine31" ? 35 : std::stoi(n.substr(6)) * 10;
    };
    return key(a.first) < key(b.first);
  });
  for (auto& [name, block] : blocks) register_module(name, block);
}

torch::Tensor NCSNv2::forward(const torch::Tensor& x, const torch::Tensor& labels,
                              const torch::Tensor& class_labels) {
  SGM_CHECK(!class_labels.defined(), "this network takes no class labels");
  torch::Tensor h = begin_conv_->forward(o_.centered() ? x : x * 2 - 1);
  std::vector<torch::Tensor> layers;
  for (auto& stage : res_) {
    for (std::size_t i = 0; i < stage->size(); ++i) h = stage[i]->as<ResidualBlock>()->forward(h);
    layers.push_back(h);
  }
  // Coarsest first: refine1([layerK]), refine2([layerK-1, ref1]), ...
  const torch::Tensor ref = refine_upward(
      layers, refine_.size(),
      [&](std::size_t i, const std::vector<torch::Tensor>& in,
          const std::vector<std::int64_t>& shape) {
        return std::dynamic_pointer_cast<RefineBlockImpl>(refine_[i])->forward(in, shape);
      });
  torch::Tensor out = end_conv_->forward(act_(apply_norm(normalizer_, ref)));
  torch::Tensor used = sigmas_.index_select(0, labels.to(torch::kLong).to(sigmas_.device()));
  return out / used.view({-1, 1, 1, 1}).to(out.dtype());
}

std::vector<std::pair<std::string, std::string>> NCSNv2::reference_names() const {
  std::vector<std::pair<std::string, std::string>> names;
  for (const auto& p : named_parameters(true)) names.emplace_back(p.key(), p.key());
  names.emplace_back("sigmas", "sigmas");
  return names;
}

}  // namespace sgm::models

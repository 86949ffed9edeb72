#include "eval/inception.h"

#include <cstdio>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/utils.h>

#include "data/named_arrays.h"
#include "trainer/core/error.h"

namespace sgm::eval {

// A named stage of the network with one input and one output.
class InceptionBlock : public torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& x) = 0;
};

namespace {

using torch::nn::BatchNorm2d;
using torch::nn::BatchNorm2dOptions;
using torch::nn::Conv2d;
using torch::nn::Conv2dOptions;
using Pair = torch::ExpandingArray<2>;

// torchvision's BasicConv2d: conv without bias, BatchNorm (eps 1e-3), ReLU.
class BasicConv : public InceptionBlock {
 public:
  BasicConv(std::int64_t in, std::int64_t out, Pair kernel, Pair stride = 1, Pair padding = 0)
      : conv_(register_module(
            "conv",
            Conv2d(Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false)))),
        bn_(register_module("bn", BatchNorm2d(BatchNorm2dOptions(out).eps(0.001)))) {}
  at::Tensor forward(const at::Tensor& x) override {
    return torch::relu(bn_->forward(conv_->forward(x)));
  }

 private:
  Conv2d conv_;
  BatchNorm2d bn_;
};

// Registers a BasicConv under `name` on `parent` and returns it.
std::shared_ptr<BasicConv> conv(torch::nn::Module& parent, const std::string& name, std::int64_t in,
                                std::int64_t out, Pair kernel, Pair stride = 1, Pair padding = 0) {
  return parent.register_module(name,
                                std::make_shared<BasicConv>(in, out, kernel, stride, padding));
}

// TF's 3x3 average pool, stride 1, that ignores padded zeros (pytorch-fid's FID blocks).
at::Tensor average_pool(const at::Tensor& x) {
  namespace F = torch::nn::functional;
  return F::avg_pool2d(x, F::AvgPool2dFuncOptions(3).stride(1).padding(1).count_include_pad(false));
}

at::Tensor max_pool(const at::Tensor& x, std::int64_t stride, std::int64_t padding) {
  return torch::max_pool2d(x, {3, 3}, {stride, stride}, {padding, padding});
}

// Mixed_5b/5c/5d (FIDInceptionA).
class InceptionA : public InceptionBlock {
 public:
  InceptionA(std::int64_t in, std::int64_t pool_features)
      : b1_(conv(*this, "branch1x1", in, 64, 1)),
        b5_1_(conv(*this, "branch5x5_1", in, 48, 1)),
        b5_2_(conv(*this, "branch5x5_2", 48, 64, 5, 1, 2)),
        d1_(conv(*this, "branch3x3dbl_1", in, 64, 1)),
        d2_(conv(*this, "branch3x3dbl_2", 64, 96, 3, 1, 1)),
        d3_(conv(*this, "branch3x3dbl_3", 96, 96, 3, 1, 1)),
        pool_(conv(*this, "branch_pool", in, pool_features, 1)) {}
  at::Tensor forward(const at::Tensor& x) override {
    return torch::cat(
        {b1_->forward(x), b5_2_->forward(b5_1_->forward(x)),
         d3_->forward(d2_->forward(d1_->forward(x))), pool_->forward(average_pool(x))},
        1);
  }

 private:
  std::shared_ptr<BasicConv> b1_, b5_1_, b5_2_, d1_, d2_, d3_, pool_;
};

// Mixed_6a (torchvision's InceptionB).
class InceptionB : public InceptionBlock {
 public:
  explicit InceptionB(std::int64_t in)
      : b3_(conv(*this, "branch3x3", in, 384, 3, 2)),
        d1_(conv(*this, "branch3x3dbl_1", in, 64, 1)),
        d2_(conv(*this, "branch3x3dbl_2", 64, 96, 3, 1, 1)),
        d3_(conv(*this, "branch3x3dbl_3", 96, 96, 3, 2)) {}
  at::Tensor forward(const at::Tensor& x) override {
    return torch::cat(
        {b3_->forward(x), d3_->forward(d2_->forward(d1_->forward(x))), max_pool(x, 2, 0)}, 1);
  }

 private:
  std::shared_ptr<BasicConv> b3_, d1_, d2_, d3_;
};

// Mixed_6b..6e (FIDInceptionC): factorised 7x7 branches.
class InceptionC : public InceptionBlock {
 public:
  InceptionC(std::int64_t in, std::int64_t c7)
      : b1_(conv(*this, "branch1x1", in, 192, 1)),
        s1_(conv(*this, "branch7x7_1", in, c7, 1)),
        s2_(conv(*this, "branch7x7_2", c7, c7, {1, 7}, 1, {0, 3})),
        s3_(conv(*this, "branch7x7_3", c7, 192, {7, 1}, 1, {3, 0})),
        d1_(conv(*this, "branch7x7dbl_1", in, c7, 1)),
        d2_(conv(*this, "branch7x7dbl_2", c7, c7, {7, 1}, 1, {3, 0})),
        d3_(conv(*this, "branch7x7dbl_3", c7, c7, {1, 7}, 1, {0, 3})),
        d4_(conv(*this, "branch7x7dbl_4", c7, c7, {7, 1}, 1, {3, 0})),
        d5_(conv(*this, "branch7x7dbl_5", c7, 192, {1, 7}, 1, {0, 3})),
        pool_(conv(*this, "branch_pool", in, 192, 1)) {}
  at::Tensor forward(const at::Tensor& x) override {
    at::Tensor s = s3_->forward(s2_->forward(s1_->forward(x)));
    at::Tensor d = d5_->forward(d4_->forward(d3_->forward(d2_->forward(d1_->forward(x)))));
    return torch::cat({b1_->forward(x), s, d, pool_->forward(average_pool(x))}, 1);
  }

 private:
  std::shared_ptr<BasicConv> b1_, s1_, s2_, s3_, d1_, d2_, d3_, d4_, d5_, pool_;
};

// Mixed_7a (torchvision's InceptionD).
class InceptionD : public InceptionBlock {
 public:
  explicit InceptionD(std::int64_t in)
      : t1_(conv(*this, "branch3x3_1", in, 192, 1)),
        t2_(conv(*this, "branch3x3_2", 192, 320, 3, 2)),
        s1_(conv(*this, "branch7x7x3_1", in, 192, 1)),
        s2_(conv(*this, "branch7x7x3_2", 192, 192, {1, 7}, 1, {0, 3})),
        s3_(conv(*this, "branch7x7x3_3", 192, 192, {7, 1}, 1, {3, 0})),
        s4_(conv(*this, "branch7x7x3_4", 192, 192, 3, 2)) {}
  at::Tensor forward(const at::Tensor& x) override {
    at::Tensor s = s4_->forward(s3_->forward(s2_->forward(s1_->forward(x))));
    return torch::cat({t2_->forward(t1_->forward(x)), s, max_pool(x, 2, 0)}, 1);
  }

 private:
  std::shared_ptr<BasicConv> t1_, t2_, s1_, s2_, s3_, s4_;
};

// Mixed_7b (FIDInceptionE_1: average pool without padding) and Mixed_7c (FIDInceptionE_2: max
// pool, a quirk of the TF graph).
class InceptionE : public InceptionBlock {
 public:
  InceptionE(std::int64_t in, bool max_pool_branch)
      : max_pool_branch_(max_pool_branch),
        b1_(conv(*this, "branch1x1", in, 320, 1)),
        t1_(conv(*this, "branch3x3_1", in, 384, 1)),
        t2a_(conv(*this, "branch3x3_2a", 384, 384, {1, 3}, 1, {0, 1})),
        t2b_(conv(*this, "branch3x3_2b", 384, 384, {3, 1}, 1, {1, 0})),
        d1_(conv(*this, "branch3x3dbl_1", in, 448, 1)),
        d2_(conv(*this, "branch3x3dbl_2", 448, 384, 3, 1, 1)),
        d3a_(conv(*this, "branch3x3dbl_3a", 384, 384, {1, 3}, 1, {0, 1})),
        d3b_(conv(*this, "branch3x3dbl_3b", 384, 384, {3, 1}, 1, {1, 0})),
        pool_(conv(*this, "branch_pool", in, 192, 1)) {}
  at::Tensor forward(const at::Tensor& x) override {
    const at::Tensor t = t1_->forward(x);
    const at::Tensor d = d2_->forward(d1_->forward(x));
    const at::Tensor pooled = max_pool_branch_ ? max_pool(x, 1, 1) : average_pool(x);
    return torch::cat({b1_->forward(x), t2a_->forward(t), t2b_->forward(t), d3a_->forward(d),
                       d3b_->forward(d), pool_->forward(pooled)},
                      1);
  }

 private:
  bool max_pool_branch_;
  std::shared_ptr<BasicConv> b1_, t1_, t2a_, t2b_, d1_, d2_, d3a_, d3b_, pool_;
};

constexpr const char* kWeightsSha256Prefix = "6726825d";

}  // namespace

FidInceptionImpl::FidInceptionImpl() {
  auto add = [&](const std::string& name, std::shared_ptr<InceptionBlock> block) {
    blocks_.push_back(register_module(name, std::move(block)));
  };
  add("Conv2d_1a_3x3", std::make_shared<BasicConv>(3, 32, 3, 2));
  add("Conv2d_2a_3x3", std::make_shared<BasicConv>(32, 32, 3));
  add("Conv2d_2b_3x3", std::make_shared<BasicConv>(32, 64, 3, 1, 1));
  add("Conv2d_3b_1x1", std::make_shared<BasicConv>(64, 80, 1));
  add("Conv2d_4a_3x3", std::make_shared<BasicConv>(80, 192, 3));
  add("Mixed_5b", std::make_shared<InceptionA>(192, 32));
  add("Mixed_5c", std::make_shared<InceptionA>(256, 64));
  add("Mixed_5d", std::make_shared<InceptionA>(288, 64));
  add("Mixed_6a", std::make_shared<InceptionB>(288));
  add("Mixed_6b", std::make_shared<InceptionC>(768, 128));
  add("Mixed_6c", std::make_shared<InceptionC>(768, 160));
  add("Mixed_6d", std::make_shared<InceptionC>(768, 160));
  add("Mixed_6e", std::make_shared<InceptionC>(768, 192));
  add("Mixed_7a", std::make_shared<InceptionD>(768));
  add("Mixed_7b", std::make_shared<InceptionE>(1280, false));
  add("Mixed_7c", std::make_shared<InceptionE>(2048, true));
  fc_ = register_module("fc", torch::nn::Linear(2048, 1008));
  eval();
}

InceptionOutput FidInceptionImpl::features(const at::Tensor& input) {
  at::Tensor x = input;
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    x = blocks_[i]->forward(x);
    if (i == 2 || i == 4) x = max_pool(x, 2, 0);  // after Conv2d_2b_3x3 and Conv2d_4a_3x3
  }
  const at::Tensor pool3 = torch::adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  return {pool3, fc_->forward(pool3)};
}

InceptionOutput FidInceptionImpl::forward(const at::Tensor& images) {
  if (images.dim() != 4 || images.size(1) != 3) {
    throw core::UsageError(fmt::format("Inception input must be [N, 3, H, W], got [{}]",
                                       fmt::join(images.sizes(), ", ")));
  }
  at::Tensor x = images.to(torch::kFloat);
  if (x.size(2) != 299 || x.size(3) != 299)
    x = at::upsample_bilinear2d(x, {299, 299}, /*align_corners=*/false);
  return features(x.mul(2).sub(1));
}

std::map<std::string, at::Tensor> state_of(FidInceptionImpl& net) {
  std::map<std::string, at::Tensor> out;
  for (const auto& item : net.named_parameters()) out.emplace(item.key(), item.value());
  for (const auto& item : net.named_buffers()) out.emplace(item.key(), item.value());
  return out;
}

void load_state(FidInceptionImpl& net, const std::map<std::string, at::Tensor>& weights,
                const std::string& source) {
  std::map<std::string, at::Tensor> state = state_of(net);
  for (const auto& [name, value] : weights) {
    if (!state.count(name))
      throw core::UsageError(fmt::format("{}: unexpected Inception weight '{}'", source, name));
  }
  torch::NoGradGuard no_grad;
  for (auto& [name, destination] : state) {
    auto it = weights.find(name);
    if (it == weights.end()) {
      if (name.find("num_batches_tracked") != std::string::npos) continue;  // unused in eval mode
      throw core::UsageError(fmt::format("{}: no Inception weight '{}'", source, name));
    }
    if (it->second.sizes() != destination.sizes()) {
      throw core::UsageError(fmt::format("{}: Inception weight '{}' has shape [{}], expected [{}]",
                                         source, name, fmt::join(it->second.sizes(), ", "),
                                         fmt::join(destination.sizes(), ", ")));
    }
    destination.copy_(it->second);
  }
}

FidInception load_fid_inception(const std::string& path) {
  const data::NamedArrayFile file(path);
  std::string sha;
  try {
    sha = file.string_attribute("source_sha256");
  } catch (const core::Error&) {
    throw core::UsageError(fmt::format(
        "{}: no source_sha256 attribute (convert pt_inception-2015-12-05-6726825d.pth with "
        "eval/tools/inception_weights_to_h5.py)",
        path));
  }
  if (sha.rfind(kWeightsSha256Prefix, 0) != 0) {
    throw core::UsageError(
        fmt::format("{}: converted from a file with SHA-256 {}..., not pytorch-fid's {}... weights",
                    path, sha.substr(0, 8), kWeightsSha256Prefix));
  }
  FidInception net;
  load_state(*net, file.read_group("weights"), path);
  net->eval();
  return net;
}

}  // namespace sgm::eval

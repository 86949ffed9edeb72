// The FID Inception-v3 of pytorch-fid (fid_inception_v3 + the InceptionV3 wrapper at block 3):
// torchvision's Inception3 topology with 1008 classes, BatchNorm eps 1e-3,
// the FID-specific blocks (average pools that ignore padding in A, C and E_1; a max pool in E_2)
// and torchvision's parameter names, so a converted state_dict loads by name.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace sgm::eval {

struct InceptionOutput {
  at::Tensor pool3;   // [N, 2048]: the FID features
  at::Tensor logits;  // [N, 1008]: fc(pool3) with its bias (IS)
};

class FidInceptionImpl : public torch::nn::Module {
 public:
  FidInceptionImpl();
  // images [N, 3, H, W] in [0, 1] (float): pytorch-fid's preprocessing (bilinear resize to 299
  // with align_corners = false, no antialiasing, then 2x - 1) and the network, in eval mode.
  InceptionOutput forward(const at::Tensor& images);
  // The network alone on already-preprocessed [N, 3, 299, 299] input.
  InceptionOutput features(const at::Tensor& x);

 private:
  // Conv2d_1a_3x3 ... Mixed_7c in order; a max pool follows Conv2d_2b_3x3 and Conv2d_4a_3x3.
  std::vector<std::shared_ptr<class InceptionBlock>> blocks_;
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(FidInception);

// Every parameter and buffer of the network by torchvision name (num_batches_tracked included).
std::map<std::string, at::Tensor> state_of(FidInceptionImpl& net);

// Copies `weights` into the network by name; throws core::UsageError naming `source` and the
// first missing, unexpected or mis-shaped key.
void load_state(FidInceptionImpl& net, const std::map<std::string, at::Tensor>& weights,
                const std::string& source);

// pytorch-fid's weights converted to named arrays (eval/tools/inception_weights_to_h5.py):
// an HDF5 file whose root attribute `source_sha256` must start with 6726825d (the SHA-256
// prefix in the name pt_inception-2015-12-05-6726825d.pth). Returns the network in eval mode.
FidInception load_fid_inception(const std::string& path);

}  // namespace sgm::eval

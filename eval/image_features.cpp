#include "eval/image_features.h"

#include <ATen/ATen.h>

#include "trainer/core/error.h"

namespace sgm::eval {

InceptionOutput inception_features(FidInceptionImpl& net, const at::Tensor& images,
                                   std::int64_t batch, const at::Device& device) {
  if (images.dim() != 4 || images.scalar_type() != at::kByte ||
      (images.size(3) != 1 && images.size(3) != 3)) {
    throw core::UsageError(fmt::format(
        "Inception features need uint8 images [N, H, W, 1 or 3], got {} of {} dimensions",
        c10::toString(images.scalar_type()), images.dim()));
  }
  SGM_CHECK(batch >= 1, "inception_features: batch {}", batch);
  at::NoGradGuard no_grad;
  InceptionOutput out{at::empty({0, 2048}), at::empty({0, 1008})};
  std::vector<at::Tensor> pool3, logits;
  for (std::int64_t start = 0; start < images.size(0); start += batch) {
    const std::int64_t n = std::min(batch, images.size(0) - start);
    at::Tensor x = images.narrow(0, start, n).to(device).permute({0, 3, 1, 2}).to(at::kFloat) / 255;
    if (x.size(1) == 1) x = x.expand({n, 3, x.size(2), x.size(3)});
    const InceptionOutput o = net.forward(x.contiguous());
    pool3.push_back(o.pool3.to(at::kCPU, at::kFloat));
    logits.push_back(o.logits.to(at::kCPU, at::kFloat));
  }
  if (!pool3.empty()) out = {at::cat(pool3), at::cat(logits)};
  return out;
}

}  // namespace sgm::eval

// Inception outputs of uint8 images (the pixels a user would save): k / 255 as pytorch-fid's
// ToTensor, one-channel images repeated to RGB (EDM's rule), in chunks on the device.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "eval/inception.h"

namespace sgm::eval {

// images: uint8 [N, H, W, C], C = 1 or 3 (any device). Returns float32 CPU pool3 [N, 2048] and
// logits [N, 1008]; N may be 0.
InceptionOutput inception_features(FidInceptionImpl& net, const at::Tensor& images,
                                   std::int64_t batch, const at::Device& device);

}  // namespace sgm::eval

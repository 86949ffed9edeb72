// Controllable generation with the PC sampler (score_sde
// controllable_generation.py): inpainting and colourisation. Part of the sample is known in a
// linear colour space y = x M (per pixel, channel row-vector times an orthonormal C x C matrix M;
// the pixel space itself for inpainting). The sampler starts from the known part and the prior
// elsewhere, and after every predictor and corrector update at time t the known coordinates are
// replaced by a draw of p_0t(y_t | y_known) = N(mean(t) y_known, std(t)^2); x_mean takes mean(t)
// y_known there and the already-projected noisy x elsewhere, as the reference does (a quirk of
// score_sde, kept for parity).
#pragma once

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

#include "eval/pc_steps.h"
#include "trainer/sde/sde.h"

namespace sgm::eval {

struct Constraint {
  at::Tensor known;  // [B, C, H, W] in the model's data space (after the data scaler)
  at::Tensor mask;   // broadcastable to [B, C, H, W], in the constraint's space; 1 = known
  at::Tensor space;  // [C, C] orthonormal M; undefined: the pixel space (inpainting)

  at::Tensor to_space(const at::Tensor& x) const;
  at::Tensor from_space(const at::Tensor& y) const;
};

// Inpainting: `mask` (1 = known pixel) broadcastable to `known`.
Constraint inpainting(const at::Tensor& known, const at::Tensor& mask);
// Colourisation of 3-channel grey images (every channel equal): the grey channel of score_sde's
// decoupled space (M's first column is (1, 1, 1)/sqrt 3) is known, the two others are sampled.
Constraint colorization(const at::Tensor& grey);
// The channel mean repeated over the channels: what score_sde feeds the colouriser.
at::Tensor greyscale(const at::Tensor& x);

// An inpainting mask [1, 1, H, W] (1 = known): left_half (score_sde's demo: the right half is
// generated), top_half, center (the central square of half the side is generated), or a PNG
// file read as grey, white (> 127) = known, resized to H x W. Errors name eval.mask or the file.
at::Tensor inpainting_mask(const std::string& spec, std::int64_t height, std::int64_t width);

// The first state: known coordinates from `known`, the prior sample elsewhere (score_sde masks
// the prior in pixel space before moving it to the constraint's space).
at::Tensor constrained_prior(const Constraint& c, const at::Tensor& prior);
// The projection after an update at times t [B]; z: standard normal noise like x.
Update project(const Constraint& c, const sde::SDE& sde, const at::Tensor& x, const at::Tensor& t,
               const at::Tensor& z);

// What the user sees of the known part: the masked image (inpainting, unknown pixels at the
// bottom of the data range) or the grey image (colourisation).
at::Tensor visible_input(const Constraint& c, bool centered);

}  // namespace sgm::eval

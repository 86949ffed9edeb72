#include "eval/controllable.h"

#include <cmath>
#include <filesystem>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "data/image_set.h"
#include "trainer/core/error.h"

namespace sgm::eval {

at::Tensor Constraint::to_space(const at::Tensor& x) const {
  if (!space.defined()) return x;
  return at::einsum("bihw,ij->bjhw", {x, space.to(x.options())});
}

at::Tensor Constraint::from_space(const at::Tensor& y) const {
  if (!space.defined()) return y;
  // M is orthonormal: its inverse is its transpose.
  return at::einsum("bjhw,ij->bihw", {y, space.to(y.options())});
}

Constraint inpainting(const at::Tensor& known, const at::Tensor& mask) {
  SGM_CHECK(known.dim() == 4, "inpainting: known images must be [B, C, H, W]");
  Constraint c;
  c.known = known;
  c.mask = mask.to(known.options());
  return c;
}

Constraint colorization(const at::Tensor& grey) {
  SGM_CHECK(grey.dim() == 4 && grey.size(1) == 3, "colorization: grey images must be [B, 3, H, W]");
  // Columns: the grey direction (1, 1, 1)/sqrt 3 and two orthonormal colour directions. score_sde
  // stores this matrix rounded to float32 from an SVD; these are its exact values (the two
  // differ by at most 1e-7).
  const double a = 1 / std::sqrt(3.0), b = 1 / std::sqrt(6.0), h = 1 / std::sqrt(2.0);
  Constraint c;
  c.known = grey;
  c.space = at::tensor({a, -2 * b, 0.0, a, b, h, a, b, -h}, at::kDouble).view({3, 3});
  c.space = c.space.to(grey.options());
  c.mask = at::tensor({1.0, 0.0, 0.0}, grey.options()).view({1, 3, 1, 1});
  return c;
}

at::Tensor greyscale(const at::Tensor& x) { return x.mean(1, true).expand_as(x).contiguous(); }

at::Tensor inpainting_mask(const std::string& spec, std::int64_t height, std::int64_t width) {
  at::Tensor m = at::zeros({1, 1, height, width}, at::kFloat);
  if (spec == "left_half") {
    m.narrow(3, 0, width / 2).fill_(1);
  } else if (spec == "top_half") {
    m.narrow(2, 0, height / 2).fill_(1);
  } else if (spec == "center") {
    m.fill_(1);
    m.narrow(2, height / 4, height - 2 * (height / 4))
        .narrow(3, width / 4, width - 2 * (width / 4))
        .fill_(0);
  } else if (spec.size() > 4 && spec.substr(spec.size() - 4) == ".png") {
    if (!std::filesystem::is_regular_file(spec))
      throw core::UsageError(fmt::format("eval.mask: {} does not exist", spec));
    SGM_CHECK(height == width, "inpainting_mask: a PNG mask needs square images");
    const at::Tensor grey = data::read_image(spec, height, 1);
    m = grey.select(2, 0).gt(127).to(at::kFloat).view({1, 1, height, width});
  } else {
    throw core::UsageError(
        fmt::format("eval.mask = '{}': expected left_half, top_half, center or a .png file", spec));
  }
  if (m.sum().item<double>() == 0)
    throw core::UsageError(fmt::format("eval.mask = '{}': no pixel is known", spec));
  return m;
}

at::Tensor constrained_prior(const Constraint& c, const at::Tensor& prior) {
  return c.from_space(c.to_space(c.known) * c.mask + c.to_space(prior * (1 - c.mask)));
}

Update project(const Constraint& c, const sde::SDE& sde, const at::Tensor& x, const at::Tensor& t,
               const at::Tensor& z) {
  const sde::MeanStd known = sde.marginal_prob(c.to_space(c.known), t);
  const at::Tensor noisy = known.mean + z * sde::batch_view(known.std, z);
  Update u;
  u.x = c.from_space(c.to_space(x) * (1 - c.mask) + noisy * c.mask);
  u.x_mean = c.from_space(c.to_space(u.x) * (1 - c.mask) + known.mean * c.mask);
  return u;
}

at::Tensor visible_input(const Constraint& c, bool centered) {
  if (c.space.defined()) return c.known;
  return c.known * c.mask + (centered ? -1.0 : 0.0) * (1 - c.mask);
}

}  // namespace sgm::eval

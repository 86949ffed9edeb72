#include "data/toy2d.h"

#include <cmath>

#include <ATen/ATen.h>

#include "trainer/core/error.h"
#include "trainer/core/rng.h"

namespace sgm::data {

ImageSet make_toy2d(const ToyOptions& o) {
  if (o.count < 1) throw core::UsageError("--num must be positive");
  if (!(o.std >= 0)) throw core::UsageError("--std must not be negative");
  const core::CounterRng rng(o.seed);
  const at::Tensor index = at::arange(o.count, at::kLong);
  const at::Tensor u = rng.uniform(index, 4, core::RngStream::kTest).to(at::kDouble);
  const at::Tensor z = rng.normal(index, 2, core::RngStream::kNoise).to(at::kDouble);
  ImageSet set;
  at::Tensor points;
  if (o.kind == "gmm") {
    std::vector<std::array<double, 2>> modes = o.modes;
    if (modes.empty()) {
      for (int k = 0; k < 8; ++k)
        modes.push_back({2 * std::cos(k * M_PI / 4), 2 * std::sin(k * M_PI / 4)});
    }
    std::vector<double> weights =
        o.weights.empty() ? std::vector<double>(modes.size(), 1.0) : o.weights;
    if (weights.size() != modes.size())
      throw core::UsageError("--weights needs one weight per mode");
    double total = 0;
    for (double w : weights) {
      if (!(w > 0)) throw core::UsageError("--weights must be positive");
      total += w;
    }
    // The component is the first whose cumulative weight exceeds u0.
    at::Tensor component = at::zeros({o.count}, at::kLong);
    double cumulative = 0;
    for (std::size_t k = 0; k + 1 < weights.size(); ++k) {
      cumulative += weights[k] / total;
      component += u.select(1, 0).ge(cumulative).to(at::kLong);
    }
    at::Tensor means = at::empty({static_cast<std::int64_t>(modes.size()), 2}, at::kDouble);
    for (std::size_t k = 0; k < modes.size(); ++k) {
      means[static_cast<std::int64_t>(k)][0] = modes[k][0];
      means[static_cast<std::int64_t>(k)][1] = modes[k][1];
    }
    points = means.index_select(0, component) + z * o.std;
    set.labels = component.to(at::kInt);
    set.num_classes = static_cast<std::int64_t>(modes.size());
  } else if (o.kind == "checkerboard") {
    // x1 ~ U[-2, 2); x2 in the cells with floor(x1) + floor(x2) even; scaled by 2 to [-4, 4)^2.
    at::Tensor x1 = u.select(1, 0) * 4 - 2;
    at::Tensor x2 = u.select(1, 1) - u.select(1, 2).lt(0.5).to(at::kDouble) * 2 +
                    at::remainder(at::floor(x1), 2);
    points = at::stack({x1, x2}, 1) * 2;
  } else if (o.kind == "moons") {
    at::Tensor upper = u.select(1, 0).lt(0.5);
    at::Tensor angle = u.select(1, 1) * M_PI;
    at::Tensor outer = at::stack({angle.cos(), angle.sin()}, 1);
    at::Tensor inner = at::stack({1 - angle.cos(), 0.5 - angle.sin()}, 1);
    points = at::where(upper.unsqueeze(1), outer, inner) + z * o.std;
    set.labels = upper.logical_not().to(at::kInt);
    set.num_classes = 2;
  } else if (o.kind == "swissroll") {
    at::Tensor t = (u.select(1, 0) * 2 + 1) * (1.5 * M_PI);
    points = at::stack({t * t.cos(), t * t.sin()}, 1) / 5 + z * o.std;
  } else {
    throw core::UsageError("--toy: '" + o.kind + "' is not gmm, checkerboard, moons or swissroll");
  }
  set.images = points.to(at::kFloat).view({o.count, 1, 1, 2}).contiguous();
  set.source = "2-D toy '" + o.kind + "' (" + std::to_string(o.count) + " points, seed " +
               std::to_string(o.seed) + ")";
  return set;
}

}  // namespace sgm::data

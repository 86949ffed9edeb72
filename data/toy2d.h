// 2-D toy distributions for score models on a CPU (the usual figures of the score-matching
// literature): a mixture of Gaussians with given modes and weights, the checkerboard, two moons
// and the swiss roll. Points are float32 [N, 1, 1, 2] (the float extension of the dataset
// format); point i depends only on (seed, i).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "data/image_set.h"

namespace sgm::data {

struct ToyOptions {
  std::string kind = "gmm";  // gmm | checkerboard | moons | swissroll
  std::int64_t count = 10000;
  std::uint64_t seed = 0;
  std::vector<std::array<double, 2>>
      modes;                    // gmm: component means (default: 8 on a circle of radius 2)
  std::vector<double> weights;  // gmm: component weights (default: equal)
  double std = 0.1;             // gmm: component std; moons, swissroll: noise std
};

// gmm and moons are labelled (the component / the moon); the others are not.
ImageSet make_toy2d(const ToyOptions& options);

}  // namespace sgm::data

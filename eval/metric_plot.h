// A PNG line plot of one metric against the training step (the sweep's eval/<metric>.png):
// axes, the points joined in step order, and tick values at both ends of each axis in a small
// built-in pixel font, so no plotting library or font file is needed.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace sgm::eval {

// (step, value) points, any order; an empty list is an error. Returns uint8 [H, W, 3].
at::Tensor metric_plot(const std::string& title, std::vector<std::pair<double, double>> points);

// metric_plot written atomically as a PNG at `path`.
void write_metric_plot(const std::string& path, const std::string& title,
                       const std::vector<std::pair<double, double>>& points);

}  // namespace sgm::eval

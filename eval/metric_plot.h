// A PNG line plot of one metric against the training step (the sweep's eval/<metric>.png), or
// of several named lines against another x: axes, the points joined in x order, and tick values
// at both ends of each axis in a small built-in pixel font, so no plotting library or font file
// is needed.
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

// Several lines on common axes, each in its own colour with its name in a legend, against
// `x_label` (sgm-eval nfe: FID against NFE, one line per solver).
struct PlotSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;
};
at::Tensor metric_plot(const std::string& title, std::vector<PlotSeries> series,
                       const std::string& x_label);
void write_metric_plot(const std::string& path, const std::string& title,
                       const std::vector<PlotSeries>& series, const std::string& x_label);

}  // namespace sgm::eval

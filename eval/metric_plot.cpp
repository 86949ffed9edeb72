#include "eval/metric_plot.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "data/image_set.h"
#include "trainer/core/error.h"

namespace sgm::eval {
namespace {

constexpr int kWidth = 480, kHeight = 320, kLeft = 70, kRight = 20, kTop = 30, kBottom = 40;
constexpr int kScale = 2;  // font pixels per glyph pixel

// 3x5 glyphs, five rows of three bits (top row first, high bit left).
const std::map<char, std::array<int, 5>>& glyphs() {
  static const std::map<char, std::array<int, 5>> g = {
      {'0', {7, 5, 5, 5, 7}}, {'1', {2, 6, 2, 2, 7}}, {'2', {7, 1, 7, 4, 7}},
      {'3', {7, 1, 7, 1, 7}}, {'4', {5, 5, 7, 1, 1}}, {'5', {7, 4, 7, 1, 7}},
      {'6', {7, 4, 7, 5, 7}}, {'7', {7, 1, 1, 1, 1}}, {'8', {7, 5, 7, 5, 7}},
      {'9', {7, 5, 7, 1, 7}}, {'.', {0, 0, 0, 0, 2}}, {'-', {0, 0, 7, 0, 0}},
      {'+', {0, 2, 7, 2, 0}}, {'_', {0, 0, 0, 0, 7}}, {'/', {1, 1, 2, 4, 4}},
      {'a', {2, 5, 7, 5, 5}}, {'b', {6, 5, 6, 5, 6}}, {'c', {3, 4, 4, 4, 3}},
      {'d', {6, 5, 5, 5, 6}}, {'e', {7, 4, 6, 4, 7}}, {'f', {7, 4, 6, 4, 4}},
      {'g', {3, 4, 5, 5, 3}}, {'h', {5, 5, 7, 5, 5}}, {'i', {7, 2, 2, 2, 7}},
      {'j', {1, 1, 1, 5, 2}}, {'k', {5, 5, 6, 5, 5}}, {'l', {4, 4, 4, 4, 7}},
      {'m', {5, 7, 7, 5, 5}}, {'n', {6, 5, 5, 5, 5}}, {'o', {2, 5, 5, 5, 2}},
      {'p', {6, 5, 6, 4, 4}}, {'q', {2, 5, 5, 6, 3}}, {'r', {6, 5, 6, 5, 5}},
      {'s', {3, 4, 2, 1, 6}}, {'t', {7, 2, 2, 2, 2}}, {'u', {5, 5, 5, 5, 7}},
      {'v', {5, 5, 5, 5, 2}}, {'w', {5, 5, 7, 7, 5}}, {'x', {5, 5, 2, 5, 5}},
      {'y', {5, 5, 2, 2, 2}}, {'z', {7, 1, 2, 4, 7}}};
  return g;
}

struct Canvas {
  at::Tensor pixels = at::full({kHeight, kWidth, 3}, 255, at::kByte);
  std::uint8_t* data = pixels.data_ptr<std::uint8_t>();

  void dot(int x, int y, std::array<std::uint8_t, 3> rgb) {
    if (x < 0 || y < 0 || x >= kWidth || y >= kHeight) return;
    std::copy(rgb.begin(), rgb.end(), data + (static_cast<std::ptrdiff_t>(y) * kWidth + x) * 3);
  }
  void line(int x0, int y0, int x1, int y1, std::array<std::uint8_t, 3> rgb) {
    const int steps = std::max({std::abs(x1 - x0), std::abs(y1 - y0), 1});
    for (int i = 0; i <= steps; ++i) {
      dot(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps, rgb);
    }
  }
  // Text with its top-left corner at (x, y); unknown characters are blank.
  void text(int x, int y, const std::string& s) {
    for (char raw : s) {
      const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(raw)));
      if (auto it = glyphs().find(c); it != glyphs().end()) {
        for (int row = 0; row < 5; ++row)
          for (int col = 0; col < 3; ++col)
            if (it->second[row] >> (2 - col) & 1)
              for (int dy = 0; dy < kScale; ++dy)
                for (int dx = 0; dx < kScale; ++dx)
                  dot(x + col * kScale + dx, y + row * kScale + dy, {0, 0, 0});
      }
      x += 4 * kScale;
    }
  }
  static int text_width(const std::string& s) { return static_cast<int>(s.size()) * 4 * kScale; }
};

}  // namespace

at::Tensor metric_plot(const std::string& title, std::vector<PlotSeries> series,
                       const std::string& x_label) {
  bool any = false;
  double x_lo = 0, x_hi = 0, y_lo = 0, y_hi = 0;
  for (PlotSeries& s : series) {
    std::sort(s.points.begin(), s.points.end());
    for (const auto& [x, y] : s.points) {
      if (!any) {
        x_lo = x_hi = x;
        y_lo = y_hi = y;
        any = true;
      }
      x_lo = std::min(x_lo, x);
      x_hi = std::max(x_hi, x);
      y_lo = std::min(y_lo, y);
      y_hi = std::max(y_hi, y);
    }
  }
  SGM_CHECK(any, "metric_plot '{}': no points", title);
  if (x_hi == x_lo) x_hi = x_lo + 1;
  if (y_hi == y_lo) {
    y_lo -= 0.5;
    y_hi += 0.5;
  }
  const int w = kWidth - kLeft - kRight, h = kHeight - kTop - kBottom;
  auto px = [&](double x) {
    return kLeft + static_cast<int>(std::lround((x - x_lo) / (x_hi - x_lo) * w));
  };
  auto py = [&](double y) {
    return kTop + h - static_cast<int>(std::lround((y - y_lo) / (y_hi - y_lo) * h));
  };
  Canvas canvas;
  const std::array<std::uint8_t, 3> black{0, 0, 0}, grey{200, 200, 200};
  const std::array<std::array<std::uint8_t, 3>, 6> colours = {{{31, 119, 180},
                                                               {255, 127, 14},
                                                               {44, 160, 44},
                                                               {214, 39, 40},
                                                               {148, 103, 189},
                                                               {140, 86, 75}}};
  for (int i = 0; i <= 4; ++i) {  // horizontal grid lines with values
    const double y = y_lo + (y_hi - y_lo) * i / 4;
    canvas.line(kLeft, py(y), kLeft + w, py(y), grey);
    const std::string label = fmt::format("{:.4g}", y);
    canvas.text(kLeft - 6 - Canvas::text_width(label), py(y) - 5, label);
  }
  canvas.line(kLeft, kTop, kLeft, kTop + h, black);
  canvas.line(kLeft, kTop + h, kLeft + w, kTop + h, black);
  canvas.text(kLeft, kTop + h + 8, fmt::format("{:.0f}", x_lo));
  const std::string x_end = fmt::format("{:.0f}", x_hi);
  canvas.text(kLeft + w - Canvas::text_width(x_end), kTop + h + 8, x_end);
  canvas.text(kLeft + w / 2 - Canvas::text_width(x_label) / 2, kTop + h + 24, x_label);
  canvas.text(kLeft + w / 2 - Canvas::text_width(title) / 2, 8, title);
  for (std::size_t k = 0; k < series.size(); ++k) {
    const auto& points = series[k].points;
    const auto colour = colours[k % colours.size()];
    for (std::size_t i = 0; i < points.size(); ++i) {
      const int x = px(points[i].first), y = py(points[i].second);
      if (i > 0) canvas.line(px(points[i - 1].first), py(points[i - 1].second), x, y, colour);
      for (int dy = -2; dy <= 2; ++dy)
        for (int dx = -2; dx <= 2; ++dx) canvas.dot(x + dx, y + dy, colour);
    }
    if (series.size() > 1) {  // legend, top right: a swatch and the name
      const int ly = kTop + 6 + static_cast<int>(k) * 14;
      const int lx = kLeft + w - 8 - Canvas::text_width(series[k].name);
      for (int dy = 0; dy < 8; ++dy)
        for (int dx = 0; dx < 8; ++dx) canvas.dot(lx - 14 + dx, ly + 1 + dy, colour);
      canvas.text(lx, ly, series[k].name);
    }
  }
  return canvas.pixels;
}

at::Tensor metric_plot(const std::string& title, std::vector<std::pair<double, double>> points) {
  return metric_plot(title, {{title, std::move(points)}}, "step");
}

void write_metric_plot(const std::string& path, const std::string& title,
                       const std::vector<PlotSeries>& series, const std::string& x_label) {
  data::write_png(path, metric_plot(title, series, x_label));  // atomic: whole or absent
}

void write_metric_plot(const std::string& path, const std::string& title,
                       const std::vector<std::pair<double, double>>& points) {
  data::write_png(path, metric_plot(title, points));  // atomic: whole or absent
}

}  // namespace sgm::eval

#include "tests/support/compare.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

namespace sgm::testing {
namespace {

std::string first_values(const at::Tensor& t) {
  at::Tensor flat = t.detach().flatten().to(at::kCPU).to(at::kDouble);
  std::string out;
  for (std::int64_t i = 0; i < std::min<std::int64_t>(4, flat.numel()); ++i) {
    out += fmt::format("{}{:.9g}", i ? ", " : "", flat[i].item<double>());
  }
  return out;
}

}  // namespace

::testing::AssertionResult tensors_close(const std::string& what, const at::Tensor& actual,
                                         const at::Tensor& expected, double tolerance) {
  if (actual.sizes() != expected.sizes()) {
    return ::testing::AssertionFailure()
           << what << ": shape " << actual.sizes() << " != expected " << expected.sizes();
  }
  at::Tensor a = actual.detach().to(at::kCPU).to(at::kDouble);
  at::Tensor e = expected.detach().to(at::kCPU).to(at::kDouble);
  const double max_abs = a.numel() ? (a - e).abs().max().item<double>() : 0.0;
  const double scale = e.numel() ? e.abs().max().item<double>() : 0.0;
  const double max_rel = scale > 0 ? max_abs / scale : max_abs;
  const std::string evidence = fmt::format(
      "{}: max abs err {:.3e}, max rel err (to max |ref| {:.3e}) {:.3e}, tolerance {:.3e}; "
      "first values {} vs {}",
      what, max_abs, scale, max_rel, tolerance, first_values(actual), first_values(expected));
  std::printf("[evidence] %s\n", evidence.c_str());
  if (max_abs <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << evidence;
}

::testing::AssertionResult tensors_equal(const std::string& what, const at::Tensor& actual,
                                         const at::Tensor& expected) {
  if (actual.sizes() != expected.sizes() || actual.scalar_type() != expected.scalar_type()) {
    return ::testing::AssertionFailure()
           << what << ": shape/dtype " << actual.sizes() << " " << actual.scalar_type()
           << " != " << expected.sizes() << " " << expected.scalar_type();
  }
  at::Tensor a = actual.to(at::kCPU);
  at::Tensor e = expected.to(at::kCPU);
  const std::int64_t differing = a.ne(e).sum().item<std::int64_t>();
  const std::string evidence =
      fmt::format("{}: {} of {} elements differ (exact comparison); first values {} vs {}", what,
                  differing, a.numel(), first_values(a), first_values(e));
  std::printf("[evidence] %s\n", evidence.c_str());
  if (differing == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << evidence;
}

::testing::AssertionResult near_with_evidence(const std::string& what, double actual,
                                              double expected, double tolerance) {
  const std::string evidence =
      fmt::format("{}: {:.9g} vs expected {:.9g}, |diff| {:.3e}, tolerance {:.3e}", what, actual,
                  expected, std::abs(actual - expected), tolerance);
  std::printf("[evidence] %s\n", evidence.c_str());
  if (std::abs(actual - expected) <= tolerance) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << evidence;
}

}  // namespace sgm::testing

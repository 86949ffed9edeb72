// Tensor comparison for tests: prints its evidence (max abs / rel error, tolerance, first
// values) whether it passes or fails, as every reference comparison here must.
#pragma once

#include <string>

#include <ATen/core/Tensor.h>
#include <gtest/gtest.h>

namespace sgm::testing {

// Passes when max |actual - expected| <= tolerance. `what` names the comparison.
::testing::AssertionResult tensors_close(const std::string& what, const at::Tensor& actual,
                                         const at::Tensor& expected, double tolerance);

// Exact equality of values and shapes (integers, or floats that must match bit for bit).
::testing::AssertionResult tensors_equal(const std::string& what, const at::Tensor& actual,
                                         const at::Tensor& expected);

// Checks a scalar against a reference value with a tolerance and prints the evidence.
::testing::AssertionResult near_with_evidence(const std::string& what, double actual,
                                              double expected, double tolerance);

}  // namespace sgm::testing

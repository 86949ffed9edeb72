// Fault injection for the tests, read once from the environment. SGM_FAULT_NAN="rank:step" makes
// that rank's loss NaN at that step, so the tests can check how a non-finite step is handled on
// every rank. Unset: nothing happens.
#pragma once

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace sgm::train {

class FaultInjection {
 public:
  // Throws core::UsageError naming the variable when its value is malformed.
  static FaultInjection from_environment();

  // `loss`, or NaN when the fault is set for this rank and step.
  at::Tensor apply(const at::Tensor& loss, int rank, std::int64_t step) const;

 private:
  int nan_rank_ = -1;
  std::int64_t nan_step_ = -1;
};

}  // namespace sgm::train

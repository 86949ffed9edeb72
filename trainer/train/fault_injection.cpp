#include "trainer/train/fault_injection.h"

#include <cstdio>
#include <cstdlib>
#include <limits>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "trainer/core/error.h"

namespace sgm::train {

FaultInjection FaultInjection::from_environment() {
  FaultInjection f;
  if (const char* spec = std::getenv("SGM_FAULT_NAN")) {
    if (std::sscanf(spec, "%d:%ld", &f.nan_rank_, &f.nan_step_) != 2)
      throw core::UsageError(fmt::format("SGM_FAULT_NAN='{}' is not rank:step", spec));
  }
  return f;
}

at::Tensor FaultInjection::apply(const at::Tensor& loss, int rank, std::int64_t step) const {
  if (rank != nan_rank_ || step != nan_step_) return loss;
  return loss * std::numeric_limits<double>::quiet_NaN();
}

}  // namespace sgm::train

// The resident memory of this process (VmRSS), for status lines and benchmarks.
#pragma once

namespace sgm::core {

// MiB; 0 where /proc/self/status is not available.
double resident_mib();

}  // namespace sgm::core

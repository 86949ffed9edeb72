// GPU memory of this process as the caching allocator counts it, for the status line.
#pragma once

#include <optional>

#include <ATen/ATen.h>

namespace sgm::train {

struct DeviceMemory {
  double peak_allocated_mib = 0;  // largest allocated since the last reset
  double reserved_mib = 0;        // held by the caching allocator now
};

// nullopt for a CPU device (or a build without CUDA). The peak restarts at each call, so each
// status line reports the peak of its own interval.
std::optional<DeviceMemory> device_memory(const at::Device& device);

}  // namespace sgm::train

#include "trainer/train/device_memory.h"

#ifdef SGM_HAVE_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace sgm::train {

std::optional<DeviceMemory> device_memory(const at::Device& device) {
#ifdef SGM_HAVE_CUDA
  if (device.is_cuda()) {
    namespace alloc = c10::cuda::CUDACachingAllocator;
    const c10::DeviceIndex index =
        device.has_index() ? device.index() : c10::cuda::current_device();
    const auto stats = alloc::getDeviceStats(index);
    constexpr auto kAll = static_cast<std::size_t>(c10::CachingAllocator::StatType::AGGREGATE);
    constexpr double kMiB = 1024.0 * 1024.0;
    DeviceMemory m;
    m.peak_allocated_mib = static_cast<double>(stats.allocated_bytes[kAll].peak) / kMiB;
    m.reserved_mib = static_cast<double>(stats.reserved_bytes[kAll].current) / kMiB;
    alloc::resetPeakStats(index);
    return m;
  }
#endif
  (void)device;
  return std::nullopt;
}

}  // namespace sgm::train

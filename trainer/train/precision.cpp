#include "trainer/train/precision.h"

#include <cstdlib>

#include <ATen/autocast_mode.h>
#include <fmt/format.h>

#include "trainer/core/error.h"

namespace sgm::train {

void validate(const PrecisionOptions& options) {
  if (options.autocast != "none" && options.autocast != "bf16") {
    throw core::UsageError(fmt::format(
        "training.autocast = '{}': expected none or bf16 (fp16 would need loss scaling)",
        options.autocast));
  }
}

void apply_tf32_policy(bool allow) {
  at::globalContext().setAllowTF32CuBLAS(allow);
  at::globalContext().setAllowTF32CuDNN(allow);
}

void apply_determinism(bool deterministic) {
  // Read by cuBLAS when it creates its handle, i.e. before the first CUDA matmul of the process.
  if (deterministic) setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8", /*overwrite=*/0);
  at::globalContext().setDeterministicCuDNN(deterministic);
  if (deterministic) at::globalContext().setBenchmarkCuDNN(false);
  at::globalContext().setDeterministicAlgorithms(deterministic, /*warn_only=*/false);
}

AutocastScope::AutocastScope(at::DeviceType device, bool enabled)
    : device_(device), enabled_(enabled) {
  if (!enabled_) return;
  previous_enabled_ = at::autocast::is_autocast_enabled(device_);
  previous_dtype_ = at::autocast::get_autocast_dtype(device_);
  at::autocast::set_autocast_enabled(device_, true);
  at::autocast::set_autocast_dtype(device_, at::kBFloat16);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!enabled_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_, previous_enabled_);
  at::autocast::set_autocast_dtype(device_, previous_dtype_);
}

at::Tensor in_memory_format(const at::Tensor& x, bool channels_last) {
  if (!channels_last || x.dim() != 4) return x;
  return x.contiguous(at::MemoryFormat::ChannelsLast);
}

}  // namespace sgm::train

// The numerics policy of a training run: bf16 autocast of the forward pass, TF32 for fp32
// matmuls and convolutions, channels-last input, deterministic kernels. Defaults keep the
// reference's fp32 numerics.
#pragma once

#include <string>

#include <ATen/ATen.h>

#include "trainer/core/keys.h"

namespace sgm::train {

struct PrecisionOptions {
  std::string autocast = "none";  // none | bf16: the model's forward pass under bf16 autocast
  bool tf32 = false;              // allow TF32 in cuBLAS matmuls and cuDNN convolutions
  bool channels_last = false;     // feed the model NHWC batches (convolutions follow the input)
  bool deterministic = false;     // deterministic CUDA kernels: bit-reproducible GPU runs

  void declare_keys(core::Keys& k) {
    k("training.autocast", autocast,
      "none | bf16: run the model's forward pass under bf16 autocast (loss and update in fp32)");
    k("training.tf32", tf32,
      "allow TF32 in fp32 matmuls (cuBLAS) and convolutions (cuDNN); off keeps fp32 numerics");
    k("training.channels_last", channels_last,
      "feed the model channels-last (NHWC) batches; convolutions follow the input's layout");
    k("training.deterministic", deterministic,
      "deterministic CUDA kernels (cuDNN, cuBLAS, ATen): bit-reproducible GPU runs and resumes, "
      "slower; CPU runs are reproducible either way");
  }
};

// Throws core::UsageError naming the key when a value is not one of the accepted ones.
void validate(const PrecisionOptions& options);

// Sets the process-wide TF32 switches both ways (PyTorch's own defaults differ between cuBLAS,
// off, and cuDNN, on; a run states its policy instead of inheriting them).
void apply_tf32_policy(bool allow);

// On: cuDNN picks only deterministic algorithms (no autotuning), ATen refuses operators without
// a deterministic CUDA kernel (an error naming the operator, not a silent difference), and
// cuBLAS gets the fixed workspace it needs for reproducible results (CUBLAS_WORKSPACE_CONFIG,
// unless already set). Off: LibTorch's defaults. The CPU kernels sgm uses are deterministic
// either way for a fixed thread count.
void apply_determinism(bool deterministic);

// Autocast to bf16 on `device` for the lifetime of the object when `enabled`; restores the
// previous state and, leaving the outermost scope, drops the cast-weight cache (as
// torch.autocast's __exit__). Forward pass only: backward runs outside, as PyTorch advises.
class AutocastScope {
 public:
  AutocastScope(at::DeviceType device, bool enabled);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  at::DeviceType device_;
  bool enabled_;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kFloat;
};

// x in the memory format the run asks for (4-D tensors only; others are returned as they are).
at::Tensor in_memory_format(const at::Tensor& x, bool channels_last);

}  // namespace sgm::train

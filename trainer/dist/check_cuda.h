// SGM_CHECK_CUDA(call) and SGM_CHECK_NCCL(call): throw core::Error with the call text, the
// library's error name and message, and file:line. Only in builds with SGM_HAVE_CUDA.
#pragma once

#include <cuda_runtime_api.h>
#include <nccl.h>

#include "trainer/core/error.h"

namespace sgm::dist {

[[noreturn]] void throw_cuda_error(const char* file, int line, const char* call, cudaError_t code);
[[noreturn]] void throw_nccl_error(const char* file, int line, const char* call, ncclResult_t code);

}  // namespace sgm::dist

#define SGM_CHECK_CUDA(call)                                                  \
  do {                                                                        \
    const cudaError_t sgm_cuda_rc_ = (call);                                  \
    if (sgm_cuda_rc_ != cudaSuccess) {                                        \
      ::sgm::dist::throw_cuda_error(__FILE__, __LINE__, #call, sgm_cuda_rc_); \
    }                                                                         \
  } while (0)

#define SGM_CHECK_NCCL(call)                                                  \
  do {                                                                        \
    const ncclResult_t sgm_nccl_rc_ = (call);                                 \
    if (sgm_nccl_rc_ != ncclSuccess && sgm_nccl_rc_ != ncclInProgress) {      \
      ::sgm::dist::throw_nccl_error(__FILE__, __LINE__, #call, sgm_nccl_rc_); \
    }                                                                         \
  } while (0)

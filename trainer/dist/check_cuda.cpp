#include "trainer/dist/check_cuda.h"

#include <cstring>

namespace sgm::dist {

void throw_cuda_error(const char* file, int line, const char* call, cudaError_t code) {
  // Reading the error clears it, so a later unrelated call does not report it again.
  (void)cudaGetLastError();
  throw core::Error(core::call_failure_message(
      file, line, call, fmt::format("{}: {}", cudaGetErrorName(code), cudaGetErrorString(code))));
}

void throw_nccl_error(const char* file, int line, const char* call, ncclResult_t code) {
  std::string what = ncclGetErrorString(code);
  const char* detail = ncclGetLastError(nullptr);
  if (detail != nullptr && std::strlen(detail) > 0) what += fmt::format(" ({})", detail);
  throw core::Error(core::call_failure_message(file, line, call, what));
}

}  // namespace sgm::dist

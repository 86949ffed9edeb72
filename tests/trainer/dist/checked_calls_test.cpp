// CUDA and NCCL checked calls: the message names the call, the library's error and file:line.
// Built only with the CUDA/NCCL parts (SGM_HAVE_CUDA).
#include <gtest/gtest.h>

#include "trainer/dist/check_cuda.h"

namespace sgm::dist {
namespace {

TEST(CheckedCalls, CudaErrorNamesCallErrorAndLocation) {
  const int line = __LINE__ + 2;
  try {
    SGM_CHECK_CUDA(cudaSetDevice(-1));
    FAIL() << "cudaSetDevice(-1) succeeded";
  } catch (const core::Error& e) {
    const std::string what = e.what();
    std::printf("[evidence] message: %s\n", what.c_str());
    EXPECT_EQ(what.rfind("cudaSetDevice(-1) failed: cudaError", 0), 0u) << what;
    EXPECT_NE(what.find(fmt::format("[checked_calls_test.cpp:{}]", line)), std::string::npos);
  }
}

TEST(CheckedCalls, NcclErrorNamesCallErrorAndLocation) {
  try {
    SGM_CHECK_NCCL(ncclGetUniqueId(nullptr));
    FAIL() << "ncclGetUniqueId(nullptr) succeeded";
  } catch (const core::Error& e) {
    const std::string what = e.what();
    std::printf("[evidence] message: %s\n", what.c_str());
    EXPECT_EQ(what.rfind("ncclGetUniqueId(nullptr) failed: ", 0), 0u) << what;
    EXPECT_NE(what.find(ncclGetErrorString(ncclInvalidArgument)), std::string::npos) << what;
    EXPECT_NE(what.find("[checked_calls_test.cpp:"), std::string::npos);
  }
}

}  // namespace
}  // namespace sgm::dist

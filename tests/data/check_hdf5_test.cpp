// HDF5 checked calls: a failing call throws one message with the call, HDF5's error stack and
// file:line, and HDF5 prints nothing by itself.
#include "data/check_hdf5.h"

#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

namespace sgm::data {
namespace {

TEST(CheckHdf5, FailedOpenNamesCallStackAndLocation) {
  const std::string path = "/nonexistent/dir/shard-00000-of-00001.h5";
  const int line = __LINE__ + 2;
  try {
    SGM_CHECK_HDF5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    FAIL() << "H5Fopen of a missing file succeeded";
  } catch (const core::Error& e) {
    const std::string what = e.what();
    std::printf("[evidence] message: %s\n", what.c_str());
    EXPECT_EQ(what.rfind("H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT) failed: ", 0), 0u);
    EXPECT_NE(what.find("unable to open file"), std::string::npos);
    EXPECT_NE(what.find(fmt::format("[check_hdf5_test.cpp:{}]", line)), std::string::npos);
  }
}

TEST(CheckHdf5, SuccessfulCallReturnsItsValue) {
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() / fmt::format("sgm-hdf5-{}.h5", ::getpid());
  const hid_t file =
      SGM_CHECK_HDF5(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  EXPECT_GE(file, 0);
  EXPECT_GE(SGM_CHECK_HDF5(H5Fclose(file)), 0);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace sgm::data

// write_named_arrays writes in place into reserved space: a checkpoint-like file (a few large
// arrays and 2,000 small ones, which make HDF5's metadata) reads back equal, stays within what
// was reserved for it, and holds no reserved blocks past its end once saved; a file not saved
// is removed. (A reservation that fails on a full disk: the disk_full_np2 test, on a tmpfs.)
#include "data/hdf5_reserved_file.h"

#include <unistd.h>

#include <filesystem>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "data/named_arrays.h"

namespace sgm::data {
namespace {
namespace fs = std::filesystem;

TEST(Hdf5ReservedFile, ACheckpointSizedFileStaysWithinItsReservationAndGivesTheRestBack) {
  const fs::path path = fs::temp_directory_path() / fmt::format("sgm-reserved-{}.h5", ::getpid());
  if (auto probe = Hdf5ReservedFile::create(path.string(), 1 << 20); probe == nullptr)
    GTEST_SKIP() << fs::temp_directory_path() << " cannot reserve space (fallocate)";
  fs::remove(path);  // the probe, not saved
  std::vector<std::pair<std::string, at::Tensor>> arrays;
  at::manual_seed(1);
  for (const char* group : {"model", "ema", "adam/exp_avg", "adam/exp_avg_sq"}) {
    arrays.emplace_back(fmt::format("{}/conv.weight", group), at::randn({1 << 20}));
    for (int i = 0; i < 500; ++i)
      arrays.emplace_back(fmt::format("{}/block_{}.bias", group, i), at::randn({3, i % 7 + 1}));
  }
  const std::map<std::string, std::string> attributes{{"note", std::string(300, 'x')}};
  write_named_arrays(path.string(), arrays, attributes);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  const auto size = static_cast<std::size_t>(st.st_size);
  const auto allocated = static_cast<std::size_t>(st.st_blocks) * 512;
  const std::size_t reserved = named_arrays_reserve(arrays, attributes);
  std::size_t data = 0;
  for (const auto& [name, t] : arrays) data += t.nbytes();
  std::printf(
      "[evidence] %zu arrays: %zu bytes of data, file %zu bytes (metadata %zu), "
      "reserved %zu, allocated on disk after save %zu\n",
      arrays.size(), data, size, size - data, reserved, allocated);
  EXPECT_LE(size, reserved) << "HDF5 wrote past the reservation";
  EXPECT_LE(allocated, size + (64 << 10)) << "the reservation past the end was not given back";
  const NamedArrayFile file(path.string());
  for (const auto& [name, t] : arrays) ASSERT_TRUE(at::equal(file.read(name), t)) << name;
  EXPECT_EQ(file.string_attribute("note"), attributes.at("note"));
  fs::remove(path);
}

TEST(Hdf5ReservedFile, NotSavedLeavesNoFile) {
  const fs::path path =
      fs::temp_directory_path() / fmt::format("sgm-reserved-unsaved-{}.h5", ::getpid());
  {
    auto file = Hdf5ReservedFile::create(path.string(), 1 << 20);
    if (file == nullptr) GTEST_SKIP() << "no reservation here";
    EXPECT_TRUE(fs::exists(path));
  }
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
}  // namespace sgm::data

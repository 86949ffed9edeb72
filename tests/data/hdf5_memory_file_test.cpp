// Hdf5MemoryFile writes the closed file from the core driver's own memory: the bytes on disk
// equal HDF5's own copy of the image (H5Fget_file_image, which clears the superblock's
// open-for-writing flag as closing does) byte for byte, for a small file and for one
// that grows past the first allocation; the file reads back; a file with an object still open
// takes the copy path (HDF5 closes it later); without save() nothing is written.
#include "data/hdf5_memory_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "data/check_hdf5.h"

namespace sgm::data {
namespace {
namespace fs = std::filesystem;

std::string read_all(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

void write_dataset(hid_t file, const char* name, const std::vector<float>& values) {
  const hsize_t n = values.size();
  Hdf5Handle space{SGM_CHECK_HDF5(H5Screate_simple(1, &n, nullptr)), H5Sclose};
  Hdf5Handle set{SGM_CHECK_HDF5(H5Dcreate2(file, name, H5T_NATIVE_FLOAT, space.id, H5P_DEFAULT,
                                           H5P_DEFAULT, H5P_DEFAULT)),
                 H5Dclose};
  SGM_CHECK_HDF5(H5Dwrite(set.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
}

// Dataset "x" of the file at `path` (n floats), opened by HDF5's default driver.
std::vector<float> read_dataset(const fs::path& path, std::size_t n) {
  Hdf5Handle file{SGM_CHECK_HDF5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)), H5Fclose};
  Hdf5Handle set{SGM_CHECK_HDF5(H5Dopen2(file.id, "x", H5P_DEFAULT)), H5Dclose};
  std::vector<float> back(n);
  SGM_CHECK_HDF5(H5Dread(set.id, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, back.data()));
  return back;
}

TEST(Hdf5MemoryFile, WritesTheDriversMemoryEqualToHdf5sOwnImage) {
  // 1 KiB of floats fits the first 16 MiB; 24 MiB of them makes the driver grow its memory.
  for (const std::size_t floats : {std::size_t{256}, std::size_t{6} << 20}) {
    const fs::path path =
        fs::temp_directory_path() / fmt::format("sgm-memfile-{}-{}.h5", ::getpid(), floats);
    std::vector<float> values(floats);
    for (std::size_t i = 0; i < floats; ++i) values[i] = static_cast<float>(i) * 0.5f;
    std::string reference;
    {
      Hdf5MemoryFile file(path.string());
      write_dataset(file.id(), "x", values);
      SGM_CHECK_HDF5(H5Fflush(file.id(), H5F_SCOPE_GLOBAL));
      const auto size = SGM_CHECK_HDF5(H5Fget_file_image(file.id(), nullptr, 0));
      reference.assign(static_cast<std::size_t>(size), '\0');
      SGM_CHECK_HDF5(H5Fget_file_image(file.id(), reference.data(), reference.size()));
      EXPECT_FALSE(fs::exists(path)) << "nothing on disk before save()";
      file.save();
      EXPECT_TRUE(file.saved_in_place()) << floats;
    }
    const std::string written = read_all(path);
    std::printf(
        "[evidence] %zu floats: %zu bytes written from the driver's memory, equal to "
        "H5Fget_file_image's copy: %s\n",
        floats, written.size(), written == reference ? "yes" : "no");
    EXPECT_EQ(written.size(), reference.size());
    EXPECT_TRUE(written == reference);
    EXPECT_EQ(read_dataset(path, floats), values);
    fs::remove(path);
  }
}

TEST(Hdf5MemoryFile, AnObjectStillOpenAtSaveGetsTheCopyPath) {
  // HDF5 closes a file with open objects only when they close: save() copies the image first.
  const fs::path path =
      fs::temp_directory_path() / fmt::format("sgm-memfile-{}-open.h5", ::getpid());
  const std::vector<float> values{1.0f, 2.0f, 3.0f};
  {
    Hdf5MemoryFile file(path.string());
    write_dataset(file.id(), "x", values);
    Hdf5Handle open{SGM_CHECK_HDF5(H5Dopen2(file.id(), "x", H5P_DEFAULT)), H5Dclose};
    file.save();
    EXPECT_FALSE(file.saved_in_place());
  }  // the dataset closes, then the file: its memory is freed once
  EXPECT_EQ(read_dataset(path, 3), values);
  fs::remove(path);
}

TEST(Hdf5MemoryFile, WithoutSaveNothingIsWritten) {
  const fs::path path =
      fs::temp_directory_path() / fmt::format("sgm-memfile-{}-discarded.h5", ::getpid());
  {
    Hdf5MemoryFile file(path.string());
    write_dataset(file.id(), "x", {1.0f, 2.0f});
  }
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
}  // namespace sgm::data

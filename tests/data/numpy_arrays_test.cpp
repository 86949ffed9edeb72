// NumPy inputs: .npy files and .npz archives (stored and deflated entries) round-trip their
// pixels and labels; bad arrays are refused with the file and array named.
#include "data/numpy_arrays.h"

#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "data/numpy_writer.h"
#include "tests/support/compare.h"
#include "trainer/core/error.h"

namespace sgm::data {
namespace {

namespace fs = std::filesystem;

// The production .npy formatter (its output is what the reader is checked against).
std::string npy(const at::Tensor& t, const std::string&) { return format_npy(t); }

void put16(std::string& s, std::uint32_t v) {
  s += static_cast<char>(v & 0xFF);
  s += static_cast<char>((v >> 8) & 0xFF);
}
void put32(std::string& s, std::uint32_t v) {
  put16(s, v & 0xFFFF);
  put16(s, v >> 16);
}

// A zip with one local header per entry (what the reader walks), stored or raw-deflated.
std::string zip(const std::vector<std::pair<std::string, std::string>>& entries, bool compress) {
  std::string out;
  for (const auto& [name, content] : entries) {
    std::string data = content;
    if (compress) {
      z_stream z{};
      deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
      data.assign(deflateBound(&z, static_cast<uLong>(content.size())), '\0');
      z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(content.data()));
      z.avail_in = static_cast<uInt>(content.size());
      z.next_out = reinterpret_cast<Bytef*>(data.data());
      z.avail_out = static_cast<uInt>(data.size());
      deflate(&z, Z_FINISH);
      data.resize(z.total_out);
      deflateEnd(&z);
    }
    put32(out, 0x04034b50);
    put16(out, 20);
    put16(out, 0);
    put16(out, compress ? 8 : 0);
    put32(out, 0);
    put32(out, static_cast<std::uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(content.data()),
                                                static_cast<uInt>(content.size()))));
    put32(out, static_cast<std::uint32_t>(data.size()));
    put32(out, static_cast<std::uint32_t>(content.size()));
    put16(out, static_cast<std::uint32_t>(name.size()));
    put16(out, 0);
    out += name + data;
  }
  return out;
}

class NumpyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("sgm-npy-{}", ::getpid());
    fs::create_directories(dir_);
    at::manual_seed(8);
    images_ = at::randint(0, 256, {9, 5, 4, 3}, at::kByte);
    labels_ = at::randint(0, 7, {9}, at::kLong);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string path = (dir_ / name).string();
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
  }
  fs::path dir_;
  at::Tensor images_, labels_;
};

TEST_F(NumpyTest, NpyAndNpzRoundTrip) {
  ImageSet a = read_numpy_images(write("x.npy", npy(images_, "|u1")), "", "");
  EXPECT_TRUE(sgm::testing::tensors_equal(".npy pixels", a.images, images_));
  EXPECT_FALSE(a.labels.defined());
  for (bool deflate : {false, true}) {
    const std::string path = write(
        deflate ? "d.npz" : "s.npz",
        zip({{"x_train.npy", npy(images_, "|u1")}, {"y_train.npy", npy(labels_, "<i8")}}, deflate));
    ImageSet b = read_numpy_images(path, "x_train", "y_train");
    EXPECT_TRUE(sgm::testing::tensors_equal(
        deflate ? ".npz (deflated) pixels" : ".npz (stored) pixels", b.images, images_));
    EXPECT_TRUE(sgm::testing::tensors_equal(".npz labels", b.labels, labels_.to(at::kInt)));
    EXPECT_EQ(b.num_classes, labels_.max().item<int>() + 1);
  }
  // Grey images [N, H, W] get one channel.
  ImageSet grey =
      read_numpy_images(write("g.npy", npy(images_.select(3, 0).contiguous(), "|u1")), "", "");
  EXPECT_EQ(grey.images.sizes(), (std::vector<std::int64_t>{9, 5, 4, 1}));
}

TEST_F(NumpyTest, WrittenNpzReadsBackAndHasAZipDirectory) {
  const at::Tensor mu = at::randn({7}, at::kDouble), sigma = at::randn({7, 7}, at::kDouble);
  const at::Tensor u8 = at::randint(0, 256, {3, 4, 4, 3}, at::kByte);
  const std::string path = (dir_ / "stats.npz").string();
  write_npz(path,
            {{"mu", mu}, {"sigma", sigma}, {"samples", u8}, {"one", at::ones({1}, at::kLong)}});
  const auto back = read_numpy_arrays(path);
  ASSERT_EQ(back.size(), 4u);
  EXPECT_TRUE(at::equal(back.at("mu"), mu));
  EXPECT_TRUE(at::equal(back.at("sigma"), sigma));
  EXPECT_TRUE(at::equal(back.at("samples"), u8));
  EXPECT_TRUE(at::equal(back.at("one"), at::ones({1}, at::kLong)));
  // The end-of-directory record names 4 entries and points at the first directory record.
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string end = bytes.substr(bytes.size() - 22);
  auto u32 = [](const std::string& b, std::size_t at) {
    std::uint32_t v = 0;
    for (int k = 3; k >= 0; --k)
      v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(k)]);
    return v;
  };
  EXPECT_EQ(u32(end, 0), 0x06054b50u);
  EXPECT_EQ(static_cast<unsigned char>(end[10]), 4);
  EXPECT_EQ(u32(bytes, u32(end, 16)), 0x02014b50u);
  std::printf("[evidence] .npz written: 4 arrays round-trip exactly; %zu bytes, directory at %u\n",
              bytes.size(), u32(end, 16));
}

TEST_F(NumpyTest, BadArraysAreNamed) {
  const std::string floats = write("f.npy", npy(at::rand({2, 3, 3, 3}), "<f4"));
  try {
    read_numpy_images(floats, "", "");
    FAIL();
  } catch (const core::UsageError& e) {
    std::printf("[evidence] message: %s\n", e.what());
    EXPECT_NE(std::string(e.what()).find("is not uint8"), std::string::npos);
  }
  const std::string npz = write("m.npz", zip({{"images.npy", npy(images_, "|u1")}}, false));
  EXPECT_THROW(read_numpy_images(npz, "pixels", ""), core::UsageError);
  EXPECT_THROW(read_numpy_images(write("t.npy", npy(images_, "|u1").substr(0, 200)), "", ""),
               core::UsageError);
  EXPECT_THROW(read_numpy_images(write("n.npy", "hello"), "", ""), core::UsageError);
  // Header dictionaries that say Fortran order, or lack a shape or a dtype.
  const std::string good = npy(images_, "|u1");
  const auto with_header = [&](const std::string& from, const std::string& to) {
    std::string b = good;
    const std::size_t at = b.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    b.replace(at, from.size(), to);  // same length: the header keeps its size
    return b;
  };
  for (const auto& [from, to, says] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"'fortran_order': False", "'fortran_order': True ", "Fortran-order"},
           {"'shape':", "'shope':", "without shape"},
           {"'descr':", "'dascr':", "without descr"}}) {
    try {
      read_numpy_images(write("h.npy", with_header(from, to)), "", "");
      ADD_FAILURE() << from;
    } catch (const core::UsageError& e) {
      std::printf("[evidence] %s -> %s\n", to.c_str(), e.what());
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace sgm::data

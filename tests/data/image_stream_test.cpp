// Streamed sources: an image folder read a slice at a time gives the images of the whole read;
// shards written slice by slice carry the same checksums as shards written from memory; the
// shard count follows --shard-mib; zip entries read one at a time equal the whole read; a bad
// file in the middle of a slice is an error naming it.
#include "data/image_stream.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "data/dataset_writer.h"
#include "data/numpy_writer.h"
#include "data/sharded_dataset.h"
#include "data/zip_archive.h"
#include "tests/support/compare.h"
#include "trainer/core/error.h"

namespace sgm::data {
namespace {

namespace fs = std::filesystem;

class ImageStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("sgm-stream-{}", ::getpid());
    fs::remove_all(dir_);
    shapes_ = make_shapes(50, 12, 5);
    for (std::int64_t i = 0; i < 50; ++i) {
      const fs::path cls = dir_ / "in" / (i < 20 ? "a" : "b");
      fs::create_directories(cls);
      write_png((cls / fmt::format("img{:03d}.png", i)).string(), shapes_.images[i]);
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string error_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const core::UsageError& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
  ImageSet shapes_;
};

TEST_F(ImageStreamTest, StreamedShardsEqualShardsWrittenFromMemory) {
  const ImageStream stream = stream_image_folder((dir_ / "in").string(), 0, 3);
  EXPECT_EQ(stream.count, 50);
  EXPECT_EQ(stream.num_classes, 2);
  EXPECT_TRUE(sgm::testing::tensors_equal("slice 10..16", stream.read(10, 7).images,
                                          shapes_.images.narrow(0, 10, 7)));
  WriteOptions o;
  o.num_shards = 4;
  write_dataset((dir_ / "streamed").string(), stream, o);
  const ImageSet whole = read_image_folder((dir_ / "in").string(), 0, 3);
  o.num_classes = whole.num_classes;
  write_dataset((dir_ / "memory").string(), whole.images, whole.labels, o);
  ShardedDataset streamed((dir_ / "streamed").string()), memory((dir_ / "memory").string());
  ASSERT_EQ(streamed.shards().size(), 4u);
  for (std::size_t s = 0; s < 4; ++s) {
    std::printf("[evidence] shard %zu: %lld images, streamed %s, from memory %s\n", s,
                static_cast<long long>(streamed.shards()[s].num_images),
                streamed.shards()[s].checksum.c_str(), memory.shards()[s].checksum.c_str());
    EXPECT_EQ(streamed.shards()[s].checksum, memory.shards()[s].checksum) << s;
  }
  EXPECT_TRUE(streamed.verify_checksums().empty());
  EXPECT_TRUE(at::equal(streamed.read_all_images(), shapes_.images));
  EXPECT_TRUE(at::equal(streamed.all_labels(), memory.all_labels()));
  // read_images across a shard boundary (shards of 13 images).
  at::Tensor span = at::empty({6, 12, 12, 3}, at::kByte);
  streamed.read_images(10, 6, span.data_ptr());
  EXPECT_TRUE(at::equal(span, shapes_.images.narrow(0, 10, 6)));
}

TEST_F(ImageStreamTest, ShardCountFollowsTheShardSize) {
  WriteOptions o;
  o.shard_mib = 8;
  EXPECT_EQ(shard_count(1600, 128 * 128 * 3, o), 10);  // 170 images of 48 KiB per 8 MiB
  EXPECT_EQ(shard_count(170, 128 * 128 * 3, o), 1);
  EXPECT_EQ(shard_count(171, 128 * 128 * 3, o), 2);
  o.num_shards = 3;
  EXPECT_EQ(shard_count(1600, 128 * 128 * 3, o), 3);  // a count given wins
  const ImageStream stream = stream_image_folder((dir_ / "in").string(), 0, 3);
  WriteOptions tiny;
  tiny.shard_mib = 1;  // 2,427 images of 432 bytes per shard: one shard
  write_dataset((dir_ / "auto").string(), stream, tiny);
  EXPECT_EQ(ShardedDataset((dir_ / "auto").string()).shards().size(), 1u);
}

TEST_F(ImageStreamTest, ABadFileInASliceIsNamed) {
  std::ofstream(dir_ / "in" / "b" / "img030.png") << "not a png";
  const ImageStream stream = stream_image_folder((dir_ / "in").string(), 0, 3);
  std::string message = error_of([&] { write_dataset((dir_ / "out").string(), stream, {}); });
  std::printf("[evidence] %s\n", message.c_str());
  EXPECT_NE(message.find("img030.png: cannot decode image"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
  write_png((dir_ / "in" / "b" / "img030.png").string(), at::zeros({10, 12, 3}, at::kByte));
  message = error_of([&] { stream_image_folder((dir_ / "in").string(), 0, 3).read(0, 50); });
  std::printf("[evidence] %s\n", message.c_str());
  EXPECT_NE(message.find("img030.png: 10x12 differs from 12x12"), std::string::npos) << message;
  // Resized on the way, the same folder streams.
  EXPECT_EQ(stream_image_folder((dir_ / "in").string(), 8, 3).read(25, 10).images.sizes(),
            (std::vector<std::int64_t>{10, 8, 8, 3}));
}

TEST_F(ImageStreamTest, ZipEntriesReadOneAtATimeEqualTheWholeRead) {
  const std::string zip = (dir_ / "a.npz").string();
  write_npz(zip, {{"images", shapes_.images}, {"labels", shapes_.labels}});
  const std::vector<ZipMember> whole = read_zip(zip);
  const std::vector<ZipEntry> index = index_zip(zip);
  ASSERT_EQ(index.size(), whole.size());
  for (std::size_t i = 0; i < index.size(); ++i) {
    EXPECT_EQ(index[i].name, whole[i].name);
    EXPECT_EQ(read_zip_entry(zip, index[i]), whole[i].content) << index[i].name;
  }
  fs::resize_file(zip, fs::file_size(zip) / 2);
  const std::string message = error_of([&] { index_zip(zip); });
  std::printf("[evidence] %s\n", message.c_str());
  EXPECT_NE(message.find(zip + ": truncated zip entry"), std::string::npos) << message;
}

}  // namespace
}  // namespace sgm::data

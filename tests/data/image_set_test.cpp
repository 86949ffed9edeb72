// Dataset sources: CIFAR-10 binary batches round-trip pixel for pixel and label for label
// through sgm-data's reader and the shard writer; procedural shapes are keyed by (seed, index).
#include "data/image_set.h"

#include <unistd.h>

#include <filesystem>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "data/dataset_writer.h"
#include "data/sharded_dataset.h"
#include "tests/support/compare.h"
#include "trainer/core/error.h"

namespace sgm::data {
namespace {

namespace fs = std::filesystem;

TEST(ImageSet, Cifar10BatchesRoundTrip) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("sgm-cifar-{}", ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  at::manual_seed(4);
  std::vector<at::Tensor> images, labels;
  for (int i = 1; i <= 5; ++i) {
    images.push_back(at::randint(0, 256, {7, 32, 32, 3}, at::kByte));
    labels.push_back(at::randint(0, 10, {7}, at::kInt));
    write_cifar10_batch((dir / fmt::format("data_batch_{}.bin", i)).string(), images.back(),
                        labels.back());
  }
  write_cifar10_batch((dir / "test_batch.bin").string(), images[0], labels[0]);
  ImageSet train = read_cifar10(dir.string(), "train");
  EXPECT_TRUE(sgm::testing::tensors_equal("CIFAR-10 train pixels", train.images, at::cat(images)));
  EXPECT_TRUE(sgm::testing::tensors_equal("CIFAR-10 train labels", train.labels, at::cat(labels)));
  EXPECT_EQ(read_cifar10(dir.string(), "test").images.size(0), 7);
  // Through the shard writer and reader.
  WriteOptions o;
  o.num_shards = 2;
  o.num_classes = 10;
  write_dataset((dir / "set").string(), train.images, train.labels, o);
  ShardedDataset d((dir / "set").string());
  EXPECT_TRUE(at::equal(d.read_all_images(), train.images));
  EXPECT_TRUE(at::equal(d.all_labels(), train.labels));
  // Errors name the file.
  fs::resize_file(dir / "data_batch_3.bin", 3073 * 2 + 5);
  try {
    read_cifar10(dir.string(), "train");
    FAIL() << "truncated batch accepted";
  } catch (const core::UsageError& e) {
    std::printf("[evidence] message: %s\n", e.what());
    EXPECT_NE(std::string(e.what()).find("data_batch_3.bin"), std::string::npos);
  }
  EXPECT_THROW(read_cifar10(dir.string(), "validation"), core::UsageError);
  fs::remove_all(dir);
}

TEST(ImageSet, ImageFoldersRoundTripAndResize) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("sgm-folder-{}", ::getpid());
  fs::remove_all(dir);
  ImageSet shapes = make_shapes(6, 12, 3);
  for (std::int64_t i = 0; i < 6; ++i) {
    const fs::path cls = dir / (i % 2 ? "dogs" : "cats");
    fs::create_directories(cls);
    write_png((cls / fmt::format("img{}.png", i)).string(), shapes.images[i]);
  }
  ImageSet read = read_image_folder(dir.string(), 0, 3);
  EXPECT_EQ(read.num_classes, 2);
  // Sorted paths: cats/img0, img2, img4 (label 0), then dogs/img1, img3, img5 (label 1).
  at::Tensor order = at::tensor({0, 2, 4, 1, 3, 5}, at::kLong);
  EXPECT_TRUE(
      sgm::testing::tensors_equal("PNG pixels", read.images, shapes.images.index_select(0, order)));
  EXPECT_TRUE(sgm::testing::tensors_equal("folder labels", read.labels,
                                          at::tensor({0, 0, 0, 1, 1, 1}, at::kInt)));
  // Resizing: a constant image stays constant; the shape is resolution^2.
  const fs::path flat = dir / "flat";
  fs::create_directories(flat / "only");
  write_png((flat / "only" / "a.png").string(), at::full({20, 30, 3}, 77, at::kByte));
  ImageSet small = read_image_folder(flat.string(), 8, 3);
  EXPECT_EQ(small.images.sizes(), (std::vector<std::int64_t>{1, 8, 8, 3}));
  EXPECT_EQ(small.images.to(at::kInt).sub(77).abs().max().item<int>(), 0);
  EXPECT_EQ(read_image_folder(flat.string(), 8, 1).images.size(3), 1);
  EXPECT_THROW(read_image_folder((dir / "missing").string(), 0, 3), core::UsageError);
  fs::remove_all(dir);
}

TEST(ImageSet, ShapesAreKeyedBySeedAndIndex) {
  ImageSet a = make_shapes(10, 16, 7), b = make_shapes(25, 16, 7), c = make_shapes(10, 16, 8);
  EXPECT_EQ(a.images.sizes(), (std::vector<std::int64_t>{10, 16, 16, 3}));
  EXPECT_TRUE(at::equal(a.images, b.images.narrow(0, 0, 10)));
  EXPECT_TRUE(at::equal(a.labels, b.labels.narrow(0, 0, 10)));
  EXPECT_FALSE(at::equal(a.images, c.images));
  EXPECT_EQ(a.num_classes, 3);
  EXPECT_GE(b.labels.min().item<int>(), 0);
  EXPECT_LE(b.labels.max().item<int>(), 2);
  // Two colours per image: shape and background.
  for (std::int64_t i = 0; i < 10; ++i) {
    at::Tensor colours = std::get<0>(at::unique_dim(a.images[i].reshape({-1, 3}), 0));
    EXPECT_EQ(colours.size(0), 2) << i;
  }
}

}  // namespace
}  // namespace sgm::data

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

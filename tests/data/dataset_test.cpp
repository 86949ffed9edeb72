// The sgm dataset format: writer/reader round trip, atomic writes, and every corrupt-input case
// giving one error that names the file and the problem.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include "data/dataset_writer.h"
#include "data/sharded_dataset.h"
#include "tests/support/compare.h"
#include "trainer/core/error.h"

namespace sgm::data {
namespace {

namespace fs = std::filesystem;

class DatasetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / fmt::format("sgm-data-{}-{}", ::getpid(), counter_++);
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string make(const std::string& name, std::int64_t n, std::int64_t size, std::int64_t shards,
                   bool labels = true) {
    at::manual_seed(n * 31 + size);
    images_ = at::randint(0, 256, {n, size, size, 3}, at::kByte);
    labels_ = labels ? at::randint(0, 10, {n}, at::kInt) : at::Tensor();
    WriteOptions o;
    o.num_shards = shards;
    o.num_classes = labels ? 10 : 0;
    o.source = "test";
    const std::string dir = (root_ / name).string();
    write_dataset(dir, images_, labels_, o);
    return dir;
  }

  static std::string error_of(const std::function<void()>& f) {
    try {
      f();
    } catch (const core::UsageError& e) {
      std::printf("[evidence] message: %s\n", e.what());
      return e.what();
    }
    ADD_FAILURE() << "no UsageError";
    return "";
  }

  fs::path root_;
  at::Tensor images_, labels_;
  static inline int counter_ = 0;
};

TEST_F(DatasetTest, RoundTripAcrossShards) {
  const std::string dir = make("set", 37, 8, 3);
  ShardedDataset d(dir);
  EXPECT_EQ(d.size(), 37);
  EXPECT_EQ(d.shards().size(), 3u);
  EXPECT_EQ(d.height(), 8);
  EXPECT_EQ(d.num_classes(), 10);
  EXPECT_EQ(d.shards()[0].source, "test");
  EXPECT_TRUE(fs::exists(fs::path(dir) / "data-00002-of-00003.h5"));
  EXPECT_TRUE(sgm::testing::tensors_equal("all images", d.read_all_images(), images_));
  EXPECT_TRUE(sgm::testing::tensors_equal("labels", d.all_labels(), labels_));
  at::Tensor one = at::empty({8, 8, 3}, at::kByte);
  for (std::int64_t i : {0, 12, 13, 36}) {
    d.read_image(i, one.data_ptr<std::uint8_t>());
    EXPECT_TRUE(at::equal(one, images_[i])) << i;
    EXPECT_EQ(d.label(i), labels_[i].item<int>());
  }
  EXPECT_TRUE(d.verify_checksums().empty());
  // Files that only look like shards are not shards: a short field, no NAME, another suffix.
  for (const char* stray :
       {"data-0002-of-00003.h5", "-00000-of-00003.h5", "data-00000-of-00003.h5.bak",
        "data-0000x-of-00003.h5", "data-00000-0f-00003.h5"})
    std::ofstream(fs::path(dir) / stray) << "not a shard";
  EXPECT_EQ(ShardedDataset(dir).shards().size(), 3u);
  // Unlabelled sets have no labels at all.
  ShardedDataset u(make("unlabelled", 5, 4, 1, false));
  EXPECT_FALSE(u.labelled());
  EXPECT_FALSE(u.all_labels().defined());
}

TEST_F(DatasetTest, LabelsWithoutAStatedClassCountAreReadable) {
  // num_classes defaults to max(label) + 1 rather than producing a shard the reader rejects.
  const std::string dir = (root_ / "inferred").string();
  write_dataset(dir, at::zeros({4, 2, 2, 3}, at::kByte), at::tensor({0, 6, 2, 1}, at::kInt),
                WriteOptions{});
  ShardedDataset d(dir);
  EXPECT_EQ(d.num_classes(), 7);
  EXPECT_THROW(write_dataset((root_ / "negative").string(), at::zeros({2, 2, 2, 3}, at::kByte),
                             at::tensor({0, -1}, at::kInt), WriteOptions{}),
               core::UsageError);
}

TEST_F(DatasetTest, LabelOutsideTheStatedClassesIsRefusedOnOpening) {
  // A shard whose labels disagree with its num_classes (here one label overwritten to 9 of 7
  // classes) is refused when opened, on every rank, not when a batch reaches the network.
  const std::string dir = (root_ / "relabelled").string();
  write_dataset(dir, at::zeros({4, 2, 2, 3}, at::kByte), at::tensor({0, 6, 2, 1}, at::kInt),
                WriteOptions{});
  const std::string shard = dir + "/data-00000-of-00001.h5";
  {
    const hid_t f = H5Fopen(shard.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    const hid_t ds = H5Dopen2(f, "labels", H5P_DEFAULT);
    const std::int32_t labels[4] = {0, 6, 9, 1};
    ASSERT_GE(H5Dwrite(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, labels), 0);
    H5Dclose(ds);
    H5Fclose(f);
  }
  const std::string msg = error_of([&] { ShardedDataset d(dir); });
  std::printf("[evidence] message: %s\n", msg.c_str());
  EXPECT_NE(msg.find(shard + ": label 9 of image 2 is outside [0, 7)"), std::string::npos);
}

TEST_F(DatasetTest, WritesAreAtomicAndRefuseToClobber) {
  const std::string dir = make("set", 6, 4, 2);
  const std::string msg = error_of([&] { write_dataset(dir, images_, labels_, WriteOptions{}); });
  EXPECT_NE(msg.find(dir + " exists"), std::string::npos);
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(root_)) ++entries;
  EXPECT_EQ(entries, 1u) << "no temporary directory left behind";
  EXPECT_NE(error_of([&] {
              write_dataset((root_ / "empty").string(), at::empty({0, 4, 4, 3}, at::kByte), {},
                            WriteOptions{});
            }).find("empty dataset"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(root_ / "empty"));
}

TEST_F(DatasetTest, CorruptInputsNameTheFileAndTheProblem) {
  EXPECT_NE(error_of([&] { ShardedDataset((root_ / "nowhere").string()); }).find("does not exist"),
            std::string::npos);
  fs::create_directories(root_ / "bare");
  EXPECT_NE(error_of([&] { ShardedDataset((root_ / "bare").string()); }).find("no dataset shards"),
            std::string::npos);

  // Not HDF5.
  const std::string text_dir = (root_ / "text").string();
  fs::create_directories(text_dir);
  std::ofstream(fs::path(text_dir) / "data-00000-of-00001.h5") << "not hdf5";
  EXPECT_NE(error_of([&] {
              ShardedDataset d(text_dir);
            }).find("data-00000-of-00001.h5: not an HDF5 file"),
            std::string::npos);

  // A missing shard.
  const std::string missing = make("missing", 9, 4, 3);
  fs::remove(fs::path(missing) / "data-00001-of-00003.h5");
  EXPECT_NE(
      error_of([&] { ShardedDataset d(missing); }).find("data-00001-of-00003.h5: shard missing"),
      std::string::npos);

  // Shards that disagree on the image shape.
  const std::string a = make("a", 8, 8, 2), b = make("b", 8, 4, 2);
  fs::copy_file(fs::path(b) / "data-00001-of-00002.h5", fs::path(a) / "data-00001-of-00002.h5",
                fs::copy_options::overwrite_existing);
  EXPECT_NE(
      error_of([&] { ShardedDataset d(a); }).find("data-00001-of-00002.h5: images are 4x4x3 but"),
      std::string::npos);

  // A shard of another dataset (counts disagree).
  const std::string c = make("c", 8, 4, 2), e = make("e", 10, 4, 2);
  fs::copy_file(fs::path(e) / "data-00001-of-00002.h5", fs::path(c) / "data-00001-of-00002.h5",
                fs::copy_options::overwrite_existing);
  EXPECT_NE(error_of([&] { ShardedDataset d(c); }).find("total_images/num_classes disagree"),
            std::string::npos);

  // A truncated shard.
  const std::string t = make("t", 64, 16, 1);
  const fs::path shard = fs::path(t) / "data-00000-of-00001.h5";
  fs::resize_file(shard, fs::file_size(shard) / 2);
  const std::string msg = error_of([&] {
    ShardedDataset d(t);
    d.read_all_images();
  });
  EXPECT_NE(msg.find(shard.string()), std::string::npos);

  // A refused dataset leaves no file open: shards refused after others were opened (the two
  // cases of disagreeing shards above) closed nothing before, as the constructor had not ended.
  const ssize_t open_files = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE);
  std::printf("[evidence] HDF5 files open after the refusals: %zd\n", open_files);
  EXPECT_EQ(open_files, 0);
}

TEST_F(DatasetTest, ShapeMismatchWithTheModelNamesKeyAndDataset) {
  ShardedDataset d(make("set", 4, 8, 1));
  EXPECT_NO_THROW(d.check_shape(8, 3));
  const std::string channels = error_of([&] { d.check_shape(8, 1); });
  EXPECT_NE(channels.find("data.num_channels = 1 but the dataset " + d.dir() + " has 3 channel(s)"),
            std::string::npos);
  EXPECT_NE(error_of([&] { d.check_shape(32, 3); }).find("data.image_size = 32"),
            std::string::npos);
}

TEST_F(DatasetTest, VerifyDetectsChangedPixels) {
  const std::string dir = make("set", 6, 4, 2);
  const std::string shard = (fs::path(dir) / "data-00001-of-00002.h5").string();
  {
    hid_t f = H5Fopen(shard.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    hid_t ds = H5Dopen2(f, "images", H5P_DEFAULT);
    std::vector<std::uint8_t> data(3 * 4 * 4 * 3);
    H5Dread(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
    data[17] ^= 1;
    H5Dwrite(ds, H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data());
    H5Dclose(ds);
    H5Fclose(f);
  }
  ShardedDataset d(dir);
  auto problems = d.verify_checksums();
  ASSERT_EQ(problems.size(), 1u);
  std::printf("[evidence] %s\n", problems[0].c_str());
  EXPECT_NE(problems[0].find(shard + ": content checksum"), std::string::npos);
}

}  // namespace
}  // namespace sgm::data

// The data stream: the sample order is a permutation per epoch; ranks 0..W-1 together see the
// single-rank stream for W = 1, 2, 4 (in-memory and streaming alike); a resumed loader continues
// the stream exactly; scaling, dequantisation and flips as score_sde's datasets.py.
#include "data/loader.h"

#include <unistd.h>

#include <filesystem>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "data/dataset_writer.h"
#include "tests/support/compare.h"
#include "trainer/core/error.h"

namespace sgm::data {
namespace {

namespace fs = std::filesystem;

TEST(SampleOrder, EveryEpochIsAPermutation) {
  for (std::int64_t n : {1, 7, 1000, 4097}) {
    SampleOrder order(n, 1, 9);
    for (std::int64_t epoch : {0, 1, 5}) {
      std::set<std::int64_t> seen;
      for (std::int64_t i = 0; i < n; ++i) seen.insert(order.permute(epoch, i));
      EXPECT_EQ(static_cast<std::int64_t>(seen.size()), n);
      EXPECT_EQ(*seen.begin(), 0);
      EXPECT_EQ(*seen.rbegin(), n - 1);
    }
  }
  SampleOrder order(1000, 128, 9);
  EXPECT_EQ(order.positions_per_epoch(), 896);  // the last partial batch is dropped
  EXPECT_EQ(order.sample_at(896), order.permute(1, 0));
  std::int64_t same = 0;
  for (std::int64_t i = 0; i < 1000; ++i) same += order.permute(0, i) == order.permute(1, i);
  EXPECT_LT(same, 10) << "epochs are shuffled differently";
  EXPECT_EQ(SampleOrder(1000, 128, 9).sample_at(12345), order.sample_at(12345));
  EXPECT_NE(SampleOrder(1000, 128, 10).sample_at(5), order.sample_at(5));
}

class LoaderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (fs::temp_directory_path() / fmt::format("sgm-loader-{}", ::getpid())).string();
    fs::remove_all(dir_);
    at::manual_seed(3);
    images_ = at::randint(0, 256, {50, 6, 6, 3}, at::kByte);
    WriteOptions o;
    o.num_shards = 4;
    o.num_classes = 5;
    write_dataset(dir_, images_, at::randint(0, 5, {50}, at::kInt), o);
    dataset_ = std::make_shared<ShardedDataset>(dir_);
  }
  static void TearDownTestSuite() {
    dataset_.reset();
    fs::remove_all(dir_);
  }
  static LoaderOptions options(int rank, int world, bool in_memory = true) {
    LoaderOptions o;
    o.global_batch = 8;
    o.rank = rank;
    o.world_size = world;
    o.seed = 123;
    o.uniform_dequantization = true;
    o.in_memory = in_memory;
    return o;
  }
  static inline std::string dir_;
  static inline at::Tensor images_;
  static inline std::shared_ptr<ShardedDataset> dataset_;
};

TEST_F(LoaderTest, RanksTogetherSeeTheSingleRankStream) {
  const int steps = 9;  // crosses the epoch boundary (48 positions per epoch)
  Loader single(dataset_, options(0, 1));
  std::vector<Batch> reference;
  for (int s = 0; s < steps; ++s) reference.push_back(single.next());
  for (int world : {1, 2, 4}) {
    for (bool in_memory : {true, false}) {
      std::vector<std::unique_ptr<Loader>> ranks;
      for (int r = 0; r < world; ++r)
        ranks.push_back(std::make_unique<Loader>(dataset_, options(r, world, in_memory)));
      for (int s = 0; s < steps; ++s) {
        std::vector<at::Tensor> images, labels, positions;
        for (auto& l : ranks) {
          Batch b = l->next();
          images.push_back(b.images);
          labels.push_back(b.labels);
          positions.push_back(b.positions);
        }
        const std::string what =
            fmt::format("W={} {} step {}", world, in_memory ? "in-memory" : "streaming", s);
        ASSERT_TRUE(at::equal(at::cat(images), reference[s].images)) << what;
        ASSERT_TRUE(at::equal(at::cat(labels), reference[s].labels)) << what;
        ASSERT_TRUE(at::equal(at::cat(positions), reference[s].positions)) << what;
      }
      std::printf(
          "[evidence] W=%d %s: %d global batches identical to the single-rank stream (exact)\n",
          world, in_memory ? "in-memory" : "streaming", steps);
    }
  }
}

// ctest gives this test one intra-op thread (OMP_NUM_THREADS=1); the batch's samples are filled
// in parallel, so the result must not depend on how many threads share them.
TEST_F(LoaderTest, BatchesDoNotDependOnTheThreadCount) {
  const int threads = at::get_num_threads();
  LoaderOptions o = options(0, 1);
  o.random_flip = true;
  const SampleOrder order(50, 8, o.seed);
  std::vector<at::Tensor> per_threads;
  for (int n : {1, 2, 3}) {
    at::set_num_threads(n);
    per_threads.push_back(load_batch(*dataset_, at::Tensor(), order, o, 2).images);
  }
  at::set_num_threads(threads);
  EXPECT_TRUE(at::equal(per_threads[0], per_threads[1]));
  EXPECT_TRUE(at::equal(per_threads[0], per_threads[2]));
  std::printf("[evidence] a dequantised, flipped batch of 8 equal with 1, 2 and 3 threads (exact)\n");
}

TEST_F(LoaderTest, ResumingFromACursorContinuesTheStream) {
  Loader full(dataset_, options(1, 2));
  std::vector<Batch> all;
  for (int s = 0; s < 8; ++s) all.push_back(full.next());
  EXPECT_EQ(full.cursor(), 64);
  Loader resumed(dataset_, options(1, 2), /*cursor=*/5 * 8);  // mid-epoch
  for (int s = 5; s < 8; ++s) {
    Batch b = resumed.next();
    EXPECT_TRUE(at::equal(b.images, all[s].images)) << s;
    EXPECT_TRUE(at::equal(b.ids, all[s].ids)) << s;
  }
  EXPECT_THROW(Loader(dataset_, options(0, 1), 3), core::UsageError);
  LoaderOptions odd = options(0, 3);
  EXPECT_THROW(Loader(dataset_, odd), core::UsageError);  // 8 is not divisible by 3
}

TEST_F(LoaderTest, BatchBuffersAreReusedOnlyWhenNobodyHoldsThem) {
  // The loader recycles its prefetch + 2 batch buffers; a batch (or a view of one) the caller
  // keeps must never be overwritten. (The memory this saves is measured by bench/loader_bench.)
  Loader loader(dataset_, options(0, 1));
  Batch kept = loader.next();
  const at::Tensor kept_copy = kept.images.clone();
  at::Tensor view = loader.next().images.narrow(0, 2, 3);  // records its base tensor
  const at::Tensor view_copy = view.clone();
  // Shares only the storage, with no reference to the batch tensor itself.
  at::Tensor bare_view = at::empty({0}, at::kFloat);
  bare_view.set_(loader.next().images.storage(), 0, {5});
  const at::Tensor bare_view_copy = bare_view.clone();
  for (int s = 0; s < 20; ++s) loader.next();
  EXPECT_TRUE(at::equal(kept.images, kept_copy));
  EXPECT_TRUE(at::equal(view, view_copy));
  EXPECT_TRUE(at::equal(bare_view, bare_view_copy));
  std::printf(
      "[evidence] a kept batch, a view and a storage alias unchanged over 20 further batches\n");
}

TEST_F(LoaderTest, ScalingDequantisationAndFlips) {
  LoaderOptions plain = options(0, 1);
  plain.uniform_dequantization = false;
  plain.random_flip = false;
  Batch b = load_batch(*dataset_, at::Tensor(), SampleOrder(50, 8, plain.seed), plain, 0);
  at::Tensor raw = images_.index_select(0, b.ids).permute({0, 3, 1, 2}).to(at::kFloat);
  EXPECT_TRUE(sgm::testing::tensors_close("k / 255", b.images, raw / 255.0, 1e-7));
  plain.centered = true;
  Batch c = load_batch(*dataset_, at::Tensor(), SampleOrder(50, 8, plain.seed), plain, 0);
  EXPECT_TRUE(sgm::testing::tensors_close("2 k / 255 - 1", c.images, raw / 255.0 * 2 - 1, 1e-6));

  LoaderOptions noisy = options(0, 1);
  noisy.random_flip = false;
  Batch d = load_batch(*dataset_, at::Tensor(), SampleOrder(50, 8, noisy.seed), noisy, 0);
  at::Tensor u = d.images * 256 - raw;  // the dequantisation noise
  EXPECT_GE(u.min().item<double>(), -1e-4);
  EXPECT_LT(u.max().item<double>(), 1.0);

  // Flips: about half of 200 samples, each an exact mirror of its unflipped self.
  LoaderOptions flips = options(0, 1);
  flips.uniform_dequantization = false;
  flips.global_batch = 40;
  LoaderOptions none = flips;
  none.random_flip = false;
  int flipped = 0;
  for (std::int64_t cursor = 0; cursor < 200; cursor += 40) {
    Batch f = load_batch(*dataset_, at::Tensor(), SampleOrder(50, 40, flips.seed), flips, cursor);
    Batch n = load_batch(*dataset_, at::Tensor(), SampleOrder(50, 40, none.seed), none, cursor);
    for (std::int64_t i = 0; i < 40; ++i) {
      const bool same = at::equal(f.images[i], n.images[i]);
      if (!same) {
        ++flipped;
        EXPECT_TRUE(at::equal(f.images[i], n.images[i].flip({2})));
      }
    }
  }
  std::printf("[evidence] %d of 200 samples flipped (expected 100 +- 28 at 4 sigma)\n", flipped);
  EXPECT_NEAR(flipped, 100, 28);
}

}  // namespace
}  // namespace sgm::data

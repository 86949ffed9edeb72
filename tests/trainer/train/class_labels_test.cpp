// The class labels of a conditional training run: the run and its dataset must agree (one line
// naming the key and the dataset otherwise), and label dropout is keyed by the stream position:
// the rate is what was asked, and two ranks holding halves of a batch drop the same labels as
// one rank holding all of it.
#include "trainer/train/class_labels.h"

#include <filesystem>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "data/dataset_writer.h"
#include "trainer/core/error.h"

namespace sgm::train {
namespace {

namespace fs = std::filesystem;

std::string refusal(const data::ShardedDataset& d, const std::string& path, std::int64_t k,
                    double p) {
  try {
    check_classes(d, path, k, p);
  } catch (const core::UsageError& e) {
    std::printf("[evidence] model.num_classes = %ld, training.label_dropout = %g: %s\n",
                static_cast<long>(k), p, e.what());
    return e.what();
  }
  return "";
}

TEST(ClassLabels, RunAndDatasetMustAgree) {
  const fs::path root = fs::temp_directory_path() / ("sgm-classes-" + std::to_string(::getpid()));
  fs::remove_all(root);
  const at::Tensor images = at::zeros({6, 2, 2, 1}, at::kByte);
  data::write_dataset((root / "labelled").string(), images,
                      at::tensor({0, 1, 2, 3, 4, 3}, at::kLong), data::WriteOptions{});
  data::write_dataset((root / "plain").string(), images, at::Tensor(), data::WriteOptions{});
  const data::ShardedDataset labelled((root / "labelled").string());
  const data::ShardedDataset plain((root / "plain").string());
  const std::string lp = (root / "labelled").string(), pp = (root / "plain").string();

  EXPECT_EQ(refusal(labelled, lp, 5, 0.1), "");
  EXPECT_EQ(refusal(labelled, lp, 8, 0.0), "");  // more classes than the data use: fine
  EXPECT_EQ(refusal(plain, pp, 0, 0.0), "");
  const std::string none = refusal(plain, pp, 5, 0.0);
  EXPECT_NE(none.find("model.num_classes = 5"), std::string::npos);
  EXPECT_NE(none.find(pp), std::string::npos);
  const std::string few = refusal(labelled, lp, 4, 0.0);
  EXPECT_NE(few.find("has 5 classes"), std::string::npos);
  EXPECT_NE(few.find(lp), std::string::npos);
  EXPECT_NE(refusal(labelled, lp, 0, 0.2).find("training.label_dropout"), std::string::npos);
  EXPECT_NE(refusal(labelled, lp, 5, 1.5).find("training.label_dropout"), std::string::npos);
  fs::remove_all(root);
}

TEST(ClassLabels, DropoutKeyedByStreamPosition) {
  const core::CounterRng rng(42);
  const std::int64_t n = 20000, k = 10;
  const at::Tensor labels = at::arange(n, at::kLong).remainder(k);
  const at::Tensor positions = at::arange(1000, 1000 + n, at::kLong);
  const double p = 0.2;
  const at::Tensor rows = training_classes(labels, positions, k, p, rng);
  ASSERT_EQ(rows.sizes(), (at::IntArrayRef{n, k}));
  const at::Tensor kept = rows.sum(1);
  const double dropped = 1.0 - kept.mean().item<double>();
  std::printf("[evidence] label dropout 0.2: %.4f of %ld labels dropped\n", dropped,
              static_cast<long>(n));
  EXPECT_NEAR(dropped, p, 4 * std::sqrt(p * (1 - p) / n));
  // A kept row is its label's one-hot row.
  const at::Tensor kept_mask = kept > 0.5;
  EXPECT_TRUE(at::equal(rows.argmax(1).masked_select(kept_mask), labels.masked_select(kept_mask)));
  // Two halves (two ranks) drop exactly the labels the whole batch drops.
  const at::Tensor halves = at::cat(
      {training_classes(labels.narrow(0, 0, n / 2), positions.narrow(0, 0, n / 2), k, p, rng),
       training_classes(labels.narrow(0, n / 2, n / 2), positions.narrow(0, n / 2, n / 2), k, p,
                        rng)});
  EXPECT_TRUE(at::equal(rows, halves));
  // No dropout: every label kept; no classes: nothing.
  EXPECT_EQ(training_classes(labels, positions, k, 0.0, rng).sum().item<double>(), n);
  EXPECT_FALSE(training_classes(labels, positions, 0, 0.0, rng).defined());
}

}  // namespace
}  // namespace sgm::train

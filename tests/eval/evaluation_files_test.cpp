// The evaluation job's files: round slicing, the results table (replace, reload, CSV quoting),
// the metric plot, and reference statistics from mu/sigma or from pool_3 files.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "data/image_set.h"
#include "data/numpy_writer.h"
#include "eval/metric_plot.h"
#include "eval/metrics.h"
#include "eval/reference_stats.h"
#include "eval/results_table.h"
#include "eval/rounds.h"
#include "eval/sample_job.h"
#include "trainer/core/error.h"

namespace sgm::eval {
namespace {
namespace fs = std::filesystem;

fs::path scratch(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("sgm_eval_files_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

// eval.image_format = png: each stored sample as <index:06d>.png, decoding to the same pixels;
// a rerun keeps what is there and completes what is missing.
TEST(SamplePngs, DecodeToTheStoredSamplesExactly) {
  const fs::path dir = scratch("pngs");
  const RoundPlan plan{7, 4};
  at::manual_seed(3);
  const at::Tensor all = at::randint(0, 256, {7, 5, 6, 3}, at::kByte);
  for (std::int64_t r = 0; r < plan.rounds(); ++r) {
    data::write_npz(
        round_path(dir.string(), r),
        {{"indices", at::arange(plan.begin(r), plan.begin(r) + plan.size(r), at::kLong)},
         {"samples", all.narrow(0, plan.begin(r), plan.size(r))}});
  }
  write_sample_pngs(dir.string(), plan);
  fs::remove(dir / "png" / "000005.png");
  write_sample_pngs(dir.string(), plan);
  std::int64_t files = 0, different = 0;
  for (std::int64_t i = 0; i < 7; ++i) {
    const fs::path png = dir / "png" / fmt::format("{:06d}.png", i);
    ASSERT_TRUE(fs::exists(png)) << png;
    different += at::ne(data::read_image(png.string(), 0, 3), all[i]).sum().item<std::int64_t>();
    ++files;
  }
  std::printf("[evidence] %lld PNGs, %lld pixel values differ from the stored samples\n",
              static_cast<long long>(files), static_cast<long long>(different));
  EXPECT_EQ(different, 0);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "png"), fs::directory_iterator{}), 7);
}

TEST(Rounds, SlicesCoverEachRoundOnceForAnyWorldSize) {
  const RoundPlan plan{10, 4};
  EXPECT_EQ(plan.rounds(), 3);
  EXPECT_EQ(plan.size(2), 2);
  for (int world : {1, 2, 3, 5}) {
    std::vector<int> seen(10, 0);
    for (std::int64_t r = 0; r < plan.rounds(); ++r)
      for (int rank = 0; rank < world; ++rank) {
        const auto [begin, size] = local_slice(plan.begin(r), plan.size(r), rank, world);
        for (std::int64_t i = begin; i < begin + size; ++i) ++seen[static_cast<std::size_t>(i)];
      }
    for (int count : seen) EXPECT_EQ(count, 1) << "world " << world;
  }
  // 2 items over 3 ranks: 1, 1, 0.
  EXPECT_EQ(local_slice(8, 2, 2, 3).second, 0);
}

TEST(ResultsTable, ConcurrentWritersKeepEveryRecordAndAStaleLockIsBroken) {
  // Two jobs (array tasks) open the table, then each adds its own checkpoint's record.
  const fs::path dir = scratch("shared_table");
  ResultsTable a(dir.string()), b(dir.string());
  a.add({10, "fid", 4.5, 0, 100, 35, "c1", "p", "ckpt-10", {}});
  b.add({20, "fid", 3.5, 0, 100, 35, "c1", "p", "ckpt-20", {}});
  EXPECT_EQ(ResultsTable(dir.string()).records().size(), 2u);
  EXPECT_TRUE(b.has(10, "fid", "c1"));  // b re-read a's record when it added
  // The lock left by a job killed while holding it: broken once older than a minute.
  fs::create_directory(dir / "results.lock");
  fs::last_write_time(dir / "results.lock",
                      fs::file_time_type::clock::now() - std::chrono::minutes(2));
  a.add({30, "fid", 2.5, 0, 100, 35, "c1", "p", "ckpt-30", {}});
  EXPECT_EQ(ResultsTable(dir.string()).records().size(), 3u);
  EXPECT_FALSE(fs::exists(dir / "results.lock"));
  std::printf("[evidence] two writers: %zu records kept; a 2-minute-old lock was broken\n",
              ResultsTable(dir.string()).records().size());
}

TEST(ResultsTable, ReplacesSameKeyKeepsOthersAndReloads) {
  const fs::path dir = scratch("table");
  {
    ResultsTable t(dir.string());
    t.add({20, "fid", 3.5, 0, 100, 35, "c1", "pytorch-fid, 10 splits", "ckpt", {{"seed", "0"}}});
    t.add({10, "fid", 4.5, 0, 100, 35, "c1", "p", "ckpt", {}});
    t.add({20, "fid", 3.25, 0, 100, 35, "c1", "p", "ckpt", {}});  // replaces the first
    t.add({20, "fid", 9.0, 0, 100, 35, "c2", "p", "ckpt", {}});   // another configuration
  }
  const ResultsTable t(dir.string());
  ASSERT_EQ(t.records().size(), 3u);
  EXPECT_EQ(t.records()[0].step, 10);  // sorted by step
  EXPECT_TRUE(t.has(20, "fid", "c1"));
  EXPECT_FALSE(t.has(20, "is", "c1"));
  double value = 0;
  for (const auto& r : t.records())
    if (r.step == 20 && r.config == "c1") value = r.value;
  EXPECT_EQ(value, 3.25);
  std::ifstream csv(dir / "results.csv");
  std::string header, line;
  std::getline(csv, header);
  EXPECT_EQ(header, "step,metric,value,spread,count,nfe,config,protocol,checkpoint");
  std::getline(csv, line);
  EXPECT_EQ(line, "10,fid,4.5,0,100,35,c1,p,ckpt");
  // A torn or foreign line is an error naming the file and line.
  std::ofstream(dir / "results.jsonl", std::ios::app) << "{not json\n";
  try {
    ResultsTable bad(dir.string());
    FAIL() << "no error";
  } catch (const core::UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("results.jsonl:4"), std::string::npos) << e.what();
  }
}

TEST(MetricPlot, DrawsPointsInsideTheAxes) {
  const at::Tensor image = metric_plot("fid", {{30, 1.0}, {10, 3.0}, {20, 2.0}});
  ASSERT_EQ(image.sizes(), at::IntArrayRef({320, 480, 3}));
  // The line colour (31, 119, 180) appears, and the plot is mostly white.
  const at::Tensor blue = (image.select(2, 0) == 31) & (image.select(2, 1) == 119);
  const std::int64_t blue_pixels = blue.sum().item<std::int64_t>();
  const double white = (image == 255).all(2).to(at::kDouble).mean().item<double>();
  std::printf("[evidence] plot: %lld line pixels, %.3f white\n",
              static_cast<long long>(blue_pixels), white);
  EXPECT_GT(blue_pixels, 300);
  EXPECT_GT(white, 0.8);
  EXPECT_THROW(metric_plot("x", {}), core::Error);
}

TEST(MetricPlot, DrawsOneColouredLineAndALegendEntryPerSeries) {
  // sgm-eval nfe's fid_vs_nfe.png: FID against NFE, one line per solver.
  const at::Tensor image = metric_plot(
      "fid", {{"dpmpp_2m", {{10, 5.0}, {20, 3.0}}}, {"edm_heun", {{11, 9.0}, {21, 4.0}}}}, "nfe");
  auto pixels_of = [&](int r, int g, int b) {
    return ((image.select(2, 0) == r) & (image.select(2, 1) == g) & (image.select(2, 2) == b))
        .sum()
        .item<std::int64_t>();
  };
  const std::int64_t first = pixels_of(31, 119, 180), second = pixels_of(255, 127, 14);
  std::printf("[evidence] two series: %lld and %lld pixels of their colours\n",
              static_cast<long long>(first), static_cast<long long>(second));
  EXPECT_GT(first, 200);  // line, markers and the legend swatch (64 px)
  EXPECT_GT(second, 200);
  EXPECT_THROW(metric_plot("x", std::vector<PlotSeries>{{"empty", {}}}, "nfe"), core::Error);
}

TEST(ReferenceStats, ReadsMuSigmaOrComputesThemFromPool3) {
  const fs::path dir = scratch("reference");
  at::manual_seed(3);
  const at::Tensor features = at::randn({50, 8}, at::kDouble) * 2 + 1;
  data::write_npz((dir / "acts.npz").string(), {{"pool_3", features.to(at::kFloat)}});
  const ReferenceStats from_features = load_reference_stats((dir / "acts.npz").string());
  ASSERT_TRUE(from_features.features.defined());
  const at::Tensor f = features.to(at::kFloat).to(at::kDouble);
  const at::Tensor centred = f - f.mean(0);
  const at::Tensor cov = centred.t().mm(centred) / 49;
  const double mu_error = (from_features.mu - f.mean(0)).abs().max().item<double>();
  const double sigma_error = (from_features.sigma - cov).abs().max().item<double>();
  std::printf("[evidence] pool_3 -> mu, sigma: max errors %.2g, %.2g (tolerance 1e-12)\n", mu_error,
              sigma_error);
  EXPECT_LT(mu_error, 1e-12);
  EXPECT_LT(sigma_error, 1e-12);
  EXPECT_EQ(from_features.count, 50);

  data::write_npz((dir / "stats.npz").string(), {{"mu", f.mean(0)}, {"sigma", cov}});
  const ReferenceStats given = load_reference_stats((dir / "stats.npz").string());
  EXPECT_FALSE(given.features.defined());
  // The same statistics up to rounding: FID ~ 0 (the square-root trace carries ~1e-7 of tr S).
  const double fid = frechet_distance(given.mu, given.sigma, from_features.mu, from_features.sigma);
  std::printf("[evidence] FID of identical statistics: %.2g (tolerance 1e-6)\n", fid);
  EXPECT_LT(std::abs(fid), 1e-6);
  EXPECT_NE(given.checksum, from_features.checksum);

  data::write_npz((dir / "wrong.npz").string(), {{"mu", f.mean(0)}});
  EXPECT_THROW(load_reference_stats((dir / "wrong.npz").string()), core::UsageError);
  data::write_npz((dir / "shape.npz").string(),
                  {{"mu", f.mean(0)}, {"sigma", at::eye(3, at::kDouble)}});
  EXPECT_THROW(load_reference_stats((dir / "shape.npz").string()), core::UsageError);
}

}  // namespace
}  // namespace sgm::eval

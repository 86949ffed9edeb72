// The checkpoint store: round trip, retention, `latest`, and the fallback past a damaged
// (corrupted, truncated, half-written) newest checkpoint; none valid is an error.
#include "trainer/train/checkpoint.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "data/named_arrays.h"
#include "tests/support/compare.h"
#include "trainer/core/error.h"

namespace sgm::train {
namespace {
namespace fs = std::filesystem;

Checkpoint make(std::int64_t step) {
  Checkpoint c;
  c.state.step = step;
  c.state.images_seen = step * 128;
  c.state.data_cursor = step * 128;
  c.state.seed = 42;
  c.state.ema_updates = step;
  c.state.adam_steps = step;
  c.state.world_size = 2;
  c.state.config = "[training]\nbatch_size = 128\n";
  at::manual_seed(step);
  c.model = {{"conv.weight", at::randn({4, 3, 3, 3})},
             {"conv.bias", at::randn({4})},
             {"sigmas", at::arange(10, at::kDouble)}};
  for (auto* named : {&c.ema, &c.exp_avg, &c.exp_avg_sq}) {
    *named = {{"conv.weight", at::randn({4, 3, 3, 3})}, {"conv.bias", at::rand({4})}};
  }
  return c;
}

std::string fresh_workdir(const char* name) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("sgm-ckpt-{}-{}", name, ::getpid());
  fs::remove_all(dir);
  return dir.string();
}

void damage(const std::string& file, bool truncate) {
  const auto size = fs::file_size(file);
  if (truncate) {
    fs::resize_file(file, size / 2);
    return;
  }
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(size - 100));
  f.put('\x5a');
}

TEST(CheckpointStore, RoundTripRetentionAndLatest) {
  const std::string workdir = fresh_workdir("roundtrip");
  CheckpointStore store(workdir, /*keep_meta=*/2);
  for (std::int64_t step : {10, 20, 30, 40}) store.save("meta", make(step));
  store.save("snapshot", make(20));
  std::vector<std::string> names;
  for (const auto& d : store.list()) names.push_back(fs::path(d).filename().string());
  EXPECT_EQ(names,
            (std::vector<std::string>{"meta-00000040", "meta-00000030", "snapshot-00000020"}));
  std::ifstream latest(fs::path(store.directory()) / "latest");
  std::string pointer;
  latest >> pointer;
  EXPECT_EQ(pointer, "snapshot-00000020");  // the last one written

  const Checkpoint original = make(40);
  const Checkpoint loaded = CheckpointStore::load(store.list().front());
  EXPECT_EQ(loaded.state.step, 40);
  EXPECT_EQ(loaded.state.data_cursor, 40 * 128);
  EXPECT_EQ(loaded.state.world_size, 2);
  EXPECT_EQ(loaded.state.config, original.state.config);
  const std::pair<const char*, const Checkpoint::Named*> groups[] = {
      {"model", &loaded.model},
      {"ema", &loaded.ema},
      {"adam m", &loaded.exp_avg},
      {"adam v", &loaded.exp_avg_sq}};
  const Checkpoint::Named* originals[] = {&original.model, &original.ema, &original.exp_avg,
                                          &original.exp_avg_sq};
  for (std::size_t g = 0; g < 4; ++g) {
    const auto& [group, named] = groups[g];
    ASSERT_EQ(named->size(), originals[g]->size()) << group;
    for (const auto& [name, tensor] : *originals[g]) {
      const auto it = std::find_if(named->begin(), named->end(),
                                   [&](const auto& p) { return p.first == name; });
      ASSERT_NE(it, named->end()) << group << " " << name;
      EXPECT_TRUE(sgm::testing::tensors_equal(fmt::format("checkpoint {} {}", group, name),
                                              it->second, tensor));
    }
  }
  fs::remove_all(workdir);
}

TEST(CheckpointStore, ExportWritesModelAndEmaAsNamedArrays) {
  const std::string workdir = fresh_workdir("export");
  CheckpointStore store(workdir, 1);
  store.save("meta", make(7));
  const Checkpoint found = find_checkpoint(workdir);  // a work directory: its newest checkpoint
  EXPECT_EQ(found.state.step, 7);
  const std::string out = workdir + "/weights.h5";
  export_weights(found, out);
  const data::NamedArrayFile file(out);
  const Checkpoint original = make(7);
  EXPECT_TRUE(sgm::testing::tensors_equal(
      "export model/conv.weight", file.read("model/conv.weight"), original.model[0].second));
  EXPECT_TRUE(sgm::testing::tensors_equal("export ema/conv.weight", file.read("ema/conv.weight"),
                                          original.ema[0].second));
  EXPECT_EQ(file.string_attribute("step"), "7");
  EXPECT_FALSE(file.has("adam"));
  fs::remove_all(workdir);
}

TEST(CheckpointStore, WeightsOnlyLoadSkipsTheOptimizerAndStillVerifiesTheFile) {
  const std::string workdir = fresh_workdir("weights-only");
  CheckpointStore store(workdir, 1);
  Checkpoint original = make(5);
  original.state.phema_sigma_rels = {0.05};
  original.phema = {original.ema};
  store.save("meta", original);
  const Checkpoint all = find_checkpoint(workdir);
  const Checkpoint weights = find_checkpoint(workdir, CheckpointParts::kWeights);
  EXPECT_EQ(all.exp_avg.size(), 2u);
  EXPECT_EQ(all.phema.size(), 1u);
  EXPECT_EQ(weights.state.step, 5);
  ASSERT_EQ(weights.model.size(), 3u);
  ASSERT_EQ(weights.ema.size(), 2u);
  EXPECT_TRUE(weights.exp_avg.empty());
  EXPECT_TRUE(weights.exp_avg_sq.empty());
  EXPECT_TRUE(weights.phema.empty());
  for (const auto& [name, tensor] : original.ema) {
    const auto it = std::find_if(weights.ema.begin(), weights.ema.end(),
                                 [&](const auto& p) { return p.first == name; });
    ASSERT_NE(it, weights.ema.end()) << name;
    EXPECT_TRUE(sgm::testing::tensors_equal("weights-only ema " + name, it->second, tensor));
  }
  std::printf(
      "[evidence] weights only: %zu model + %zu EMA tensors, %zu + %zu Adam, %zu post-hoc "
      "profiles (whole load: %zu + %zu Adam, %zu profiles)\n",
      weights.model.size(), weights.ema.size(), weights.exp_avg.size(), weights.exp_avg_sq.size(),
      weights.phema.size(), all.exp_avg.size(), all.exp_avg_sq.size(), all.phema.size());
  damage((fs::path(store.directory()) / "meta-00000005" / "weights.h5").string(), false);
  EXPECT_THROW(CheckpointStore::load(store.list().front(), CheckpointParts::kWeights),
               core::UsageError);
  fs::remove_all(workdir);
}

TEST(CheckpointStore, FallsBackPastDamagedCheckpointsAndRefusesWhenNoneIsValid) {
  const std::string workdir = fresh_workdir("fallback");
  CheckpointStore store(workdir, 5);
  EXPECT_FALSE(store.load_latest().has_value());  // a fresh run
  for (std::int64_t step : {10, 20, 30, 40}) store.save("meta", make(step));
  const fs::path dir = store.directory();
  damage((dir / "meta-00000040" / "weights.h5").string(), /*truncate=*/false);  // corrupted
  damage((dir / "meta-00000030" / "weights.h5").string(), /*truncate=*/true);   // truncated
  fs::remove(dir / "meta-00000020" / "state.json");                             // half-written
  auto resumed = store.load_latest();
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->state.step, 10);
  std::printf(
      "[evidence] newest three damaged (corrupted, truncated, no state.json): resumed "
      "from %s\n",
      resumed->path.c_str());
  damage((dir / "meta-00000010" / "weights.h5").string(), false);
  try {
    store.load_latest();
    ADD_FAILURE() << "no error with every checkpoint damaged";
  } catch (const core::UsageError& e) {
    std::printf("[evidence] message: %s\n", e.what());
    EXPECT_NE(std::string(e.what()).find("none valid"), std::string::npos);
  }
  fs::remove_all(workdir);
}

}  // namespace
}  // namespace sgm::train

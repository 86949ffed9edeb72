// Checked-call messages carry file:line; rank-aware log lines; atomic files are whole or absent.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "trainer/core/atomic_file.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"

namespace sgm::core {
namespace {

namespace fs = std::filesystem;

fs::path fresh_dir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / fmt::format("sgm-test-{}-{}", name, ::getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Error, CheckNamesConditionFileAndLine) {
  const int line = __LINE__ + 2;
  try {
    SGM_CHECK(1 + 1 == 3, "arithmetic is {}", "broken");
    FAIL() << "SGM_CHECK did not throw";
  } catch (const Error& e) {
    const std::string expected = fmt::format(
        "check failed: 1 + 1 == 3: arithmetic is broken [error_log_file_test.cpp:{}]", line);
    std::printf("[evidence] message: %s\n", e.what());
    EXPECT_EQ(e.what(), expected);
  }
}

TEST(Error, CallFailureMessageFormat) {
  EXPECT_EQ(call_failure_message("/a/b/c.cpp", 12, "H5Fopen(p)", "unable to open file"),
            "H5Fopen(p) failed: unable to open file [c.cpp:12]");
}

TEST(Log, RankPrefixOnlyForAllRankMessagesInMultiRankJobs) {
  log::set_rank(0, 1);
  EXPECT_EQ(log::format_line(log::Level::kInfo, true, "hello"), "hello\n");
  log::set_rank(3, 12);
  EXPECT_EQ(log::format_line(log::Level::kInfo, true, "hello"), "[rank  3] hello\n");
  EXPECT_EQ(log::format_line(log::Level::kWarn, true, "slow"), "[rank  3] warning: slow\n");
  EXPECT_EQ(log::format_line(log::Level::kInfo, false, "hello"), "hello\n");
  log::set_rank(0, 1);
}

TEST(Log, FileGetsWhatThisRankSays) {
  fs::path dir = fresh_dir("log");
  const fs::path file = dir / "log.txt";
  log::open_file(file.string());
  log::set_rank(1, 2);
  log::info("rank-0-only line");
  log::warn("disk {} full", "almost");
  log::set_rank(0, 2);
  log::info("status {}", 7);
  log::close_file();
  log::set_rank(0, 1);
  const std::string text = read(file);
  std::printf("[evidence] log file:\n%s", text.c_str());
  EXPECT_EQ(text.find("rank-0-only line"), std::string::npos);
  EXPECT_NE(text.find("[rank 1] warning: disk almost full\n"), std::string::npos);
  EXPECT_NE(text.find(" status 7\n"), std::string::npos);
  fs::remove_all(dir);
}

TEST(AtomicFile, WritesWholeFileAndLeavesNoTemporary) {
  fs::path dir = fresh_dir("atomic");
  const fs::path file = dir / "config.cfg";
  write_file_atomic(file.string(), "a = 1\n");
  write_file_atomic(file.string(), "a = 2\n");
  EXPECT_EQ(read(file), "a = 2\n");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u);
  fs::remove_all(dir);
}

TEST(AtomicFile, FailureNamesThePathAndWritesNothing) {
  fs::path dir = fresh_dir("atomic-missing");
  const fs::path file = dir / "missing" / "x.txt";
  try {
    write_file_atomic(file.string(), "x");
    FAIL() << "no error for a missing directory";
  } catch (const UsageError& e) {
    std::printf("[evidence] message: %s\n", e.what());
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(dir / "missing"));
  fs::remove_all(dir);
}

TEST(StagedDirectory, AppearsWholeReplacesAndLeavesNothingOnError) {
  fs::path dir = fresh_dir("staged");
  const fs::path target = dir / "checkpoint-5";
  {
    StagedDirectory staged(target.string());
    write_file_atomic(staged.path() + "/state.json", "{\"step\": 5}");
    EXPECT_FALSE(fs::exists(target));  // nothing visible before the commit
    staged.commit();
  }
  EXPECT_EQ(read(target / "state.json"), "{\"step\": 5}");
  {
    StagedDirectory staged(target.string());  // replacing an existing directory
    write_file_atomic(staged.path() + "/other", "x");
    staged.commit();
  }
  EXPECT_TRUE(fs::exists(target / "other"));
  EXPECT_FALSE(fs::exists(target / "state.json"));
  try {
    StagedDirectory staged((dir / "broken").string());
    write_file_atomic(staged.path() + "/half", "x");
    throw UsageError("disk full");  // an error before the commit
  } catch (const UsageError&) {
  }
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u) << "a staging directory or a half-written target was left behind";
  fs::remove_all(dir);
}

}  // namespace
}  // namespace sgm::core

// The work-directory lock: a live holder refuses a second job naming it; a holder whose process
// is dead on this host (exited, unreaped, or its number now names another process), whose
// heartbeat is older than the timeout, or that is an earlier instance of this Slurm job is broken
// with a warning; a holder that lost its lock to another job finds out before it writes; the lock
// goes away with its holder. Also the removal of what killed writers leave behind.
#include "trainer/core/workdir_lock.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "trainer/core/atomic_file.h"
#include "trainer/core/error.h"
#include "trainer/core/host.h"

namespace sgm::core {
namespace {

namespace fs = std::filesystem;

std::string host() {
  char buf[256] = {};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

std::int64_t now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void write_holder(const fs::path& dir, const std::string& h, std::int64_t pid,
                  const std::string& job, std::int64_t heartbeat, std::int64_t started = 0) {
  std::ofstream(dir / "lock") << fmt::format(
      "host={}\npid={}\nstarted={}\njob={}\nrole=sgm-train\ntoken=feedfacefeedface\n"
      "heartbeat={}\n",
      h, pid, started, job, heartbeat);
}

std::string token_in(const fs::path& dir) {
  std::ifstream in(dir / "lock");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("token=", 0) == 0) return line.substr(6);
  return "";
}

// A PID that is not running on this host: a child that has exited and been reaped.
std::int64_t dead_pid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  waitpid(child, nullptr, 0);
  return child;
}

// A child that has exited but is not reaped yet (a zombie): what a rank killed with its job is
// while nobody waits for it (an orphan under a container's init that does not reap). Reaped by
// the caller when done.
pid_t zombie_pid() {
  const pid_t child = fork();
  if (child == 0) _exit(0);
  for (int i = 0; i < 500 && process_start_ticks(child) != 0; ++i) usleep(2000);
  return child;
}

class WorkdirLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / fmt::format("sgm-lock-{}", ::getpid());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    unsetenv("SLURM_JOB_ID");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(WorkdirLockTest, ALiveHolderRefusesASecondJobNamingIt) {
  std::string message;
  {
    WorkdirLock first(dir_.string(), "sgm-train", 300);
    EXPECT_TRUE(fs::exists(dir_ / "lock"));
    try {
      WorkdirLock second(dir_.string(), "sgm-train", 300);
    } catch (const UsageError& e) {
      message = e.what();
    }
    EXPECT_NO_THROW(first.check());
  }
  std::printf("[evidence] second job: %s\n", message.c_str());
  EXPECT_NE(message.find("is in use by sgm-train on host " + host()), std::string::npos);
  EXPECT_NE(message.find(fmt::format("pid {}", ::getpid())), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "lock")) << "the holder removes its lock";
}

TEST_F(WorkdirLockTest, StaleHoldersAreBrokenLiveOnesOnOtherHostsAreNot) {
  struct Case {
    const char* what;
    std::string host;
    std::int64_t pid;
    std::string job;
    std::int64_t age;
    bool broken;
    std::int64_t started = 0;
  };
  setenv("SLURM_JOB_ID", "4242", 1);
  const pid_t zombie = zombie_pid();
  const std::int64_t self_started = process_start_ticks(::getpid());
  ASSERT_GT(self_started, 0);
  const Case cases[] = {
      {"dead pid on this host", host(), dead_pid(), "", 0, true},
      {"exited, unreaped pid on this host", host(), zombie, "", 0, true},
      {"live pid on this host, other start", host(), ::getppid(), "", 0, true, 1},
      {"live pid on this host", host(), ::getppid(), "", 0, false,
       process_start_ticks(::getppid())},
      {"other host, heartbeat 400 s old", "node-x", 1, "7", 400, true},
      {"other host, fresh heartbeat", "node-x", 1, "7", 5, false},
      {"earlier instance of this Slurm job", "node-x", 1, "4242", 5, true},
  };
  for (const Case& c : cases) {
    write_holder(dir_, c.host, c.pid, c.job, now() - c.age, c.started);
    bool taken = false;
    std::string refusal;
    try {
      WorkdirLock lock(dir_.string(), "sgm-train", 300);
      taken = token_in(dir_) != "feedfacefeedface";
    } catch (const UsageError& e) {
      refusal = e.what();
    }
    std::printf("[evidence] %-36s -> %s%s\n", c.what,
                taken ? "broken and taken" : "refused: ", refusal.c_str());
    EXPECT_EQ(taken, c.broken) << c.what;
    fs::remove(dir_ / "lock");
  }
  waitpid(zombie, nullptr, 0);
  unsetenv("SLURM_JOB_ID");
}

TEST_F(WorkdirLockTest, AHolderThatLostItsLockFindsOutBeforeWriting) {
  WorkdirLock lock(dir_.string(), "sgm-train", 300);
  write_holder(dir_, "node-y", 99, "", now());  // another job took it over
  std::string message;
  try {
    lock.check();
  } catch (const Error& e) {
    message = e.what();
  }
  std::printf("[evidence] %s\n", message.c_str());
  EXPECT_NE(message.find("lost the lock"), std::string::npos);
  EXPECT_NE(message.find("node-y"), std::string::npos);
}

TEST_F(WorkdirLockTest, StagingLeftoversOfKilledWritersAreRemoved) {
  fs::create_directories(dir_ / "meta-00000004.tmp-12345");
  std::ofstream(dir_ / "meta-00000004.tmp-12345" / "weights.h5") << "partial";
  std::ofstream(dir_ / "config.cfg.tmp.777") << "partial";
  std::ofstream(dir_ / "config.cfg") << "kept";
  fs::create_directories(dir_ / "snapshot-00000002");
  // Names that only look like staging names are kept.
  for (const char* name : {".tmp-12", "x.tmp-", "x.tmp-12a", "x.tmpx12", "x.tmp"})
    std::ofstream(dir_ / name) << "kept";
  const std::vector<std::string> removed = remove_staging_leftovers(dir_.string());
  std::printf("[evidence] removed %zu leftovers\n", removed.size());
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_FALSE(fs::exists(dir_ / "meta-00000004.tmp-12345"));
  EXPECT_FALSE(fs::exists(dir_ / "config.cfg.tmp.777"));
  EXPECT_TRUE(fs::exists(dir_ / "config.cfg"));
  EXPECT_TRUE(fs::exists(dir_ / "snapshot-00000002"));
  for (const char* name : {".tmp-12", "x.tmp-", "x.tmp-12a", "x.tmpx12", "x.tmp"})
    EXPECT_TRUE(fs::exists(dir_ / name)) << name;
}

}  // namespace
}  // namespace sgm::core

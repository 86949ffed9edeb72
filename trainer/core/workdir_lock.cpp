#include "trainer/core/workdir_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "trainer/core/atomic_file.h"
#include "trainer/core/error.h"
#include "trainer/core/host.h"
#include "trainer/core/log.h"

namespace sgm::core {
namespace {

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string text_of(const LockHolder& h) {
  return fmt::format("host={}\npid={}\nstarted={}\njob={}\nrole={}\ntoken={}\nheartbeat={}\n",
                     h.host, h.pid, h.started, h.job, h.role, h.token, h.heartbeat);
}

// The holder recorded in `path`; false when the file is missing or unreadable (being replaced).
bool read_holder(const std::string& path, LockHolder& h) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  bool any = false;
  while (std::getline(in, line)) {
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
    any = true;
    if (key == "host") h.host = value;
    if (key == "pid") h.pid = std::atoll(value.c_str());
    if (key == "started") h.started = std::atoll(value.c_str());
    if (key == "job") h.job = value;
    if (key == "role") h.role = value;
    if (key == "token") h.token = value;
    if (key == "heartbeat") h.heartbeat = std::atoll(value.c_str());
  }
  return any;
}

// Why `h` is stale for `self`, or empty when it is live.
std::string stale_reason(const LockHolder& h, const LockHolder& self, double timeout) {
  if (h.host == self.host && h.pid > 0 && !process_running(h.pid, h.started))
    return "its process is gone";
  if (!h.job.empty() && h.job == self.job) return "it is an earlier instance of this job";
  const std::int64_t age = now_seconds() - h.heartbeat;
  if (static_cast<double>(age) > timeout)
    return fmt::format("its heartbeat is {} s old (timeout {} s)", age, timeout);
  return {};
}

// Creates `path` with `content` only if it does not exist (O_EXCL: atomic on NFSv3+ and Lustre).
bool create_exclusive(const std::string& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return false;
    throw UsageError(fmt::format("cannot create {}: {}", path, std::strerror(errno)));
  }
  const bool ok =
      ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()) &&
      ::fsync(fd) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    throw Error(fmt::format("cannot write {}: {}", path, std::strerror(saved)));
  }
  return true;
}

}  // namespace

std::string LockHolder::describe() const {
  return fmt::format("{} on host {} (pid {}{}, heartbeat {} s ago)", role, host, pid,
                     job.empty() ? "" : ", job " + job, now_seconds() - heartbeat);
}

WorkdirLock::WorkdirLock(const std::string& dir, const std::string& role, double timeout_seconds)
    : path_(dir + "/lock"), timeout_(timeout_seconds) {
  self_.host = host_name();
  self_.pid = ::getpid();
  self_.started = process_start_ticks(self_.pid);
  if (const char* job = std::getenv("SLURM_JOB_ID")) self_.job = job;
  self_.role = role;
  self_.token = fmt::format("{:016x}", std::random_device{}() * 0x100000001ull ^
                                           static_cast<std::uint64_t>(now_seconds()));
  for (int attempt = 0;; ++attempt) {
    self_.heartbeat = now_seconds();
    if (create_exclusive(path_, text_of(self_))) break;
    LockHolder holder;
    if (!read_holder(path_, holder)) {  // removed or being replaced just now: try again
      if (attempt > 20) throw UsageError(fmt::format("{}: unreadable lock file", path_));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    const std::string reason = stale_reason(holder, self_, timeout_);
    if (reason.empty() || attempt > 3) {
      throw LockHeld(fmt::format("{} is in use by {}; stop that job, or remove {} if it is gone",
                                 dir, holder.describe(), path_));
    }
    log::warn("breaking the lock of {} on {}: {}", holder.describe(), dir, reason);
    // Rename, not unlink: of two jobs breaking the same stale lock, one renames it away.
    const std::string broken = fmt::format("{}.broken-{}", path_, self_.token);
    if (std::rename(path_.c_str(), broken.c_str()) == 0) ::unlink(broken.c_str());
  }
  const std::int64_t every =
      std::clamp<std::int64_t>(static_cast<std::int64_t>(timeout_ / 6), 1, 30);
  heartbeat_ = std::thread([this, every] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::seconds(every), [this] { return stopping_; })) beat();
  });
}

WorkdirLock::~WorkdirLock() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
  if (still_ours()) ::unlink(path_.c_str());
}

bool WorkdirLock::still_ours(LockHolder* current) const {
  LockHolder h;
  if (!read_holder(path_, h)) return false;
  if (current != nullptr) *current = h;
  return h.token == self_.token && h.host == self_.host && h.pid == self_.pid;
}

void WorkdirLock::beat() {
  if (lost_) return;
  if (!still_ours()) {
    lost_ = true;
    return;
  }
  LockHolder renewed = self_;
  renewed.heartbeat = now_seconds();
  try {
    write_file_atomic(path_, text_of(renewed));
  } catch (const std::exception& e) {
    log::warn("cannot renew the lock {}: {}", path_, e.what());  // next beat tries again
  }
}

void WorkdirLock::check() const {
  LockHolder current;
  if (lost_ || !still_ours(&current)) {
    throw Error(fmt::format("lost the lock {} to {}: another job took this directory over", path_,
                            current.role.empty() ? "nobody" : current.describe()));
  }
}

}  // namespace sgm::core

// An exclusive lock on a directory for one job (a training run's work directory, an evaluation's
// eval/ folder), safe on NFS and Lustre: no flock(); the lock is a file created with O_EXCL,
// holding who owns it (host, PID, Slurm job id, a random token) and a heartbeat that a thread
// renews. A second job finds it and is refused (UsageError naming the holder). A lock is broken,
// with a warning, when it is stale:
//   - its PID is dead on this host;
//   - it belongs to this Slurm job id (a requeued job's earlier instance);
//   - its heartbeat is older than the timeout (the holder's node is gone).
// Before writing anything the holder calls check(): it throws once another job has taken the
// lock over (this job was presumed dead), so two jobs never write the same directory.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include "trainer/core/error.h"

namespace sgm::core {

struct LockHolder {
  std::string host;
  std::int64_t pid = 0;
  std::int64_t started = 0;  // the process's start time (clock ticks since boot), 0 if unknown
  std::string job;           // SLURM_JOB_ID, or empty
  std::string role;
  std::string token;
  std::int64_t heartbeat = 0;  // seconds since the epoch
  std::string describe() const;
};

// Thrown when a live job holds the lock (a UsageError: the job was started on a busy directory).
class LockHeld : public UsageError {
 public:
  using UsageError::UsageError;
};

class WorkdirLock {
 public:
  // Takes `dir`/lock (dir must exist); throws LockHeld naming a live holder. `timeout_seconds`:
  // when a heartbeat counts as stale; the heartbeat is renewed every timeout / 6 (at least once a
  // second, at most every 30 s).
  WorkdirLock(const std::string& dir, const std::string& role, double timeout_seconds);
  ~WorkdirLock();  // stops the heartbeat, removes the lock if it is still ours
  WorkdirLock(const WorkdirLock&) = delete;
  WorkdirLock& operator=(const WorkdirLock&) = delete;

  // Throws core::Error when another job holds the lock now.
  void check() const;
  const std::string& path() const { return path_; }

 private:
  void beat();
  bool still_ours(LockHolder* current = nullptr) const;

  std::string path_;
  LockHolder self_;
  double timeout_;
  std::atomic<bool> lost_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread heartbeat_;
};

}  // namespace sgm::core

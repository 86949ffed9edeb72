// The flight recorder: one entry per collective this rank issued, with its
// sequence number, label, size and progress (queued -> started -> done). The watchdog reads it
// to find a collective that does not finish and dumps the last entries when it gives up.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

namespace sgm::dist {

using Clock = std::chrono::steady_clock;

struct CollectiveRecord {
  std::int64_t seq = 0;  // 1, 2, ... in issue order; identical on every rank
  std::string op;        // all_reduce, broadcast, ...
  std::string label;     // what it carries, e.g. "gradient bucket 3"
  std::int64_t bytes = 0;
  Clock::time_point queued;
  bool started = false;  // the backend reached it (MPI call made / stream reached it)
  bool done = false;
  // For device work: polls the device (events) and returns {started, done}; empty on CPU.
  std::function<std::pair<bool, bool>()> poll;
};

// A snapshot of progress for heartbeats: the highest sequence numbers started and done, and the
// oldest unfinished entry.
struct Progress {
  std::int64_t issued = 0;
  std::int64_t started = 0;
  std::int64_t done = 0;
  std::optional<CollectiveRecord> oldest_pending;  // without its poll function
};

class FlightRecorder {
 public:
  explicit FlightRecorder(std::size_t capacity = 256) : capacity_(capacity) {}

  // Registers a new collective and returns its sequence number.
  std::int64_t issue(std::string op, std::string label, std::int64_t bytes,
                     std::function<std::pair<bool, bool>()> poll = {});
  void mark_started(std::int64_t seq);
  void mark_done(std::int64_t seq);
  // Polls device entries, then summarises.
  Progress progress();
  // The last `count` entries, one per line, oldest first.
  std::string dump(std::size_t count = 16) const;

 private:
  CollectiveRecord* find(std::int64_t seq);

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::deque<CollectiveRecord> entries_;
  std::int64_t next_seq_ = 1;
  std::int64_t started_ = 0;
  std::int64_t done_ = 0;
};

// "1.5 MiB", "251.0 MB"-style size for messages.
std::string format_bytes(std::int64_t bytes);

}  // namespace sgm::dist

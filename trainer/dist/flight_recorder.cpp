#include "trainer/dist/flight_recorder.h"

#include <fmt/format.h>

namespace sgm::dist {

std::string format_bytes(std::int64_t bytes) {
  if (bytes < 1024) return fmt::format("{} B", bytes);
  if (bytes < 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024.0);
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

std::int64_t FlightRecorder::issue(std::string op, std::string label, std::int64_t bytes,
                                   std::function<std::pair<bool, bool>()> poll) {
  std::lock_guard<std::mutex> lock(mutex_);
  CollectiveRecord r;
  r.seq = next_seq_++;
  r.op = std::move(op);
  r.label = std::move(label);
  r.bytes = bytes;
  r.queued = Clock::now();
  r.poll = std::move(poll);
  entries_.push_back(std::move(r));
  // Forget finished entries beyond the capacity; unfinished ones are what the watchdog needs.
  while (entries_.size() > capacity_ && entries_.front().done) entries_.pop_front();
  return entries_.back().seq;
}

CollectiveRecord* FlightRecorder::find(std::int64_t seq) {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->seq == seq) return &*it;
  }
  return nullptr;
}

void FlightRecorder::mark_started(std::int64_t seq) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (CollectiveRecord* r = find(seq)) r->started = true;
  if (seq > started_) started_ = seq;
}

void FlightRecorder::mark_done(std::int64_t seq) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (CollectiveRecord* r = find(seq)) r->started = r->done = true;
  if (seq > started_) started_ = seq;
  if (seq > done_) done_ = seq;
}

Progress FlightRecorder::progress() {
  std::lock_guard<std::mutex> lock(mutex_);
  Progress p;
  for (CollectiveRecord& r : entries_) {
    if (!r.done && r.poll) {
      const auto [started, done] = r.poll();
      r.started = r.started || started;
      r.done = done;
      if (r.started && r.seq > started_) started_ = r.seq;
      if (r.done && r.seq > done_) done_ = r.seq;
    }
    if (!r.done && !p.oldest_pending) {
      p.oldest_pending = r;
      p.oldest_pending->poll = nullptr;
    }
  }
  p.issued = next_seq_ - 1;
  p.started = started_;
  p.done = done_;
  return p;
}

std::string FlightRecorder::dump(std::size_t count) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string out;
  const auto now = Clock::now();
  const std::size_t first = entries_.size() > count ? entries_.size() - count : 0;
  for (std::size_t i = first; i < entries_.size(); ++i) {
    const CollectiveRecord& r = entries_[i];
    const double age = std::chrono::duration<double>(now - r.queued).count();
    if (!out.empty()) out += '\n';
    out += fmt::format(
        "  #{} {} '{}' {} {} (issued {:.2f} s ago)", r.seq, r.op, r.label, format_bytes(r.bytes),
        r.done ? "done" : (r.started ? "started, not finished" : "not started"), age);
  }
  return out;
}

}  // namespace sgm::dist

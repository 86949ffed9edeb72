#include "trainer/dist/watchdog.h"

#include <algorithm>
#include <csignal>
#include <exception>

#include <fmt/format.h>

#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/core/stop_signal.h"
#include "trainer/dist/check_mpi.h"
#include "trainer/dist/context.h"

namespace sgm::dist {
namespace {

constexpr int kHeartbeatTag = 1;  // rank -> 0: issued, started, done
constexpr int kTableTag = 2;      // 0 -> rank: per rank issued, started, done, silent ms
constexpr int kEndTag = 3;        // shutdown handshake
constexpr int kFields = 4;

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

std::string blame_ranks(const std::vector<RankProgress>& ranks, std::int64_t seq,
                        double silence_limit, const std::vector<std::string>& hosts) {
  std::vector<std::string> parts;
  for (std::size_t r = 0; r < ranks.size(); ++r) {
    const RankProgress& p = ranks[r];
    const std::string who =
        r < hosts.size() ? fmt::format("rank {} on {}", r, hosts[r]) : fmt::format("rank {}", r);
    if (p.issued < 0) {
      parts.push_back(fmt::format("{} never reported", who));
    } else if (p.silent_seconds > silence_limit) {
      // Checked first: what a silent rank last reported is old news.
      parts.push_back(
          fmt::format("{} silent for {:.1f} s (dead, frozen or unreachable; last issued #{})", who,
                      p.silent_seconds, p.issued));
    } else if (p.issued < seq) {
      parts.push_back(fmt::format("{} has not reached it (last issued #{})", who, p.issued));
    } else if (p.started < seq) {
      parts.push_back(fmt::format("{} issued it but has not started it", who));
    }
  }
  if (parts.empty()) {
    return "every rank has started it: the transfer itself is stuck (network or device)";
  }
  std::string out = "stalled: ";
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "; " : "") + parts[i];
  return out;
}

Watchdog::Watchdog(FlightRecorder& recorder, std::vector<CommBackend*> backends, MPI_Comm world,
                   bool heartbeats, double timeout_seconds, std::vector<std::string> hosts)
    : recorder_(recorder),
      backends_(std::move(backends)),
      timeout_seconds_(timeout_seconds),
      poll_seconds_(std::clamp(timeout_seconds / 20.0, 0.05, 0.5)),
      hosts_(std::move(hosts)) {
  SGM_CHECK_MPI(MPI_Comm_rank(world, &rank_));
  SGM_CHECK_MPI(MPI_Comm_size(world, &size_));
  ranks_.resize(static_cast<std::size_t>(size_));
  table_silence_.assign(static_cast<std::size_t>(size_), 0.0);
  heard_.assign(static_cast<std::size_t>(size_), Clock::now());
  if (heartbeats) {
    SGM_CHECK_MPI(MPI_Comm_dup(world, &comm_));
    SGM_CHECK_MPI(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
    send_buffer_.resize(3);
    table_buffers_.resize(static_cast<std::size_t>(size_));
    table_requests_.assign(static_cast<std::size_t>(size_), MPI_REQUEST_NULL);
  }
  thread_ = std::thread([this] { run(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (comm_ != MPI_COMM_NULL) {
    try {
      drain();
    } catch (const std::exception& e) {
      core::log::warn("watchdog shutdown: {}", e.what());
    }
  }
}

void Watchdog::run() {
  try {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        // After a stop signal, poll fast: if the job is being ended from outside, SIGKILL follows.
        const double poll =
            core::stop_signal() != 0 ? std::min(poll_seconds_, 0.05) : poll_seconds_;
        wake_.wait_for(lock, std::chrono::duration<double>(poll), [this] { return stop_; });
        if (stop_) return;
      }
      const Progress progress = recorder_.progress();
      const std::int64_t pending_seq =
          progress.oldest_pending ? progress.oldest_pending->seq : progress.issued;
      for (CommBackend* backend : backends_) {
        const std::string error = backend->async_error();
        if (!error.empty()) fail("asynchronous communicator error: " + error, pending_seq);
      }
      if (comm_ != MPI_COMM_NULL) {
        exchange_heartbeats(progress);
        if (progress.oldest_pending) report_stop_signal(*progress.oldest_pending);
      }
      if (progress.oldest_pending) {
        const CollectiveRecord& r = *progress.oldest_pending;
        const double age = seconds_since(r.queued);
        if (age > timeout_seconds_) {
          fail(fmt::format("{} #{}{} ({}) has not finished after {:.1f} s (dist.timeout = {} s)",
                           r.op, r.seq, r.label.empty() ? "" : " '" + r.label + "'",
                           format_bytes(r.bytes), age, timeout_seconds_),
               r.seq);
        }
      }
    }
  } catch (const std::exception& e) {
    core::log::error("watchdog: {}; ending the job", e.what());
    for (CommBackend* backend : backends_) backend->abort();
    abort_job(core::kExitRuntime);
  }
}

void Watchdog::exchange_heartbeats(const Progress& mine) {
  RankProgress& me = ranks_[static_cast<std::size_t>(rank_)];
  me = {mine.issued, mine.started, mine.done, 0.0};
  heard_[static_cast<std::size_t>(rank_)] = Clock::now();
  int flag = 0;
  MPI_Status status;
  if (rank_ != 0) {
    if (send_request_ != MPI_REQUEST_NULL)
      SGM_CHECK_MPI(MPI_Test(&send_request_, &flag, MPI_STATUS_IGNORE));
    if (send_request_ == MPI_REQUEST_NULL) {
      send_buffer_ = {mine.issued, mine.started, mine.done};
      SGM_CHECK_MPI(
          MPI_Isend(send_buffer_.data(), 3, MPI_INT64_T, 0, kHeartbeatTag, comm_, &send_request_));
    }
    std::vector<std::int64_t> table(static_cast<std::size_t>(size_ * kFields));
    while (true) {
      SGM_CHECK_MPI(MPI_Iprobe(0, kTableTag, comm_, &flag, &status));
      if (!flag) break;
      SGM_CHECK_MPI(MPI_Recv(table.data(), size_ * kFields, MPI_INT64_T, 0, kTableTag, comm_,
                             MPI_STATUS_IGNORE));
      heard_[0] = Clock::now();
      for (int r = 0; r < size_; ++r) {
        if (r == rank_) continue;
        const std::int64_t* f = table.data() + r * kFields;
        const double silence = static_cast<double>(f[3]) / 1e3;
        ranks_[static_cast<std::size_t>(r)] = {f[0], f[1], f[2], silence};
        table_silence_[static_cast<std::size_t>(r)] = silence;
      }
    }
    // The table was true when it arrived: every silence has grown since, rank 0's included.
    const double since_table = seconds_since(heard_[0]);
    for (int r = 0; r < size_; ++r) {
      if (r != rank_ && ranks_[static_cast<std::size_t>(r)].issued >= 0)
        ranks_[static_cast<std::size_t>(r)].silent_seconds =
            table_silence_[static_cast<std::size_t>(r)] + since_table;
    }
    return;
  }
  // Rank 0: collect, then send the table to every rank whose previous copy has gone out.
  std::int64_t received[3];
  while (true) {
    SGM_CHECK_MPI(MPI_Iprobe(MPI_ANY_SOURCE, kHeartbeatTag, comm_, &flag, &status));
    if (!flag) break;
    SGM_CHECK_MPI(MPI_Recv(received, 3, MPI_INT64_T, status.MPI_SOURCE, kHeartbeatTag, comm_,
                           MPI_STATUS_IGNORE));
    ranks_[static_cast<std::size_t>(status.MPI_SOURCE)] = {received[0], received[1], received[2],
                                                           0.0};
    heard_[static_cast<std::size_t>(status.MPI_SOURCE)] = Clock::now();
  }
  for (int r = 0; r < size_; ++r) {
    if (ranks_[static_cast<std::size_t>(r)].issued >= 0)
      ranks_[static_cast<std::size_t>(r)].silent_seconds =
          seconds_since(heard_[static_cast<std::size_t>(r)]);
  }
  for (int r = 1; r < size_; ++r) {
    MPI_Request& request = table_requests_[static_cast<std::size_t>(r)];
    if (request != MPI_REQUEST_NULL) SGM_CHECK_MPI(MPI_Test(&request, &flag, MPI_STATUS_IGNORE));
    if (request != MPI_REQUEST_NULL) continue;
    std::vector<std::int64_t>& table = table_buffers_[static_cast<std::size_t>(r)];
    table.resize(static_cast<std::size_t>(size_ * kFields));
    for (int q = 0; q < size_; ++q) {
      const RankProgress& p = ranks_[static_cast<std::size_t>(q)];
      std::int64_t* f = table.data() + q * kFields;
      f[0] = p.issued;
      f[1] = p.started;
      f[2] = p.done;
      f[3] = static_cast<std::int64_t>(p.silent_seconds * 1e3);
    }
    SGM_CHECK_MPI(
        MPI_Isend(table.data(), size_ * kFields, MPI_INT64_T, r, kTableTag, comm_, &request));
  }
}

void Watchdog::report_stop_signal(const CollectiveRecord& pending) {
  // A job ended from outside (an MPI daemon that lost a node sends SIGTERM, then SIGKILL a second
  // later) may end before any collective times out: name the ranks gone silent while there is time.
  if (core::stop_signal() != SIGTERM || stop_reported_) return;
  const double limit = poll_seconds_ + 0.25;  // a live rank is heard from every poll
  const bool someone_silent =
      std::any_of(ranks_.begin(), ranks_.end(),
                  [&](const RankProgress& p) { return p.issued >= 0 && p.silent_seconds > limit; });
  if (!someone_silent) return;
  stop_reported_ = true;
  core::log::warn("SIGTERM received while {} #{}{} ({}) has been pending for {:.1f} s; {}",
                   pending.op, pending.seq, pending.label.empty() ? "" : " '" + pending.label + "'",
                   format_bytes(pending.bytes), seconds_since(pending.queued),
                   blame_ranks(ranks_, pending.seq, limit, hosts_));
}

void Watchdog::fail(const std::string& what, std::int64_t seq) {
  std::string message = what;
  if (comm_ != MPI_COMM_NULL) {
    message += "; " + blame_ranks(ranks_, seq, 3 * poll_seconds_ + 1.0, hosts_);
  } else {
    message += " (MPI without MPI_THREAD_MULTIPLE: no heartbeats, other ranks not known)";
  }
  core::log::error("{}\nflight recorder of this rank:\n{}", message, recorder_.dump());
  for (CommBackend* backend : backends_) backend->abort();
  abort_job(core::kExitRuntime);
}

void Watchdog::drain() {
  // Every heartbeat message sent must be received before the communicator is freed: each rank
  // ends its stream with an end marker, and rank 0 answers once it has everyone's.
  MPI_Status status;
  std::vector<std::int64_t> sink(static_cast<std::size_t>(size_ * kFields));
  if (rank_ != 0) {
    if (send_request_ != MPI_REQUEST_NULL)
      SGM_CHECK_MPI(MPI_Wait(&send_request_, MPI_STATUS_IGNORE));
    SGM_CHECK_MPI(MPI_Send(nullptr, 0, MPI_INT64_T, 0, kEndTag, comm_));
    do {
      SGM_CHECK_MPI(
          MPI_Recv(sink.data(), size_ * kFields, MPI_INT64_T, 0, MPI_ANY_TAG, comm_, &status));
    } while (status.MPI_TAG != kEndTag);
  } else {
    for (int ends = 0; ends < size_ - 1;) {
      SGM_CHECK_MPI(MPI_Recv(sink.data(), size_ * kFields, MPI_INT64_T, MPI_ANY_SOURCE, MPI_ANY_TAG,
                             comm_, &status));
      if (status.MPI_TAG == kEndTag) ++ends;
    }
    for (MPI_Request& request : table_requests_) {
      if (request != MPI_REQUEST_NULL) SGM_CHECK_MPI(MPI_Wait(&request, MPI_STATUS_IGNORE));
    }
    for (int r = 1; r < size_; ++r)
      SGM_CHECK_MPI(MPI_Send(nullptr, 0, MPI_INT64_T, r, kEndTag, comm_));
  }
  SGM_CHECK_MPI(MPI_Comm_free(&comm_));
}

}  // namespace sgm::dist

// The watchdog. A thread that, every poll interval:
//   - reads this rank's flight recorder (polling device events) and the backends' asynchronous
//     errors;
//   - exchanges heartbeats over its own duplicate of MPI_COMM_WORLD: every rank sends its progress
//     (collectives issued / started / done) to rank 0, which sends the table of all ranks back;
//   - names the ranks gone silent when a stop signal arrives during a collective (an MPI
//     launcher ending the job because a node was lost gives a second before SIGKILL);
//   - ends the whole job (backend abort, then MPI_Abort) when a collective has not finished within
//     the timeout or a backend reports an error, with a message naming the collective and the
//     ranks that have not started it or have gone silent, followed by the flight recorder.
#pragma once

#include <mpi.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "trainer/dist/comm_backend.h"
#include "trainer/dist/flight_recorder.h"

namespace sgm::dist {

// What rank 0 last heard from each rank.
struct RankProgress {
  std::int64_t issued = -1;  // -1: never heard from
  std::int64_t started = -1;
  std::int64_t done = -1;
  double silent_seconds = 0;  // since the last heartbeat reached rank 0
};

// The diagnosis for a collective that does not finish: which ranks have not been heard from for
// `silence_limit` seconds (a dead, frozen or unreachable node) or have not started `seq`, each
// named with its host when `hosts` (one per rank) is given. Pure, for tests.
std::string blame_ranks(const std::vector<RankProgress>& ranks, std::int64_t seq,
                        double silence_limit, const std::vector<std::string>& hosts = {});

class Watchdog {
 public:
  // `heartbeats`: when true (MPI_THREAD_MULTIPLE), duplicates `world` for the heartbeat traffic.
  // `hosts`: each rank's host name, for the diagnosis (empty: ranks named by number alone).
  Watchdog(FlightRecorder& recorder, std::vector<CommBackend*> backends, MPI_Comm world,
           bool heartbeats, double timeout_seconds, std::vector<std::string> hosts = {});
  ~Watchdog();
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  double poll_seconds() const { return poll_seconds_; }

 private:
  void run();
  void exchange_heartbeats(const Progress& mine);
  void report_stop_signal(const CollectiveRecord& pending);
  [[noreturn]] void fail(const std::string& what, std::int64_t seq);
  void drain();

  FlightRecorder& recorder_;
  std::vector<CommBackend*> backends_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  double timeout_seconds_;
  double poll_seconds_;
  std::vector<std::string> hosts_;

  // Heartbeat state (watchdog thread only, then drain()).
  std::vector<std::int64_t> send_buffer_;  // to rank 0: issued, started, done
  MPI_Request send_request_ = MPI_REQUEST_NULL;
  std::vector<std::vector<std::int64_t>> table_buffers_;  // rank 0: table to each rank
  std::vector<MPI_Request> table_requests_;
  std::vector<RankProgress> ranks_;
  std::vector<Clock::time_point> heard_;  // rank 0: each rank's heartbeat; others: [0] the table
  std::vector<double> table_silence_;      // ranks other than 0: silences in the last table
  bool stop_reported_ = false;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sgm::dist

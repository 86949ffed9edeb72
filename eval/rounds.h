// Resumable, world-size-independent work in rounds.
// Items 0..N-1 (samples to draw, images to score) are cut into global rounds of `global_batch`
// items; rank r of W takes a contiguous near-equal slice of each round, so what an item gets
// depends on its global index only. Rank 0 gathers each finished round and writes it whole as
// DIR/round-<r>.npz; a manifest (the options that made the rounds) guards resumption: rounds
// made with other options are removed, loudly, never mixed in. A stop signal (SIGUSR1/SIGTERM)
// is agreed by all ranks between rounds and ends the job with exit code 3.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/dist/communicator.h"

namespace sgm::eval {

// Thrown on every rank together when a stop signal arrived: the main exits with code 3.
struct StopRequested : std::runtime_error {
  explicit StopRequested(int signal);
  int signal;
};

// Throws StopRequested on every rank when any rank received a stop signal (a collective).
void check_stop(dist::Communicator& comm);

struct RoundPlan {
  std::int64_t items = 0;
  std::int64_t global_batch = 1;
  std::string task = "rounds";  // names the work in progress lines ("samples", "bpd")
  std::string unit = "items";   // what the items are ("images")
  std::int64_t rounds() const { return (items + global_batch - 1) / global_batch; }
  std::int64_t begin(std::int64_t round) const { return round * global_batch; }
  std::int64_t size(std::int64_t round) const;
};

// [begin, begin + size) of rank `rank` of `world` within a round of `size` items starting at
// `begin`: the first size % world ranks take one more item.
std::pair<std::int64_t, std::int64_t> local_slice(std::int64_t begin, std::int64_t size, int rank,
                                                  int world);

using Arrays = std::vector<std::pair<std::string, at::Tensor>>;

// Concatenates every rank's rows (dimension 0; the same names, dtypes and trailing shapes on
// every rank, any row counts) in rank order. Every rank gets the result (a collective).
Arrays gather_rows(const Arrays& local, dist::Communicator& comm);

// DIR/round-<r, 5 digits>.npz
std::string round_path(const std::string& dir, std::int64_t round);
// Array `name` of every round of `plan` in `dir`, concatenated in round order (any one rank);
// a missing round or array is a core::UsageError naming the file.
at::Tensor concatenate_rounds(const std::string& dir, const RoundPlan& plan,
                              const std::string& name);

class RoundStore {
 public:
  // Collective. `manifest` is the JSON text of the options that determine the rounds' content.
  RoundStore(std::string dir, std::string manifest, dist::Communicator& comm);
  const std::string& dir() const { return dir_; }
  std::string path(std::int64_t round) const;
  bool has(std::int64_t round) const;

  // Runs the rounds of `plan` not yet on disk. `compute(begin, size)` returns this rank's arrays
  // for items [begin, begin + size) (size may be 0); rank 0 writes each gathered round, then
  // `after_round(round)` runs on every rank. Rounds are written in order, so the finished
  // ones are a prefix. Rank 0 shows the progress (core::Progress) of the rounds it runs.
  using Compute = std::function<Arrays(std::int64_t begin, std::int64_t size)>;
  void run(const RoundPlan& plan, const Compute& compute,
           const std::function<void(std::int64_t round)>& after_round = {});

 private:
  std::string dir_;
  dist::Communicator& comm_;
};

}  // namespace sgm::eval

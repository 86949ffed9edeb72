// dist::Communicator: collectives on tensors for data-parallel ranks.
// CUDA tensors go over NCCL on a dedicated stream ordered against the caller's stream with events
// (no host synchronisation); CPU tensors go over MPI on a communication thread, so CPU training
// can overlap too. World size 1 needs neither: its collectives are the identity, unless
// `nccl_single_rank` routes its CUDA tensors through a one-rank NCCL communicator (to run and
// measure the NCCL path on a single GPU). Every collective is entered in the flight
// recorder; a watchdog ends the whole job when one does not finish within `timeout_seconds`,
// naming the collective and the ranks that did not reach it.
//
// Like NCCL and MPI, every rank must issue the same collectives in the same order.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/core/keys.h"
#include "trainer/dist/context.h"
#include "trainer/dist/flight_recorder.h"
#include "trainer/dist/work.h"

namespace sgm::dist {

enum class ReduceOp { kSum, kAvg, kMax };

class CommBackend;  // comm_backend.h (private to trainer/dist)
class Watchdog;     // watchdog.h

// Part of the [dist] section.
struct CommOptions {
  double timeout_seconds = 600;
  bool nccl_single_rank = false;

  void declare_keys(core::Keys& k) {
    k("dist.timeout", timeout_seconds,
      "seconds a collective may take before the watchdog ends the job");
    k("dist.nccl_single_rank", nccl_single_rank,
      "at world size 1 on a GPU, still run the collectives through a one-rank NCCL communicator "
      "(to test and measure the NCCL path)");
  }
};

class Communicator {
 public:
  Communicator(const Context& context, CommOptions options = {});
  // Destroyed by an exception (the job is failing), it leaves its threads and MPI/NCCL state
  // alive on purpose: the communication thread may sit in a collective that other ranks will
  // never join, and waiting for it would hang this rank before run_main can end the job.
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }

  // In place on a contiguous tensor. kAvg divides by the world size (floating types only).
  Work all_reduce(const at::Tensor& tensor, ReduceOp op, const std::string& label = "");
  // In place: every rank ends with `root`'s values.
  Work broadcast(const at::Tensor& tensor, int root, const std::string& label = "");
  // output (numel = W * input.numel(), contiguous) receives every rank's input in rank order.
  Work all_gather(const at::Tensor& input, const at::Tensor& output, const std::string& label = "");
  // input (numel = W * output.numel()) reduced over ranks; rank r keeps slice r in output.
  Work reduce_scatter(const at::Tensor& input, const at::Tensor& output, ReduceOp op,
                      const std::string& label = "");
  // Returns when every rank has reached it and earlier collectives are done.
  void barrier();

  // Control-plane helpers on host values (blocking).
  double all_reduce(double value, ReduceOp op, const std::string& label = "scalar");
  std::int64_t all_reduce(std::int64_t value, ReduceOp op, const std::string& label = "scalar");
  // True on every rank when `flag` is true on at least one.
  bool any(bool flag, const std::string& label = "flag");
  std::vector<std::int64_t> all_gather(std::int64_t value, const std::string& label = "gather");

  FlightRecorder& recorder() { return *recorder_; }

  // Tests only: split MPI calls into pieces of at most this many elements (default INT_MAX),
  // to exercise the path taken for counts above INT_MAX without 8 GiB tensors.
  void set_max_elements_per_mpi_call(std::int64_t count);

 private:
  CommBackend* backend_for(const at::Tensor& tensor, const char* op);
  // World size 1 and no one-rank NCCL communicator for this tensor: the collective is the identity.
  bool skips(const at::Tensor& tensor) const;

  CommOptions options_;
  int rank_ = 0;
  int world_size_ = 1;
  std::unique_ptr<FlightRecorder> recorder_ = std::make_unique<FlightRecorder>();
  std::unique_ptr<CommBackend> mpi_;   // CPU tensors (world size > 1)
  std::unique_ptr<CommBackend> nccl_;  // CUDA tensors (world size > 1 or nccl_single_rank)
  std::unique_ptr<Watchdog> watchdog_;
};

}  // namespace sgm::dist

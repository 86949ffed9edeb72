// The training status, written by rank 0 every training.log_freq steps: one line on the log and
// one JSON record appended to WORKDIR/metrics.jsonl (step, images, the loss averaged over the
// steps since the last report and over the ranks, gradient norm, learning rate, images/s since
// the start of this job, resident memory and its peak so far, this rank's minor page faults and
// kernel CPU time per step over the interval; on a GPU the peak allocated and the reserved
// memory of the interval).
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "trainer/core/memory.h"
#include "trainer/dist/communicator.h"

namespace sgm::train {

class StatusLog {
 public:
  // `writes`: whether this rank reports (rank 0). Rates count from now and `start_step`.
  StatusLog(const std::string& workdir, bool writes, std::int64_t start_step,
            std::int64_t global_batch, std::int64_t n_iters, const c10::Device& device);

  // Adds a micro-batch's loss (a scalar tensor on the device: no host synchronisation).
  void add_loss(const at::Tensor& loss);
  // Ends a step (the loss is averaged over steps).
  void step_done() { ++steps_; }
  // On every rank: the mean loss since the last report over all ranks; rank 0 writes it.
  void report(dist::Communicator& comm, std::int64_t step, std::int64_t images, double grad_norm,
              double lr);

 private:
  bool writes_;
  std::int64_t start_step_;
  std::int64_t global_batch_;
  std::int64_t n_iters_;
  c10::Device device_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::ofstream metrics_;
  at::Tensor loss_sum_;
  std::int64_t steps_ = 0;
  core::KernelUsage usage_;  // at the last report
};

}  // namespace sgm::train

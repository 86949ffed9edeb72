// The backends behind dist::Communicator (private to trainer/dist): MPI for CPU tensors,
// NCCL for CUDA tensors. A backend enters each collective in the flight recorder itself, since
// only it knows when the collective starts and ends.
#pragma once

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

#include "trainer/dist/communicator.h"

namespace sgm::dist {

class CommBackend {
 public:
  virtual ~CommBackend() = default;
  virtual Work all_reduce(const at::Tensor& tensor, ReduceOp op, const std::string& label) = 0;
  virtual Work broadcast(const at::Tensor& tensor, int root, const std::string& label) = 0;
  virtual Work all_gather(const at::Tensor& input, const at::Tensor& output,
                          const std::string& label) = 0;
  virtual Work reduce_scatter(const at::Tensor& input, const at::Tensor& output, ReduceOp op,
                              const std::string& label) = 0;
  virtual void barrier() = 0;
  // Watchdog hooks: an asynchronous error to report (empty: none), and tearing down whatever
  // could block the exit (NCCL: ncclCommAbort).
  virtual std::string async_error() { return {}; }
  virtual void abort() {}
};

}  // namespace sgm::dist

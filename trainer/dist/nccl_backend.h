// NCCL backend of the Communicator for CUDA tensors (builds with SGM_HAVE_CUDA only).
// Bootstrap: rank 0 creates the unique id, MPI broadcasts it, every rank calls ncclCommInitRank
// on its device. A one-rank communicator (dist.nccl_single_rank) needs no MPI: the id stays local.
// Each collective is ordered after the caller's current stream by an event, runs on the backend's
// own stream, and records a done event; Work::wait() makes the caller's stream wait on that event,
// so the host never blocks on the hot path.
#pragma once

#include <cuda_runtime_api.h>
#include <mpi.h>
#include <nccl.h>

#include <atomic>
#include <mutex>

#include <c10/cuda/CUDAStream.h>

#include "trainer/dist/comm_backend.h"

namespace sgm::dist {

class NcclBackend final : public CommBackend {
 public:
  NcclBackend(MPI_Comm world, int device, FlightRecorder& recorder);
  // A communicator of this process alone (world size 1, no MPI).
  NcclBackend(int device, FlightRecorder& recorder);
  ~NcclBackend() override;

  Work all_reduce(const at::Tensor& tensor, ReduceOp op, const std::string& label) override;
  Work broadcast(const at::Tensor& tensor, int root, const std::string& label) override;
  Work all_gather(const at::Tensor& input, const at::Tensor& output,
                  const std::string& label) override;
  Work reduce_scatter(const at::Tensor& input, const at::Tensor& output, ReduceOp op,
                      const std::string& label) override;
  void barrier() override;
  std::string async_error() override;
  void abort() override;

 private:
  // Orders the backend stream after the caller's, records the start event, runs `call` on the
  // backend stream under the issue lock, records the done event; returns the work handle.
  void init(const ncclUniqueId& id, int rank, int size);
  template <typename Call>
  Work launch(const char* op, const std::string& label, std::int64_t bytes,
              std::initializer_list<at::Tensor> tensors, Call&& call);

  c10::DeviceIndex device_;
  int size_ = 1;
  ncclComm_t comm_ = nullptr;
  c10::cuda::CUDAStream stream_;
  FlightRecorder& recorder_;
  std::mutex issue_mutex_;  // one thread issues on the communicator at a time, in order
  std::atomic<bool> aborted_{false};
};

}  // namespace sgm::dist

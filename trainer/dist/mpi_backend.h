// MPI backend of the Communicator for CPU tensors. Collectives run in issue order on one
// communication thread (when MPI provides MPI_THREAD_MULTIPLE; otherwise in the caller), on a
// duplicate of MPI_COMM_WORLD so they never mix with other MPI traffic. They are blocking MPI
// calls: Open MPI's non-blocking collectives (libnbc, progressed by MPI_Test) measured 2.3 to 2.9
// times slower for 1 to 256 MiB (bench/comm_bench); a stuck call is the watchdog's business. Counts
// above the per-call limit (INT_MAX) are split. bfloat16 and float16 are reduced by user-defined
// MPI operations (float arithmetic, rounded).
#pragma once

#include <mpi.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "trainer/dist/comm_backend.h"

namespace sgm::dist {

class MpiBackend final : public CommBackend {
 public:
  MpiBackend(MPI_Comm world, FlightRecorder& recorder, bool use_thread);
  ~MpiBackend() override;

  Work all_reduce(const at::Tensor& tensor, ReduceOp op, const std::string& label) override;
  Work broadcast(const at::Tensor& tensor, int root, const std::string& label) override;
  Work all_gather(const at::Tensor& input, const at::Tensor& output,
                  const std::string& label) override;
  Work reduce_scatter(const at::Tensor& input, const at::Tensor& output, ReduceOp op,
                      const std::string& label) override;
  void barrier() override;

  void set_max_elements_per_call(std::int64_t count) { max_count_ = count; }

 private:
  Work enqueue(const char* op, const std::string& label, std::int64_t bytes,
               std::function<void()> body);
  void run();
  MPI_Datatype datatype(const at::Tensor& tensor) const;
  MPI_Op mpi_op(ReduceOp op, const at::Tensor& tensor) const;

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  FlightRecorder& recorder_;
  std::int64_t max_count_;
  MPI_Datatype half_type_ = MPI_DATATYPE_NULL;  // 2 bytes, used for bfloat16 and float16
  MPI_Op bf16_sum_ = MPI_OP_NULL, bf16_max_ = MPI_OP_NULL;
  MPI_Op f16_sum_ = MPI_OP_NULL, f16_max_ = MPI_OP_NULL;

  // Fault injection for the watchdog tests: SGM_FAULT_STALL="rank:seq:seconds" makes that rank's
  // communication thread sleep before starting collective `seq`.
  struct Stall {
    int rank = -1;
    std::int64_t seq = 0;
    double seconds = 0;
  } stall_;

  struct Task;
  void execute(Task& task);  // the stall (if any), the body, completion
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::shared_ptr<Task>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sgm::dist

#include "trainer/dist/mpi_backend.h"

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <fmt/format.h>

#include "trainer/core/error.h"
#include "trainer/dist/check_mpi.h"

namespace sgm::dist {
namespace {

template <typename T, bool kMax>
void reduce_16bit(void* in, void* inout, int* len, MPI_Datatype*) {
  const T* a = static_cast<const T*>(in);
  T* b = static_cast<T*>(inout);
  for (int i = 0; i < *len; ++i) {
    const float x = static_cast<float>(a[i]), y = static_cast<float>(b[i]);
    b[i] = T(kMax ? (x > y ? x : y) : x + y);
  }
}

template <typename T>
void divide(void* data, std::int64_t n, int by) {
  T* p = static_cast<T*>(data);
  for (std::int64_t i = 0; i < n; ++i) p[i] = T(static_cast<float>(p[i]) / static_cast<float>(by));
}

// The 1/W of an average, as a plain loop: a tensor op here would start an OpenMP team of every
// core from the communication thread (OpenMP thread counts are per thread) and oversubscribe
// the node.
void divide_in_place(const at::Tensor& t, int by) {
  switch (t.scalar_type()) {
    case at::kFloat:
      return divide<float>(t.data_ptr(), t.numel(), by);
    case at::kBFloat16:
      return divide<c10::BFloat16>(t.data_ptr(), t.numel(), by);
    case at::kHalf:
      return divide<c10::Half>(t.data_ptr(), t.numel(), by);
    case at::kDouble: {
      double* p = t.data_ptr<double>();
      for (std::int64_t i = 0; i < t.numel(); ++i) p[i] /= by;
      return;
    }
    default:
      throw core::Error("average of a non-floating tensor");
  }
}

}  // namespace

// One queued collective: its body (MPI calls) and the caller's handle on the outcome.
struct MpiBackend::Task final : WorkState {
  std::function<void()> body;
  std::int64_t seq = 0;
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;
  std::exception_ptr failure;

  void wait() override {
    std::unique_lock<std::mutex> lock(mutex);
    finished.wait(lock, [this] { return done; });
    if (failure) std::rethrow_exception(failure);
  }
  bool completed() override {
    std::lock_guard<std::mutex> lock(mutex);
    return done;
  }
};

MpiBackend::MpiBackend(MPI_Comm world, FlightRecorder& recorder, bool use_thread)
    : recorder_(recorder), max_count_(INT_MAX) {
  SGM_CHECK_MPI(MPI_Comm_dup(world, &comm_));
  SGM_CHECK_MPI(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
  SGM_CHECK_MPI(MPI_Comm_rank(comm_, &rank_));
  SGM_CHECK_MPI(MPI_Comm_size(comm_, &size_));
  SGM_CHECK_MPI(MPI_Type_contiguous(2, MPI_BYTE, &half_type_));
  SGM_CHECK_MPI(MPI_Type_commit(&half_type_));
  SGM_CHECK_MPI(MPI_Op_create(&reduce_16bit<c10::BFloat16, false>, 1, &bf16_sum_));
  SGM_CHECK_MPI(MPI_Op_create(&reduce_16bit<c10::BFloat16, true>, 1, &bf16_max_));
  SGM_CHECK_MPI(MPI_Op_create(&reduce_16bit<c10::Half, false>, 1, &f16_sum_));
  SGM_CHECK_MPI(MPI_Op_create(&reduce_16bit<c10::Half, true>, 1, &f16_max_));
  if (const char* stall = std::getenv("SGM_FAULT_STALL")) {
    if (std::sscanf(stall, "%d:%ld:%lf", &stall_.rank, &stall_.seq, &stall_.seconds) != 3) {
      throw core::UsageError(
          fmt::format("SGM_FAULT_STALL='{}' is not rank:sequence:seconds", stall));
    }
  }
  if (use_thread) thread_ = std::thread([this] { run(); });
}

MpiBackend::~MpiBackend() {
  if (thread_.joinable()) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  for (MPI_Op* op : {&bf16_sum_, &bf16_max_, &f16_sum_, &f16_max_}) {
    if (*op != MPI_OP_NULL) MPI_Op_free(op);
  }
  if (half_type_ != MPI_DATATYPE_NULL) MPI_Type_free(&half_type_);
  if (comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
}

void MpiBackend::execute(Task& task) {
  if (stall_.rank == rank_ && stall_.seq == task.seq)
    std::this_thread::sleep_for(std::chrono::duration<double>(stall_.seconds));
  recorder_.mark_started(task.seq);
  std::exception_ptr failure;
  try {
    task.body();
  } catch (...) {
    failure = std::current_exception();
  }
  task.body = nullptr;  // releases the tensors it holds
  recorder_.mark_done(task.seq);
  {
    std::lock_guard<std::mutex> lock(task.mutex);
    task.done = true;
    task.failure = failure;
  }
  task.finished.notify_all();
}

void MpiBackend::run() {
  while (true) {
    std::shared_ptr<Task> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stop_ and nothing left
      task = queue_.front();
      queue_.pop_front();
    }
    execute(*task);
  }
}

Work MpiBackend::enqueue(const char* op, const std::string& label, std::int64_t bytes,
                         std::function<void()> body) {
  auto task = std::make_shared<Task>();
  task->body = std::move(body);
  std::unique_lock<std::mutex> lock(mutex_);
  // Sequence numbers are taken under the queue lock so that queue order = sequence order.
  task->seq = recorder_.issue(op, label, bytes);
  if (!thread_.joinable()) {
    lock.unlock();
    execute(*task);
    return Work(task);
  }
  queue_.push_back(task);
  lock.unlock();
  changed_.notify_all();
  return Work(task);
}

MPI_Datatype MpiBackend::datatype(const at::Tensor& t) const {
  switch (t.scalar_type()) {
    case at::kFloat:
      return MPI_FLOAT;
    case at::kDouble:
      return MPI_DOUBLE;
    case at::kInt:
      return MPI_INT32_T;
    case at::kLong:
      return MPI_INT64_T;
    case at::kByte:
      return MPI_UINT8_T;
    case at::kBFloat16:
    case at::kHalf:
      return half_type_;
    default:
      throw core::Error(
          fmt::format("MPI communicator: unsupported dtype {}", c10::toString(t.scalar_type())));
  }
}

MPI_Op MpiBackend::mpi_op(ReduceOp op, const at::Tensor& t) const {
  const bool max = op == ReduceOp::kMax;
  if (t.scalar_type() == at::kBFloat16) return max ? bf16_max_ : bf16_sum_;
  if (t.scalar_type() == at::kHalf) return max ? f16_max_ : f16_sum_;
  return max ? MPI_MAX : MPI_SUM;
}

namespace {

void check_tensor(const at::Tensor& t, const char* op) {
  SGM_CHECK(t.defined() && t.device().is_cpu() && t.is_contiguous(),
            "{}: the MPI communicator needs a contiguous CPU tensor", op);
}

}  // namespace

Work MpiBackend::all_reduce(const at::Tensor& t, ReduceOp op, const std::string& label) {
  check_tensor(t, "all_reduce");
  SGM_CHECK(op != ReduceOp::kAvg || at::isFloatingType(t.scalar_type()),
            "all_reduce(avg) needs a floating-point tensor, got {}",
            c10::toString(t.scalar_type()));
  const MPI_Datatype type = datatype(t);
  const MPI_Op mop = mpi_op(op, t);
  return enqueue("all_reduce", label, t.nbytes(), [this, t, op, type, mop] {
    char* data = static_cast<char*>(t.data_ptr());
    const std::int64_t n = t.numel();
    for (std::int64_t begin = 0; begin < n; begin += max_count_) {
      const int count = static_cast<int>(std::min<std::int64_t>(max_count_, n - begin));
      SGM_CHECK_MPI(
          MPI_Allreduce(MPI_IN_PLACE, data + begin * t.element_size(), count, type, mop, comm_));
    }
    if (op == ReduceOp::kAvg) divide_in_place(t, size_);
  });
}

Work MpiBackend::broadcast(const at::Tensor& t, int root, const std::string& label) {
  check_tensor(t, "broadcast");
  SGM_CHECK(root >= 0 && root < size_, "broadcast: root {} outside 0..{}", root, size_ - 1);
  const MPI_Datatype type = datatype(t);
  return enqueue("broadcast", label, t.nbytes(), [this, t, root, type] {
    char* data = static_cast<char*>(t.data_ptr());
    const std::int64_t n = t.numel();
    for (std::int64_t begin = 0; begin < n; begin += max_count_) {
      const int count = static_cast<int>(std::min<std::int64_t>(max_count_, n - begin));
      SGM_CHECK_MPI(MPI_Bcast(data + begin * t.element_size(), count, type, root, comm_));
    }
  });
}

Work MpiBackend::all_gather(const at::Tensor& input, const at::Tensor& output,
                            const std::string& label) {
  check_tensor(input, "all_gather");
  check_tensor(output, "all_gather");
  SGM_CHECK(output.numel() == size_ * input.numel() && output.dtype() == input.dtype(),
            "all_gather: output must hold {} x {} elements of the input's dtype", size_,
            input.numel());
  const MPI_Datatype type = datatype(input);
  return enqueue("all_gather", label, output.nbytes(), [this, input, output, type] {
    const std::int64_t n = input.numel();
    const std::int64_t esize = input.element_size();
    if (n <= max_count_) {
      SGM_CHECK_MPI(MPI_Allgather(input.data_ptr(), static_cast<int>(n), type, output.data_ptr(),
                                  static_cast<int>(n), type, comm_));
      return;
    }
    // Piece by piece through a staging buffer, then into each rank's slice of the output.
    std::vector<char> staging(static_cast<std::size_t>(size_ * max_count_ * esize));
    for (std::int64_t begin = 0; begin < n; begin += max_count_) {
      const std::int64_t count = std::min<std::int64_t>(max_count_, n - begin);
      SGM_CHECK_MPI(MPI_Allgather(static_cast<const char*>(input.data_ptr()) + begin * esize,
                                  static_cast<int>(count), type, staging.data(),
                                  static_cast<int>(count), type, comm_));
      for (int r = 0; r < size_; ++r) {
        std::memcpy(static_cast<char*>(output.data_ptr()) + (r * n + begin) * esize,
                    staging.data() + r * count * esize, static_cast<std::size_t>(count * esize));
      }
    }
  });
}

Work MpiBackend::reduce_scatter(const at::Tensor& input, const at::Tensor& output, ReduceOp op,
                                const std::string& label) {
  check_tensor(input, "reduce_scatter");
  check_tensor(output, "reduce_scatter");
  SGM_CHECK(input.numel() == size_ * output.numel() && output.dtype() == input.dtype(),
            "reduce_scatter: input must hold {} x {} elements of the output's dtype", size_,
            output.numel());
  SGM_CHECK(op != ReduceOp::kAvg || at::isFloatingType(input.scalar_type()),
            "reduce_scatter(avg) needs a floating-point tensor");
  const MPI_Datatype type = datatype(input);
  const MPI_Op mop = mpi_op(op, input);
  return enqueue("reduce_scatter", label, input.nbytes(), [this, input, output, op, type, mop] {
    const std::int64_t n = output.numel();
    const std::int64_t esize = input.element_size();
    std::vector<char> staging;
    for (std::int64_t begin = 0; begin < n; begin += max_count_) {
      const std::int64_t count = std::min<std::int64_t>(max_count_, n - begin);
      const char* send = static_cast<const char*>(input.data_ptr());
      if (count != n) {  // gather this piece of every rank's slice contiguously
        staging.resize(static_cast<std::size_t>(size_ * count * esize));
        for (int r = 0; r < size_; ++r) {
          std::memcpy(staging.data() + r * count * esize, send + (r * n + begin) * esize,
                      static_cast<std::size_t>(count * esize));
        }
        send = staging.data();
      }
      SGM_CHECK_MPI(MPI_Reduce_scatter_block(send,
                                             static_cast<char*>(output.data_ptr()) + begin * esize,
                                             static_cast<int>(count), type, mop, comm_));
    }
    if (op == ReduceOp::kAvg) divide_in_place(output, size_);
  });
}

void MpiBackend::barrier() {
  enqueue("barrier", "", 0, [this] { SGM_CHECK_MPI(MPI_Barrier(comm_)); }).wait();
}

}  // namespace sgm::dist

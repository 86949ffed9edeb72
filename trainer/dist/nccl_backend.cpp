#include "trainer/dist/nccl_backend.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <fmt/format.h>

#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/dist/check_cuda.h"
#include "trainer/dist/check_mpi.h"

namespace sgm::dist {
namespace {

ncclDataType_t nccl_type(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat:
      return ncclFloat32;
    case at::kDouble:
      return ncclFloat64;
    case at::kHalf:
      return ncclFloat16;
    case at::kBFloat16:
      return ncclBfloat16;
    case at::kInt:
      return ncclInt32;
    case at::kLong:
      return ncclInt64;
    case at::kByte:
      return ncclUint8;
    default:
      throw core::Error(
          fmt::format("NCCL communicator: unsupported dtype {}", c10::toString(t.scalar_type())));
  }
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::kSum:
      return ncclSum;
    case ReduceOp::kAvg:
      return ncclAvg;  // folds 1/W into the reduction
    case ReduceOp::kMax:
      return ncclMax;
  }
  return ncclSum;
}

// The device side of one collective: start and done events on the backend stream.
struct NcclWork final : WorkState {
  c10::DeviceIndex device = 0;
  cudaEvent_t start = nullptr;
  cudaEvent_t done = nullptr;
  ~NcclWork() override {
    if (start) cudaEventDestroy(start);
    if (done) cudaEventDestroy(done);
  }
  void wait() override {
    c10::cuda::CUDAGuard guard(device);
    SGM_CHECK_CUDA(cudaStreamWaitEvent(c10::cuda::getCurrentCUDAStream(device).stream(), done, 0));
  }
  bool completed() override { return cudaEventQuery(done) == cudaSuccess; }
};

void check_tensor(const at::Tensor& t, c10::DeviceIndex device, const char* op) {
  SGM_CHECK(t.defined() && t.is_cuda() && t.get_device() == device && t.is_contiguous(),
            "{}: the NCCL communicator needs a contiguous tensor on cuda:{}", op, device);
}

}  // namespace

NcclBackend::NcclBackend(MPI_Comm world, int device, FlightRecorder& recorder)
    : device_(static_cast<c10::DeviceIndex>(device)),
      stream_(c10::cuda::getStreamFromPool(/*isHighPriority=*/true, device_)),
      recorder_(recorder) {
  int rank = 0;
  int size = 1;
  SGM_CHECK_MPI(MPI_Comm_rank(world, &rank));
  SGM_CHECK_MPI(MPI_Comm_size(world, &size));
  ncclUniqueId id;
  if (rank == 0) SGM_CHECK_NCCL(ncclGetUniqueId(&id));
  SGM_CHECK_MPI(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, world));
  init(id, rank, size);
}

NcclBackend::NcclBackend(int device, FlightRecorder& recorder)
    : device_(static_cast<c10::DeviceIndex>(device)),
      stream_(c10::cuda::getStreamFromPool(/*isHighPriority=*/true, device_)),
      recorder_(recorder) {
  ncclUniqueId id;
  SGM_CHECK_NCCL(ncclGetUniqueId(&id));
  init(id, 0, 1);
}

void NcclBackend::init(const ncclUniqueId& id, int rank, int size) {
  size_ = size;
  c10::cuda::CUDAGuard guard(device_);
  SGM_CHECK_NCCL(ncclCommInitRank(&comm_, size_, id, rank));
}

NcclBackend::~NcclBackend() {
  if (comm_ == nullptr || aborted_) return;
  c10::cuda::CUDAGuard guard(device_);
  cudaStreamSynchronize(stream_.stream());
  ncclCommDestroy(comm_);
}

template <typename Call>
Work NcclBackend::launch(const char* op, const std::string& label, std::int64_t bytes,
                         std::initializer_list<at::Tensor> tensors, Call&& call) {
  c10::cuda::CUDAGuard guard(device_);
  auto work = std::make_shared<NcclWork>();
  work->device = device_;
  cudaEvent_t ready = nullptr;
  SGM_CHECK_CUDA(cudaEventCreateWithFlags(&ready, cudaEventDisableTiming));
  SGM_CHECK_CUDA(cudaEventCreateWithFlags(&work->start, cudaEventDisableTiming));
  SGM_CHECK_CUDA(cudaEventCreateWithFlags(&work->done, cudaEventDisableTiming));
  std::lock_guard<std::mutex> lock(issue_mutex_);
  const cudaStream_t caller = c10::cuda::getCurrentCUDAStream(device_).stream();
  SGM_CHECK_CUDA(cudaEventRecord(ready, caller));
  SGM_CHECK_CUDA(cudaStreamWaitEvent(stream_.stream(), ready, 0));
  SGM_CHECK_CUDA(cudaEventDestroy(ready));  // destruction is deferred until the event completes
  SGM_CHECK_CUDA(cudaEventRecord(work->start, stream_.stream()));
  call(stream_.stream());
  SGM_CHECK_CUDA(cudaEventRecord(work->done, stream_.stream()));
  // The caching allocator must not hand these blocks out again before the backend stream is done.
  for (const at::Tensor& t : tensors)
    c10::cuda::CUDACachingAllocator::recordStream(t.storage().data_ptr(), stream_);
  std::weak_ptr<NcclWork> weak = work;
  const c10::DeviceIndex device = device_;
  recorder_.issue(op, label, bytes, [weak, device]() -> std::pair<bool, bool> {
    auto w = weak.lock();
    if (!w) return {true, true};  // the caller waited and dropped it: enqueued work finished
    cudaSetDevice(device);
    const bool started = cudaEventQuery(w->start) == cudaSuccess;
    const bool done = cudaEventQuery(w->done) == cudaSuccess;
    return {started || done, done};
  });
  return Work(work);
}

Work NcclBackend::all_reduce(const at::Tensor& t, ReduceOp op, const std::string& label) {
  check_tensor(t, device_, "all_reduce");
  return launch("all_reduce", label, t.nbytes(), {t}, [&](cudaStream_t s) {
    SGM_CHECK_NCCL(ncclAllReduce(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()),
                                 nccl_type(t), nccl_op(op), comm_, s));
  });
}

Work NcclBackend::broadcast(const at::Tensor& t, int root, const std::string& label) {
  check_tensor(t, device_, "broadcast");
  return launch("broadcast", label, t.nbytes(), {t}, [&](cudaStream_t s) {
    SGM_CHECK_NCCL(ncclBroadcast(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()),
                                 nccl_type(t), root, comm_, s));
  });
}

Work NcclBackend::all_gather(const at::Tensor& input, const at::Tensor& output,
                             const std::string& label) {
  check_tensor(input, device_, "all_gather");
  check_tensor(output, device_, "all_gather");
  SGM_CHECK(output.numel() == size_ * input.numel() && output.dtype() == input.dtype(),
            "all_gather: output must hold {} x {} elements of the input's dtype", size_,
            input.numel());
  return launch("all_gather", label, output.nbytes(), {input, output}, [&](cudaStream_t s) {
    SGM_CHECK_NCCL(ncclAllGather(input.data_ptr(), output.data_ptr(),
                                 static_cast<size_t>(input.numel()), nccl_type(input), comm_, s));
  });
}

Work NcclBackend::reduce_scatter(const at::Tensor& input, const at::Tensor& output, ReduceOp op,
                                 const std::string& label) {
  check_tensor(input, device_, "reduce_scatter");
  check_tensor(output, device_, "reduce_scatter");
  SGM_CHECK(input.numel() == size_ * output.numel() && output.dtype() == input.dtype(),
            "reduce_scatter: input must hold {} x {} elements of the output's dtype", size_,
            output.numel());
  return launch("reduce_scatter", label, input.nbytes(), {input, output}, [&](cudaStream_t s) {
    SGM_CHECK_NCCL(ncclReduceScatter(input.data_ptr(), output.data_ptr(),
                                     static_cast<size_t>(output.numel()), nccl_type(input),
                                     nccl_op(op), comm_, s));
  });
}

void NcclBackend::barrier() {
  // A one-element all-reduce, then the host waits for it (llm.c).
  c10::cuda::CUDAGuard guard(device_);
  at::Tensor one = at::ones({1}, at::TensorOptions().device(at::kCUDA, device_));
  all_reduce(one, ReduceOp::kSum, "barrier");
  SGM_CHECK_CUDA(cudaStreamSynchronize(stream_.stream()));
}

std::string NcclBackend::async_error() {
  if (comm_ == nullptr || aborted_) return {};
  ncclResult_t result = ncclSuccess;
  if (ncclCommGetAsyncError(comm_, &result) != ncclSuccess) return "ncclCommGetAsyncError failed";
  if (result == ncclSuccess || result == ncclInProgress) return {};
  return fmt::format("NCCL: {} ({})", ncclGetErrorString(result), ncclGetLastError(comm_));
}

void NcclBackend::abort() {
  if (comm_ == nullptr || aborted_) return;
  aborted_ = true;
  ncclCommAbort(comm_);
}

}  // namespace sgm::dist

#include "trainer/dist/communicator.h"

#include <exception>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "trainer/core/error.h"
#include "trainer/dist/check_mpi.h"
#include "trainer/dist/comm_backend.h"
#include "trainer/dist/mpi_backend.h"
#include "trainer/dist/mpi_comm.h"
#include "trainer/dist/watchdog.h"
#ifdef SGM_HAVE_CUDA
#include "trainer/dist/nccl_backend.h"
#endif

namespace sgm::dist {

namespace {

// Every rank's host name, in rank order (names longer than 255 bytes are cut).
std::vector<std::string> host_names(MPI_Comm world, const Context& context) {
  constexpr int kWidth = 256;
  int size = 1;
  SGM_CHECK_MPI(MPI_Comm_size(world, &size));
  std::vector<char> mine(kWidth, '\0');
  context.hostname().copy(mine.data(), kWidth - 1);
  std::vector<char> all(static_cast<std::size_t>(kWidth) * static_cast<std::size_t>(size));
  SGM_CHECK_MPI(MPI_Allgather(mine.data(), kWidth, MPI_CHAR, all.data(), kWidth, MPI_CHAR, world));
  std::vector<std::string> hosts;
  for (int r = 0; r < size; ++r)
    hosts.emplace_back(all.data() + static_cast<std::size_t>(r) * kWidth);
  return hosts;
}

}  // namespace

Communicator::Communicator(const Context& context, CommOptions options)
    : options_(options), rank_(context.rank()), world_size_(context.world_size()) {
  if (!(options_.timeout_seconds > 0)) {
    throw core::UsageError(
        fmt::format("dist.timeout = {} must be positive (seconds)", options_.timeout_seconds));
  }
  if (world_size_ == 1) {
    if (!options_.nccl_single_rank) return;
#ifdef SGM_HAVE_CUDA
    const char* why = "";
    if (context.device().is_cuda()) {
      nccl_ = std::make_unique<NcclBackend>(context.device().index(), *recorder_);
      return;
    }
#else
    const char* why = " (this build of sgm has no CUDA/NCCL support)";
#endif
    throw core::UsageError(
        fmt::format("dist.nccl_single_rank = true needs a CUDA device, but this rank runs on {}{}",
                    context.device().str(), why));
  }
  const MPI_Comm world = world_comm(context);
  const bool multiple = context.mpi_thread_level() >= MPI_THREAD_MULTIPLE;
  mpi_ = std::make_unique<MpiBackend>(world, *recorder_, /*use_thread=*/multiple);
  std::vector<CommBackend*> watched{mpi_.get()};
#ifdef SGM_HAVE_CUDA
  if (context.device().is_cuda()) {
    nccl_ = std::make_unique<NcclBackend>(world, context.device().index(), *recorder_);
    watched.push_back(nccl_.get());
  }
#endif
  watchdog_ = std::make_unique<Watchdog>(*recorder_, watched, world, /*heartbeats=*/multiple,
                                         options_.timeout_seconds, host_names(world, context));
}

// The watchdog goes first (it reads the backends), then NCCL, then MPI.
Communicator::~Communicator() {
  // The backends and the watchdog exist only for world size > 1; when this unwinds an error they
  // are left alone here (and only here), so their destructors always run a normal shutdown.
  if (std::uncaught_exceptions() > 0 && world_size_ > 1) {
    (void)watchdog_.release();  // deliberately leaked, see the header
    (void)nccl_.release();
    (void)mpi_.release();
    (void)recorder_.release();
    return;
  }
  watchdog_.reset();
  nccl_.reset();
  mpi_.reset();
}

bool Communicator::skips(const at::Tensor& tensor) const {
  return world_size_ == 1 && !(nccl_ != nullptr && tensor.defined() && tensor.is_cuda());
}

CommBackend* Communicator::backend_for(const at::Tensor& tensor, const char* op) {
  SGM_CHECK(tensor.defined(), "{}: undefined tensor", op);
  if (tensor.is_cuda()) {
    SGM_CHECK(nccl_ != nullptr,
              "{}: a CUDA tensor, but this communicator has no NCCL backend (dist.device is not "
              "cuda, or this build has no CUDA)",
              op);
    return nccl_.get();
  }
  return mpi_.get();
}

Work Communicator::all_reduce(const at::Tensor& tensor, ReduceOp op, const std::string& label) {
  if (skips(tensor)) {
    SGM_CHECK(op != ReduceOp::kAvg || at::isFloatingType(tensor.scalar_type()),
              "all_reduce(avg) needs a floating-point tensor");
    return Work();  // the sum, mean and max over one rank are the tensor itself
  }
  return backend_for(tensor, "all_reduce")->all_reduce(tensor, op, label);
}

Work Communicator::broadcast(const at::Tensor& tensor, int root, const std::string& label) {
  SGM_CHECK(root >= 0 && root < world_size_, "broadcast: root {} outside 0..{}", root,
            world_size_ - 1);
  if (skips(tensor)) return Work();
  return backend_for(tensor, "broadcast")->broadcast(tensor, root, label);
}

Work Communicator::all_gather(const at::Tensor& input, const at::Tensor& output,
                              const std::string& label) {
  if (skips(input)) {
    SGM_CHECK(output.numel() == input.numel(), "all_gather: output must hold {} elements",
              input.numel());
    output.view(input.sizes()).copy_(input);
    return Work();
  }
  return backend_for(input, "all_gather")->all_gather(input, output, label);
}

Work Communicator::reduce_scatter(const at::Tensor& input, const at::Tensor& output, ReduceOp op,
                                  const std::string& label) {
  if (skips(input)) {
    SGM_CHECK(output.numel() == input.numel(), "reduce_scatter: output must hold {} elements",
              input.numel());
    output.view(input.sizes()).copy_(input);
    return Work();
  }
  return backend_for(input, "reduce_scatter")->reduce_scatter(input, output, op, label);
}

void Communicator::barrier() {
  if (nccl_) nccl_->barrier();
  if (mpi_) mpi_->barrier();
}

double Communicator::all_reduce(double value, ReduceOp op, const std::string& label) {
  at::Tensor t = at::full({1}, value, at::kDouble);
  all_reduce(t, op, label).wait();
  return t.item<double>();
}

std::int64_t Communicator::all_reduce(std::int64_t value, ReduceOp op, const std::string& label) {
  SGM_CHECK(op != ReduceOp::kAvg, "all_reduce(avg) of an integer");
  at::Tensor t = at::full({1}, value, at::kLong);
  all_reduce(t, op, label).wait();
  return t.item<std::int64_t>();
}

bool Communicator::any(bool flag, const std::string& label) {
  return all_reduce(static_cast<std::int64_t>(flag ? 1 : 0), ReduceOp::kMax, label) != 0;
}

std::vector<std::int64_t> Communicator::all_gather(std::int64_t value, const std::string& label) {
  at::Tensor in = at::full({1}, value, at::kLong);
  at::Tensor out = at::empty({world_size_}, at::kLong);
  all_gather(in, out, label).wait();
  return std::vector<std::int64_t>(out.data_ptr<std::int64_t>(),
                                   out.data_ptr<std::int64_t>() + world_size_);
}

void Communicator::set_max_elements_per_mpi_call(std::int64_t count) {
  SGM_CHECK(count > 0, "set_max_elements_per_mpi_call({})", count);
  if (mpi_) static_cast<MpiBackend*>(mpi_.get())->set_max_elements_per_call(count);
}

}  // namespace sgm::dist

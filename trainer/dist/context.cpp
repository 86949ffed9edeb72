#include "trainer/dist/context.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include <ATen/Parallel.h>

#include "trainer/core/error.h"
#include "trainer/core/host.h"
#include "trainer/core/log.h"
#include "trainer/dist/check_mpi.h"
#include "trainer/dist/mpi_comm.h"
#ifdef SGM_HAVE_CUDA
#include "trainer/dist/check_cuda.h"
#endif

namespace sgm::dist {
namespace {

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return CPU_COUNT(&set);
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

int cuda_device_count() {
#ifdef SGM_HAVE_CUDA
  int count = 0;
  cudaError_t rc = cudaGetDeviceCount(&count);
  if (rc == cudaErrorNoDevice || rc == cudaErrorInsufficientDriver) {
    (void)cudaGetLastError();
    return 0;
  }
  SGM_CHECK_CUDA(rc);
  return count;
#else
  return 0;
#endif
}

}  // namespace

Context::Context(const ContextOptions& options, const EnvLookup& env)
    : hostname_(core::host_name()) {
  const LaunchInfo launcher = read_launch_info(env);
  const char* allow = env("SGM_ALLOW_SINGLETON");
  const bool allow_singleton =
      options.allow_singleton || (allow != nullptr && std::string(allow) == "1");
  if (launcher.under_launcher()) init_mpi(launcher, allow_singleton);
  core::log::set_rank(rank_, world_size_);
  choose_device(options.device);
  set_threads(options.threads);
}

void Context::init_mpi(const LaunchInfo& launcher, bool allow_singleton) {
  int initialized = 0;
  SGM_CHECK_MPI(MPI_Initialized(&initialized));
  if (!initialized) {
    // The reducer's communication thread and the main thread may both call MPI (issue 5):
    // ask for MULTIPLE, accept SERIALIZED (callers then serialise through one thread).
    SGM_CHECK_MPI(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &thread_level_));
    owns_mpi_ = true;
  } else {
    SGM_CHECK_MPI(MPI_Query_thread(&thread_level_));
  }
  uses_mpi_ = true;
  SGM_CHECK_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  SGM_CHECK_MPI(MPI_Comm_rank(MPI_COMM_WORLD, &rank_));
  SGM_CHECK_MPI(MPI_Comm_size(MPI_COMM_WORLD, &world_size_));
  check_launch(launcher, rank_, world_size_, allow_singleton);
  if (world_size_ > 1 && thread_level_ < MPI_THREAD_SERIALIZED) {
    throw core::Error(fmt::format(
        "MPI provides thread level {} but sgm needs at least MPI_THREAD_SERIALIZED ({})",
        thread_level_, static_cast<int>(MPI_THREAD_SERIALIZED)));
  }
  MPI_Comm node = MPI_COMM_NULL;
  SGM_CHECK_MPI(
      MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
  SGM_CHECK_MPI(MPI_Comm_rank(node, &local_rank_));
  SGM_CHECK_MPI(MPI_Comm_size(node, &local_size_));
  // Nodes are numbered in the order of their lowest rank: a node's leader (local rank 0) counts
  // the leaders of lower rank and tells its node.
  int leader = local_rank_ == 0 ? 1 : 0;
  int before = 0;
  SGM_CHECK_MPI(MPI_Exscan(&leader, &before, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
  node_ = rank_ == 0 ? 0 : before;  // MPI_Exscan leaves rank 0's result undefined
  SGM_CHECK_MPI(MPI_Bcast(&node_, 1, MPI_INT, 0, node));
  SGM_CHECK_MPI(MPI_Allreduce(&leader, &nodes_, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD));
  SGM_CHECK_MPI(MPI_Comm_free(&node));
}

void Context::choose_device(const std::string& device) {
  if (device == "cpu") return;
  if (device != "auto" && device != "cuda") {
    throw core::UsageError(fmt::format("dist.device: '{}' is not one of auto, cpu, cuda", device));
  }
  const int count = cuda_device_count();
  if (count == 0) {
    if (device == "cuda") {
#ifdef SGM_HAVE_CUDA
      throw core::UsageError("dist.device=cuda but no CUDA device is visible on " + hostname_);
#else
      throw core::UsageError("dist.device=cuda but this build of sgm has no CUDA/NCCL support");
#endif
    }
    return;
  }
#ifdef SGM_HAVE_CUDA
  // Every rank sees every GPU of its node (NCCL needs that for NVLink); pick by local rank.
  if (local_size_ > count) {
    throw core::UsageError(fmt::format(
        "{} ranks on {} but only {} CUDA devices are visible: start one rank per GPU and keep "
        "all GPUs visible to every rank (no per-task CUDA_VISIBLE_DEVICES)",
        local_size_, hostname_, count));
  }
  SGM_CHECK_CUDA(cudaSetDevice(local_rank_));
  device_ = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(local_rank_));
#endif
}

void Context::set_threads(std::int64_t threads) {
  if (threads <= 0) {
    const char* omp = std::getenv("OMP_NUM_THREADS");
    threads = omp != nullptr ? std::atoi(omp) : 0;
  }
  if (threads <= 0) threads = std::max(1, available_cores() / std::max(1, local_size_));
  threads_ = static_cast<int>(threads);
  at::set_num_threads(threads_);
}

std::string Context::describe() const {
  std::string mine =
      fmt::format("rank {}/{} on {} (node {}/{}, local {}/{}), device {}, {} threads", rank_,
                  world_size_, hostname_, node_, nodes_, local_rank_, local_size_, device_.str(),
                  threads_);
  if (!uses_mpi_ || world_size_ == 1) return mine;
  // Gather fixed-size lines on rank 0 so the listing comes out in rank order.
  constexpr int kWidth = 256;
  std::vector<char> line(kWidth, '\0');
  mine.copy(line.data(), std::min<std::size_t>(mine.size(), kWidth - 1));
  std::vector<char> all(is_main() ? static_cast<std::size_t>(kWidth) * world_size_ : 0);
  SGM_CHECK_MPI(
      MPI_Gather(line.data(), kWidth, MPI_CHAR, all.data(), kWidth, MPI_CHAR, 0, MPI_COMM_WORLD));
  if (!is_main()) return mine;
  std::string out;
  for (int r = 0; r < world_size_; ++r) {
    if (r > 0) out += '\n';
    out += std::string(all.data() + static_cast<std::size_t>(r) * kWidth);
  }
  return out;
}

Context::~Context() {
  if (!owns_mpi_) return;
  // Leaving by an exception: MPI_Finalize would wait for ranks that are still inside a
  // collective. Keep MPI up so the entry point can end the whole job with MPI_Abort.
  if (std::uncaught_exceptions() > 0) return;
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

MPI_Comm world_comm(const Context& context) {
  SGM_CHECK(context.uses_mpi(), "world_comm() needs a Context started under an MPI launcher");
  return MPI_COMM_WORLD;
}

bool in_multi_rank_job() {
  int initialized = 0;
  int finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (!initialized || finalized) return false;
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size > 1;
}

void abort_job(int code) {
  if (in_multi_rank_job()) MPI_Abort(MPI_COMM_WORLD, code);
  std::fflush(stdout);
  std::fflush(stderr);
  std::_Exit(code);
}

void install_terminate_handler() {
  std::set_terminate([] {
    std::string what = "unknown exception";
    if (auto current = std::current_exception()) {
      try {
        std::rethrow_exception(current);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
    }
    core::log::error("uncaught: {}; ending the job", what);
    abort_job(core::kExitRuntime);
  });
}

}  // namespace sgm::dist

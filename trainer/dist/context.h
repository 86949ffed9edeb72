// dist::Context: this process's place in the job (rank, world size, node-local rank, device),
// RAII over MPI. Works as one process without any launcher (no MPI at all then); under mpirun
// or srun it initialises MPI, checks the launch, and picks the GPU from the node-local rank.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <c10/core/Device.h>

#include "trainer/core/keys.h"
#include "trainer/dist/launch_check.h"

namespace sgm::dist {

// The [dist] section of the configuration that the Context consumes.
struct ContextOptions {
  std::string device = "auto";
  std::int64_t threads = 0;
  bool allow_singleton = false;

  void declare_keys(core::Keys& k) {
    k("dist.device", device, "auto | cpu | cuda (auto: cuda:<node-local rank> when present)");
    k("dist.threads", threads, "intra-op threads per rank (0: cores / ranks on the node)");
    k("dist.allow_singleton", allow_singleton, "allow one process inside a multi-task Slurm step");
  }
};

class Context {
 public:
  explicit Context(const ContextOptions& options, const EnvLookup& env = process_env());
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  // This rank's node (0-based, in the order of each node's lowest rank) and the number of nodes.
  int node() const { return node_; }
  int nodes() const { return nodes_; }
  bool is_main() const { return rank_ == 0; }
  bool uses_mpi() const { return uses_mpi_; }
  // MPI thread level provided (MPI_THREAD_*); -1 without MPI.
  int mpi_thread_level() const { return thread_level_; }
  const std::string& hostname() const { return hostname_; }
  c10::Device device() const { return device_; }
  int threads() const { return threads_; }

  // One line per rank, in rank order on rank 0: host, node, local rank, device (Marian prints
  // this).
  std::string describe() const;

 private:
  void init_mpi(const LaunchInfo& launcher, bool allow_singleton);
  void choose_device(const std::string& device);
  void set_threads(std::int64_t threads);

  int rank_ = 0;
  int world_size_ = 1;
  int local_rank_ = 0;
  int local_size_ = 1;
  int node_ = 0;
  int nodes_ = 1;
  bool uses_mpi_ = false;
  bool owns_mpi_ = false;
  int thread_level_ = -1;
  int threads_ = 1;
  std::string hostname_;
  c10::Device device_ = c10::Device(c10::kCPU);
};

// Ends the whole job with `code`: MPI_Abort when MPI is running with more than one rank,
// otherwise _exit. Safe to call from any thread and from std::terminate.
[[noreturn]] void abort_job(int code);

// True when MPI is initialised (and not finalised) with more than one rank.
bool in_multi_rank_job();

// Installs a std::terminate handler that logs and calls abort_job(1), so an uncaught error on
// any rank (or on any thread) ends the job instead of leaving the others hanging.
void install_terminate_handler();

}  // namespace sgm::dist

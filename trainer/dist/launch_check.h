// What the launcher says about this process, read from the environment before and after MPI
// starts, and the check for the Open MPI "every task is rank 0 of 1" trap under plain srun
// (open-mpi/ompi #13523).
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace sgm::dist {

// Reads one environment variable; nullptr when unset. Tests pass a fake one.
using EnvLookup = std::function<const char*(const char*)>;
EnvLookup process_env();

struct LaunchInfo {
  std::optional<int> rank;  // OMPI_COMM_WORLD_RANK, PMIX_RANK, PMI_RANK, SLURM_PROCID
  std::optional<int>
      world_size;      // OMPI_COMM_WORLD_SIZE, PMI_SIZE, SLURM_STEP_NUM_TASKS, SLURM_NTASKS
  std::string source;  // which launcher the numbers came from ("mpirun", "srun", ...)
  bool under_launcher() const { return rank.has_value() || world_size.has_value(); }
};

LaunchInfo read_launch_info(const EnvLookup& env);

// Throws core::UsageError with a message naming the fix when the launcher started more tasks
// than MPI sees (world size 1 under `srun` without PMIx) or when ranks disagree.
// `allow_singleton` (dist.allow_singleton, or SGM_ALLOW_SINGLETON=1) skips the check for
// single-process tools run inside a multi-task allocation.
void check_launch(const LaunchInfo& launcher, int mpi_rank, int mpi_world_size,
                  bool allow_singleton);

}  // namespace sgm::dist

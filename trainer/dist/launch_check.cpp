#include "trainer/dist/launch_check.h"

#include <cstdlib>

#include "trainer/core/error.h"

namespace sgm::dist {
namespace {

std::optional<int> read_int(const EnvLookup& env, const char* name) {
  const char* value = env(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  char* end = nullptr;
  long v = std::strtol(value, &end, 10);
  if (*end != '\0' || v < 0) {
    throw core::UsageError(
        fmt::format("environment variable {}='{}' is not a non-negative integer", name, value));
  }
  return static_cast<int>(v);
}

}  // namespace

EnvLookup process_env() {
  return [](const char* name) { return std::getenv(name); };
}

LaunchInfo read_launch_info(const EnvLookup& env) {
  LaunchInfo info;
  // Open MPI's mpirun (and srun --mpi=pmix with Open MPI) sets OMPI_COMM_WORLD_*.
  if (auto size = read_int(env, "OMPI_COMM_WORLD_SIZE")) {
    info.world_size = size;
    info.rank = read_int(env, "OMPI_COMM_WORLD_RANK");
    info.source = "mpirun";
    return info;
  }
  if (auto size = read_int(env, "PMI_SIZE")) {
    info.world_size = size;
    info.rank = read_int(env, "PMI_RANK");
    info.source = "PMI";
    return info;
  }
  // Slurm: a step's task count is SLURM_STEP_NUM_TASKS; SLURM_NTASKS is the allocation's.
  auto slurm_size = read_int(env, "SLURM_STEP_NUM_TASKS");
  if (!slurm_size) slurm_size = read_int(env, "SLURM_NTASKS");
  auto slurm_rank = read_int(env, "SLURM_PROCID");
  if (slurm_size || slurm_rank) {
    info.world_size = slurm_size;
    info.rank = slurm_rank;
    info.source = "srun";
    return info;
  }
  if (auto rank = read_int(env, "PMIX_RANK")) {
    info.rank = rank;
    info.source = "PMIx";
  }
  return info;
}

void check_launch(const LaunchInfo& launcher, int mpi_rank, int mpi_world_size,
                  bool allow_singleton) {
  if (allow_singleton) return;
  const bool too_few = launcher.world_size && *launcher.world_size > 1 && mpi_world_size == 1;
  const bool wrong_rank = launcher.rank && launcher.world_size &&
                          *launcher.world_size == mpi_world_size && *launcher.rank != mpi_rank;
  if (too_few) {
    throw core::UsageError(fmt::format(
        "{} started {} tasks but MPI sees a world of 1 (every task would train alone as rank 0): "
        "launch with 'srun --mpi=pmix' or with mpirun inside the allocation; set "
        "dist.allow_singleton=true (or SGM_ALLOW_SINGLETON=1) to run one process on purpose",
        launcher.source, *launcher.world_size));
  }
  if (wrong_rank) {
    throw core::UsageError(fmt::format(
        "{} says this is rank {} but MPI says rank {}: the launcher and MPI disagree; launch with "
        "'srun --mpi=pmix' or mpirun",
        launcher.source, *launcher.rank, mpi_rank));
  }
  if (launcher.world_size && *launcher.world_size != mpi_world_size && mpi_world_size > 1) {
    throw core::UsageError(fmt::format("{} started {} tasks but MPI sees a world of {}",
                                       launcher.source, *launcher.world_size, mpi_world_size));
  }
}

}  // namespace sgm::dist

// The launcher's view from the environment, and the Open MPI singleton trap under plain srun
// (simulated environments); a Context without any launcher is one CPU process without MPI.
#include "trainer/dist/launch_check.h"

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "trainer/core/error.h"
#include "trainer/dist/context.h"

namespace sgm::dist {
namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

TEST(LaunchInfo, ReadsMpirunSrunAndNothing) {
  LaunchInfo none = read_launch_info(fake_env({}));
  EXPECT_FALSE(none.under_launcher());

  LaunchInfo mpirun =
      read_launch_info(fake_env({{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_RANK", "2"}}));
  EXPECT_EQ(mpirun.world_size, 4);
  EXPECT_EQ(mpirun.rank, 2);
  EXPECT_EQ(mpirun.source, "mpirun");

  // A step's own task count wins over the allocation's.
  LaunchInfo srun = read_launch_info(
      fake_env({{"SLURM_NTASKS", "8"}, {"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_PROCID", "1"}}));
  EXPECT_EQ(srun.world_size, 2);
  EXPECT_EQ(srun.rank, 1);
  EXPECT_EQ(srun.source, "srun");

  EXPECT_THROW(read_launch_info(fake_env({{"SLURM_NTASKS", "four"}})), core::UsageError);
}

TEST(LaunchCheck, DetectsSingletonTrapUnderPlainSrun) {
  // Open MPI 5 under `srun` without PMIx: SLURM_NTASKS=4 but every task is rank 0 of 1.
  LaunchInfo srun = read_launch_info(fake_env({{"SLURM_NTASKS", "4"}, {"SLURM_PROCID", "2"}}));
  try {
    check_launch(srun, /*mpi_rank=*/0, /*mpi_world_size=*/1, /*allow_singleton=*/false);
    FAIL() << "singleton trap not detected";
  } catch (const core::UsageError& e) {
    std::printf("[evidence] message: %s\n", e.what());
    EXPECT_NE(std::string(e.what()).find("srun --mpi=pmix"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("4 tasks"), std::string::npos);
  }
  EXPECT_NO_THROW(check_launch(srun, 0, 1, /*allow_singleton=*/true));
}

TEST(LaunchCheck, AcceptsConsistentLaunchesAndRejectsDisagreement) {
  LaunchInfo srun =
      read_launch_info(fake_env({{"SLURM_STEP_NUM_TASKS", "2"}, {"SLURM_PROCID", "1"}}));
  EXPECT_NO_THROW(check_launch(srun, 1, 2, false));
  EXPECT_THROW(check_launch(srun, 0, 2, false), core::UsageError);  // ranks disagree
  EXPECT_THROW(check_launch(srun, 1, 3, false), core::UsageError);  // sizes disagree
  LaunchInfo one = read_launch_info(fake_env({{"SLURM_NTASKS", "1"}, {"SLURM_PROCID", "0"}}));
  EXPECT_NO_THROW(check_launch(one, 0, 1, false));
}

TEST(Context, OneProcessWithoutLauncherNeedsNoMpi) {
  ContextOptions options;
  options.device = "cpu";
  options.threads = 2;
  Context context(options, fake_env({}));
  EXPECT_EQ(context.rank(), 0);
  EXPECT_EQ(context.world_size(), 1);
  EXPECT_EQ(context.local_rank(), 0);
  EXPECT_EQ(context.local_size(), 1);
  EXPECT_FALSE(context.uses_mpi());
  EXPECT_TRUE(context.device().is_cpu());
  EXPECT_EQ(context.threads(), 2);
  std::printf("[evidence] %s\n", context.describe().c_str());
}

TEST(Context, RejectsUnknownDeviceAndMissingCuda) {
  ContextOptions options;
  options.device = "tpu";
  EXPECT_THROW(Context(options, fake_env({})), core::UsageError);
  options.device = "cuda";
  ContextOptions automatic;
  Context probe(automatic, fake_env({}));
  if (probe.device().is_cuda())
    GTEST_SKIP() << "a CUDA device is present; the no-device error cannot be shown";
  try {
    Context context(options, fake_env({}));
    FAIL() << "dist.device=cuda accepted without a CUDA device";
  } catch (const core::UsageError& e) {
    std::printf("[evidence] message: %s\n", e.what());
    EXPECT_NE(std::string(e.what()).find("dist.device=cuda"), std::string::npos);
  }
}

}  // namespace
}  // namespace sgm::dist

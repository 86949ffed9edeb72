// Run by ctest under `mpirun -np 2`: the Context of a real MPI launch, an all-reduce of a
// tensor's data over the world communicator, and MPI checked-call messages.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "tests/support/compare.h"
#include "trainer/dist/check_mpi.h"
#include "trainer/dist/context.h"
#include "trainer/dist/mpi_comm.h"

namespace sgm::dist {
namespace {

ContextOptions cpu_options() {
  ContextOptions options;
  options.device = "cpu";
  return options;
}

TEST(ContextMpi, RanksWorldAndNodeLocalRanks) {
  Context context(cpu_options());
  ASSERT_TRUE(context.uses_mpi()) << "this test must run under mpirun -np 2";
  EXPECT_EQ(context.world_size(), 2);
  EXPECT_GE(context.mpi_thread_level(), MPI_THREAD_SERIALIZED);
  // Both ranks run on this machine: node-local ranks equal the world ranks.
  EXPECT_EQ(context.local_size(), 2);
  EXPECT_EQ(context.local_rank(), context.rank());
  EXPECT_EQ(context.nodes(), 1);
  EXPECT_EQ(context.node(), 0);
  const std::string description = context.describe();
  if (context.is_main()) {
    std::printf("[evidence] %s\n", description.c_str());
    EXPECT_NE(description.find("rank 0/2"), std::string::npos);
    EXPECT_NE(description.find("rank 1/2"), std::string::npos);
    EXPECT_NE(description.find("(node 0/1, local 1/2)"), std::string::npos);
  }
}

TEST(ContextMpi, AllReduceOfTensorData) {
  Context context(cpu_options());
  const int world = context.world_size();
  for (auto dtype : {at::kFloat, at::kDouble, at::kLong}) {
    // Odd length; rank r contributes (r + 1) * (index + 1).
    at::Tensor base = at::arange(1, 1002, at::TensorOptions().dtype(dtype));
    at::Tensor mine = base * (context.rank() + 1);
    MPI_Datatype type = dtype == at::kFloat    ? MPI_FLOAT
                        : dtype == at::kDouble ? MPI_DOUBLE
                                               : MPI_INT64_T;
    SGM_CHECK_MPI(MPI_Allreduce(MPI_IN_PLACE, mine.data_ptr(), static_cast<int>(mine.numel()), type,
                                MPI_SUM, world_comm(context)));
    at::Tensor expected = base * (world * (world + 1) / 2);
    EXPECT_TRUE(sgm::testing::tensors_equal(
        fmt::format("all-reduce sum {} on rank {}", c10::toString(dtype), context.rank()), mine,
        expected));
  }
}

TEST(ContextMpi, CheckedMpiCallNamesCallAndError) {
  Context context(cpu_options());
  int value = 0;
  try {
    // A destination rank that does not exist: MPI_ERR_RANK, returned (MPI_ERRORS_RETURN).
    SGM_CHECK_MPI(MPI_Send(&value, 1, MPI_INT, context.world_size() + 5, 0, world_comm(context)));
    FAIL() << "MPI_Send to a missing rank succeeded";
  } catch (const core::Error& e) {
    const std::string what = e.what();
    if (context.is_main()) std::printf("[evidence] message: %s\n", what.c_str());
    EXPECT_EQ(what.rfind("MPI_Send(", 0), 0u) << what;
    EXPECT_NE(what.find("MPI_ERR_RANK"), std::string::npos) << what;
    EXPECT_NE(what.find("[context_mpi_test.cpp:"), std::string::npos) << what;
  }
}

}  // namespace
}  // namespace sgm::dist

// GoogleTest main for every sgm test executable. It sets up malloc as every sgm executable does
// (core::keep_freed_memory: without it, a sampler test of small tensors spent 18 of its 44 s in
// the kernel faulting in freed and re-mapped pages). Under mpirun it initialises MPI before the
// tests (so dist::Context finds it running), lets only rank 0 print, and makes every rank
// exit non-zero when any rank had a failure. Without a launcher it is a plain gtest main.
#include <mpi.h>

#include <cstdio>
#include <cstdlib>

#include <gtest/gtest.h>

#include "trainer/core/memory.h"

namespace {

bool under_mpi_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK"}) {
    if (std::getenv(name) != nullptr) return true;
  }
  return false;
}

// On ranks other than 0: only failed assertions, prefixed with the rank.
class FailurePrinter : public ::testing::EmptyTestEventListener {
 public:
  explicit FailurePrinter(int rank) : rank_(rank) {}
  void OnTestPartResult(const ::testing::TestPartResult& result) override {
    if (!result.failed()) return;
    std::fprintf(stderr, "[rank %d] %s:%d: failure\n%s\n", rank_,
                 result.file_name() ? result.file_name() : "?", result.line_number(),
                 result.summary());
  }

 private:
  int rank_;
};

}  // namespace

int main(int argc, char** argv) {
  sgm::core::keep_freed_memory();
  ::testing::InitGoogleTest(&argc, argv);
  if (!under_mpi_launcher()) return RUN_ALL_TESTS();

  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
    listeners.Append(new FailurePrinter(rank));
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0;
  int any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0 && any_failed && !failed) std::fprintf(stderr, "a test failed on another rank\n");
  MPI_Finalize();
  return any_failed;
}

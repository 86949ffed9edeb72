// Helper for abort_job_test.sh: under mpirun, rank 1 dies of an uncaught exception while rank 0
// waits in a barrier that would never complete. The terminate handler must end the whole job.
#include <mpi.h>

#include <stdexcept>

#include "trainer/dist/context.h"

int main() {
  sgm::dist::install_terminate_handler();
  sgm::dist::ContextOptions options;
  options.device = "cpu";
  sgm::dist::Context context(options);
  if (context.rank() == 1) throw std::runtime_error("injected failure on rank 1");
  MPI_Barrier(MPI_COMM_WORLD);
  return 0;
}

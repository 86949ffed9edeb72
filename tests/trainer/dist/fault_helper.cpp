// Helper for watchdog_test.sh, run under `mpirun -np 2` with dist.timeout = 2 s:
//   ok       a few all-reduces, then a clean shutdown (exit 0);
//   outside  rank 1 sleeps 60 s before the third all-reduce that rank 0 is already waiting in;
//   inside   both ranks enter the third all-reduce, rank 1's communication thread sleeps in it
//            (SGM_FAULT_STALL=1:3:60, set by the script);
//   kill     rank 1 kills itself (SIGKILL) while rank 0 waits in the third all-reduce;
//   throw    rank 1 sleeps as in `outside`; rank 0 issues the third all-reduce without waiting
//            and then fails with an exception, which must end the job at once (as run_main does:
//            catch, report, MPI_Abort) although its communication thread is stuck in a collective.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include <ATen/ATen.h>

#include "trainer/dist/communicator.h"
#include "trainer/dist/context.h"

namespace {

void run(const std::string& mode) {
  sgm::dist::ContextOptions options;
  options.device = "cpu";
  sgm::dist::Context context(options);
  // `throw` must not be ended by the watchdog: give it a timeout the test cannot reach.
  sgm::dist::Communicator comm(context, sgm::dist::CommOptions{mode == "throw" ? 600.0 : 2.0});
  at::Tensor t = at::ones({1000});
  for (int step = 1; step <= 5; ++step) {
    if (step == 3 && context.rank() == 1) {
      if (mode == "outside" || mode == "throw")
        std::this_thread::sleep_for(std::chrono::seconds(60));
      if (mode == "kill") ::raise(SIGKILL);
    }
    sgm::dist::Work work =
        comm.all_reduce(t, sgm::dist::ReduceOp::kSum, "step " + std::to_string(step));
    if (step == 3 && context.rank() == 0 && mode == "throw") {
      throw std::runtime_error("injected failure on rank 0 with a collective in flight");
    }
    work.wait();
  }
  std::printf("rank %d finished: %g\n", context.rank(), t[0].item<double>());
}

}  // namespace

int main(int argc, char** argv) {
  sgm::dist::install_terminate_handler();
  try {
    run(argc > 1 ? argv[1] : "ok");
  } catch (const std::exception& e) {  // what run_main does
    std::fprintf(stderr, "error: %s\n", e.what());
    sgm::dist::abort_job(1);
  }
  return 0;
}

// Helper for watchdog_test.sh, run under `mpirun -np 2` with dist.timeout = 2 s:
//   ok       a few all-reduces, then a clean shutdown (exit 0);
//   outside  rank 1 sleeps 60 s before the third all-reduce that rank 0 is already waiting in;
//   inside   both ranks enter the third all-reduce, rank 1's communication thread sleeps in it
//            (SGM_FAULT_STALL=1:3:60, set by the script);
//   kill     rank 1 kills itself (SIGKILL) while rank 0 waits in the third all-reduce.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <ATen/ATen.h>

#include "trainer/dist/communicator.h"
#include "trainer/dist/context.h"

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "ok";
  sgm::dist::install_terminate_handler();
  sgm::dist::ContextOptions options;
  options.device = "cpu";
  sgm::dist::Context context(options);
  sgm::dist::Communicator comm(context, sgm::dist::CommOptions{2.0});
  at::Tensor t = at::ones({1000});
  for (int step = 1; step <= 5; ++step) {
    if (step == 3 && context.rank() == 1) {
      if (mode == "outside") std::this_thread::sleep_for(std::chrono::seconds(60));
      if (mode == "kill") ::raise(SIGKILL);
    }
    comm.all_reduce(t, sgm::dist::ReduceOp::kSum, "step " + std::to_string(step)).wait();
  }
  std::printf("rank %d finished: %g\n", context.rank(), t[0].item<double>());
  return 0;
}

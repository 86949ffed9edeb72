#include "trainer/core/stop_signal.h"

#include <csignal>

#include "trainer/core/error.h"

namespace sgm::core {
namespace {

// Written by the handler, read by the loop: the one piece of process-wide state a signal needs.
volatile std::sig_atomic_t received = 0;

extern "C" void record_signal(int signal) { received = signal; }

}  // namespace

void install_stop_signals() {
  struct sigaction action {};
  action.sa_handler = record_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // reads and collectives in flight carry on
  for (int signal : {SIGUSR1, SIGTERM}) {
    SGM_CHECK(sigaction(signal, &action, nullptr) == 0, "sigaction({}) failed", signal);
  }
}

int stop_signal() { return received; }

void clear_stop_signal() { received = 0; }

}  // namespace sgm::core

// SIGUSR1 and SIGTERM are recorded (not fatal) once the handlers are installed.
#include "trainer/core/stop_signal.h"

#include <csignal>

#include <gtest/gtest.h>

namespace sgm::core {
namespace {

TEST(StopSignal, RecordsUsr1AndTerm) {
  install_stop_signals();
  clear_stop_signal();
  EXPECT_EQ(stop_signal(), 0);
  std::raise(SIGUSR1);
  EXPECT_EQ(stop_signal(), SIGUSR1);  // and the process is still here
  clear_stop_signal();
  std::raise(SIGTERM);
  EXPECT_EQ(stop_signal(), SIGTERM);
  clear_stop_signal();
}

}  // namespace
}  // namespace sgm::core

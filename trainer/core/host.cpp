#include "trainer/core/host.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <string>

namespace sgm::core {

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "unknown";
  return buf;
}

namespace {

// The state letter and start time of /proc/PID/stat; false when it cannot be read.
bool read_stat(std::int64_t pid, char& state, std::int64_t& started) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text;
  if (!in || !std::getline(in, text)) return false;
  const std::size_t close = text.rfind(')');  // the command name may hold spaces and ')'
  if (close == std::string::npos) return false;
  std::istringstream fields(text.substr(close + 1));
  std::string field;
  // After the name: state (field 3), then fields 4..21, then starttime (field 22).
  if (!(fields >> state)) return false;
  for (int i = 4; i <= 21; ++i)
    if (!(fields >> field)) return false;
  return static_cast<bool>(fields >> started);
}

}  // namespace

std::int64_t process_start_ticks(std::int64_t pid) {
  char state = 0;
  std::int64_t started = 0;
  if (!read_stat(pid, state, started) || state == 'Z' || state == 'X') return 0;
  return started;
}

bool process_running(std::int64_t pid, std::int64_t started) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return false;
  char state = 0;
  std::int64_t now_started = 0;
  if (!read_stat(pid, state, now_started)) return true;  // no /proc: kill() is all we know
  if (state == 'Z' || state == 'X') return false;        // exited, not yet reaped
  return started == 0 || now_started == started;
}

}  // namespace sgm::core

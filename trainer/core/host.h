// This machine's host name ("unknown" when the system does not say), as ranks and locks
// report it, and whether a process of this machine still runs.
#pragma once

#include <cstdint>
#include <string>

namespace sgm::core {

std::string host_name();

// When process `pid` started, in clock ticks since boot (/proc/PID/stat); 0 when it does not
// exist, has exited (a zombie whose parent has not reaped it counts as exited) or the system
// does not say.
std::int64_t process_start_ticks(std::int64_t pid);

// Whether `pid` names a running process of this machine. With `started` (from
// process_start_ticks), a different process that reuses the number does not count.
bool process_running(std::int64_t pid, std::int64_t started = 0);

}  // namespace sgm::core

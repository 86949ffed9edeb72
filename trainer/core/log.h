// Rank-aware logging with fmt: rank 0 speaks by default; messages every rank must say carry a
// "[rank r]" prefix. Everything printed also goes to the log file, when one is open.
#pragma once

#include <string>
#include <utility>

#include <fmt/format.h>

namespace sgm::core::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Called once the process knows its place in the world (before that: rank 0 of 1).
void set_rank(int rank, int world_size);
void set_level(Level level);
// Whether this process writes the rank-0 messages (output of its own, such as progress lines).
bool speaks();
// Appends to `path` (created if missing); every rank may open the same file.
void open_file(const std::string& path);
void close_file();

// Writes one line; `all_ranks` false means only rank 0 writes it.
void write(Level level, bool all_ranks, const std::string& message);
// Writes `line` as it is, without the level tag ("sgm-train: error: ..." lines of the mains).
void write_untagged(Level level, bool all_ranks, const std::string& line);
// The line as written to the console (prefix included), for tests.
std::string format_line(Level level, bool all_ranks, const std::string& message);

template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kDebug, false, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kInfo, false, fmt::format(f, std::forward<Args>(args)...));
}
// Every rank prints (status that differs per rank: host, device, shard).
template <typename... Args>
void all(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kInfo, true, fmt::format(f, std::forward<Args>(args)...));
}
// Warnings and errors are rank-local conditions: every rank that has one says it.
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kWarn, true, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
  write(Level::kError, true, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace sgm::core::log

#include "trainer/core/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mutex>

#include "trainer/core/error.h"

namespace sgm::core::log {
namespace {

// Process-wide sink state: the rank is fixed once at start-up, the file is append-only.
struct Sink {
  std::mutex mutex;
  int rank = 0;
  int world_size = 1;
  Level level = Level::kInfo;
  int fd = -1;
};

Sink& sink() {
  static Sink s;
  return s;
}

const char* level_tag(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug: ";
    case Level::kWarn:
      return "warning: ";
    case Level::kError:
      return "error: ";
    case Level::kInfo:
      break;
  }
  return "";
}

std::string timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

}  // namespace

std::string format_untagged(bool all_ranks, const std::string& message);

void set_rank(int rank, int world_size) {
  std::lock_guard<std::mutex> lock(sink().mutex);
  sink().rank = rank;
  sink().world_size = world_size;
}

void set_level(Level level) {
  std::lock_guard<std::mutex> lock(sink().mutex);
  sink().level = level;
}

bool speaks() {
  std::lock_guard<std::mutex> lock(sink().mutex);
  return sink().rank == 0;
}

void open_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    throw UsageError(fmt::format("cannot open log file {}: {}", path, std::strerror(errno)));
  }
  std::lock_guard<std::mutex> lock(sink().mutex);
  if (sink().fd >= 0) ::close(sink().fd);
  sink().fd = fd;
}

void close_file() {
  std::lock_guard<std::mutex> lock(sink().mutex);
  if (sink().fd >= 0) ::close(sink().fd);
  sink().fd = -1;
}

std::string format_line(Level level, bool all_ranks, const std::string& message) {
  return format_untagged(all_ranks, level_tag(level) + message);
}

void write(Level level, bool all_ranks, const std::string& message) {
  write_untagged(level, all_ranks, level_tag(level) + message);
}

std::string format_untagged(bool all_ranks, const std::string& message) {
  const Sink& s = sink();
  std::string prefix;
  if (all_ranks && s.world_size > 1) {
    int width = static_cast<int>(fmt::formatted_size("{}", s.world_size - 1));
    prefix = fmt::format("[rank {:>{}}] ", s.rank, width);
  }
  return prefix + message + "\n";
}

void write_untagged(Level level, bool all_ranks, const std::string& message) {
  std::lock_guard<std::mutex> lock(sink().mutex);
  Sink& s = sink();
  if (level < s.level) return;
  if (!all_ranks && s.rank != 0) return;
  std::string line = format_untagged(all_ranks, message);
  std::FILE* console = level >= Level::kWarn ? stderr : stdout;
  std::fputs(line.c_str(), console);
  std::fflush(console);
  if (s.fd >= 0) {
    std::string stamped = timestamp() + " " + line;
    // One write(2) per line on an O_APPEND descriptor keeps lines of different ranks whole.
    ssize_t ignored = ::write(s.fd, stamped.data(), stamped.size());
    (void)ignored;
  }
}

}  // namespace sgm::core::log

// Errors and exit codes: every failure becomes an exception that carries file:line, and the
// entry points turn it into one line on stderr and a documented exit code.
#pragma once

#include <stdexcept>
#include <string>

#include <fmt/format.h>

namespace sgm::core {

// Exit codes of every sgm executable.
enum ExitCode : int {
  kExitOk = 0,
  kExitRuntime = 1,  // runtime error
  kExitUsage = 2,    // bad input: config key/value, missing or malformed file, usage
  kExitStopped = 3,  // stopped by a signal after a checkpoint (Slurm requeues on 3)
};

// A runtime failure (a library call, an invariant); what() ends with " [file:line]".
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// A user mistake (config, paths, data): what() is one sentence naming the key or file.
class UsageError : public std::runtime_error {
 public:
  explicit UsageError(const std::string& message) : std::runtime_error(message) {}
};

// Text read from a file (a member's name, a key, a type name) made fit for a one-line message:
// bytes outside printable ASCII as \xNN, cut to `max_length` characters (then "...").
std::string printable(const std::string& text, std::size_t max_length = 120);

// Strips the directories of a __FILE__ path so messages stay one short line.
const char* base_name(const char* path);

[[noreturn]] void throw_error(const char* file, int line, const std::string& message);

// The message of a failed library call: "<call> failed: <what> [file:line]".
std::string call_failure_message(const char* file, int line, const char* call,
                                 const std::string& what);

}  // namespace sgm::core

// SGM_CHECK(cond, "format {}", args...) throws core::Error with file:line when cond is false.
#define SGM_CHECK(cond, ...)                                                            \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      ::sgm::core::throw_error(__FILE__, __LINE__,                                      \
                               "check failed: " #cond ": " + fmt::format(__VA_ARGS__)); \
    }                                                                                   \
  } while (0)

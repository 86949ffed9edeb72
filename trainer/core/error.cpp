#include "trainer/core/error.h"

#include <cstring>

namespace sgm::core {

const char* base_name(const char* path) {
  const char* slash = std::strrchr(path, '/');
  return slash != nullptr ? slash + 1 : path;
}

void throw_error(const char* file, int line, const std::string& message) {
  throw Error(fmt::format("{} [{}:{}]", message, base_name(file), line));
}

std::string call_failure_message(const char* file, int line, const char* call,
                                 const std::string& what) {
  return fmt::format("{} failed: {} [{}:{}]", call, what, base_name(file), line);
}

}  // namespace sgm::core

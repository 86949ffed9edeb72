#include "trainer/core/error.h"

#include <cstring>

namespace sgm::core {

std::string printable(const std::string& text, std::size_t max_length) {
  std::string out;
  for (const char c : text) {
    if (out.size() >= max_length) return out + "...";
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out += c;
    } else {
      out += fmt::format("\\x{:02x}", byte);
    }
  }
  return out;
}

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

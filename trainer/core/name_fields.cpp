#include "trainer/core/name_fields.h"

namespace sgm::core {

std::int64_t decimal_field(const std::string& text, std::size_t pos, std::size_t width) {
  if (width == 0 || width > 18 || pos > text.size() || text.size() - pos < width) return -1;
  std::int64_t value = 0;
  for (std::size_t i = pos; i < pos + width; ++i) {
    if (text[i] < '0' || text[i] > '9') return -1;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace sgm::core

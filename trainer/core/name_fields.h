// Fixed-width decimal fields in file and directory names (snapshot-00001234,
// NAME-00003-of-00008.h5), read by hand: <regex> costs seconds of compile time per use.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sgm::core {

// The value of the `width` decimal digits of `text` from `pos`; -1 when the field runs past the
// end of the text or holds anything but the digits 0-9. width <= 18.
std::int64_t decimal_field(const std::string& text, std::size_t pos, std::size_t width);

}  // namespace sgm::core

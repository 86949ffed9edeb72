// Integers read from JSON files (dataset.json, state.json, results.jsonl). nlohmann's
// get<std::int64_t>() on a float such as 1e300, or on an unsigned value above INT64_MAX, converts
// with undefined behaviour; callers ask here first and name the key and file in their message.
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json.hpp>

namespace sgm::data {

// The value when it is a JSON integer that fits int64_t; nullopt otherwise.
inline std::optional<std::int64_t> json_int64(const nlohmann::json& value) {
  if (!value.is_number_integer()) return std::nullopt;
  if (value.is_number_unsigned() && value.get<std::uint64_t>() > INT64_MAX) return std::nullopt;
  return value.get<std::int64_t>();
}

}  // namespace sgm::data

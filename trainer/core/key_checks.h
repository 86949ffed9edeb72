// Checks of configuration values that fail with a core::UsageError of the form
// "<key>: <what is wrong>", so that every validator words its errors the same way.
#pragma once

#include <string>

#include <fmt/format.h>

#include "trainer/core/error.h"
#include "trainer/core/registry.h"

namespace sgm::core {

[[noreturn]] inline void fail_key(const std::string& key, const std::string& what) {
  throw UsageError(fmt::format("{}: {}", key, what));
}

// `value` must be the name of an entry of `table`; the error lists the names.
template <typename Entry>
const Entry& registered(const std::string& key, const std::string& value,
                        const std::vector<Entry>& table) {
  if (const Entry* e = find_entry(table, value)) return *e;
  fail_key(key, fmt::format("'{}' is not one of {}", value, entry_names(table, ", ")));
}

template <typename T>
void at_least(const std::string& key, T value, T minimum) {
  if (value < minimum) fail_key(key, fmt::format("{} is below the minimum {}", value, minimum));
}

inline void positive(const std::string& key, double value) {
  if (!(value > 0)) fail_key(key, fmt::format("{} must be positive", value));
}

}  // namespace sgm::core

// Tables of swappable parts (models, SDEs, predictors, correctors, ODE solvers). Each part kind
// has one table of entries with at least `name` (the configuration value) and `help` (one
// line); its factory, the validator and --help all read that table. These helpers look a name
// up and list the names.
#pragma once

#include <string>
#include <vector>

namespace sgm::core {

// The entry called `name`, or nullptr.
template <typename Entry>
const Entry* find_entry(const std::vector<Entry>& table, const std::string& name) {
  for (const Entry& e : table) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

// "a | b | c" (for --help) or with another separator (", " for error messages).
template <typename Entry>
std::string entry_names(const std::vector<Entry>& table, const char* separator = " | ") {
  std::string out;
  for (const Entry& e : table) out += (out.empty() ? "" : separator) + e.name;
  return out;
}

}  // namespace sgm::core

#include "data/check_hdf5.h"

#include <mutex>
#include <vector>

namespace sgm::data {
namespace {

herr_t collect(unsigned /*n*/, const H5E_error2_t* entry, void* out) {
  auto* messages = static_cast<std::vector<std::string>*>(out);
  std::string text = entry->desc != nullptr ? entry->desc : "";
  if (entry->func_name != nullptr) text = fmt::format("{} (in {})", text, entry->func_name);
  messages->push_back(text);
  return 0;
}

}  // namespace

void hdf5_quiet() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

std::string hdf5_error_stack() {
  std::vector<std::string> messages;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect, &messages);
  H5Eclear2(H5E_DEFAULT);
  if (messages.empty()) return "unknown HDF5 error";
  std::string out;
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (!out.empty()) out += "; ";
    out += *it;
  }
  return out;
}

void throw_hdf5_error(const char* file, int line, const char* call) {
  throw core::Error(core::call_failure_message(file, line, call, hdf5_error_stack()));
}

void throw_hdf5_read_error(const std::string& what, const char* call) {
  throw core::UsageError(what + ": cannot be read (" + call + " failed: " + hdf5_error_stack() +
                         ")");
}

}  // namespace sgm::data

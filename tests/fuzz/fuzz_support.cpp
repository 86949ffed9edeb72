#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <typeinfo>

#include <hdf5.h>

#include "tests/fuzz/fuzz_registry.h"
#include "tests/fuzz/fuzz_target.h"
#include "trainer/core/error.h"

namespace sgm::fuzz {

std::map<std::string, TargetFunction>& targets() {
  static std::map<std::string, TargetFunction> table;
  return table;
}

bool register_target(const char* name, TargetFunction function) {
  targets()[name] = function;
  return true;
}

namespace {

// HDF5 objects (files, datasets, attributes, ...) still open. Once a reader has returned or
// thrown there must be none: lsan.supp suppresses allocations inside HDF5 (it leaks a little on
// some damaged files), so an identifier sgm forgot to close is caught here instead.
ssize_t hdf5_objects_open() { return H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_ALL); }

Outcome run_reader(TargetFunction function, const std::string& bytes) {
  try {
    function(bytes);
  } catch (const core::UsageError& e) {
    const std::string message = e.what();
    if (message.find(kInputName) == std::string::npos)
      return {true, message, "a rejection that does not name the input"};
    if (message.find('\n') != std::string::npos)
      return {true, message, "a rejection of more than one line"};
    return {true, message, ""};
  } catch (const std::exception& e) {
    return {false, e.what(),
            std::string("an exception other than core::UsageError (") + typeid(e).name() + ")"};
  } catch (...) {
    return {false, "", "an exception of unknown type"};
  }
  return {};
}

}  // namespace

Outcome run_input(TargetFunction function, const std::string& bytes) {
  Outcome outcome = run_reader(function, bytes);
  const ssize_t left_open = hdf5_objects_open();
  if (outcome.finding.empty() && left_open != 0)
    outcome.finding = std::to_string(left_open) + " HDF5 object(s) left open";
  return outcome;
}

namespace {

std::string make_input_directory() {
  namespace fs = std::filesystem;
  const fs::path base =
      fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  const fs::path dir =
      base / ("sgm-fuzz-" + std::to_string(::getpid()) + "-" + std::string(kInputName) + ".d");
  fs::create_directories(dir);
  return dir.string();
}

void remove_input_directory() {
  std::error_code ec;
  std::filesystem::remove_all(input_directory(), ec);
}

}  // namespace

const std::string& input_directory() {
  static const std::string dir = make_input_directory();
  // Registered after `dir` is made, so it runs before `dir` is destroyed.
  [[maybe_unused]] static const int cleanup = std::atexit(remove_input_directory);
  return dir;
}

void write_input(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out.flush()) throw core::Error("fuzz: cannot write " + path);
}

void check_input(const char* target, TargetFunction function, const std::string& bytes) {
  const Outcome outcome = run_input(function, bytes);
  if (outcome.finding.empty()) return;
  std::fprintf(stderr, "fuzz target %s: %s: %s\n", target, outcome.finding.c_str(),
               outcome.message.c_str());
  std::abort();
}

}  // namespace sgm::fuzz

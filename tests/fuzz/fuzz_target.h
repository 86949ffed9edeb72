// Fuzz targets: one per reader of a file a user hands sgm. A target passes arbitrary bytes to its
// reader, which may reject them only with core::UsageError carrying one line that names the
// input (what the executables turn into exit 2). Anything else is a finding: another exception,
// a message without the input's name or with a line break, a crash, a sanitizer report, a hang.
//
// Built two ways from the same sources:
//   - SGM_FUZZ_LIBFUZZER (the `fuzz` preset: clang, -fsanitize=fuzzer,address,undefined): each
//     target is a libFuzzer executable fuzz_<name>;
//   - otherwise every target goes into fuzz_replay, which runs saved inputs (the seed corpora and
//     the regression inputs of fixed findings) in the ordinary build and test run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sgm::fuzz {

// The name every target gives its input; a rejection must name it.
inline constexpr const char* kInputName = "fuzz-input.bin";

using TargetFunction = void (*)(const std::string& bytes);

// Adds a target to fuzz_replay's table (returns true, for a static initializer).
bool register_target(const char* name, TargetFunction function);

// What a target did with one input: accepted it, or rejected it as it should (`rejected`), or
// something else (`finding` says what).
struct Outcome {
  bool rejected = false;
  std::string message;  // the rejection's
  std::string finding;
};
Outcome run_input(TargetFunction function, const std::string& bytes);

// For readers that take a file in a directory (HDF5): a directory of this process's own under
// the temporary directory (memory-backed /dev/shm when there is one), made once, whose path
// contains kInputName so that a message naming the file or the directory names the input.
const std::string& input_directory();
// Writes `bytes` to `path`, whole (a core::Error if it cannot).
void write_input(const std::string& path, const std::string& bytes);

// libFuzzer's entry: run_input, and a finding ends the process (abort, which libFuzzer reports
// with the input saved).
void check_input(const char* target, TargetFunction function, const std::string& bytes);

}  // namespace sgm::fuzz

#ifdef SGM_FUZZ_LIBFUZZER
#define SGM_FUZZ_TARGET(name)                                                         \
  static void sgm_fuzz_##name(const std::string& bytes);                              \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { \
    sgm::fuzz::check_input(#name, &sgm_fuzz_##name,                                   \
                           std::string(reinterpret_cast<const char*>(data), size));   \
    return 0;                                                                         \
  }                                                                                   \
  static void sgm_fuzz_##name(const std::string& bytes)
#else
#define SGM_FUZZ_TARGET(name)                                     \
  static void sgm_fuzz_##name(const std::string& bytes);          \
  [[maybe_unused]] static const bool sgm_fuzz_registered_##name = \
      sgm::fuzz::register_target(#name, &sgm_fuzz_##name);        \
  static void sgm_fuzz_##name(const std::string& bytes)
#endif

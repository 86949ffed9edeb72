// fuzz_replay: every fuzz target on its saved inputs, in the ordinary build (no clang needed).
//   fuzz_replay [--only TARGET] [--show] [--seeds DIR] DIR...
// --show prints what the reader said of each input. --seeds DIR: inputs that real writers made
// (NumPy, torch.save), which the reader must accept; they are replayed too.
// For each target, every file under DIR/<target>/ of each DIR (the seed corpus and the regression
// inputs of fixed findings). Fails (exit 1) on a finding, on an input that takes more than 10 s,
// on a rejection for want of memory, and on a target without any input. The process's address
// space is limited to what it has at start plus 256 MiB, so that an allocation of what a hostile
// header states fails here (a reader that allocates before checking is caught even where the
// system would overcommit). A regression input that crashes ends the process: ctest
// reports the test failed, and the last "input" line printed names the file.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <sys/resource.h>

#include "tests/fuzz/fuzz_registry.h"

namespace fs = std::filesystem;

namespace {

// The address space the process has mapped now (VmSize), in bytes; 0 if unknown.
std::uint64_t mapped_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmSize:", 0) == 0) return std::stoull(line.substr(7)) * 1024;  // kB
  return 0;
}

// What a reader says when an allocation failed: std::bad_alloc is a finding already; stb's
// decoder reports "outofmem".
bool out_of_memory(const std::string& message) {
  return message.find("outofmem") != std::string::npos ||
         message.find("out of memory") != std::string::npos;
}

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  std::string only;
  bool show = false;
  fs::path seeds;
  std::vector<fs::path> roots;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else if (arg == "--show") {
      show = true;
    } else if (arg == "--seeds" && i + 1 < argc) {
      seeds = argv[++i];
      roots.push_back(seeds);
    } else {
      roots.emplace_back(arg);
    }
  }
  if (roots.empty()) {
    std::fprintf(stderr, "usage: fuzz_replay [--only TARGET] [--show] [--seeds DIR] DIR...\n");
    return 2;
  }
  constexpr std::uint64_t kHeadroom = std::uint64_t{256} << 20;
  if (const std::uint64_t mapped = mapped_bytes(); mapped > 0) {
    const rlimit limit{mapped + kHeadroom, mapped + kHeadroom};
    if (setrlimit(RLIMIT_AS, &limit) != 0) std::perror("fuzz_replay: setrlimit");
  }
  constexpr double kSlowSeconds = 10;
  int failures = 0;
  for (const auto& [name, function] : sgm::fuzz::targets()) {
    if (!only.empty() && name != only) continue;
    std::vector<fs::path> inputs;
    for (const fs::path& root : roots) {
      if (!fs::is_directory(root / name)) continue;
      for (const auto& entry : fs::recursive_directory_iterator(root / name))
        if (entry.is_regular_file()) inputs.push_back(entry.path());
    }
    std::sort(inputs.begin(), inputs.end());
    if (inputs.empty()) {
      std::printf("FAIL: target %s has no inputs under the given directories\n", name.c_str());
      ++failures;
      continue;
    }
    int rejected = 0;
    double slowest = 0;
    std::string slowest_name;
    for (const fs::path& input : inputs) {
      std::fprintf(stderr, "input %s\n", input.c_str());  // the last line if it crashes
      const auto start = std::chrono::steady_clock::now();
      const std::string bytes = read_bytes(input);
      const sgm::fuzz::Outcome outcome = sgm::fuzz::run_input(function, bytes);
      rejected += outcome.rejected;
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (seconds > slowest) {
        slowest = seconds;
        slowest_name = input.filename().string();
      }
      if (show) {
        std::printf("%s: %s: %s\n", name.c_str(), input.filename().c_str(),
                    outcome.rejected ? outcome.message.c_str() : "accepted");
      }
      if (!outcome.finding.empty()) {
        std::printf("FAIL: %s on %s: %s: %s\n", name.c_str(), input.c_str(),
                    outcome.finding.c_str(), outcome.message.c_str());
        ++failures;
      } else if (outcome.rejected && out_of_memory(outcome.message)) {
        std::printf("FAIL: %s on %s: an allocation beyond the replay's limit (256 MiB): %s\n",
                    name.c_str(), input.c_str(), outcome.message.c_str());
        ++failures;
      } else if (outcome.rejected && !seeds.empty() && input.parent_path() == seeds / name) {
        std::printf("FAIL: %s rejected the real file %s: %s\n", name.c_str(), input.c_str(),
                    outcome.message.c_str());
        ++failures;
      } else if (seconds > kSlowSeconds) {
        std::printf("FAIL: %s on %s took %.1f s (limit %.0f s)\n", name.c_str(), input.c_str(),
                    seconds, kSlowSeconds);
        ++failures;
      }
    }
    std::printf(
        "[evidence] %s: %zu inputs, %d rejected with one line naming the input, %zu "
        "accepted; slowest %.3f s (%s)\n",
        name.c_str(), inputs.size(), rejected, inputs.size() - rejected, slowest,
        slowest_name.c_str());
  }
  if (failures == 0) std::printf("PASS\n");
  return failures == 0 ? 0 : 1;
}

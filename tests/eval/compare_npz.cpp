// compare_npz A B KEY TOLERANCE: array KEY of two .npz files, or of every round-*.npz of two
// directories concatenated in round order (sgm-eval's rounds), compared as float64. Prints the
// largest absolute difference and its ratio to max |A|; exit 0 when that ratio is at most
// TOLERANCE (0: identical) and the shapes agree, 1 otherwise.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/ATen.h>

#include "data/numpy_arrays.h"

namespace {

at::Tensor load(const std::string& path, const std::string& key) {
  std::vector<std::string> files;
  if (std::filesystem::is_directory(path)) {
    for (const auto& e : std::filesystem::directory_iterator(path)) {
      const std::string name = e.path().filename().string();
      if (name.rfind("round-", 0) == 0) files.push_back(e.path().string());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(path);
  }
  std::vector<at::Tensor> parts;
  for (const std::string& f : files) parts.push_back(sgm::data::read_numpy_arrays(f).at(key));
  return at::cat(parts).to(at::kDouble);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: compare_npz A B KEY TOLERANCE\n");
    return 2;
  }
  const at::Tensor a = load(argv[1], argv[3]), b = load(argv[2], argv[3]);
  if (a.sizes() != b.sizes()) {
    std::printf("FAIL: %s has %lld rows in one, %lld in the other\n", argv[3],
                static_cast<long long>(a.size(0)), static_cast<long long>(b.size(0)));
    return 1;
  }
  const double diff = a.numel() ? (a - b).abs().max().item<double>() : 0.0;
  const double scale = a.numel() ? a.abs().max().item<double>() : 0.0;
  const double ratio = scale > 0 ? diff / scale : diff;
  const double tolerance = std::atof(argv[4]);
  std::printf(
      "[evidence] %s: %lld values, max |a - b| = %.3g, relative to max |a| = %.3g "
      "(tolerance %.3g)\n",
      argv[3], static_cast<long long>(a.numel()), diff, ratio, tolerance);
  return ratio <= tolerance ? 0 : 1;
}

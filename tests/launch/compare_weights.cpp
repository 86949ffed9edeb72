// compare_weights A.h5 B.h5 TOLERANCE [PART]: compares every array of two `sgm-eval export`
// files (model/* and ema/*), or those whose name contains PART, and prints the largest absolute
// difference, relative to the largest magnitude. Exit 0 when it is at most TOLERANCE (0:
// bit-identical), 1 otherwise.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <ATen/ATen.h>

#include "data/named_arrays.h"

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    std::fprintf(stderr, "usage: compare_weights A.h5 B.h5 TOLERANCE [PART]\n");
    return 2;
  }
  const std::string part = argc == 5 ? argv[4] : "";
  const sgm::data::NamedArrayFile a(argv[1]), b(argv[2]);
  const double tolerance = std::atof(argv[3]);
  double worst = 0, scale = 0;
  std::string worst_name;
  std::size_t arrays = 0;
  for (const char* group : {"model", "ema"}) {
    const auto left = a.read_group(group), right = b.read_group(group);
    if (left.size() != right.size()) {
      std::printf("FAIL: %s has %zu arrays in one file, %zu in the other\n", group, left.size(),
                  right.size());
      return 1;
    }
    for (const auto& [name, x] : left) {
      if (name.find(part) == std::string::npos) continue;
      const auto it = right.find(name);
      if (it == right.end() || it->second.sizes() != x.sizes()) {
        std::printf("FAIL: %s/%s missing or of another shape\n", group, name.c_str());
        return 1;
      }
      const double d = (x.to(at::kDouble) - it->second.to(at::kDouble)).abs().max().item<double>();
      scale = std::max(scale, x.to(at::kDouble).abs().max().item<double>());
      if (d > worst || worst_name.empty()) {
        worst = d;
        worst_name = std::string(group) + "/" + name;
      }
      ++arrays;
    }
  }
  if (arrays == 0) {
    std::printf("FAIL: no arrays named *%s*\n", part.c_str());
    return 1;
  }
  const double relative = scale > 0 ? worst / scale : worst;
  std::printf(
      "[evidence] %zu arrays: max abs diff %.3e (at %s), relative to max |w| %.3e: %.3e, "
      "tolerance %.1e\n",
      arrays, worst, worst_name.c_str(), scale, relative, tolerance);
  return relative <= tolerance ? 0 : 1;
}

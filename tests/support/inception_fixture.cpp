#include "tests/support/inception_fixture.h"

#include <cmath>
#include <cstdint>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

namespace sgm::testing {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  std::uint64_t z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::vector<std::pair<std::string, std::vector<std::int64_t>>> parse_key_order(
    const std::string& key_order_json) {
  std::vector<std::pair<std::string, std::vector<std::int64_t>>> out;
  for (const auto& entry : nlohmann::json::parse(key_order_json))
    out.emplace_back(entry.at(0).get<std::string>(), entry.at(1).get<std::vector<std::int64_t>>());
  return out;
}

std::map<std::string, at::Tensor> fill_rule_weights(
    const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& keys) {
  std::map<std::string, at::Tensor> out;
  for (std::size_t k = 0; k < keys.size(); ++k) {
    const auto& [name, shape] = keys[k];
    if (ends_with(name, "num_batches_tracked")) {
      out.emplace(name, at::zeros(shape, at::kLong));
      continue;
    }
    std::int64_t n = 1;
    for (std::int64_t s : shape) n *= s;
    at::Tensor t = at::empty({n}, at::kFloat);
    float* data = t.data_ptr<float>();
    const double fan_in = shape.empty() ? 1.0 : static_cast<double>(n / shape[0]);
    for (std::int64_t i = 0; i < n; ++i) {
      const std::uint64_t word =
          splitmix64((static_cast<std::uint64_t>(k) << 32) + static_cast<std::uint64_t>(i));
      const double u = static_cast<double>(word >> 11) * 0x1.0p-53;
      const double v = 2 * u - 1;
      double value = 0;
      if (ends_with(name, "conv.weight") || name == "fc.weight")
        value = v * std::sqrt(6 / fan_in);
      else if (ends_with(name, "bn.weight"))
        value = 1 + 0.1 * v;
      else if (ends_with(name, "bn.bias") || ends_with(name, "bn.running_mean"))
        value = 0.1 * v;
      else if (ends_with(name, "bn.running_var"))
        value = 1 + 0.5 * v * v;
      else if (name == "fc.bias")
        value = 0.01 * v;
      data[i] = static_cast<float>(value);
    }
    out.emplace(name, t.view(shape));
  }
  return out;
}

}  // namespace sgm::testing

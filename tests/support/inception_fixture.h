// The deterministic FID-Inception weights of the metric fixtures: each
// state_dict entry k (in the fixture's sorted key order) filled from splitmix64(k * 2^32 + i).
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

namespace sgm::testing {

// The [name, shape] list of the fixture's `key_order_json` attribute, in its order.
std::vector<std::pair<std::string, std::vector<std::int64_t>>> parse_key_order(
    const std::string& key_order_json);

// Weights by the fixture's `fill_rule` for those keys (float32; num_batches_tracked: int64 0).
std::map<std::string, at::Tensor> fill_rule_weights(
    const std::vector<std::pair<std::string, std::vector<std::int64_t>>>& keys);

}  // namespace sgm::testing

#include "trainer/models/score_model.h"

#include <fmt/format.h>

namespace sgm::models {

std::int64_t ScoreModel::num_trainable_parameters() const {
  std::int64_t n = 0;
  for (const auto& p : parameters()) {
    if (p.requires_grad()) n += p.numel();
  }
  return n;
}

std::int64_t ScoreModel::num_frozen_parameters() const {
  std::int64_t n = 0;
  for (const auto& p : parameters()) {
    if (!p.requires_grad()) n += p.numel();
  }
  return n;
}

std::string ScoreModel::summary() const {
  std::string out;
  for (const auto& child : named_children()) {
    std::int64_t n = 0;
    std::int64_t tensors = 0;
    for (const auto& p : child.value()->parameters()) {
      n += p.numel();
      ++tensors;
    }
    out += fmt::format("  {:<10} {:>12} parameters in {} tensors\n", child.key(), n, tensors);
  }
  out += fmt::format("frozen parameters: {}\n", num_frozen_parameters());
  out += fmt::format("parameters: {}\n", num_trainable_parameters());
  return out;
}

core::NamedTensors named_state(ScoreModel& model) {
  core::NamedTensors out;
  for (const auto& item : model.named_parameters()) out.emplace_back(item.key(), item.value());
  for (const auto& item : model.named_buffers()) out.emplace_back(item.key(), item.value());
  return out;
}

}  // namespace sgm::models

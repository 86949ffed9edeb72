#include "trainer/models/score_model.h"

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

}  // namespace sgm::models

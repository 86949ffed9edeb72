// Class conditioning (model.num_classes = K > 0), placed and scaled as in EDM's SongUNet: the
// class enters as a one-hot row of K values (all zero: no class), times sqrt(K), through a dense
// layer without bias, and is added to the noise embedding before the embedding's dense layers.
// Without a bias the zero row adds exactly nothing, so one network trained with label dropout
// (training.label_dropout) gives both the conditional and the unconditional score.
#pragma once

#include <cstdint>

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace sgm::models {

// One-hot rows [B, K] (float32) of class indices [B] (int64); an index of -1 is "no class" (a
// row of zeros). Indices outside [-1, K) are a core::UsageError.
torch::Tensor class_one_hot(const torch::Tensor& classes, std::int64_t num_classes);

class ClassEmbeddingImpl : public torch::nn::Module {
 public:
  ClassEmbeddingImpl(std::int64_t num_classes, std::int64_t dim);
  // temb [B, dim] + the embedding of class_labels [B, K]; temb as it is when class_labels is
  // undefined (a run without classes calls the conditional network only with classes).
  torch::Tensor forward(const torch::Tensor& temb, const torch::Tensor& class_labels);

 private:
  std::int64_t num_classes_;
  torch::nn::Linear map_{nullptr};
};
TORCH_MODULE(ClassEmbedding);

}  // namespace sgm::models

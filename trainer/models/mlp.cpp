#include "trainer/models/mlp.h"

#include <cmath>

#include "trainer/core/error.h"

namespace sgm::models {

MlpScore::MlpScore(const MlpOptions& options)
    : options_(options),
      data_size_(options.channels() * options.image_size() * options.image_size()),
      width_(options.nf() * 4),
      act_(activation(options.nonlinearity())) {
  SGM_CHECK(options.embedding_type() == "fourier" || options.embedding_type() == "positional",
            "model.embedding_type = {} (mlp: fourier or positional)", options.embedding_type());
  if (options.embedding_type() == "fourier") {
    SGM_CHECK(options.continuous(),
              "model.embedding_type: fourier needs training.continuous = true");
    fourier_ = register_module("fourier",
                               GaussianFourierProjection(options.nf(), options.fourier_scale()));
  }
  if (options.num_classes() > 0)
    class_embedding_ =
        register_module("class_embedding", ClassEmbedding(options.num_classes(), 2 * options.nf()));
  temb0_ = register_module("temb0", dense(2 * options.nf(), width_));
  temb1_ = register_module("temb1", dense(width_, width_));
  input_ = register_module("input", dense(data_size_, width_));
  for (std::int64_t i = 0; i < options.num_res_blocks(); ++i) {
    blocks_->push_back(dense(width_, width_));
    blocks_->push_back(dense(width_, width_));
    blocks_->push_back(dense(width_, width_));
  }
  register_module("blocks", blocks_);
  output_ = register_module("output", dense(width_, data_size_));
}

torch::Tensor MlpScore::forward(const torch::Tensor& x, const torch::Tensor& labels,
                                const torch::Tensor& class_labels) {
  const auto B = x.size(0);
  torch::Tensor temb = options_.embedding_type() == "fourier"
                           ? fourier_->forward(torch::log(labels))
                           : timestep_embedding(labels, 2 * options_.nf());
  if (class_embedding_)
    temb = class_embedding_->forward(temb, class_labels);
  else
    SGM_CHECK(!class_labels.defined(), "class labels for a network without classes");
  temb = temb1_->forward(act_(temb0_->forward(temb)));
  torch::Tensor h = input_->forward(x.reshape({B, data_size_}));
  for (std::size_t i = 0; i + 2 < blocks_->size(); i += 3) {
    auto first = blocks_->ptr<torch::nn::LinearImpl>(i);
    auto time = blocks_->ptr<torch::nn::LinearImpl>(i + 1);
    auto second = blocks_->ptr<torch::nn::LinearImpl>(i + 2);
    h = h + second->forward(act_(first->forward(act_(h)) + time->forward(act_(temb))));
  }
  torch::Tensor out = output_->forward(act_(h)).view(x.sizes());
  if (options_.scale_by_sigma()) {
    // VE: labels are sigma(t); the network predicts sigma * score.
    out = out / labels.reshape({B, 1, 1, 1});
  }
  return out;
}

}  // namespace sgm::models

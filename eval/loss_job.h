// The evaluation loss of a checkpoint (score_sde run_lib.evaluate step 2, eval.enable_loss): the
// continuous-time DSM loss of training (trainer/sde/losses.h) with the EMA weights over every
// image of the evaluation split, with t and z keyed by (seed, image), so the value does not
// depend on the world size or the batch. Collective; rounds are stored and resumed.
#pragma once

#include <cstdint>
#include <string>

#include "eval/eval_network.h"
#include "trainer/dist/communicator.h"
#include "trainer/sde/training_loss.h"

namespace sgm::eval {

struct LossJobOptions {
  std::int64_t batch_size = 1024;
  std::int64_t max_images = 0;         // 0: the whole split
  sde::TrainingLossOptions objective;  // the training run's
  bool dequantize = false;             // data.uniform_dequantization
  std::uint64_t seed = 0;
};

struct LossSummary {
  double mean = 0;
  std::int64_t count = 0;
};

std::string loss_manifest(const LossJobOptions& options, const std::string& dataset_dir,
                          const std::string& weights_id);

// Valid on rank 0.
LossSummary evaluation_loss(const EvalNetwork& net, const std::string& dataset_dir, bool centered,
                            const LossJobOptions& options, const std::string& weights_id,
                            const std::string& dir, dist::Communicator& comm,
                            const at::Device& device);

}  // namespace sgm::eval

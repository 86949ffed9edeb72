// Bits/dim of a dataset split (score_sde's protocol): every image of the split,
// uniformly dequantised ((k + u) / 256, then the data scaler), through the probability-flow ODE
// (eval/likelihood.h), `passes` times with fresh dequantisation noise and probes (score_sde:
// 5 passes over the test split, 1 over the training split). Item j = pass * N + image is
// computed by whichever rank holds it; its noise and probes are keyed by (seed, j), so values do
// not depend on the world size or the batch. Rounds are stored (round-<r>.npz: item, image,
// pass, bpd, nfe) and resumed like the samples. Continuous (float32) datasets are used as they
// are, with no dequantisation and no offset.
#pragma once

#include <cstdint>
#include <string>

#include "eval/eval_network.h"
#include "eval/likelihood.h"
#include "trainer/dist/communicator.h"

namespace sgm::eval {

struct BpdJobOptions {
  LikelihoodOptions likelihood;
  std::int64_t batch_size = 1024;  // global items per round
  std::int64_t passes = 0;         // 0: 5 over the test split, 1 over the training split
  std::int64_t max_images = 0;     // 0: the whole split; else its first max_images images
  std::uint64_t seed = 0;

  void declare_keys(core::Keys& k) {
    likelihood.declare_keys(k);
    k("eval.bpd_passes", passes,
      "passes over the split, each with fresh dequantisation (0: 5 for test, 1 for train)");
    k("eval.bpd_max_images", max_images, "only the first N images (0: the whole split)");
  }
};

struct BpdSummary {
  double mean = 0;
  double standard_error = 0;  // of the mean: std (ddof 1) / sqrt(count)
  std::int64_t count = 0;     // items (images x passes)
  double nfe_mean = 0;
};

std::string bpd_manifest(const BpdJobOptions& options, const std::string& dataset_dir,
                         const std::string& weights_id);

// Collective; the summary is valid on rank 0. `centered`: the data scaler (offset 7, else 8).
BpdSummary bits_per_dim(const EvalNetwork& net, const std::string& dataset_dir, bool centered,
                        const BpdJobOptions& options, const std::string& weights_id,
                        const std::string& dir, dist::Communicator& comm, const at::Device& device);

}  // namespace sgm::eval

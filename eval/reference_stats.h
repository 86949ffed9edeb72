// Reference statistics for FID/KID: reading pytorch-fid / clean-fid / EDM
// files (`mu`, `sigma`) and score_sde's (`pool_3` activations: mu and the unbiased sigma are
// computed in float64, and KID becomes possible), and `sgm-eval stats`: the statistics of a
// dataset, accumulated in float64 on every rank and all-reduced, written as such a .npz.
#pragma once

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

#include "eval/inception.h"
#include "trainer/core/keys.h"
#include "trainer/dist/communicator.h"

namespace sgm::eval {

struct ReferenceStats {
  at::Tensor mu;           // float64 [d]
  at::Tensor sigma;        // float64 [d, d]
  at::Tensor features;     // pool_3 [n, d] when the file has them (KID), else undefined
  std::int64_t count = 0;  // images behind mu/sigma when known (0: not recorded)
  std::string path;
  std::string checksum;  // of the file (core::file_checksum), recorded with every number
};

// Throws core::UsageError naming the file when it cannot be read or has neither `mu` and
// `sigma` nor `pool_3`, or their shapes disagree.
ReferenceStats load_reference_stats(const std::string& path);

struct DatasetStatsOptions {
  std::int64_t batch_size = 1000;    // global images per round
  std::int64_t feature_batch = 200;  // Inception batch on each rank
  bool keep_features = false;        // also write pool_3 (KID references; 8 KiB per image)

  void declare_keys(core::Keys& k) {
    k("eval.stats_features", keep_features,
      "sgm-eval stats also stores the features (pool_3, 8 KiB per image) for KID");
  }
};

// The statistics of every image of the dataset in `dataset_dir` (uint8 shards), written by
// rank 0 to `out` as .npz {mu, sigma (float64), num_images, and pool_3 when kept}. Collective.
// Returns the number of images.
std::int64_t write_dataset_statistics(const std::string& dataset_dir, const std::string& out,
                                      FidInceptionImpl& net, const DatasetStatsOptions& options,
                                      dist::Communicator& comm, const at::Device& device);

}  // namespace sgm::eval

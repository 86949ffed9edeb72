// Samples of a checkpoint and the image metrics over them (score_sde run_lib.evaluate steps 4-6,
// made resumable and world-size independent): sample i is drawn from noise keyed by (seed, i), in
// rounds of eval.batch_size split over the ranks; each round is stored whole
// (DIR/round-<r>.npz: indices, samples uint8 [n, H, W, C], nfe, and with a detector pool3 and
// logits), so an interrupted job resumes at the next round and the set does not depend on the
// world size. Exactly num_samples images are drawn (score_sde draws whole rounds and keeps the
// first 50,000 in glob order).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "data/image_grid.h"
#include "eval/eval_network.h"
#include "eval/inception.h"
#include "eval/metrics.h"
#include "eval/reference_stats.h"
#include "eval/rounds.h"
#include "eval/sampling.h"
#include "trainer/core/keys.h"
#include "trainer/dist/communicator.h"

namespace sgm::eval {

struct SampleJobOptions {
  SamplingOptions sampling;
  std::int64_t num_samples = 50000;
  std::int64_t batch_size = 1024;  // global samples per round
  std::uint64_t seed = 0;
  // Global index of the first sample (its noise is keyed by the index): seed set k of
  // eval.seed_sets starts at k * num_samples.
  std::int64_t first_index = 0;
  std::string quantize = "truncate";  // truncate (score_sde's uint8 conversion) | round
  std::int64_t feature_batch = 200;   // Inception batch per rank
  std::int64_t grid = 64;             // samples in grid.png
  std::string image_format = "npz";   // png: also DIR/png/<index:06d>.png per sample
  // Controllable generation (eval/controllable.h): sample i inpaints or colourises image
  // i mod size of `condition_data`; the rounds also store the visible input ("inputs") and
  // grid.png shows input and result side by side.
  std::string task = "sample";     // sample | inpaint | colorize
  std::string mask = "left_half";  // inpaint: eval.mask
  std::string condition_data;      // dataset directory of the images to complete
  // Class-conditional sampling (eval/classifier_guidance.h): a TorchScript classifier guides
  // sample i to class_label, or to i mod num_classes when class_label < 0; rounds store
  // "labels".
  std::string classifier;
  std::int64_t class_label = -1;
  std::int64_t num_classes = 10;
  double guidance_scale = 1;

  void declare_keys(core::Keys& k) {
    sampling.declare_keys(k);
    k("eval.num_samples", num_samples, "number of samples for FID/IS/KID");
    k("eval.quantize", quantize,
      "samples to uint8: truncate (score_sde, what its statistics saw) | round (EDM)");
    k("eval.feature_batch", feature_batch, "Inception batch size on each rank");
    k("eval.grid", grid, "samples shown in each checkpoint's grid.png");
    k("eval.image_format", image_format,
      "npz (the rounds only) | png: also every sample as samples/png/<index:06d>.png, the "
      "folder pytorch-fid, clean-fid and EDM's fid.py read");
    k("eval.task", task,
      "sample | inpaint | colorize: complete the images of eval.data_path (else data.path) with "
      "the PC sampler");
    k("eval.mask", mask,
      "inpaint: known region, left_half | top_half | center | FILE.png (white = known)");
    k("eval.classifier", classifier,
      "class-conditional sampling: TorchScript classifier file, forward(x, sigma) -> logits");
    k("eval.class_label", class_label,
      "the class of every guided sample; -1: sample i gets class i mod eval.num_classes");
    k("eval.num_classes", num_classes, "classes of the guiding classifier");
    k("eval.guidance_scale", guidance_scale,
      "weight of the classifier gradient (1: the conditional score, as the paper)");
  }
};

struct SampleSummary {
  std::int64_t count = 0;
  double nfe_mean = 0;             // network evaluations per sample (ours)
  std::int64_t reference_nfe = 0;  // what score_sde would report
  bool features = false;           // pool3 and logits are stored
};

// The JSON the rounds are keyed by: every option that changes their content, and the weights.
std::string sample_manifest(const SampleJobOptions& options, const std::string& weights_id,
                            bool features);

// Every sample of the rounds in `dir` as dir/png/<index:06d>.png, exactly the stored uint8
// pixels; files already there are kept (a rerun completes an interrupted export). Rank 0.
void write_sample_pngs(const std::string& dir, const RoundPlan& plan);

// Draws the samples not yet in `dir` (collective) and writes dir/grid.png (rank 0), and with
// eval.image_format = png the sample PNGs. With
// `inception` (may be null), each rank also stores the Inception outputs of its samples.
SampleSummary draw_sample_rounds(const EvalNetwork& net, const std::vector<std::int64_t>& shape,
                                 bool centered, const SampleJobOptions& options,
                                 FidInceptionImpl* inception, const std::string& weights_id,
                                 const std::string& dir, dist::Communicator& comm,
                                 const at::Device& device);

struct ImageMetricOptions {
  std::int64_t is_splits = 10;     // score_sde reports 1 split (all samples)
  std::int64_t kid_subsets = 100;  // StyleGAN2-ADA / clean-fid
  std::int64_t kid_subset_size = 1000;
  std::uint64_t kid_seed = 0;

  void declare_keys(core::Keys& k) {
    k("eval.is_splits", is_splits, "Inception Score splits (score_sde reports 1)");
    k("eval.kid_subsets", kid_subsets, "KID subsets (seeded by seed)");
    k("eval.kid_subset_size", kid_subset_size, "KID subset size");
  }
};

struct ImageMetrics {
  double fid = 0;
  MeanStd inception_score;
  bool has_kid = false;  // the reference has features (pool_3)
  MeanStd kid;
  std::int64_t count = 0;
};

// FID, IS and KID of the stored samples of `dir` against `reference` (call on one rank).
ImageMetrics image_metrics(const std::string& dir, std::int64_t num_samples,
                           std::int64_t batch_size, const ReferenceStats& reference,
                           const ImageMetricOptions& options);

}  // namespace sgm::eval

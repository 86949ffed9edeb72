// toy2d_check WORKDIR DATASET [SAMPLES STEPS [weights]]: issue 6's test 8. Loads the newest
// checkpoint of a run trained on a labelled 2-D Gaussian mixture (`sgm-data make --from toy --toy
// gmm`), draws SAMPLES samples (8,000) with the EMA weights (the evaluation library's
// Euler-Maruyama on the reverse SDE, STEPS steps: 500), assigns each to the nearest mode of the
// data, and compares per mode the weight, mean and standard deviation per axis with the data's.
// Prints the table; exit 0 when every figure is within its tolerance, or with `weights` when
// every mode's weight is (the means and deviations are printed, not checked).
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include <ATen/ATen.h>
#include <torch/utils.h>

#include "data/sharded_dataset.h"
#include "eval/sampling.h"
#include "launch/cli/options.h"
#include "trainer/models/registry.h"
#include "trainer/sde/registry.h"
#include "trainer/sde/score_fn.h"
#include "trainer/train/checkpoint.h"

int main(int argc, char** argv) {
  using namespace sgm;
  if (argc != 3 && argc != 5 && argc != 6) {
    std::fprintf(stderr, "usage: toy2d_check WORKDIR DATASET [SAMPLES STEPS [weights]]\n");
    return 2;
  }
  const std::int64_t n = argc > 3 ? std::stoll(argv[3]) : 8000;
  const std::int64_t steps = argc > 3 ? std::stoll(argv[4]) : 500;
  const bool weights_only = argc == 6 && std::string(argv[5]) == "weights";
  const train::Checkpoint checkpoint = train::find_checkpoint(argv[1]);
  // The run's resolved configuration, as stored in the checkpoint.
  const std::string cfg =
      std::filesystem::temp_directory_path() / ("sgm-toy2d-" + std::to_string(::getpid()) + ".cfg");
  std::ofstream(cfg) << checkpoint.state.config;
  const char* args[] = {"toy2d_check", "--config", cfg.c_str()};
  const cli::Parsed parsed =
      cli::parse_command_line(cli::Program{"toy2d_check", "", "", {}}, 3, args);
  std::filesystem::remove(cfg);
  const train::TrainOptions& c = parsed.config.train;

  auto model = models::make_model(c.model, c.shape, c.sde);
  {
    torch::NoGradGuard no_grad;
    std::map<std::string, at::Tensor> ema(checkpoint.ema.begin(), checkpoint.ema.end());
    std::map<std::string, at::Tensor> weights(checkpoint.model.begin(), checkpoint.model.end());
    for (auto& item : model->named_parameters()) {
      const auto it = ema.find(item.key());
      item.value().copy_(it != ema.end() ? it->second : weights.at(item.key()));
    }
  }
  model->eval();
  sde::SdeOptions so = c.sde;
  so.num_scales = steps;
  std::shared_ptr<sde::SDE> sde = sde::make_sde(so);
  const sde::ModelFn net = [&](const at::Tensor& x, const at::Tensor& labels) {
    return model->forward(x, labels);
  };
  eval::SamplingOptions sampling;
  sampling.predictor = "euler_maruyama";
  sampling.corrector = "none";
  sampling.eps = 1e-3;
  const at::NoGradGuard no_grad;
  // Rounds of at most 2,000 points: each sample's noise is keyed by its index, so the rounds
  // change no sample, and a batch of 8,000 runs about 1.5x slower per point (its activations
  // leave the caches).
  std::vector<at::Tensor> rounds;
  for (std::int64_t begin = 0; begin < n; begin += 2000)
    rounds.push_back(eval::draw_samples(sde, sde::get_score_fn(sde, net, c.sde.continuous),
                                        at::arange(begin, std::min(n, begin + 2000), at::kLong),
                                        {2, 1, 1}, 123, sampling, at::kCPU)
                         .x);
  const at::Tensor samples = at::cat(rounds).view({n, 2}).to(at::kDouble);

  const data::ShardedDataset dataset(argv[2]);
  const at::Tensor points = dataset.read_all_images().view({-1, 2}).to(at::kDouble);
  const at::Tensor labels = dataset.all_labels().to(at::kLong);
  const std::int64_t K = labels.max().item<std::int64_t>() + 1;
  std::vector<at::Tensor> data_modes;
  for (std::int64_t k = 0; k < K; ++k) data_modes.push_back(points.index({labels == k}));
  std::vector<at::Tensor> means;
  for (const auto& m : data_modes) means.push_back(m.mean(0));
  const at::Tensor centres = at::stack(means);                       // [K, 2]
  const at::Tensor nearest = at::cdist(samples, centres).argmin(1);  // [n]

  constexpr double kWeightTol = 0.03, kMeanTol = 0.05, kStdTol = 0.03;
  std::printf(
      "[evidence] mode | weight data / samples | mean data / samples | std data / samples "
      "(tolerances %.2f, %.2f, %.2f%s; %lld samples, %lld steps)\n",
      kWeightTol, kMeanTol, kStdTol, weights_only ? ", only the weights checked" : "",
      static_cast<long long>(n), static_cast<long long>(steps));
  bool ok = true;
  for (std::int64_t k = 0; k < K; ++k) {
    const at::Tensor d = data_modes[static_cast<std::size_t>(k)];
    const at::Tensor s = samples.index({nearest == k});
    const double wd = static_cast<double>(d.size(0)) / static_cast<double>(points.size(0));
    const double ws = static_cast<double>(s.size(0)) / static_cast<double>(n);
    if (s.size(0) < 10) {
      std::printf("mode %lld: %lld samples\n", static_cast<long long>(k),
                  static_cast<long long>(s.size(0)));
      ok = false;
      continue;
    }
    const at::Tensor md = d.mean(0), ms = s.mean(0), sd = d.std(0), ss = s.std(0);
    const double mean_err = (md - ms).abs().max().item<double>();
    const double std_err = (sd - ss).abs().max().item<double>();
    const bool mode_ok = std::abs(wd - ws) <= kWeightTol &&
                         (weights_only || (mean_err <= kMeanTol && std_err <= kStdTol));
    ok = ok && mode_ok;
    std::printf(
        "  %lld | %.3f / %.3f | (%.3f, %.3f) / (%.3f, %.3f) | (%.3f, %.3f) / (%.3f, %.3f)%s\n",
        static_cast<long long>(k), wd, ws, md[0].item<double>(), md[1].item<double>(),
        ms[0].item<double>(), ms[1].item<double>(), sd[0].item<double>(), sd[1].item<double>(),
        ss[0].item<double>(), ss[1].item<double>(), mode_ok ? "" : "   <- outside the tolerance");
  }
  return ok ? 0 : 1;
}

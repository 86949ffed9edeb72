#include "eval/loss_job.h"

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "data/sharded_dataset.h"
#include "eval/dataset_batch.h"
#include "eval/rounds.h"
#include "trainer/sde/losses.h"

namespace sgm::eval {

std::string loss_manifest(const LossJobOptions& o, const std::string& dataset_dir,
                          const std::string& weights_id) {
  const nlohmann::json j = {{"kind", "loss"},
                            {"weights", weights_id},
                            {"dataset", dataset_dir},
                            {"seed", o.seed},
                            {"max_images", o.max_images},
                            {"batch_size", o.batch_size},
                            {"reduce_mean", o.objective.reduce_mean},
                            {"likelihood_weighting", o.objective.likelihood_weighting},
                            {"dequantize", o.dequantize}};
  return j.dump(2) + "\n";
}

LossSummary evaluation_loss(const EvalNetwork& net, const std::string& dataset_dir, bool centered,
                            const LossJobOptions& o, const std::string& weights_id,
                            const std::string& dir, dist::Communicator& comm,
                            const at::Device& device) {
  const data::ShardedDataset dataset(dataset_dir);
  const std::int64_t images =
      o.max_images > 0 ? std::min(o.max_images, dataset.size()) : dataset.size();
  const core::CounterRng rng(o.seed);
  RoundStore store(dir, loss_manifest(o, dataset_dir, weights_id), comm);
  const RoundPlan plan{images, o.batch_size, "loss", "images"};
  store.run(plan, [&](std::int64_t begin, std::int64_t size) {
    const at::Tensor index = at::arange(begin, begin + size, at::kLong);
    at::Tensor loss = at::empty({size}, at::kDouble);
    if (size > 0) {
      at::NoGradGuard no_grad;
      const at::Tensor x =
          dataset_batch(dataset, index, index, centered, o.dequantize, rng).to(device);
      const at::Tensor u = rng.uniform(index, 1, core::RngStream::kTime).view({size});
      const at::Tensor t = sde::training_time(u, *net.sde).to(device);
      const at::Tensor z =
          rng.normal(index, x[0].numel(), core::RngStream::kNoise).view(x.sizes()).to(device);
      loss = sde::sde_loss(*net.sde, net.score, x, t, z, o.objective.reduce_mean,
                           o.objective.likelihood_weighting)
                 .to(at::kCPU, at::kDouble);
    }
    return Arrays{{"image", index}, {"loss", loss}};
  });
  LossSummary s;
  if (comm.rank() != 0) return s;
  const at::Tensor loss = concatenate_rounds(dir, plan, "loss");
  s.count = loss.size(0);
  s.mean = loss.mean().item<double>();
  return s;
}

}  // namespace sgm::eval

#include "eval/bpd_job.h"

#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "data/sharded_dataset.h"
#include "eval/dataset_batch.h"
#include "eval/rounds.h"
#include "trainer/core/error.h"
#include "trainer/core/log.h"
#include "trainer/core/rng.h"

namespace sgm::eval {

std::string bpd_manifest(const BpdJobOptions& o, const std::string& dataset_dir,
                         const std::string& weights_id) {
  const LikelihoodOptions& l = o.likelihood;
  const nlohmann::json j = {{"kind", "bpd"},
                            {"weights", weights_id},
                            {"dataset", dataset_dir},
                            {"seed", o.seed},
                            {"passes", o.passes},
                            {"max_images", o.max_images},
                            {"batch_size", o.batch_size},
                            {"likelihood",
                             {{"rtol", l.rtol},
                              {"atol", l.atol},
                              {"eps", l.eps},
                              {"divergence", l.divergence},
                              {"probes", l.probes}}}};
  return j.dump(2) + "\n";
}

BpdSummary bits_per_dim(const EvalNetwork& net, const std::string& dataset_dir, bool centered,
                        const BpdJobOptions& o, const std::string& weights_id,
                        const std::string& dir, dist::Communicator& comm,
                        const at::Device& device) {
  const data::ShardedDataset dataset(dataset_dir);
  const std::int64_t images =
      o.max_images > 0 ? std::min(o.max_images, dataset.size()) : dataset.size();
  if (images < 1 || o.passes < 1)
    throw core::UsageError(fmt::format("{}: nothing to evaluate ({} images, {} passes)",
                                       dataset_dir, images, o.passes));
  const bool discrete = !dataset.is_float();
  const double offset = discrete ? (centered ? 7.0 : 8.0) : 0.0;
  const core::CounterRng rng(o.seed);
  RoundStore store(dir, bpd_manifest(o, dataset_dir, weights_id), comm);
  const RoundPlan plan{images * o.passes, o.batch_size, "bpd", "images"};
  store.run(plan, [&](std::int64_t begin, std::int64_t size) {
    const at::Tensor items = at::arange(begin, begin + size, at::kLong);
    const at::Tensor image = items.remainder(images);
    const at::Tensor x = dataset_batch(dataset, image, items, centered, true, rng);
    Arrays out{{"item", items}, {"image", image}, {"pass", items.div(images, "floor")}};
    at::Tensor bpd = at::empty({size}, at::kDouble);
    at::Tensor nfe = at::zeros({size}, at::kLong);
    if (size > 0) {
      const Likelihood l = likelihood(net.sde, net.score, x.to(device), items,
                                      /*round=*/0, o.seed, o.likelihood, offset);
      bpd = l.bpd.to(at::kCPU, at::kDouble);
      nfe = at::tensor(l.nfe, at::kLong);
    }
    out.emplace_back("bpd", bpd);
    out.emplace_back("nfe", nfe);
    return out;
  });
  BpdSummary s;
  if (comm.rank() != 0) return s;
  const at::Tensor bpd = concatenate_rounds(dir, plan, "bpd");
  s.count = bpd.size(0);
  s.mean = bpd.mean().item<double>();
  s.standard_error =
      s.count > 1 ? bpd.std().item<double>() / std::sqrt(static_cast<double>(s.count)) : 0.0;
  s.nfe_mean = concatenate_rounds(dir, plan, "nfe").to(at::kDouble).mean().item<double>();
  return s;
}

}  // namespace sgm::eval

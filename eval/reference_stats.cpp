#include "eval/reference_stats.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "data/numpy_arrays.h"
#include "data/numpy_writer.h"
#include "data/sharded_dataset.h"
#include "eval/image_features.h"
#include "eval/metrics.h"
#include "eval/rounds.h"
#include "trainer/core/checksum.h"
#include "trainer/core/error.h"
#include "trainer/core/progress.h"

namespace sgm::eval {

ReferenceStats load_reference_stats(const std::string& path) {
  const std::map<std::string, at::Tensor> arrays = data::read_numpy_arrays(path);
  ReferenceStats s;
  s.path = path;
  s.checksum = core::hex64(core::file_checksum(path));
  auto pool3 = arrays.find("pool_3");
  if (pool3 != arrays.end()) {
    if (pool3->second.dim() != 2 || pool3->second.size(0) < 2)
      throw core::UsageError(fmt::format("{}: pool_3 must be [N >= 2, d], got [{}]", path,
                                         fmt::join(pool3->second.sizes(), ", ")));
    s.features = pool3->second.to(at::kFloat);
    FeatureStatistics stats(s.features.size(1));
    stats.add(s.features);
    s.mu = stats.mean();
    s.sigma = stats.covariance();
    s.count = stats.count();
  }
  auto mu = arrays.find("mu");
  auto sigma = arrays.find("sigma");
  if (mu != arrays.end() && sigma != arrays.end()) {  // given statistics win over recomputed
    s.mu = mu->second.to(at::kDouble).flatten();
    s.sigma = sigma->second.to(at::kDouble);
    if (auto n = arrays.find("num_images"); n != arrays.end()) s.count = n->second.item<int64_t>();
  } else if (!s.mu.defined()) {
    throw core::UsageError(
        fmt::format("{}: reference statistics need 'mu' and 'sigma', or 'pool_3'", path));
  }
  const std::int64_t d = s.mu.size(0);
  if (s.sigma.dim() != 2 || s.sigma.size(0) != d || s.sigma.size(1) != d)
    throw core::UsageError(fmt::format("{}: sigma is [{}], mu has {} entries", path,
                                       fmt::join(s.sigma.sizes(), ", "), d));
  if (s.features.defined() && s.features.size(1) != d)
    throw core::UsageError(
        fmt::format("{}: pool_3 has {} columns, mu {}", path, s.features.size(1), d));
  return s;
}

std::int64_t write_dataset_statistics(const std::string& dataset_dir, const std::string& out,
                                      FidInceptionImpl& net, const DatasetStatsOptions& options,
                                      dist::Communicator& comm, const at::Device& device) {
  const data::ShardedDataset dataset(dataset_dir);
  if (dataset.is_float())
    throw core::UsageError(fmt::format("{}: statistics need uint8 images", dataset_dir));
  if (dataset.size() < 2)
    throw core::UsageError(fmt::format("{}: statistics need at least 2 images", dataset_dir));
  FeatureStatistics stats(2048);
  std::vector<at::Tensor> kept;
  const RoundPlan plan{dataset.size(), options.batch_size};
  core::Progress progress("statistics of " + dataset_dir, dataset.size(), "images");
  for (std::int64_t r = 0; r < plan.rounds(); ++r) {
    check_stop(comm);
    const auto [begin, size] =
        local_slice(plan.begin(r), plan.size(r), comm.rank(), comm.world_size());
    at::Tensor images =
        at::empty({size, dataset.height(), dataset.width(), dataset.channels()}, at::kByte);
    if (size > 0) dataset.read_images(begin, size, images.data_ptr());
    const InceptionOutput o = inception_features(net, images, options.feature_batch, device);
    stats.add(o.pool3);
    if (options.keep_features) {
      Arrays all = gather_rows({{"pool_3", o.pool3}}, comm);
      if (comm.rank() == 0) kept.push_back(all.front().second);
    }
    progress.advance(plan.size(r));
  }
  progress.finish();
  at::Tensor sums = stats.packed();
  comm.all_reduce(sums, dist::ReduceOp::kSum, "feature sums").wait();
  stats.unpack(sums);
  SGM_CHECK(stats.count() == dataset.size(), "statistics of {} images, dataset has {}",
            stats.count(), dataset.size());
  if (comm.rank() == 0) {
    Arrays arrays{{"mu", stats.mean()},
                  {"sigma", stats.covariance()},
                  {"num_images", at::scalar_tensor(stats.count(), at::kLong)}};
    if (options.keep_features) arrays.emplace_back("pool_3", at::cat(kept));
    data::write_npz(out, arrays);
  }
  comm.barrier();
  return stats.count();
}

}  // namespace sgm::eval

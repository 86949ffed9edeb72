#include "eval/metrics.h"

#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "trainer/core/error.h"

namespace sgm::eval {
namespace {

at::Tensor as_double_cpu(const at::Tensor& x) { return x.detach().to(at::kCPU, at::kDouble); }

}  // namespace

FeatureStatistics::FeatureStatistics(std::int64_t dim)
    : dim_(dim),
      sum_(at::zeros({dim}, at::kDouble)),
      sum_outer_(at::zeros({dim, dim}, at::kDouble)) {}

void FeatureStatistics::add(const at::Tensor& features) {
  if (features.dim() != 2 || features.size(1) != dim_) {
    throw core::Error(fmt::format("features of shape [{}] do not match dimension {}",
                                  fmt::join(features.sizes(), ", "), dim_));
  }
  const at::Tensor f = as_double_cpu(features);
  sum_.add_(f.sum(0));
  sum_outer_.addmm_(f.t(), f);
  count_ += f.size(0);
}

at::Tensor FeatureStatistics::packed() const {
  return at::cat(
      {at::full({1}, static_cast<double>(count_), at::kDouble), sum_, sum_outer_.flatten()});
}

void FeatureStatistics::unpack(const at::Tensor& packed) {
  const at::Tensor p = as_double_cpu(packed);
  count_ = static_cast<std::int64_t>(std::llround(p[0].item<double>()));
  sum_.copy_(p.narrow(0, 1, dim_));
  sum_outer_.copy_(p.narrow(0, 1 + dim_, dim_ * dim_).view({dim_, dim_}));
}

at::Tensor FeatureStatistics::mean() const {
  if (count_ < 1) throw core::Error("feature statistics of no images");
  return sum_ / static_cast<double>(count_);
}

at::Tensor FeatureStatistics::covariance() const {
  if (count_ < 2) throw core::Error("a covariance needs at least 2 images");
  const at::Tensor mu = mean();
  const double n = static_cast<double>(count_);
  return (sum_outer_ - at::outer(mu, mu) * n) / (n - 1);
}

namespace {

void check_statistics(const at::Tensor& mu1, const at::Tensor& s1, const at::Tensor& mu2,
                      const at::Tensor& s2) {
  if (mu1.sizes() != mu2.sizes() || s1.sizes() != s2.sizes() || s1.dim() != 2 ||
      s1.size(0) != mu1.size(0) || s1.size(1) != mu1.size(0)) {
    throw core::UsageError(
        fmt::format("FID statistics do not match: mu [{}] and [{}], sigma [{}] and [{}]",
                    fmt::join(mu1.sizes(), ", "), fmt::join(mu2.sizes(), ", "),
                    fmt::join(s1.sizes(), ", "), fmt::join(s2.sizes(), ", ")));
  }
}

// sum sqrt(eigenvalues) of a symmetric positive semi-definite matrix (negative rounding noise
// clamped at 0).
double trace_sqrt_psd(const at::Tensor& m) {
  return at::linalg_eigvalsh((m + m.t()) / 2).clamp_min(0).sqrt().sum().item<double>();
}

}  // namespace

double frechet_distance(const at::Tensor& mu1_in, const at::Tensor& sigma1_in,
                        const at::Tensor& mu2_in, const at::Tensor& sigma2_in) {
  const at::Tensor mu1 = as_double_cpu(mu1_in), mu2 = as_double_cpu(mu2_in);
  const at::Tensor s1 = as_double_cpu(sigma1_in), s2 = as_double_cpu(sigma2_in);
  check_statistics(mu1, s1, mu2, s2);
  // Symmetric square root of S1 (eigenvalues clamped at 0), then the spectrum of A S2 A.
  auto [d1, u1] = at::linalg_eigh((s1 + s1.t()) / 2);
  const at::Tensor a = u1.matmul(at::diag(d1.clamp_min(0).sqrt())).matmul(u1.t());
  const double trace_sqrt = trace_sqrt_psd(a.matmul(s2).matmul(a));
  const double diff = (mu1 - mu2).square().sum().item<double>();
  return diff + s1.trace().item<double>() + s2.trace().item<double>() - 2 * trace_sqrt;
}

double frechet_distance_of_features(const at::Tensor& features, const at::Tensor& mu2_in,
                                    const at::Tensor& sigma2_in) {
  const at::Tensor f = as_double_cpu(features);
  if (f.dim() != 2 || f.size(0) < 2) throw core::Error("FID needs at least 2 feature rows");
  const std::int64_t n = f.size(0), d = f.size(1);
  if (n > d) {
    FeatureStatistics stats(d);
    stats.add(f);
    return frechet_distance(stats.mean(), stats.covariance(), mu2_in, sigma2_in);
  }
  const at::Tensor mu1 = f.mean(0), mu2 = as_double_cpu(mu2_in), s2 = as_double_cpu(sigma2_in);
  check_statistics(mu1, at::empty({d, d}, at::kDouble), mu2, s2);
  // S1 = B^T B with B = (F - mu1) / sqrt(n - 1) [n, d]. The non-zero eigenvalues of S1 S2 =
  // B^T (B S2) are those of (B S2) B^T = B S2 B^T [n, n], so tr (S1 S2)^{1/2} needs no d x d
  // decomposition.
  const at::Tensor b = (f - mu1) / std::sqrt(static_cast<double>(n - 1));
  const double trace_sqrt = trace_sqrt_psd(b.matmul(s2).matmul(b.t()));
  const double diff = (mu1 - mu2).square().sum().item<double>();
  return diff + b.square().sum().item<double>() + s2.trace().item<double>() - 2 * trace_sqrt;
}

double kid_subset(const at::Tensor& x_in, const at::Tensor& y_in) {
  const at::Tensor x = as_double_cpu(x_in), y = as_double_cpu(y_in);
  const double d = static_cast<double>(x.size(1));
  const double m = static_cast<double>(x.size(0));
  auto kernel = [d](const at::Tensor& a, const at::Tensor& b) {
    return (a.matmul(b.t()) / d + 1).pow(3);
  };
  const at::Tensor kxx = kernel(x, x), kyy = kernel(y, y), kxy = kernel(x, y);
  const double within = (kxx.sum() - kxx.trace() + kyy.sum() - kyy.trace()).item<double>();
  return within / (m * (m - 1)) - 2 * kxy.sum().item<double>() / (m * m);
}

MeanStd kernel_inception_distance(const at::Tensor& a, const at::Tensor& b,
                                  const at::Tensor& subset_x, const at::Tensor& subset_y) {
  if (subset_x.sizes() != subset_y.sizes() || subset_x.dim() != 2 || subset_x.size(0) < 1)
    throw core::UsageError("KID subsets must be two [subsets, m] index arrays of one shape");
  std::vector<double> values;
  for (std::int64_t s = 0; s < subset_x.size(0); ++s) {
    values.push_back(kid_subset(a.index_select(0, subset_x[s].to(a.device())),
                                b.index_select(0, subset_y[s].to(b.device()))));
  }
  const at::Tensor v = at::tensor(values, at::kDouble);
  return {v.mean().item<double>(), v.std(/*unbiased=*/false).item<double>()};
}

at::Tensor kid_subset_indices(std::int64_t n, std::int64_t subsets, std::int64_t m,
                              std::uint64_t seed) {
  if (m > n || m < 2) throw core::UsageError(fmt::format("KID subsets of {} from {} rows", m, n));
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<at::Tensor> rows;
  for (std::int64_t s = 0; s < subsets; ++s)
    rows.push_back(at::randperm(n, generator, at::kLong).narrow(0, 0, m));
  return at::stack(rows);
}

MeanStd inception_score(const at::Tensor& logits, std::int64_t splits) {
  const at::Tensor l = as_double_cpu(logits);
  const std::int64_t n = l.size(0);
  if (splits < 1 || n < splits)
    throw core::UsageError(fmt::format("Inception Score: {} images in {} splits", n, splits));
  const at::Tensor log_p = at::log_softmax(l, 1);
  std::vector<double> scores;
  for (std::int64_t i = 0; i < splits; ++i) {
    const std::int64_t begin = i * n / splits, end = (i + 1) * n / splits;
    const at::Tensor part = log_p.narrow(0, begin, end - begin);
    const at::Tensor log_marginal =
        at::logsumexp(part, 0) - std::log(static_cast<double>(end - begin));
    const double kl = (part.exp() * (part - log_marginal)).sum(1).mean().item<double>();
    scores.push_back(std::exp(kl));
  }
  const at::Tensor s = at::tensor(scores, at::kDouble);
  return {s.mean().item<double>(), splits > 1 ? s.std(false).item<double>() : 0.0};
}

}  // namespace sgm::eval

// FID, KID and Inception Score in float64, and the float64 accumulation of
// feature statistics that FID needs, mergeable across ranks.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

namespace sgm::eval {

// Running sums of features in float64: count, sum f [d], sum f f^T [d, d]. Ranks add their own
// features and all-reduce the sums (see merge_sums), so the result does not depend on the split.
class FeatureStatistics {
 public:
  explicit FeatureStatistics(std::int64_t dim);
  void add(const at::Tensor& features);  // [n, d], any float dtype and device
  std::int64_t count() const { return count_; }
  // The sums as one float64 vector [1 + d + d*d] (count first) for an all-reduce, and back.
  at::Tensor packed() const;
  void unpack(const at::Tensor& packed);
  at::Tensor mean() const;        // [d]
  at::Tensor covariance() const;  // [d, d], unbiased (divisor n - 1); needs n >= 2

 private:
  std::int64_t dim_;
  std::int64_t count_ = 0;
  at::Tensor sum_, sum_outer_;
};

// ||mu1 - mu2||^2 + tr S1 + tr S2 - 2 tr (S1 S2)^{1/2}, with the trace of the square root from
// eigenvalues: A = S1^{1/2} (symmetric, eigh), tr (A S2 A)^{1/2} = sum sqrt(eig(A S2 A)).
double frechet_distance(const at::Tensor& mu1, const at::Tensor& sigma1, const at::Tensor& mu2,
                        const at::Tensor& sigma2);
// The same for the statistics of the rows of `features` [n, d] (any float dtype) against mu2,
// sigma2. With no more rows than dimensions (a few thousand samples against Inception's 2,048
// features) S1 has rank < n and the trace comes from an n x n matrix instead (equal in exact
// arithmetic, and seconds faster at d = 2,048); with more rows, frechet_distance.
double frechet_distance_of_features(const at::Tensor& features, const at::Tensor& mu2,
                                    const at::Tensor& sigma2);

struct MeanStd {
  double mean = 0;
  double std = 0;  // population standard deviation (ddof 0) over subsets or splits
};

// Unbiased MMD^2 with the kernel (x.y/d + 1)^3 for one pair of feature subsets [m, d].
double kid_subset(const at::Tensor& x, const at::Tensor& y);
// KID over given subsets: rows subset_x[s] of `a` against rows subset_y[s] of `b`.
MeanStd kernel_inception_distance(const at::Tensor& a, const at::Tensor& b,
                                  const at::Tensor& subset_x, const at::Tensor& subset_y);
// `subsets` random subsets of m = min(n_a, n_b, subset_size) rows each, without replacement,
// drawn from a generator seeded with `seed` (recorded with the result): [subsets, m] int64.
at::Tensor kid_subset_indices(std::int64_t n, std::int64_t subsets, std::int64_t m,
                              std::uint64_t seed);

// exp(E_x KL(p(y|x) || p(y))) per contiguous split of the rows (softmax in float64); mean and
// population std over `splits` splits (score_sde reports 1 split, StyleGAN/EDM 10).
MeanStd inception_score(const at::Tensor& logits, std::int64_t splits);

}  // namespace sgm::eval

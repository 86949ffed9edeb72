// Post-hoc EMA (Karras et al. 2024, "Analyzing and Improving the Training Dynamics of Diffusion
// Models", arXiv 2312.02696; NVlabs/edm2). Training keeps power-function EMA profiles: after
// update t (1-based) a profile with exponent gamma is
//   ema_t = beta_t ema_{t-1} + (1 - beta_t) theta_t,   beta_t = (1 - 1/t)^(gamma + 1),
// which telescopes to weights (tau^(gamma+1) - (tau-1)^(gamma+1)) / t^(gamma+1) on theta_tau:
// the power profile p(tau) = (gamma + 1) tau^gamma / t^(gamma+1) integrated over each step.
// Its relative width sigma_rel (the std of tau/t under p) is
//   sigma_rel^2 = (gamma + 1) / ((gamma + 2)^2 (gamma + 3)).
// The profiles live in the flat buffers like the EMA (sharded the same way) and go into every
// checkpoint. From the snapshots, an EMA of any other width at the last snapshot's time is the
// least-squares combination of the stored profiles: the Gram matrix of the profiles in L2 over
// tau has a closed form, so the coefficients solve A x = b.
#pragma once

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "trainer/core/keys.h"
#include "trainer/dist/communicator.h"
#include "trainer/train/checkpoint.h"
#include "trainer/train/ema.h"

namespace sgm::train {

struct PhemaOptions {
  bool enabled = false;
  std::vector<double> sigma_rels = {0.05, 0.10};

  void declare_keys(core::Keys& k) {
    k("training.phema", enabled,
      "keep power-function EMA profiles for post-hoc EMA (sgm-eval phema); one more copy of the "
      "weights per profile in memory (1/W of it with training.ema_sharded) and in checkpoints");
    k("training.phema_sigma_rel", sigma_rels,
      "relative widths of the stored profiles (edm2: 0.05, 0.10)");
  }
};

// The exponent gamma of the profile of relative width sigma_rel (0 < sigma_rel < 0.28: gamma >
// 0). Throws core::UsageError naming training.phema_sigma_rel outside that range.
double phema_gamma(double sigma_rel);
// sigma_rel of exponent gamma.
double phema_sigma_rel(double gamma);
// The decay of update t >= 1.
double phema_beta(double gamma, std::int64_t t);

// One Ema per profile over the same flat buffers.
class PhemaProfiles {
 public:
  PhemaProfiles(const std::vector<at::Tensor>& params, dist::Communicator& comm,
                const PhemaOptions& options, bool sharded);
  void update(const std::vector<at::Tensor>& params);
  std::int64_t num_updates() const { return updates_; }
  void set_num_updates(std::int64_t n) { updates_ = n; }
  // Every profile's whole buffers (a collective when sharded).
  std::vector<std::vector<at::Tensor>> gather() const;
  void load(const std::vector<std::vector<at::Tensor>>& full);
  const std::vector<double>& gammas() const { return gammas_; }

 private:
  std::vector<double> gammas_;
  std::vector<Ema> profiles_;
  std::int64_t updates_ = 0;
};

// A stored profile: its exponent and the number of updates behind it.
struct PhemaProfile {
  double t = 0;
  double gamma = 0;
};

// <p_a, p_b> in L2 over tau of the normalised power profiles ending at t_a and t_b.
double phema_dot(const PhemaProfile& a, const PhemaProfile& b);

// The coefficients x of the least-squares combination sum_i x_i p_i of the stored profiles
// closest to the profile `target` (A x = b with A_ij = <p_i, p_j>, b_i = <p_i, target>).
std::vector<double> phema_coefficients(const std::vector<PhemaProfile>& stored,
                                       const PhemaProfile& target);

// The post-hoc EMA of width `sigma_rel` at checkpoint `last` of a run that kept profiles, from
// the profiles of every snapshot of `store` up to it and of `last` itself.
struct PhemaReconstruction {
  Checkpoint checkpoint;  // `last` with the reconstruction as its EMA and no profiles
  double gamma = 0;
  std::vector<std::int64_t> steps;     // the checkpoints used, ascending
  std::vector<PhemaProfile> profiles;  // the stored profiles, in the order of `coefficients`
  std::vector<double> coefficients;
};
// Throws core::UsageError naming the checkpoint when it kept no profiles, and naming
// --sigma-rel outside (0, 0.2887).
PhemaReconstruction reconstruct_phema(const CheckpointStore& store, const Checkpoint& last,
                                      double sigma_rel);

}  // namespace sgm::train

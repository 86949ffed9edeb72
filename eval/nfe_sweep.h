// `sgm-eval nfe`: sample quality against network calls for one checkpoint. Every solver of
// sampling.nfe_solvers at every NFE of sampling.nfe_list goes through the Evaluator as its own
// evaluation (its records, its samples directory ckpt-STEP/nfe-<solver>-<nfe>, resumable like
// any round; seed sets included), then eval/fid_vs_nfe.png shows FID against NFE, one line per
// solver.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/evaluator.h"
#include "eval/sample_job.h"
#include "trainer/core/keys.h"
#include "trainer/dist/communicator.h"

namespace sgm::eval {

struct NfeSweepOptions {
  std::vector<std::int64_t> nfe_list = {10, 20, 35};
  std::string solvers = "dpmpp_2m,unipc,edm_heun";  // comma-separated ODE solvers

  void declare_keys(core::Keys& k) {
    k("sampling.nfe_list", nfe_list, "sgm-eval nfe: the network-call budgets to sample at");
    k("sampling.nfe_solvers", solvers,
      "sgm-eval nfe: comma-separated ODE solvers (ddim, dpmpp_*, unipc*, edm_heun, euler, heun)");
  }
};

// The solvers of the list; throws core::UsageError naming sampling.nfe_solvers for one that is
// not registered or has no NFE setting (rk45 adapts its steps), and sampling.nfe_list for a
// budget below 2.
std::vector<std::string> nfe_solvers(const NfeSweepOptions& options);

// `base` with the ODE solver set to make `nfe` network calls: exactly for the few-step solvers
// and Euler (sampling.steps, plus the denoising call), the next odd number (2N - 1) for EDM's
// Heun, the largest 2N (+ 1) within it for Heun.
SampleJobOptions at_nfe(SampleJobOptions base, const std::string& solver, std::int64_t nfe);

struct NfePoint {
  std::string solver;
  std::int64_t nfe_target = 0;
  double nfe = 0;  // network calls per sample, measured
  double fid = 0;  // NaN without the detector
};

// Collective. Evaluates what is not recorded; returns every point (rank 0) and writes
// eval/fid_vs_nfe.png (rank 0, when FID is computed).
std::vector<NfePoint> run_nfe_sweep(const NfeSweepOptions& options, const Weights& weights,
                                    Evaluator& evaluator, dist::Communicator& comm);

}  // namespace sgm::eval

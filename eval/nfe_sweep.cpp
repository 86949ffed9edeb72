#include "eval/nfe_sweep.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "eval/metric_plot.h"
#include "eval/ode_solvers.h"
#include "eval/rounds.h"
#include "trainer/core/error.h"
#include "trainer/core/key_checks.h"
#include "trainer/core/log.h"

namespace sgm::eval {
namespace fs = std::filesystem;

std::vector<std::string> nfe_solvers(const NfeSweepOptions& o) {
  std::vector<std::string> names;
  std::stringstream list(o.solvers);
  for (std::string name; std::getline(list, name, ',');) {
    if (name.empty()) continue;
    core::registered("sampling.nfe_solvers", name, ode_solver_registry());
    if (name == "rk45") {
      core::fail_key("sampling.nfe_solvers",
                     "rk45 has no NFE setting: it adapts its steps to sampling.rtol/atol");
    }
    names.push_back(name);
  }
  if (names.empty()) core::fail_key("sampling.nfe_solvers", "no solver given");
  if (o.nfe_list.empty()) core::fail_key("sampling.nfe_list", "no budget given");
  for (std::int64_t n : o.nfe_list)
    if (n < 2) core::fail_key("sampling.nfe_list", fmt::format("{} is below 2 network calls", n));
  return names;
}

SampleJobOptions at_nfe(SampleJobOptions base, const std::string& solver, std::int64_t nfe) {
  SamplingOptions& s = base.sampling;
  s.method = "ode";
  s.ode_solver = solver;
  const std::int64_t denoise = s.noise_removal ? 1 : 0;  // euler/heun: one more call at eps
  if (ode_solver(solver).edm_schedule) {
    s.edm.steps = (nfe + 2) / 2;  // NFE 2N - 1 >= nfe
  } else if (ode_solver(solver).few_step) {
    s.multistep.nfe = nfe;
  } else if (solver == "euler") {
    s.steps = std::max<std::int64_t>(1, nfe - denoise);
  } else {  // heun: 2 calls a step
    s.steps = std::max<std::int64_t>(1, (nfe - denoise) / 2);
  }
  return base;
}

std::vector<NfePoint> run_nfe_sweep(const NfeSweepOptions& o, const Weights& w,
                                    Evaluator& evaluator, dist::Communicator& comm) {
  const std::vector<std::string> solvers = nfe_solvers(o);
  const SampleJobOptions base = evaluator.options().samples;
  std::vector<NfePoint> points;
  for (const std::string& solver : solvers) {
    for (std::int64_t nfe : o.nfe_list) {
      check_stop(comm);
      evaluator.set_samples(at_nfe(base, solver, nfe), fmt::format("nfe-{}-{}", solver, nfe));
      if (evaluator.complete(w.step))
        core::log::info("{} at {} NFE: recorded already", solver, nfe);
      else
        evaluator.evaluate(w);
      if (comm.rank() != 0) continue;
      NfePoint p{solver, nfe, 0, std::numeric_limits<double>::quiet_NaN()};
      for (const ResultRecord& r : evaluator.results().records()) {
        if (r.step != w.step || r.config != evaluator.samples_config()) continue;
        if (r.metric == "nfe") p.nfe = r.value;
        if (r.metric == "fid") p.fid = r.value;
      }
      points.push_back(p);
    }
  }
  evaluator.set_samples(base, "");
  if (comm.rank() == 0) {
    std::map<std::string, std::vector<std::pair<double, double>>> lines;
    for (const NfePoint& p : points) {
      core::log::info("step {}: {} at {} NFE ({:.1f} measured): FID {:.6g}", w.step, p.solver,
                      p.nfe_target, p.nfe, p.fid);
      if (std::isfinite(p.fid)) lines[p.solver].emplace_back(p.nfe, p.fid);
    }
    if (!lines.empty()) {
      std::vector<PlotSeries> series;
      for (const std::string& solver : solvers)
        if (lines.count(solver) != 0) series.push_back({solver, lines.at(solver)});
      const std::string path = (fs::path(evaluator.options().eval_dir) / "fid_vs_nfe.png").string();
      write_metric_plot(path, fmt::format("fid at step {}", w.step), series, "nfe");
      core::log::info("FID against NFE: {}", path);
    }
  }
  return points;
}

}  // namespace sgm::eval

// eval_bench's solver table: for each probability-flow solver, the fewest network calls whose
// samples of the analytic two-mode mixture (exact scores) come within `target` (median over
// samples of the rms error) of the RK45 solution at rtol 1e-7, under VE, VP and sub-VP, with the
// wall time of that run. Printed as a table; returned as JSON rows.
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace sgm::bench {

nlohmann::json solver_quality(double target, std::int64_t batch);

}  // namespace sgm::bench

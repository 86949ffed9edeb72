// Dormand-Prince RK45 with scipy's error control (scipy.integrate.RK45 as solve_ivp runs it):
// the same tableau, initial-step rule, RMS error norm, safety 0.9, factor bounds [0.2, 10],
// minimum step and FSAL, so a single system takes the steps and function
// evaluations scipy takes (nfev = 2 + 6 (accepted + rejected)).
//
// Many independent systems advance together: y0 is [S, M], one row per system (a sample, or a
// chunk of samples), and each row has its own t, step size and error norm. A row's trajectory
// therefore does not depend on the other rows (beyond the rounding of batched kernels), which is
// what makes samples and bits/dim independent of the batch and the world size. The reference
// instead treats the whole batch as one system; pass it as one row [1, B*M] to reproduce that.
#pragma once

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace sgm::eval {

struct Rk45Options {
  double rtol = 1e-5;
  double atol = 1e-5;
  double max_step = std::numeric_limits<double>::infinity();
  std::int64_t max_attempts = 100000;  // step attempts per system before it is declared failed
};

// dy/dt for the rows still integrating: `rows` [A] (int64 indices into y0's rows, ascending),
// t [A] (float64) and y [A, M], all on y0's device -> [A, M].
using SystemRhs =
    std::function<at::Tensor(const at::Tensor& rows, const at::Tensor& t, const at::Tensor& y)>;

struct Rk45Result {
  at::Tensor y;                        // [S, M] at t_end (the last state reached if failed)
  std::vector<std::int64_t> nfev;      // function evaluations per system (scipy's count)
  std::vector<std::int64_t> accepted;  // accepted steps per system
  std::vector<std::int64_t> rejected;  // rejected step attempts per system
  std::vector<std::string> failure;    // empty when the system reached t_end
  std::int64_t rhs_calls = 0;          // batched calls of `rhs` (each over the active rows)
  bool all_succeeded() const;
};

// Integrates every row of y0 (float64) from t0 to t_end (either direction).
Rk45Result solve_rk45(const SystemRhs& rhs, double t0, double t_end, const at::Tensor& y0,
                      const Rk45Options& options = {});

}  // namespace sgm::eval

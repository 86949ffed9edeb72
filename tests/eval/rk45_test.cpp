// RK45 against scipy 1.17.1's solve_ivp(method="RK45") on problems with known solutions: the
// same number of function evaluations and steps, and the same end state to ~1e-12; rows of one
// batch integrate independently (each row's nfev equals its solo solve).
#include "eval/rk45.h"

#include <cmath>
#include <cstdio>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace sgm::eval {
namespace {

at::Tensor row(std::vector<double> v) { return at::tensor(v, at::kDouble).unsqueeze(0); }

struct Case {
  const char* name;
  SystemRhs rhs;
  double t0, t1;
  std::vector<double> y0;
  double tol;
  std::int64_t scipy_nfev, scipy_steps;
  std::vector<double> scipy_y;
  std::vector<double> exact;  // closed-form solution at t1 (empty if none)
};

// VP SDE probability-flow likelihood of a Gaussian: D = 4, mu = 0.3, s = 0.5.
at::Tensor vp_gaussian(const at::Tensor& t, const at::Tensor& y) {
  const double b0 = 0.1, b1 = 20, mu = 0.3, s = 0.5;
  const at::Tensor L = t.square() * (-0.25 * (b1 - b0)) - t * (0.5 * b0);
  const at::Tensor a = L.exp(), beta = t * (b1 - b0) + b0;
  const at::Tensor v = (a.square() * (s * s) - a.square() + 1).unsqueeze(1);
  const at::Tensor x = y.narrow(1, 0, 4);
  const at::Tensor score = -(x - a.unsqueeze(1) * mu) / v;
  const at::Tensor drift = -0.5 * beta.unsqueeze(1) * x - 0.5 * beta.unsqueeze(1) * score;
  const at::Tensor div = 4 * (-0.5 * beta.unsqueeze(1) + 0.5 * beta.unsqueeze(1) / v);
  return at::cat({drift, div}, 1);
}

std::vector<Case> cases() {
  return {
      {"exp decay",
       [](auto&, auto&, const at::Tensor& y) { return -y; },
       0,
       1,
       {1.0},
       1e-5,
       26,
       4,
       {0.3678817338062343},
       {std::exp(-1.0)}},
      {"oscillator",
       [](auto&, auto&, const at::Tensor& y) {
         return at::stack({y.select(1, 1), -y.select(1, 0)}, 1);
       },
       0,
       10,
       {1.0, 0.0},
       1e-5,
       146,
       24,
       {-0.8390245776995386, 0.5440289395898463},
       {std::cos(10.0), -std::sin(10.0)}},
      {"backward y' = -2ty",
       [](auto&, const at::Tensor& t, const at::Tensor& y) { return -2 * t.unsqueeze(1) * y; },
       1.0,
       1e-3,
       {std::exp(-1.0)},
       1e-5,
       26,
       4,
       {1.0000023670061184},
       {std::exp(-1e-6)}},
      {"exp decay, tol 1e-9",
       [](auto&, auto&, const at::Tensor& y) { return -y; },
       0,
       1,
       {1.0},
       1e-9,
       98,
       16,
       {0.36787944137894446},
       {std::exp(-1.0)}},
      {"VP Gaussian likelihood",
       [](auto&, const at::Tensor& t, const at::Tensor& y) { return vp_gaussian(t, y); },
       1e-5,
       1.0,
       {0.1, 0.5, -0.2, 0.9, 0.0},
       1e-5,
       44,
       7,
       {-0.3980180635255026, 0.401962367430578, -0.9980033867425628, 1.2019427983866584,
        2.772500869912002},
       {}},
      // Van der Pol, mu = 5: 10 rejected attempts (the step-rejection path and its factor cap).
      {"van der Pol mu=5",
       [](auto&, auto&, const at::Tensor& y) {
         const at::Tensor u = y.select(1, 0), v = y.select(1, 1);
         return at::stack({v, 5 * (1 - u.square()) * v - u}, 1);
       },
       0,
       10,
       {2.0, 0.0},
       1e-5,
       488,
       71,
       {-1.1586970558363219, 0.43047811838560707},
       {}},
  };
}

TEST(Rk45, MatchesScipyOnKnownProblems) {
  for (const Case& c : cases()) {
    Rk45Options o;
    o.rtol = o.atol = c.tol;
    const Rk45Result r = solve_rk45(c.rhs, c.t0, c.t1, row(c.y0), o);
    ASSERT_TRUE(r.all_succeeded()) << c.name << ": " << r.failure[0];
    const at::Tensor y = r.y[0];
    const double vs_scipy = (y - at::tensor(c.scipy_y, at::kDouble)).abs().max().item<double>();
    double vs_exact = NAN;
    if (!c.exact.empty()) {
      const std::size_t n = c.exact.size();
      vs_exact = (y.narrow(0, 0, static_cast<std::int64_t>(n)) - at::tensor(c.exact, at::kDouble))
                     .abs()
                     .max()
                     .item<double>();
    }
    std::printf(
        "[evidence] %s: nfev %ld (scipy %ld), steps %ld (scipy %ld), rejected %ld; "
        "|y - scipy| %.2e, |y - exact| %.2e\n",
        c.name, r.nfev[0], c.scipy_nfev, r.accepted[0], c.scipy_steps, r.rejected[0], vs_scipy,
        vs_exact);
    EXPECT_EQ(r.nfev[0], c.scipy_nfev) << c.name;
    EXPECT_EQ(r.accepted[0], c.scipy_steps) << c.name;
    EXPECT_LT(vs_scipy, 1e-10) << c.name;
    if (!c.exact.empty()) {
      EXPECT_LT(vs_exact, 50 * c.tol) << c.name;
    }
  }
}

TEST(Rk45, RowsIntegrateIndependently) {
  // Row r decays at rate k_r: each row must take the steps of its own solo solve.
  const std::vector<double> rates = {0.5, 1.0, 4.0, 20.0};
  const at::Tensor k = at::tensor(rates, at::kDouble).unsqueeze(1);
  const SystemRhs batched = [&](const at::Tensor& rows, const at::Tensor&, const at::Tensor& y) {
    return -k.index_select(0, rows) * y;
  };
  const Rk45Result together = solve_rk45(batched, 0, 1, at::ones({4, 3}, at::kDouble));
  ASSERT_TRUE(together.all_succeeded());
  for (std::size_t r = 0; r < rates.size(); ++r) {
    const double rate = rates[r];
    const Rk45Result alone = solve_rk45(
        [&](const at::Tensor&, const at::Tensor&, const at::Tensor& y) { return -rate * y; }, 0, 1,
        at::ones({1, 3}, at::kDouble));
    std::printf("[evidence] rate %.1f: nfev %ld in the batch, %ld alone; |dy| %.1e\n", rate,
                together.nfev[r], alone.nfev[0],
                (together.y[static_cast<std::int64_t>(r)] - alone.y[0]).abs().max().item<double>());
    EXPECT_EQ(together.nfev[r], alone.nfev[0]);
    EXPECT_TRUE(at::equal(together.y[static_cast<std::int64_t>(r)], alone.y[0]));
  }
}

TEST(Rk45, ReportsFailureInsteadOfReturningQuietly) {
  // y' = y^2 from y(0) = 1 blows up at t = 1: the step size collapses before t = 2.
  Rk45Options o;
  o.max_attempts = 2000;
  const Rk45Result r = solve_rk45(
      [](const at::Tensor&, const at::Tensor&, const at::Tensor& y) { return y.square(); }, 0, 2,
      at::ones({1, 1}, at::kDouble), o);
  ASSERT_FALSE(r.all_succeeded());
  std::printf("[evidence] blow-up: '%s' after %ld evaluations\n", r.failure[0].c_str(), r.nfev[0]);
}

}  // namespace
}  // namespace sgm::eval

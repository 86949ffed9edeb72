#include "eval/rk45.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "trainer/core/error.h"

namespace sgm::eval {
namespace {

// Dormand-Prince 5(4): nodes c, stage matrix a (row s has s entries), weights b of the 5th-order
// solution, and e = error-estimator weights over the 6 stages and the FSAL stage K7.
constexpr double kC[6] = {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1};
constexpr double kA[6][5] = {
    {0, 0, 0, 0, 0},
    {1.0 / 5, 0, 0, 0, 0},
    {3.0 / 40, 9.0 / 40, 0, 0, 0},
    {44.0 / 45, -56.0 / 15, 32.0 / 9, 0, 0},
    {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729, 0},
    {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656}};
constexpr double kB[6] = {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84};
constexpr double kE[7] = {-71.0 / 57600,    0,           71.0 / 16695, -71.0 / 1920,
                          17253.0 / 339200, -22.0 / 525, 1.0 / 40};
constexpr double kSafety = 0.9, kMinFactor = 0.2, kMaxFactor = 10;
constexpr double kErrorExponent = -1.0 / 5;  // -1 / (error estimator order 4 + 1)

// Root-mean-square over each row: [A, M] -> [A] on the host.
std::vector<double> rms_rows(const at::Tensor& x) {
  const at::Tensor r = x.square().mean(1).sqrt().to(at::kCPU).contiguous();
  return {r.data_ptr<double>(), r.data_ptr<double>() + r.numel()};
}

at::Tensor times(const std::vector<double>& v, const at::Tensor& like) {
  return at::tensor(v, at::TensorOptions().dtype(at::kDouble)).to(like.device());
}

at::Tensor column(const std::vector<double>& v, const at::Tensor& like) {
  return times(v, like).unsqueeze(1);
}

}  // namespace

bool Rk45Result::all_succeeded() const {
  return std::all_of(failure.begin(), failure.end(),
                     [](const std::string& f) { return f.empty(); });
}

Rk45Result solve_rk45(const SystemRhs& rhs, double t0, double t_end, const at::Tensor& y0,
                      const Rk45Options& o) {
  if (y0.dim() != 2 || y0.scalar_type() != at::kDouble)
    throw core::Error("solve_rk45: y0 must be a float64 [systems, size] tensor");
  const std::int64_t S = y0.size(0);
  const double direction = t_end >= t0 ? 1.0 : -1.0;
  Rk45Result result;
  result.y = y0.clone();
  result.nfev.assign(S, 0);
  result.accepted.assign(S, 0);
  result.rejected.assign(S, 0);
  result.failure.assign(S, "");
  if (S == 0 || t0 == t_end) return result;
  auto call = [&](const at::Tensor& rows, const std::vector<double>& t, const at::Tensor& y) {
    ++result.rhs_calls;
    return rhs(rows, times(t, y), y).to(at::kDouble);
  };
  const at::Tensor all_rows =
      at::arange(S, at::TensorOptions().dtype(at::kLong).device(y0.device()));

  // Initial step (scipy's select_initial_step, with the interval-length caps of scipy >= 1.11).
  const double interval = std::abs(t_end - t0);
  std::vector<double> t(S, t0);
  at::Tensor f = call(all_rows, t, result.y);
  const at::Tensor scale0 = result.y.abs().mul(o.rtol).add(o.atol);
  const std::vector<double> d0 = rms_rows(result.y / scale0), d1 = rms_rows(f / scale0);
  std::vector<double> h0(S), h_abs(S);
  for (std::int64_t i = 0; i < S; ++i) {
    h0[i] = (d0[i] < 1e-5 || d1[i] < 1e-5) ? 1e-6 : 0.01 * d0[i] / d1[i];
    h0[i] = std::min(h0[i], interval);
  }
  const at::Tensor h0_col = column(h0, result.y);
  std::vector<double> t1(S);
  for (std::int64_t i = 0; i < S; ++i) t1[i] = t0 + h0[i] * direction;
  const at::Tensor f1 = call(all_rows, t1, result.y + h0_col * direction * f);
  const std::vector<double> d2_raw = rms_rows((f1 - f) / scale0);
  for (std::int64_t i = 0; i < S; ++i) {
    const double d2 = d2_raw[i] / h0[i];
    const double h1 = (d1[i] <= 1e-15 && d2 <= 1e-15)
                          ? std::max(1e-6, h0[i] * 1e-3)
                          : std::pow(0.01 / std::max(d1[i], d2), 1.0 / 5);
    h_abs[i] = std::min({100 * h0[i], h1, interval, o.max_step});
    result.nfev[i] = 2;
  }

  // Steps: every active row makes one attempt per iteration (6 evaluations), accepted or not.
  std::vector<bool> fresh(S, true), rejected_this_step(S, false);
  std::vector<std::int64_t> active(S);
  for (std::int64_t i = 0; i < S; ++i) active[i] = i;
  while (!active.empty()) {
    const std::int64_t A = static_cast<std::int64_t>(active.size());
    std::vector<double> ta(A), ha(A), tn(A), min_step(A);
    std::vector<std::int64_t> attempting;  // positions within `active`
    for (std::int64_t j = 0; j < A; ++j) {
      const std::int64_t i = active[j];
      min_step[j] = 10 * std::abs(std::nextafter(t[i], direction * INFINITY) - t[i]);
      if (fresh[i]) h_abs[i] = std::clamp(h_abs[i], min_step[j], std::max(min_step[j], o.max_step));
      if (h_abs[i] < min_step[j]) {
        result.failure[i] =
            fmt::format("step size {:.3g} below the minimum at t = {:.17g}", h_abs[i], t[i]);
        continue;
      }
      if (result.accepted[i] + result.rejected[i] >= o.max_attempts) {
        result.failure[i] =
            fmt::format("{} step attempts without reaching t = {}", o.max_attempts, t_end);
        continue;
      }
      double t_new = t[i] + h_abs[i] * direction;
      if (direction * (t_new - t_end) > 0) t_new = t_end;
      ta[j] = t[i];
      tn[j] = t_new;  // exactly t_end on the last step (t + (t_end - t) may round elsewhere)
      ha[j] = t_new - t[i];
      h_abs[i] = std::abs(ha[j]);
      attempting.push_back(j);
    }
    // Rows that failed leave the active set.
    std::vector<std::int64_t> rows;
    std::vector<double> tr, hr, t_new;
    for (std::int64_t j : attempting) {
      rows.push_back(active[j]);
      tr.push_back(ta[j]);
      hr.push_back(ha[j]);
      t_new.push_back(tn[j]);
    }
    if (rows.empty()) break;
    const at::Tensor index = at::tensor(rows, at::kLong).to(result.y.device());
    const at::Tensor y = result.y.index_select(0, index);
    const at::Tensor h = column(hr, y);
    std::vector<at::Tensor> K(7);
    K[0] = f.index_select(0, index);
    for (int s = 1; s < 6; ++s) {
      at::Tensor dy = K[0] * kA[s][0];
      for (int j = 1; j < s; ++j) dy = dy + K[j] * kA[s][j];
      std::vector<double> ts(tr.size());
      for (std::size_t r = 0; r < tr.size(); ++r) ts[r] = tr[r] + kC[s] * hr[r];
      K[s] = call(index, ts, y + h * dy);
    }
    at::Tensor y_new = K[0] * kB[0];
    for (int j = 1; j < 6; ++j) y_new = y_new + K[j] * kB[j];
    y_new = y + h * y_new;
    K[6] = call(index, t_new, y_new);
    at::Tensor err = K[0] * kE[0];
    for (int j = 1; j < 7; ++j) err = err + K[j] * kE[j];
    err = err * h;
    const at::Tensor scale = at::maximum(y.abs(), y_new.abs()).mul(o.rtol).add(o.atol);
    const std::vector<double> norm = rms_rows(err / scale);

    std::vector<std::int64_t> accepted_rows, still_active;
    for (std::size_t r = 0; r < rows.size(); ++r) {
      const std::int64_t i = rows[r];
      result.nfev[i] += 6;
      if (norm[r] < 1) {
        double factor = norm[r] == 0
                            ? kMaxFactor
                            : std::min(kMaxFactor, kSafety * std::pow(norm[r], kErrorExponent));
        if (rejected_this_step[i]) factor = std::min(1.0, factor);
        h_abs[i] *= factor;
        ++result.accepted[i];
        fresh[i] = true;
        rejected_this_step[i] = false;
        t[i] = t_new[r];
        accepted_rows.push_back(static_cast<std::int64_t>(r));
        if (direction * (t[i] - t_end) < 0) still_active.push_back(i);
      } else {
        h_abs[i] *= std::max(kMinFactor, kSafety * std::pow(norm[r], kErrorExponent));
        ++result.rejected[i];
        fresh[i] = false;
        rejected_this_step[i] = true;
        still_active.push_back(i);
      }
    }
    if (!accepted_rows.empty()) {
      const at::Tensor local = at::tensor(accepted_rows, at::kLong).to(y.device());
      std::vector<std::int64_t> global;
      for (std::int64_t r : accepted_rows) global.push_back(rows[static_cast<std::size_t>(r)]);
      const at::Tensor where = at::tensor(global, at::kLong).to(y.device());
      result.y.index_copy_(0, where, y_new.index_select(0, local));
      f.index_copy_(0, where, K[6].index_select(0, local));
    }
    std::sort(still_active.begin(), still_active.end());
    active = still_active;
  }
  return result;
}

}  // namespace sgm::eval

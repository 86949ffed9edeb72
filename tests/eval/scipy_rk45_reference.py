# Reference values of tests/eval/rk45_test.cpp: scipy.integrate.solve_ivp(method="RK45") (scipy 1.17.1).
# Run: python3 tests/eval/scipy_rk45_reference.py (needs numpy and scipy; not part of the suite).
import numpy as np
from scipy.integrate import solve_ivp
def show(name, sol):
    print(name, "nfev", sol.nfev, "njev", sol.njev, "steps", len(sol.t)-1, "y", repr(sol.y[:, -1].tolist()), "status", sol.status)
# 1. exponential decay
show("decay", solve_ivp(lambda t, y: -y, (0, 1), [1.0], method="RK45", rtol=1e-5, atol=1e-5))
# 2. harmonic oscillator over [0, 10]
show("oscillator", solve_ivp(lambda t, y: np.array([y[1], -y[0]]), (0, 10), [1.0, 0.0], rtol=1e-5, atol=1e-5))
# 3. backward, time-dependent: y' = -2 t y from t=1 to 1e-3 ; y(1)=e^-1 → y(t)=exp(-t^2)
show("gauss_back", solve_ivp(lambda t, y: -2*t*y, (1.0, 1e-3), [np.exp(-1.0)], rtol=1e-5, atol=1e-5))
# 4. tight tolerance decay
show("decay_tight", solve_ivp(lambda t, y: -y, (0, 1), [1.0], rtol=1e-9, atol=1e-9))
# 5. VP Gaussian PF-ODE likelihood (science §13): D=4, mu=0.3, s=0.5, x data point; integrate eps->1 with [x, dlogp]
b0, b1 = 0.1, 20.0
D, mu, s = 4, 0.3, 0.5
def L(t): return -0.25*t*t*(b1-b0) - 0.5*t*b0
def beta(t): return b0 + t*(b1-b0)
def vp(t):
    a = np.exp(L(t)); return a, a*a*s*s + 1 - a*a
def rhs(t, y):
    x = y[:D]; a, v = vp(t); be = beta(t)
    score = -(x - a*mu)/v
    drift = -0.5*be*x - 0.5*be*score
    div = D*(-0.5*be + 0.5*be/v)
    return np.concatenate([drift, [div]])
x0 = np.array([0.1, 0.5, -0.2, 0.9])
sol = solve_ivp(rhs, (1e-5, 1.0), np.concatenate([x0, [0.0]]), rtol=1e-5, atol=1e-5)
show("vp_gauss_lik", sol)

# with rejected steps
show("van der pol mu=5", solve_ivp(lambda t, y: [y[1], 5*(1-y[0]**2)*y[1]-y[0]], (0, 10), [2.0, 0.0], rtol=1e-5, atol=1e-5))

"""Second-order methods: Newton's method, nonlinear conjugate gradients and L-BFGS.

Goodfellow et al. (2016), sec. 8.6; Nocedal & Wright (2006), chs. 3, 5, 7. ``step`` takes
the oracles named in ``opt.oracles``: ``hess=`` (theta -> (n, n) Hessian) for Newton and
for ConjugateGradient with ``line_search="exact"``, else ``f=`` for the line search;
:func:`optimlib.minimize` passes the problem's and counts calls. A line search's last
gradient is reused by the next step (these methods assume a deterministic gradient).
``lr`` is Newton's step, or the first step length a line search tries.
"""

from __future__ import annotations

import numpy as np

from . import _checks
from ._base import DivergenceError, Optimizer, _checked_gradient
from ._checks import Hyperparameter

__all__ = ["LBFGS", "ConjugateGradient", "Newton", "wolfe_line_search"]


_ROUNDING = 4 * float(np.finfo(np.float64).eps)


class _OracleOptimizer(Optimizer):
    """An optimizer whose ``step`` needs ``f`` or ``hess`` besides the gradient."""

    oracles: tuple[str, ...] = ()

    def reset(self) -> None:
        super().reset()
        self._last = None  # (theta returned by the last step, f and g there), to reuse

    def step(self, theta, grad_fn, *, f=None, hess=None) -> np.ndarray:
        given = {"f": f, "hess": hess}
        for name in self.oracles:
            if not callable(given[name]):
                raise ValueError(
                    f"{name}: {type(self).__name__} needs {name}=<callable theta -> "
                    f"{'f(theta)' if name == 'f' else 'Hessian'}>; got {given[name]!r}"
                )
        self._oracle = {**given, "grad": grad_fn}
        self._found = None
        try:
            theta = super().step(theta, self._reused(grad_fn))
        finally:
            self._oracle = None
        self._last = None if self._found is None else (theta, *self._found)
        return theta

    def _reused(self, grad_fn):
        """grad_fn, except at the point the last step returned, whose gradient is known."""
        last = self._last

        def gradient(point):
            if last is not None and np.array_equal(last[0], point):
                return last[2]
            return grad_fn(point)

        return gradient

    def hessian(self, theta) -> np.ndarray:
        """The Hessian at theta from the ``hess`` oracle, as an (n, n) matrix in theta's dtype."""
        n = theta.size
        H = np.asarray(self._oracle["hess"](theta))
        _checks.shaped("hess(theta)", H, (n, n), f"({n}, {n})")
        if not _checks.all_finite(H):
            raise DivergenceError(f"step {self.k}: the Hessian is not finite", self.k)
        return H.astype(theta.dtype, copy=False)

    def wolfe_step(self, theta, g, d, t, c1, c2):
        """:func:`wolfe_line_search` along d with the oracles of this step; remembers f and
        the gradient at the point it returns, for the next step."""
        last = self._last
        known = last is not None and np.array_equal(last[0], theta)
        f0 = last[1] if known else float(self._oracle["f"](theta))

        def phi(t):
            point = theta + t * d
            value = float(self._oracle["f"](point))
            if not np.isfinite(value):
                return np.inf, np.nan, None
            g_t = _checked_gradient(self._oracle["grad"], point, self.k)
            return value, float(np.vdot(g_t, d)), (point, value, g_t)

        t_min = float(
            np.finfo(theta.dtype).eps * np.max(np.abs(theta)) / np.max(np.abs(d), initial=1e-300)
        )
        t, found = wolfe_line_search(phi, f0, float(np.vdot(g, d)), t, c1, c2, t_min=t_min)
        _, f_new, g_new = found if found is not None else (theta, f0, g)
        self._found = (f_new, g_new)
        return t, g_new


def wolfe_line_search(phi, f0, slope0, t, c1=1e-4, c2=0.9, max_evals=30, t_min=0.0):
    """A step t satisfying the strong Wolfe conditions (Nocedal & Wright, Algs. 3.5, 3.6):

        f(t) <= f0 + c1 t slope0  (sufficient decrease),  |f'(t)| <= c2 |slope0|  (curvature),

    for phi(t) -> (f(t), f'(t), payload), f(t) = f(theta + t d), slope0 = f'(0) < 0.
    Doubles t until it brackets a step, then shrinks the bracket at the quadratic
    interpolant's minimizer (kept a tenth away from the ends). Returns (t, payload), or
    the best step so far (0, None if none decreased f) when slope0 >= 0, after
    ``max_evals``, or once the bracket is below rounding in f or below ``t_min``.
    """
    if not 0 < c1 < c2 < 1:
        raise ValueError(f"c1, c2 must satisfy 0 < c1 < c2 < 1; got c1={c1!r}, c2={c2!r}")
    lo, f_lo, slope_lo, found = 0.0, f0, slope0, None
    hi, f_hi = np.inf, np.inf
    for _ in range(max_evals if slope0 < 0 else 0):  # no search along an ascent direction
        if max(lo, hi) <= t_min or -slope0 * max(lo, hi) <= _ROUNDING * abs(f0):
            break  # no step in the bracket moves theta, or lowers f by more than rounding
        f_t, slope_t, payload = phi(t)
        if f_t > f0 + c1 * t * slope0 or f_t >= f_lo:
            hi, f_hi = t, f_t
        elif abs(slope_t) <= -c2 * slope0:
            return t, payload
        else:
            if slope_t * (hi - lo) >= 0:  # the slope turned: the minimum is behind t
                hi, f_hi = lo, f_lo
            lo, f_lo, slope_lo, found = t, f_t, slope_t, payload
        if np.isinf(hi):
            t = 2 * t
            continue
        width = hi - lo  # negative when the minimum lies behind lo
        curvature = f_hi - f_lo - slope_lo * width
        t = lo - slope_lo * width**2 / (2 * curvature) if curvature > 0 else lo + width / 2
        near, far = sorted((lo + 0.1 * width, hi - 0.1 * width))
        t = min(max(float(t), near), far)
    return lo, found


class Newton(_OracleOptimizer):
    """Newton's method with Levenberg damping (Goodfellow et al. 2016, eq. 8.28).

    H = hess(theta);  theta <- theta - eps (H + lambda I)^-1 g.

    With eps = 1, lambda = 0 it jumps to the local model's stationary point (a saddle
    or maximum if H is indefinite); lambda (``damping``) > -lambda_min(H) makes it descend.
    Parameters: lr (eps) > 0 or a schedule; damping (lambda) >= 0. State: none.
    """

    oracles = ("hess",)
    damping = Hyperparameter(_checks.nonnegative)

    def __init__(self, lr=1.0, damping=0.0):
        self.damping = damping
        super().__init__(lr)

    def update(self, theta, g, eps):
        H = self.hessian(theta)
        H_damped = H + self.damping * np.eye(len(H), dtype=H.dtype)
        try:
            step = np.linalg.solve(H_damped, g.ravel())
        except np.linalg.LinAlgError:
            message = f"step {self.k}: H + damping I is singular; increase damping"
            raise DivergenceError(message, self.k) from None
        theta = theta - eps * step.reshape(theta.shape)
        return theta, {}


class ConjugateGradient(_OracleOptimizer):
    """Nonlinear conjugate gradients (Goodfellow et al. 2016, Algorithm 8.9).

    beta = g^T g / g_prev^T g_prev                 (Fletcher-Reeves, "FR")
    beta = max(0, g^T (g - g_prev) / g_prev^T g_prev)  (Polak-Ribiere+, "PR");
    d <- -g + beta d  (-g at the first step, or when that is not a descent direction);
    t = a line search along d;  theta <- theta + t d.

    ``line_search="wolfe"`` (needs ``f``): strong Wolfe conditions with c1, c2 (c2 < 1/2
    keeps Fletcher-Reeves' directions descending; the first trial step is eps at the
    first iteration, then t_prev g_prev^T d_prev / g^T d, Nocedal & Wright eq. 3.60).
    ``line_search="exact"`` (needs ``hess``): t = -g^T d / d^T H d, the minimizer along d
    of a quadratic. Then, on f = 1/2 x^T A x - b^T x in n dimensions, both betas agree and
    the method is linear CG (Hestenes & Stiefel 1952): it ends at x* after at most n steps.
    State: g_prev, d (the previous gradient and direction), t (the previous step length).
    """

    beta = Hyperparameter(_checks.one_of("FR", "PR"))
    line_search = Hyperparameter(_checks.one_of("wolfe", "exact"))
    c1 = Hyperparameter(_checks.open_unit_interval)
    c2 = Hyperparameter(_checks.open_unit_interval)

    def __init__(self, lr=1.0, beta="PR", line_search="wolfe", c1=1e-4, c2=0.1):
        self.beta, self.line_search, self.c1, self.c2 = beta, line_search, c1, c2
        super().__init__(lr)

    @property
    def oracles(self):
        return ("hess",) if self.line_search == "exact" else ("f",)

    def init_state(self, theta):
        return {"g_prev": np.zeros_like(theta), "d": np.zeros_like(theta), "t": 0.0}

    def update(self, theta, g, eps, g_prev, d, t):
        gg_prev = np.vdot(g_prev, g_prev)
        if gg_prev == 0:  # the first step (or one from a stationary point)
            beta = 0.0
        elif self.beta == "FR":
            beta = np.vdot(g, g) / gg_prev
        else:
            beta = max(0.0, np.vdot(g, g - g_prev) / gg_prev)
        slope_prev = np.vdot(g_prev, d)
        d = -g + beta * d
        if not np.vdot(g, d) < 0:  # not a descent direction: restart along -g
            d = -g
        if self.line_search == "exact":
            curvature = np.vdot(d, self.hessian(theta) @ d.ravel())
            if not np.any(d):  # g = 0: a stationary point
                t = 0.0
            elif curvature > 0:
                t = -np.vdot(g, d) / curvature
            else:
                message = f"step {self.k}: d^T H d <= 0, no minimum along d"
                raise DivergenceError(message, self.k)
        else:
            t0 = eps if t == 0 else t * slope_prev / np.vdot(g, d)
            t, _ = self.wolfe_step(theta, g, d, t0, self.c1, self.c2)
        theta = theta + t * d
        return theta, {"g_prev": g, "d": d, "t": float(t)}


class LBFGS(_OracleOptimizer):
    """Limited-memory BFGS (Nocedal 1980; Nocedal & Wright 2006, Algorithms 7.4, 7.5).

    d = -H_k g by the two-loop recursion over the last m pairs (s_i, y_i), with the
    initial H_0 = gamma I, gamma = s^T y / y^T y of the newest pair (1 before any);
    t = a line search along d (strong Wolfe, c1, c2; first trial step eps, 1 being the
    full quasi-Newton step);  s = t d;  y = g_new - g;  theta <- theta + s;
    keep (s, y), dropping the oldest beyond m, if s^T y > 0 (the Wolfe curvature
    condition guarantees it).

    H_k (inverse-Hessian estimate) is never formed: O(m n) work and memory.
    Parameters: lr (eps) > 0 or a schedule; m an integer >= 1; c1 < c2 in (0, 1).
    State: S, Y, shape (m, *theta.shape), pairs newest last (zero rows are empty).
    """

    stacked_state = ("S", "Y")
    oracles = ("f",)
    m = Hyperparameter(_checks.positive_int)
    c1 = Hyperparameter(_checks.open_unit_interval)
    c2 = Hyperparameter(_checks.open_unit_interval)

    def __init__(self, lr=1.0, m=10, c1=1e-4, c2=0.9):
        self.m, self.c1, self.c2 = m, c1, c2
        super().__init__(lr)

    def init_state(self, theta):
        return {name: np.zeros((self.m, *theta.shape), theta.dtype) for name in ("S", "Y")}

    def direction(self, g, S, Y):
        """-H_k g by the two-loop recursion (Nocedal & Wright, Algorithm 7.4)."""
        pairs = [(s, y) for s, y in zip(S, Y, strict=True) if np.vdot(y, s) > 0]
        rhos = [1 / np.vdot(y, s) for s, y in pairs]
        q, alphas = g, []
        for (s, y), rho in zip(reversed(pairs), reversed(rhos), strict=True):
            alphas.append(rho * np.vdot(s, q))
            q = q - alphas[-1] * y
        gamma = 1.0  # H_0 = gamma I, scaled by the newest pair (N & W eq. 7.20)
        if pairs:
            s, y = pairs[-1]
            gamma = np.vdot(s, y) / np.vdot(y, y)
        r = gamma * q
        for (s, y), rho, alpha in zip(pairs, rhos, reversed(alphas), strict=True):
            r = r + s * (alpha - rho * np.vdot(y, r))
        return -r

    def update(self, theta, g, eps, S, Y):
        d = self.direction(g, S, Y)
        t, g_new = self.wolfe_step(theta, g, d, eps, self.c1, self.c2)
        s, y = t * d, g_new - g
        theta = theta + s
        if np.vdot(s, y) > 0:
            S, Y = np.concatenate([S[1:], s[None]]), np.concatenate([Y[1:], y[None]])
        return theta, {"S": S, "Y": Y}

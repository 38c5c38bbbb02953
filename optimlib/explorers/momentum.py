"""Chapter 5, momentum and Nesterov: the theory per eigen-direction, and the chapter's figures.

On a quadratic with Hessian A, the heavy ball and Nesterov's method act on each
eigen-direction of A separately. Along an eigenvector of curvature ``lam`` the error
e = theta - theta* and the velocity v obey a 2 x 2 linear recursion
(e_{k+1}, v_{k+1}) = T (e_k, v_k) (:func:`iteration_matrix`), whose eigenvalues are
the roots of

    heavy ball:  z^2 - (1 + alpha - eps lam) z + alpha
    Nesterov:    z^2 - (1 + alpha)(1 - eps lam) z + alpha (1 - eps lam)

(:func:`characteristic_coefficients`, :func:`roots`). The run converges at the rate of
the largest root in modulus over all eigenvalues, the spectral radius
(:func:`spectral_radius`), which :func:`panel` measures against.

The figures: :func:`step_diagram` (the lecture's Figure 1 redrawn from one real step
of each method) and :func:`panel` (the explorer: a run on an ill-conditioned quadratic
for given eps and alpha). :func:`trace` records the velocity of every step, which
:func:`optimlib.minimize` does not keep.
"""

from __future__ import annotations

import math

import numpy as np

from .. import _checks
from .. import plot as olplot
from ..optimizers import Momentum, Nesterov
from ..problems import Quadratic
from ..run import minimize

__all__ = [
    "METHODS",
    "characteristic_coefficients",
    "complex_band",
    "iteration_matrix",
    "measured_rate",
    "panel",
    "root_modulus",
    "roots",
    "spectral_radius",
    "stability_limit",
    "step_diagram",
    "trace",
]

METHODS = {"momentum": Momentum, "nesterov": Nesterov}


def _method(method: str) -> str:
    return _checks.choice("method", method, tuple(METHODS))


def _parameters(eps, alpha, lam):
    eps = _checks.positive("eps", eps)
    alpha = _checks.unit_interval("alpha", alpha)
    lam = np.asarray(lam, dtype=np.float64)
    if not np.isfinite(lam).all():
        raise ValueError("lam must be finite")
    return eps, alpha, lam


# --- the linear theory, one eigen-direction at a time -------------------------------------


def iteration_matrix(eps, alpha, lam, method: str = "momentum") -> np.ndarray:
    """T with (e_{k+1}, v_{k+1}) = T (e_k, v_k) along an eigenvector of curvature lam.

    Heavy ball: v' = alpha v - eps lam e and e' = e + v', so
    T = [[1 - eps lam, alpha], [-eps lam, alpha]]. Nesterov takes the gradient at
    e + alpha v: v' = alpha (1 - eps lam) v - eps lam e, so
    T = [[1 - eps lam, alpha (1 - eps lam)], [-eps lam, alpha (1 - eps lam)]].
    ``lam`` may be an array; the result then has shape (*lam.shape, 2, 2).
    """
    eps, alpha, lam = _parameters(eps, alpha, lam)
    h = eps * lam
    memory = alpha * (1 - h) if _method(method) == "nesterov" else alpha * np.ones_like(h)
    T = np.empty((*h.shape, 2, 2))
    T[..., 0, 0], T[..., 0, 1] = 1 - h, memory
    T[..., 1, 0], T[..., 1, 1] = -h, memory
    return T


def characteristic_coefficients(eps, alpha, lam, method: str = "momentum"):
    """(b, c) with det(z I - T) = z^2 - b z + c: the trace and the determinant of T."""
    eps, alpha, lam = _parameters(eps, alpha, lam)
    h = eps * lam
    if _method(method) == "nesterov":
        return (1 + alpha) * (1 - h), alpha * (1 - h)
    return 1 + alpha - h, alpha * np.ones_like(h)


def roots(eps, alpha, lam, method: str = "momentum") -> np.ndarray:
    """The two eigenvalues of T, shape (*lam.shape, 2), complex, larger modulus first.

    Real roots come from the cancellation-free pair z1 = (b + sign(b) sqrt(b^2 - 4c)) / 2,
    z2 = c / z1; complex ones are (b +- i sqrt(4c - b^2)) / 2, of modulus sqrt(c).
    """
    b, c = characteristic_coefficients(eps, alpha, lam, method)
    b, c = np.broadcast_arrays(np.asarray(b, float), np.asarray(c, float))
    disc = b * b - 4 * c
    real = disc >= 0
    s = np.sqrt(np.abs(disc))
    z1 = np.where(real, (b + np.copysign(s, b)) / 2, b / 2 + 0.5j * s)
    with np.errstate(divide="ignore", invalid="ignore"):
        z2_real = np.where(z1 != 0, c / np.where(z1 != 0, z1, 1), 0)
    z2 = np.where(real, z2_real, b / 2 - 0.5j * s)
    pair = np.stack([z1, z2], axis=-1).astype(complex)
    order = np.argsort(-np.abs(pair), axis=-1, kind="stable")
    return np.take_along_axis(pair, order, axis=-1)


def root_modulus(eps, alpha, lam, method: str = "momentum"):
    """max |z| over the two roots, for each lam: the rate of that eigen-direction."""
    modulus = np.abs(roots(eps, alpha, lam, method))[..., 0]
    return float(modulus) if modulus.ndim == 0 else modulus


def spectral_radius(eps, alpha, eigenvalues, method: str = "momentum") -> float:
    """The largest root modulus over all eigenvalues of the Hessian: the asymptotic rate.

    For alpha = 0 both methods are gradient descent and this is max |1 - eps lam|.
    """
    eigenvalues = np.atleast_1d(np.asarray(eigenvalues, dtype=np.float64))
    return float(np.max(root_modulus(eps, alpha, eigenvalues, method)))


def stability_limit(alpha, method: str = "momentum") -> float:
    """The largest eps * lam for which the direction converges (the limit itself does not).

    Heavy ball: 2 (1 + alpha). Nesterov: 2 (1 + alpha) / (1 + 2 alpha). Both are 2 at
    alpha = 0 (gradient descent); momentum lets the step grow towards 4 / L, the
    look-ahead only towards 4 / (3 L). (Jury's test on z^2 - b z + c: |c| < 1 and
    |b| < 1 + c.)
    """
    alpha = _checks.unit_interval("alpha", alpha)
    if _method(method) == "nesterov":
        return 2 * (1 + alpha) / (1 + 2 * alpha)
    return 2 * (1 + alpha)


def complex_band(alpha) -> tuple[float, float]:
    """The eps * lam where the heavy ball's roots are complex, of modulus exactly sqrt(alpha).

    (1 - sqrt(alpha))^2 < eps lam < (1 + sqrt(alpha))^2: the discriminant
    (1 + alpha - eps lam)^2 - 4 alpha is negative there.
    """
    root = math.sqrt(_checks.unit_interval("alpha", alpha))
    return (1 - root) ** 2, (1 + root) ** 2


# --- measuring a rate on a run that oscillates ---------------------------------------------


def measured_rate(distances, floor: float = 1e-10, skip: float = 0.25) -> float:
    """The contraction per step of a run, read off its envelope (robust to oscillation).

    With complex roots ||theta_k - theta*|| oscillates, and dips close to zero now and
    then: the ratio of two single values can be far off. This compares the largest
    value in a late window with the largest in an early one, windows a quarter of the
    measured span long, and takes the (span - window)-th root of their ratio, which is
    exact for a pure exponential, decaying or growing. The span runs from a fraction
    ``skip`` of the run (past the transient) to the first value below ``floor`` times
    the first one (before rounding error takes over), or to the end of the run.
    """
    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 1 or len(d) < 9 or not np.isfinite(d).all() or d[0] <= 0:
        raise ValueError("distances: need at least 9 finite values, the first one > 0")
    below = np.flatnonzero(d <= floor * d[0])
    stop = int(below[0]) if below.size else len(d) - 1
    start = int(skip * stop)
    window = max(1, (stop - start) // 4)
    if stop - start - window < 2:
        raise ValueError("distances: the run reaches the floor too soon to measure a rate")
    late = np.max(d[stop - window : stop + 1])
    early = np.max(d[start : start + window + 1])
    if late <= 0:
        return 0.0
    return float((late / early) ** (1 / (stop - window - start)))


# --- recording the velocity ------------------------------------------------------------------


def trace(optimizer, grad_fn, theta0, steps: int):
    """Run ``steps`` steps from theta0 and return (thetas, vs), each of shape (steps + 1, ...).

    ``vs[k]`` is the velocity v_k in the optimizer's state after k steps (v_0 = 0), the
    one that ``optimizer.step`` used to go from theta_k to theta_{k+1}.
    """
    steps = _checks.nonnegative_int("steps", steps)
    optimizer.reset()
    theta = np.array(theta0, dtype=np.float64)
    thetas, vs = [theta], [np.zeros_like(theta)]
    for _ in range(steps):
        theta = optimizer.step(theta, grad_fn)
        thetas.append(theta)
        vs.append(optimizer.state["v"])
    return np.array(thetas), np.array(vs)


# --- the lecture's Figure 1, from one real step ---------------------------------------------

COLORS = {
    "previous": "#7f7f7f",
    "momentum": olplot.PALETTE[0],
    "gradient": olplot.PALETTE[1],
    "step": olplot.PALETTE[2],
}


def _one_step(method, eps, alpha, theta, v, grad_fn):
    """One step of the real optimizer from the state (theta, v): (point, g, theta', v')."""
    optimizer = METHODS[method](lr=eps, alpha=alpha)
    optimizer.load_state_dict(
        {
            "optimizer": type(optimizer).__name__,
            "k": 1,
            "hyperparameters": optimizer.hyperparameters(),
            "state": {"v": np.array(v, dtype=np.float64)},
        }
    )
    seen = {}

    def recording(point):
        seen["point"], seen["g"] = np.array(point), np.asarray(grad_fn(point), dtype=float)
        return seen["g"]

    new_theta = optimizer.step(theta, recording)
    return seen["point"], seen["g"], new_theta, optimizer.state["v"]


def _arrow(ax, start, end, color, label, side=1.0, offset=14, **kwargs):
    """An arrow from start to end, labelled beside its middle (side +1 left, -1 right)."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    ax.annotate(
        "",
        xy=end,
        xytext=start,
        arrowprops={
            "arrowstyle": "-|>",
            "color": color,
            "lw": 2.2,
            "shrinkA": 0,
            "shrinkB": 0,
            "mutation_scale": 16,
            **kwargs,
        },
        zorder=6,
    )
    d = end - start
    normal = np.array([-d[1], d[0]]) / max(np.hypot(*d), 1e-300)
    ax.annotate(
        label,
        (start + end) / 2,
        xytext=tuple(side * offset * normal),
        textcoords="offset points",
        ha="center",
        va="center",
        color=color,
        fontsize=10,
        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        zorder=7,
    )


def step_diagram(
    ax,
    problem,
    theta,
    v,
    eps,
    alpha,
    method: str = "momentum",
    bounds=None,
    sides=None,
) -> dict:
    """One real step of the heavy ball or of Nesterov from (theta, v), drawn as arrows.

    The optimizer (``ol.Momentum`` or ``ol.Nesterov``) is loaded with velocity v and takes
    one step on ``problem``; the drawing decomposes that step: the previous step v
    (grey, ending at theta), the momentum step alpha v, the gradient step -eps g taken
    at the point where the method evaluates the gradient (theta for the heavy ball,
    theta + alpha v for Nesterov), and the actual step v' = alpha v - eps g. For the
    heavy ball the gradient arrow starts at theta, where g is evaluated, and a dashed
    copy completes the parallelogram; for Nesterov the arrows go head to tail.
    ``sides`` overrides which side of each arrow its label sits ({name: +1 or -1}).

    Returns the vectors drawn: theta, v, point (where g was evaluated), g,
    momentum_step, gradient_step, new_v, new_theta.
    """
    method = _method(method)
    theta, v = np.asarray(theta, float), np.asarray(v, float)
    point, g, new_theta, new_v = _one_step(method, eps, alpha, theta, v, problem.grad)
    momentum_step, gradient_step = alpha * v, -eps * g
    where = {"previous": -1.0, "momentum": 1.0, "gradient": -1.0, "step": 1.0}
    where.update(sides or {})

    if bounds is None:
        corners = np.array([theta - v, theta, theta + momentum_step, point + gradient_step])
        lo, hi = corners.min(axis=0), corners.max(axis=0)
        half = 0.75 * float(np.max(hi - lo))
        mid = (lo + hi) / 2
        bounds = ((mid[0] - half, mid[0] + half), (mid[1] - half, mid[1] + half))
    olplot.contour(ax, problem, bounds=bounds, mark_min=False)

    _arrow(ax, theta - v, theta, COLORS["previous"], r"previous step $v$", where["previous"])
    _arrow(
        ax, theta, theta + momentum_step, COLORS["momentum"], r"momentum $\alpha v$", where["momentum"]
    )
    if method == "momentum":
        tip = theta + momentum_step
        ax.plot(*np.stack([tip, tip + gradient_step]).T, ls="--", lw=1, color=COLORS["gradient"])
        ax.plot(*np.stack([theta + gradient_step, new_theta]).T, ls="--", lw=1, color="0.4")
        label = r"gradient $-\varepsilon g(\theta)$"
    else:
        label = r"gradient $-\varepsilon g(\theta + \alpha v)$"
    _arrow(ax, point, point + gradient_step, COLORS["gradient"], label, where["gradient"])
    _arrow(ax, theta, new_theta, COLORS["step"], r"step $v' = \alpha v - \varepsilon g$", where["step"])

    ax.plot(*theta, "o", color="black", ms=6, zorder=8)
    ax.annotate(r"$\theta$", theta, xytext=(-10, 6), textcoords="offset points", fontsize=12)
    if method == "nesterov":
        ax.plot(*point, "o", color=COLORS["gradient"], ms=6, mfc="white", zorder=8)
        ax.annotate(
            r"look-ahead $\theta + \alpha v$",
            point,
            xytext=(8, 6),
            textcoords="offset points",
            fontsize=10,
            color=COLORS["gradient"],
        )
    return {
        "theta": theta,
        "v": v,
        "point": point,
        "g": g,
        "momentum_step": momentum_step,
        "gradient_step": gradient_step,
        "new_v": new_v,
        "new_theta": new_theta,
    }


# --- the explorer ------------------------------------------------------------------------------


def panel(
    ax, eps=0.015, alpha=0.8, kappa=100.0, method: str = "momentum", steps: int = 500
) -> dict:
    """A run of the heavy ball (or Nesterov) on a 2-D quadratic of condition number kappa.

    The quadratic has curvatures mu = 1 (along theta_1) and L = kappa (along theta_2),
    minimum at (1, 1). Draws the iterates on the contours with the measured rate and the
    theory (:func:`spectral_radius`) in a box; a run whose loss grows beyond 1e6 times
    its start is stopped and marked "diverged". Returns the numbers shown: ``rate``
    (:func:`measured_rate` of the distances to the minimum), ``theory``, ``diverged``,
    ``diverged_at``, ``steps`` (completed), ``final_distance``.
    """
    method = _method(method)
    problem = Quadratic.with_condition_number(kappa)
    optimizer = METHODS[method](lr=eps, alpha=alpha)
    max_loss = problem.f_star + 1e6 * (problem.f(problem.x0) - problem.f_star)
    history = minimize(problem, optimizer, steps=steps, max_loss=max_loss)
    theory = spectral_radius(eps, alpha, problem.eigenvalues, method)
    distances = history.distances()
    rate = measured_rate(distances) if len(distances) >= 9 else float("nan")

    olplot.trajectories(ax, problem, [history], labels=[method], every=1)
    ax.get_legend().remove()
    status = (
        f"diverged at step {history.diverged_at}"
        if history.diverged
        else f"distance {distances[-1]:.1e} after {history.steps} steps"
    )
    ax.text(
        0.03,
        0.04,
        f"measured rate {rate:.4f}\ntheory $\\rho$ = {theory:.4f}\n{status}",
        transform=ax.transAxes,
        fontsize=9,
        va="bottom",
        bbox={"boxstyle": "round,pad=0.3", "fc": "white", "ec": "0.7", "alpha": 0.9},
        zorder=9,
    )
    ax.set_title(f"{method}: $\\varepsilon$ = {eps:g}, $\\alpha$ = {alpha:g}")
    return {
        "rate": rate,
        "theory": theory,
        "diverged": history.diverged,
        "diverged_at": history.diverged_at,
        "steps": history.steps,
        "final_distance": float(distances[-1]),
    }

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
(:func:`asymptotic_rate`), which :func:`panel` measures against.

:func:`compute_search` tunes (eps, alpha) pairs on a problem without a formula for
them (the Rosenbrock valley), by steps to a tolerance.

The figures: :func:`step_diagram` (the lecture's Figure 1 redrawn from one real step
of each method) and :func:`panel` (the explorer: a run on an ill-conditioned quadratic
for given eps and alpha).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from optimlib import _checks
from optimlib.optimizers import SGD, Momentum, Nesterov
from optimlib.problems import Quadratic
from optimlib.run import History, minimize

from . import plot as olplot
from .linalg import spectral_radius

__all__ = [
    "ENVELOPE",
    "METHODS",
    "NAIVE",
    "Setting",
    "asymptotic_rate",
    "characteristic_coefficients",
    "complex_band",
    "compute_iterations",
    "compute_search",
    "figure_one",
    "iteration_matrix",
    "lookahead_residuals",
    "noise_floor",
    "one_step",
    "panel",
    "root_modulus",
    "roots",
    "run_chains",
    "stability_limit",
    "step_diagram",
    "velocity_variance",
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


def asymptotic_rate(eps, alpha, eigenvalues, method: str = "momentum") -> float:
    """The spectral radius of the iteration matrices of all the Hessian's eigenvalues:
    the rate of the run in the long run.

    For alpha = 0 both methods are gradient descent and this is max |1 - eps lam|.
    """
    eigenvalues = np.atleast_1d(np.asarray(eigenvalues, dtype=np.float64))
    return spectral_radius(iteration_matrix(eps, alpha, eigenvalues, method))


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

# With complex roots ||theta_k - theta*|| oscillates and dips close to zero now and then,
# so the chapter reads rates off the envelope (optimlib.run.rate), past the first quarter
# of the run (the transient) and before rounding takes over (1e-10 of the start).
ENVELOPE = {"floor": 1e-10, "skip": 0.25, "envelope": True}


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


def _arrow(ax, start, end, color, label, center, place=None, offset=7):
    """An arrow from start to end, labelled beside it, by default at its middle on the side
    away from ``center``; ``place = (t, side)`` puts the label at start + t (end - start),
    on the left of the arrow's direction (side +1) or on its right (side -1)."""
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
        },
        zorder=6,
    )
    d = end - start
    normal = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-300)
    t, side = (0.5, None) if place is None else place
    middle = start + t * d
    if side is None:
        side = 1 if normal @ (middle - center) >= 0 else -1
    normal = side * normal
    ax.annotate(
        label,
        middle,
        xytext=tuple(offset * normal),
        textcoords="offset points",
        ha="left" if normal[0] > 0.3 else "right" if normal[0] < -0.3 else "center",
        va="bottom" if normal[1] > 0.3 else "top" if normal[1] < -0.3 else "center",
        color=color,
        fontsize=10,
        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        zorder=7,
    )


def _box_around(points, margin=0.15):
    """A box ((xmin, xmax), (ymin, ymax)) holding the points, padded by a fraction
    ``margin`` of their larger extent on every side."""
    points = np.asarray(points, float).reshape(-1, 2)
    lo, hi = points.min(axis=0), points.max(axis=0)
    pad = margin * float(np.max(hi - lo))
    return ((lo[0] - pad, hi[0] + pad), (lo[1] - pad, hi[1] + pad))


def _corners(step):
    """Every point a step diagram draws, for a box that holds them."""
    theta, v, point = step["theta"], step["v"], step["point"]
    return [
        theta - v,
        theta,
        theta + step["momentum_step"],
        point,
        point + step["gradient_step"],
        theta + step["gradient_step"],
        step["new_theta"],
    ]


def one_step(problem, theta, v, eps, alpha, method: str = "momentum") -> dict:
    """One step of the real optimizer (``ol.Momentum`` or ``ol.Nesterov``) from (theta, v).

    Returns theta, v, point (where the gradient was evaluated), g, momentum_step
    (alpha v), gradient_step (-eps g), new_v and new_theta (what ``step`` returned).
    """
    method = _method(method)
    theta, v = np.asarray(theta, float), np.asarray(v, float)
    point, g, new_theta, new_v = _one_step(method, eps, alpha, theta, v, problem.grad)
    return {
        "theta": theta,
        "v": v,
        "point": point,
        "g": g,
        "momentum_step": alpha * v,
        "gradient_step": -eps * g,
        "new_v": new_v,
        "new_theta": new_theta,
    }


def step_diagram(
    ax, problem, step: dict, method: str = "momentum", bounds=None, levels=12, places=None
):
    """The lecture's Figure 1 for one method: a real step (from :func:`one_step`) as arrows.

    Draws the previous step v (grey, ending at theta), the momentum step alpha v, the
    gradient step -eps g from the point where the method evaluated the gradient (theta
    for the heavy ball, theta + alpha v for Nesterov) and the actual step
    v' = alpha v - eps g. For the heavy ball the gradient arrow starts at theta and a
    dashed copy completes the parallelogram; for Nesterov the arrows go head to tail.
    Every arrow is labelled, by default at its middle on the outer side; ``places``
    moves labels: {"previous" | "momentum" | "gradient" | "step" | "lookahead": (t, side)}
    (see :func:`_arrow`; for "lookahead", the label's offset in points). Returns ``ax``.
    """
    places = places or {}
    method = _method(method)
    theta, v, point = step["theta"], step["v"], step["point"]
    momentum_step, gradient_step = step["momentum_step"], step["gradient_step"]
    new_theta = step["new_theta"]
    bounds = _box_around(_corners(step)) if bounds is None else bounds
    olplot.contour(ax, problem, bounds=bounds, levels=levels, mark_min=False)
    center = np.mean(_corners(step), axis=0)

    _arrow(
        ax,
        theta - v,
        theta,
        COLORS["previous"],
        r"previous step $v$",
        center,
        places.get("previous"),
    )
    _arrow(
        ax,
        theta,
        theta + momentum_step,
        COLORS["momentum"],
        r"momentum $\alpha v$",
        center,
        places.get("momentum"),
    )
    if method == "momentum":
        tip = theta + momentum_step
        dashed = {"ls": "--", "lw": 1, "zorder": 5}
        ax.plot(*np.stack([tip, new_theta]).T, color=COLORS["gradient"], **dashed)
        ax.plot(*np.stack([theta + gradient_step, new_theta]).T, color=COLORS["momentum"], **dashed)
        label = r"gradient $-\varepsilon g(\theta)$"
    else:
        label = r"gradient $-\varepsilon g(\theta + \alpha v)$"
    _arrow(
        ax, point, point + gradient_step, COLORS["gradient"], label, center, places.get("gradient")
    )
    _arrow(
        ax,
        theta,
        new_theta,
        COLORS["step"],
        r"step $v' = \alpha v - \varepsilon g$",
        center,
        places.get("step"),
    )

    ax.plot(*theta, "o", color="black", ms=6, zorder=8)
    ax.annotate(r"$\theta$", theta, xytext=(-14, 4), textcoords="offset points", fontsize=13)
    if method == "nesterov":
        ax.plot(*point, "o", color=COLORS["gradient"], ms=7, mfc="white", mew=1.5, zorder=8)
        ax.annotate(
            r"look-ahead $\theta + \alpha v$",
            point,
            xytext=places.get("lookahead", (8, -10)),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=10,
            color=COLORS["gradient"],
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    return ax


def figure_one(axes, problem, theta, v, eps, alpha, levels=12, margin=0.15, places=None) -> dict:
    """The heavy ball and Nesterov from the same (theta, v), side by side on the same box.

    ``axes``: two Axes (heavy ball, Nesterov). Returns {"momentum": step, "nesterov":
    step}, each a dict from :func:`one_step`. ``places``: {method: places} for
    :func:`step_diagram`.
    """
    places = places or {}
    steps = {m: one_step(problem, theta, v, eps, alpha, m) for m in ("momentum", "nesterov")}
    corners = _corners(steps["momentum"]) + _corners(steps["nesterov"])
    bounds = _box_around(corners, margin)
    titles = {"momentum": "classical momentum (heavy ball)", "nesterov": "Nesterov (look-ahead)"}
    for ax, (method, step) in zip(axes, steps.items(), strict=True):
        step_diagram(ax, problem, step, method, bounds, levels, places.get(method))
        ax.set_title(titles[method])
    return steps


def compute_iterations(kappas, reduction: float = 1e-8, max_steps: int = 20_000) -> dict:
    """Steps until f - f* has fallen by ``reduction``, for gradient descent at its optimal
    step 2 / (mu + L) and the heavy ball at its optimal (eps, alpha), on the quadratic of
    each condition number in ``kappas``. Returns name -> list of step counts (None: not
    within ``max_steps``)."""
    iterations = {"gradient descent": [], "heavy ball": []}
    for kappa in kappas:
        quad = Quadratic.with_condition_number(kappa)
        tol = reduction * (quad.f(quad.x0) - quad.f_star)
        eps, alpha = quad.heavy_ball_optimal()
        methods = {
            "gradient descent": SGD(lr=quad.gd_optimal_lr()),
            "heavy ball": Momentum(lr=eps, alpha=alpha),
        }
        for name, optimizer in methods.items():
            run = minimize(quad, optimizer, steps=max_steps, tol=tol)
            iterations[name].append(run.steps if run.stop_reason == "tolerance" else None)
    return iterations


# --- momentum in the noise ----------------------------------------------------------------------


def run_chains(optimizer, grad_fn, theta, steps: int) -> np.ndarray:
    """``steps`` steps of ``optimizer`` from ``theta`` with the (noisy) gradient
    ``grad_fn``; returns the last iterate, and the optimizer keeps its state. The
    optimizers act coordinate by coordinate, so a theta with one entry per chain runs
    that many independent chains at once."""
    for _ in range(steps):
        theta = optimizer.step(theta, grad_fn)
    return theta


def noise_floor(eps: float, alpha: float, lam: float, sigma: float) -> float:
    """Stationary Var(theta) of the heavy ball on f = lam theta^2 / 2 whose gradients
    carry independent noise of standard deviation sigma:
    eps sigma^2 (1 + alpha) / (lam (1 - alpha) (2 (1 + alpha) - eps lam));
    alpha = 0 gives SGD's eps sigma^2 / (lam (2 - eps lam))."""
    return eps * sigma**2 * (1 + alpha) / (lam * (1 - alpha) * (2 * (1 + alpha) - eps * lam))


def velocity_variance(alphas, eps: float, sigma: float, chains: int, rng) -> np.ndarray:
    """Var(v) of the heavy ball fed pure gradient noise (standard deviation ``sigma``,
    drawn from ``rng``), one value per alpha, over ``chains`` independent chains run
    for ceil(8 / (1 - alpha)) steps: then alpha^(2k) < 1e-6 and the start is forgotten.
    Theory: eps^2 sigma^2 / (1 - alpha^2)."""

    def pure_noise(theta):
        return sigma * rng.standard_normal(theta.shape)

    variances = []
    for alpha in alphas:
        optimizer = Momentum(lr=eps, alpha=alpha)
        run_chains(optimizer, pure_noise, np.zeros(chains), math.ceil(8 / (1 - alpha)))
        variances.append(np.var(optimizer.state["v"]))
    return np.array(variances)


# --- Nesterov's equivalent forms --------------------------------------------------------------

NAIVE = "heavy ball in phi, no gradient difference"


def lookahead_residuals(thetas, vs, grad, eps: float, alpha: float) -> dict:
    """Residuals of the forms of Nesterov's method along a recorded run, per step.

    ``thetas`` and ``vs`` are the Sutskever iterates theta_k and velocities v_k
    (k = 0 .. n, v_0 = 0) of ``optimlib.Nesterov``; ``grad`` maps a stack of points to
    their gradients. With phi_k = theta_k + alpha v_k (the look-ahead point) and PyTorch's
    buffer b_k = -v_k / eps, each entry is one identity's left side minus its right side:
    rounding for the true forms, and far from 0 for :data:`NAIVE`, the heavy ball in phi
    without the gradient-difference term.
    """
    phi = thetas + alpha * vs
    g = grad(phi)
    b = -vs / eps
    hb_in_phi = phi[1:-1] - eps * g[1:-1] + alpha * (phi[1:-1] - phi[:-2])
    return {
        "look-ahead    phi' = phi - eps g(phi) + alpha v'": phi[1:]
        - (phi[:-1] - eps * g[:-1] + alpha * vs[1:]),
        "PyTorch       b' = alpha b + g(phi)": b[1:] - (alpha * b[:-1] + g[:-1]),
        "PyTorch       phi' = phi - eps (g(phi) + alpha b')": phi[1:]
        - (phi[:-1] - eps * (g[:-1] + alpha * b[1:])),
        "two-sequence  theta' = phi - eps g(phi)": thetas[1:] - (phi[:-1] - eps * g[:-1]),
        "two-sequence  phi' = theta' + alpha (theta' - theta)": phi[1:]
        - (thetas[1:] + alpha * (thetas[1:] - thetas[:-1])),
        "phi alone     heavy ball in phi + gradient difference": phi[2:]
        - (hb_in_phi - alpha * eps * (g[1:-1] - g[:-2])),
        NAIVE: phi[2:] - hb_in_phi,
    }


# --- tuning (eps, alpha) by steps to a tolerance ---------------------------------------------


@dataclass
class Setting:
    """The winning setting of one method in :func:`compute_search`, and its run."""

    eps: float
    alpha: float
    run: History

    @property
    def reached(self) -> bool:
        """Whether the run got to the tolerance (it stops there)."""
        return self.run.stop_reason == "tolerance"

    def outcome(self, tol: float) -> str:
        """One line for a printed table."""
        run = self.run
        if self.reached:
            return f"f - f* <= {tol:.0e} at step {run.steps}"
        return f"f - f* = {run.final_loss - (run.f_star or 0.0):.2e} at step {run.steps}"


def _rank(run: History) -> tuple:
    """Reached the tolerance: fewer steps is better; otherwise the lower final loss
    (a divergence last)."""
    if run.stop_reason == "tolerance":
        return (0, run.steps)
    return (1, math.inf if run.diverged else run.final_loss)


def compute_search(
    problem,
    candidates: dict[str, tuple[Callable, Sequence[tuple[float, float]]]],
    max_steps: int,
    tol: float,
    blowup: float = 1e3,
) -> dict[str, Setting]:
    """The best (eps, alpha) of each method on ``problem``, by steps to f - f* <= ``tol``.

    ``candidates`` maps a name to ``(make, settings)``: ``make(eps, alpha)`` builds the
    optimizer, ``settings`` lists the (eps, alpha) pairs to try. Each runs at most
    ``max_steps`` steps from ``problem.x0`` and stops at the tolerance, or as diverged
    once its loss exceeds ``blowup`` times the starting loss. The winner is the first to
    reach the tolerance; if none does, the lowest final loss; the first setting listed on
    a tie. :func:`optimlib.compare.tune` tunes one learning rate by a final score; this
    tunes pairs, and by speed.
    """
    best = {}
    max_loss = blowup * problem.f(problem.x0)
    for name, (make, settings) in candidates.items():
        runs = [
            (eps, alpha, minimize(problem, make(eps, alpha), max_steps, tol=tol, max_loss=max_loss))
            for eps, alpha in settings
        ]
        eps, alpha, run = min(runs, key=lambda item: _rank(item[2]))
        best[name] = Setting(eps, alpha, run)
    return best


# --- the explorer ------------------------------------------------------------------------------


def panel(
    ax, eps=0.015, alpha=0.8, kappa=100.0, method: str = "momentum", steps: int = 500
) -> dict:
    """A run of the heavy ball (or Nesterov) on a 2-D quadratic of condition number kappa.

    The quadratic has curvatures mu = 1 (along theta_1) and L = kappa (along theta_2),
    minimum at (1, 1). Draws the iterates on the contours with the measured rate and the
    theory (:func:`asymptotic_rate`) in a box; a run whose loss grows beyond 1e6 times
    its start is stopped and marked "diverged". Returns the numbers shown: ``rate``
    (``history.rate(**ENVELOPE)``, of the distances to the minimum), ``theory``, ``diverged``,
    ``diverged_at``, ``steps`` (completed), ``final_distance``.
    """
    method = _method(method)
    problem = Quadratic.with_condition_number(kappa)
    optimizer = METHODS[method](lr=eps, alpha=alpha)
    max_loss = problem.f_star + 1e6 * (problem.f(problem.x0) - problem.f_star)
    history = minimize(problem, optimizer, steps=steps, max_loss=max_loss)
    theory = asymptotic_rate(eps, alpha, problem.eigenvalues, method)
    distances = history.distances()
    rate = history.rate(**ENVELOPE) if len(distances) >= 9 else float("nan")

    olplot.trajectories(ax, problem, [history], labels=[method], every=1)
    ax.get_legend().remove()
    if history.diverged:
        status = f"diverged at step {history.diverged_at}"
    elif distances[-1] == 0:
        status = f"distance 0 (exact) after {history.steps} steps"
    else:
        status = f"distance {distances[-1]:.1e} after {history.steps} steps"
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

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
    "draw_iterations",
    "draw_nesterov_modulus",
    "draw_noise",
    "draw_ravine",
    "draw_root_modulus",
    "draw_rosenbrock",
    "draw_terminal",
    "figure_one",
    "iteration_matrix",
    "lookahead_residuals",
    "noise_floor",
    "noise_floors",
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


def noise_floors(optimizers: dict, grad, sigma: float, chains: int, steps: int, rng) -> dict:
    """Var(theta) of each optimizer (name -> optimizer) over ``chains`` independent chains
    started at 0 after ``steps`` steps, each gradient being ``grad(theta)`` plus
    independent noise of standard deviation ``sigma`` drawn from ``rng`` (the optimizers
    in turn, so the numbers depend on their order)."""

    def noisy_gradient(theta):
        return grad(theta) + sigma * rng.standard_normal(theta.shape)

    start = np.zeros((chains, 1))
    return {
        name: float(np.var(run_chains(optimizer, noisy_gradient, start, steps)))
        for name, optimizer in optimizers.items()
    }


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


# --- the chapter's figures -------------------------------------------------------------------
# Each draws computed results and nothing else. Log axes over more than three decades get
# no minor ticks (plot.thin_log_ticks): they carry no labels there, and building,
# measuring and drawing them was a large part of the chapter's figure time.


def _thin(axes) -> None:
    for ax in np.ravel(axes):
        olplot.thin_log_ticks(ax)


def draw_ravine(
    ax_path, ax_err, problem, runs: dict, errors: dict, path_steps: int, error_steps: int
) -> None:
    """The runs (name -> History) on the ravine's contours, their first ``path_steps``
    steps (top), and the error along and across the valley (``errors``: name -> |error|
    per eigen-direction, one row per step) over the first ``error_steps`` (bottom)."""
    olplot.contour(ax_path, problem, bounds=((-5.8, 2.6), (-2.8, 2.2)))
    styles = zip(olplot.PALETTE, olplot.MARKERS, strict=False)
    for (name, history), (color, marker) in zip(runs.items(), styles, strict=False):
        label = name.replace("alpha", r"$\alpha$")
        olplot.trajectory(
            ax_path, history.thetas[: path_steps + 1], label=label, color=color, marker=marker
        )
        error = errors[name][: error_steps + 1]
        along = {"color": color, "marker": marker, "markevery": max(1, error_steps // 10)}
        ax_err.plot(error[:, 0], label=f"{label}: along", **along)
        ax_err.plot(error[:, 1], color=color, ls=":", label=f"{label}: across")
    ax_path.legend(loc="upper left")
    ax_path.set_title(rf"the first {path_steps} steps, same $\varepsilon$")
    ax_err.set_yscale("log")
    ax_err.set_ylim(1e-12, 30)
    ax_err.set_xlabel("step $k$")
    ax_err.set_ylabel(r"$|$error$|$ along / across the valley")
    ax_err.set_title("error in the flat and in the steep direction")
    ax_err.legend(loc="lower right", fontsize=9)
    _thin([ax_path, ax_err])


def draw_terminal(ax, speeds: dict) -> None:
    """||v_k|| / (eps ||g||) on a constant slope (``speeds``: alpha -> values for
    k = 1, 2, ...), each with its terminal value 1 / (1 - alpha) dashed."""
    styles = zip(olplot.PALETTE, olplot.MARKERS, strict=False)
    for (alpha, speed), (color, marker) in zip(speeds.items(), styles, strict=False):
        k = np.arange(1, len(speed) + 1)
        ax.plot(k, speed, color=color, marker=marker, markevery=8, label=rf"$\alpha$ = {alpha:g}")
        ax.axhline(1 / (1 - alpha), color=color, ls="--", lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("step $k$")
    ax.set_ylabel(r"$\|v_k\| \,/\, (\varepsilon \|g\|)$")
    ax.set_title(r"speed on a constant slope; dashed: $1/(1-\alpha)$")
    ax.legend(loc="center right")


def draw_noise(
    ax_w, ax_v, weights, ages: int, alphas, var_measured, eps: float, sigma: float, chains: int
) -> None:
    """Top: the weights alpha^j of past gradients j < ``ages`` steps old, for each alpha
    of ``weights``; bottom: Var(v) under pure noise, measured over ``chains`` runs at
    ``alphas`` beside eps^2 sigma^2 / (1 - alpha^2)."""
    j = np.arange(ages)
    styles = zip(olplot.PALETTE, olplot.MARKERS, strict=False)
    for alpha, (color, marker) in zip(weights, styles, strict=False):
        label = rf"$\alpha$ = {alpha:g}"
        ax_w.plot(j, alpha**j, color=color, marker=marker, markevery=5, label=label)
        ax_w.axvline(1 / (1 - alpha), color=color, ls=":", lw=1.2)
    ax_w.set_xlabel("age $j$ of the gradient (steps back)")
    ax_w.set_ylabel(r"weight $\alpha^j$ in $v / (-\varepsilon)$")
    ax_w.set_title(r"weights of past gradients; dotted: $1/(1-\alpha)$")
    ax_w.legend()
    fine = np.linspace(0, 0.995, 300)
    theory = eps**2 * sigma**2 / (1 - fine**2)
    label = r"theory $\varepsilon^2\sigma^2/(1-\alpha^2)$"
    ax_v.plot(fine, theory, color="black", lw=1.2, label=label)
    label = f"measured ({chains:,} runs)"
    ax_v.plot(alphas, var_measured, "o", color=olplot.PALETTE[1], ms=7, label=label)
    ax_v.set_yscale("log")
    ax_v.set_xlabel(r"momentum $\alpha$")
    ax_v.set_ylabel(r"Var$(v)$ once settled")
    ax_v.set_title("variance of the velocity under pure noise")
    ax_v.legend(loc="upper left")
    _thin([ax_w, ax_v])


def _rate_axes(ax, title: str) -> None:
    ax.axhline(1, color="black", lw=0.8)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.3)
    ax.set_xlabel(r"$\varepsilon\lambda$ (learning rate times curvature)")
    ax.set_ylabel(r"rate $\max|z|$ of the direction")
    ax.set_title(title)
    ax.legend(loc="lower left")
    _thin(ax)


def draw_root_modulus(ax, h, modulus: dict, band_alpha: float = 0.9) -> None:
    """The heavy ball's rate per direction against eps lambda = ``h`` (``modulus``:
    alpha -> rates), the band of complex roots of ``band_alpha`` shaded and each
    alpha's stability limit dotted."""
    styles = zip(olplot.PALETTE, olplot.MARKERS, strict=False)
    for (alpha, rates), (color, marker) in zip(modulus.items(), styles, strict=False):
        label = rf"$\alpha$ = {alpha:g}" + (" (gradient descent)" if alpha == 0 else "")
        ax.plot(h, rates, color=color, marker=marker, markevery=60, label=label)
        ax.axvline(stability_limit(alpha), color=color, ls=":", lw=1.2)
    low, high = complex_band(band_alpha)
    ax.axvspan(low, high, color=olplot.PALETTE[2], alpha=0.08, lw=0)
    text = f"complex roots for\n$\\alpha$ = {band_alpha:g}: " + r"$|z| = \sqrt{\alpha}$"
    ax.text(math.sqrt(low * high), 0.25, text, ha="center", fontsize=9, color=olplot.PALETTE[2])
    _rate_axes(ax, r"heavy ball, one eigen-direction; dotted: stability limit $2(1+\alpha)$")


def draw_nesterov_modulus(ax, h, alpha: float) -> None:
    """The rate per direction of the heavy ball and of Nesterov at ``alpha`` against
    eps lambda = ``h``, with gradient descent's |1 - eps lambda| and both limits."""
    for method, color, marker, label in [
        ("momentum", olplot.PALETTE[0], "o", "heavy ball"),
        ("nesterov", olplot.PALETTE[1], "s", "Nesterov"),
    ]:
        rate = root_modulus(1.0, alpha, h, method)
        ax.plot(h, rate, color=color, marker=marker, markevery=60, label=label)
        ax.axvline(stability_limit(alpha, method), color=color, ls=":", lw=1.2)
    label = r"gradient descent ($\alpha$ = 0)"
    ax.plot(h, np.abs(1 - h), color="0.5", lw=1, ls="--", label=label)
    _rate_axes(ax, rf"$\alpha$ = {alpha:g}; dotted: stability limits")


def draw_iterations(ax, kappas, iterations: dict, slopes: dict) -> None:
    """:func:`compute_iterations` on log-log axes, with lines proportional to kappa and
    to sqrt(kappa) through each method's first point."""
    kappas = np.asarray(kappas, dtype=float)
    styles = zip(olplot.PALETTE, olplot.MARKERS, strict=False)
    for (name, n), (color, marker) in zip(iterations.items(), styles, strict=False):
        label = f"{name} (slope {slopes[name]:.2f})"
        ax.plot(kappas, n, color=color, marker=marker, ms=7, label=label)
    gd_first, hb_first = iterations["gradient descent"][0], iterations["heavy ball"][0]
    ax.plot(kappas, gd_first * kappas / kappas[0], "k--", lw=1, label=r"$\propto \kappa$")
    root = np.sqrt(kappas / kappas[0])
    ax.plot(kappas, hb_first * root, "k:", lw=1.4, label=r"$\propto \sqrt{\kappa}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"condition number $\kappa$")
    ax.set_ylabel(r"iterations until $f - f^\star \leq 10^{-8}\,(f_0 - f^\star)$")
    ax.set_title("iterations to a tolerance, each method tuned optimally")
    ax.legend(loc="upper left")


def draw_rosenbrock(fig, ax_path, ax_conv, problem, best: dict, tol: float) -> None:
    """The winners of :func:`compute_search` (name -> :class:`Setting`) on Rosenbrock's
    ``problem``: their paths (top) and f - f* with the tolerance dashed (bottom), one
    legend for both under the figure ``fig``."""
    runs = [setting.run for setting in best.values()]
    labels = []
    for name, setting in best.items():
        alpha = "" if setting.alpha == 0 else rf", $\alpha$ = {setting.alpha:g}"
        labels.append(rf"{name} ($\varepsilon$ = {setting.eps:g}{alpha})")
    bounds = ((-1.6, 1.6), (-0.6, 1.8))
    olplot.trajectories(ax_path, problem, runs, labels=labels, bounds=bounds, legend=None)
    ax_path.set_title("tuned runs on the Rosenbrock function")
    olplot.convergence(ax_conv, runs, labels=labels, legend=None)
    ax_conv.axhline(tol, color="black", lw=0.8, ls="--")
    ax_conv.set_title(
        r"$f - f^\star$; dashed: the tolerance $10^{" + f"{math.log10(tol):.0f}" + "}$"
    )
    fig.legend(*ax_conv.get_legend_handles_labels(), loc="outside lower center", ncols=1)
    _thin([ax_path, ax_conv])


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

"""Chapter 1, gradient descent: the step-size explorer, the figures, their computations.

Each experiment is a ``compute_*`` function (numbers only: the Taylor model along the
gradient, the four regimes, the rate curve, the iteration counts, a divergent run) and a
``draw_*`` function that draws its result into the Axes it is given.

* :func:`quadratic`: the chapter's test problem, a 2-D quadratic scaled so that its
  largest curvature is lambda_max = 1; then every step size is measured in units of
  1 / lambda_max, the stable range is 0 < eps < 2 whatever kappa, and the optimal fixed
  step 2 / (lambda_min + lambda_max) = 2 kappa / (kappa + 1).
* :func:`panel`: gradient descent with step ``eps`` on :func:`quadratic` ``(kappa)``,
  drawn over the contours; returns the measured rate, its theory, and how the run ended.
* :func:`directions`: the directional derivatives D_u f(x) = u^T grad f(x) of a 2-D
  problem in several unit directions u, drawn as arrows on the level set through x and
  as a curve against the angle between u and the gradient.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from optimlib.optimizers import SGD
from optimlib.problems import Quadratic
from optimlib.run import History, minimize

from . import plot

__all__ = [
    "RATE",
    "compute_divergence",
    "compute_iterations",
    "compute_rate_curve",
    "compute_regimes",
    "compute_taylor_model",
    "directions",
    "draw_divergence",
    "draw_iterations",
    "draw_rate_curve",
    "draw_regimes",
    "draw_taylor_model",
    "panel",
    "quadratic",
    "run",
]

MAX_GROWTH = 1e4  # a run is stopped ("diverged") once f - f* exceeds this times f(x0) - f*
# The chapter's rate measurement (History.rate): over the second half of the run, up to
# where ||x_k - x*|| falls to 1e-10 ||x_0 - x*|| (below that, rounding is all one
# measures); the first half is left out, so that the directions that fade faster than
# the slowest one do not bias it.
RATE = {"floor": 1e-10, "skip": 0.5}
BOUNDS = ((-3.0, 4.0), (-2.5, 4.5))  # the panel's view: x* = (1, 1) and x0 = (-2, 4)


def quadratic(kappa: float) -> Quadratic:
    """f(x) = 1/2 x^T A x - b^T x in 2-D with eigenvalues 1/kappa and 1 and x* = (1, 1).

    The flat direction (curvature 1 / kappa) is the first axis, the steep one
    (curvature 1) the second; the default start is x* + (-3, 3).
    """
    return Quadratic.with_condition_number(kappa, lam_min=1.0 / kappa)


def run(problem, eps: float, steps: int, label: str | None = None) -> History:
    """Gradient descent (``SGD`` with full gradients) with step ``eps`` for ``steps`` steps.

    A run whose f - f* passes MAX_GROWTH times its starting value is stopped and
    recorded as diverged ("diverged at step k"), so a diverging run is a finite curve.
    """
    gap0 = problem.f(problem.x0) - problem.f_star
    return minimize(
        problem,
        SGD(lr=eps),
        steps=steps,
        max_loss=problem.f_star + MAX_GROWTH * gap0,
        label=f"gradient descent, ε = {eps:.3g}" if label is None else label,
    )


def panel(ax, eps: float = 1.0, kappa: float = 10.0, steps: int = 150, tol: float = 1e-3):
    """Gradient descent with step ``eps`` on :func:`quadratic` ``(kappa)``, over its contours.

    Returns a dict:

    * ``rate``: the measured contraction of ||x_k - x*|| per step (``history.rate(**RATE)``);
      above 1 it is the growth of a diverging run;
    * ``theory``: max_i |1 - eps lambda_i| (``Quadratic.gd_rate``);
    * ``diverged``, ``diverged_at``: whether (and at which step) f - f* passed
      MAX_GROWTH times its starting value, which ends the run;
    * ``steps_to_tol``: the first k with ||x_k - x*|| <= tol ||x_0 - x*||, or None;
    * ``optimal_eps``: 2 / (lambda_min + lambda_max), for comparison.
    """
    problem = quadratic(kappa)
    history = run(problem, eps, steps)
    d0 = float(np.linalg.norm(problem.x0 - problem.x_star))
    result = {
        "rate": history.rate(**RATE),
        "theory": problem.gd_rate(eps),
        "diverged": history.diverged,
        "diverged_at": history.diverged_at,
        "steps_to_tol": history.steps_to(tol * d0, measure="distance"),
        "optimal_eps": problem.gd_optimal_lr(),
    }
    plot.trajectories(ax, problem, [history], bounds=BOUNDS)
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()  # one run: the caption names it
    if history.diverged:
        text = (
            f"diverged at step {history.diverged_at}\n"
            f"growth {result['rate']:.3f}/step (theory {result['theory']:.3f})"
        )
    elif result["rate"] > 1:
        text = (
            f"error grows by {result['rate']:.3f}/step (theory {result['theory']:.3f})\n"
            f"not yet past the stopping cap after {steps} steps"
        )
    else:
        reached = result["steps_to_tol"]
        reach = (
            f"error / {1 / tol:g} after {reached} steps"
            if reached is not None
            else (f"error / {1 / tol:g} not reached in {steps} steps")
        )
        text = f"rate {result['rate']:.3f}/step (theory {result['theory']:.3f})\n{reach}"
    ax.text(
        0.03,
        0.03,
        text,
        transform=ax.transAxes,
        fontsize=8.5,
        va="bottom",
        bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.7"},
    )
    ax.set_title(rf"$\varepsilon = {eps:.3g}$, $\kappa = {kappa:.3g}$")
    return result


def directions(ax_plane, ax_curve, problem, x, angles_deg, h: float = 1e-6, bounds=None):
    """Directional derivatives of ``problem`` at ``x``: arrows on the plane, a curve of angle.

    For each angle phi (degrees, counterclockwise from the gradient g = grad f(x)), the
    unit direction u(phi) gets an arrow at x, labelled with D_u f(x) computed by a central
    difference (f(x + h u) - f(x - h u)) / (2 h), independently of the gradient. The
    right panel draws ||g|| cos phi = u^T g for every phi and the differences as dots.

    Returns a dict with ``grad`` (g), ``angles`` (degrees), ``difference`` (the central
    differences), ``exact`` (u^T g), and ``to_minimizer``: the angle in degrees between
    -g and x* - x (0 would mean the steepest descent points at the minimum).
    """
    x = np.asarray(x, dtype=float)
    g = problem.grad(x)
    g_norm = float(np.linalg.norm(g))
    base = np.arctan2(g[1], g[0])
    angles = np.asarray(angles_deg, dtype=float)
    phis = base + np.deg2rad(angles)
    units = np.stack([np.cos(phis), np.sin(phis)], axis=-1)
    difference = np.array([(problem.f(x + h * u) - problem.f(x - h * u)) / (2 * h) for u in units])
    exact = units @ g

    plot.contour(ax_plane, problem, bounds=bounds)
    (x_lo, x_hi), (y_lo, y_hi) = ax_plane.get_xlim(), ax_plane.get_ylim()
    xs, ys = np.meshgrid(np.linspace(x_lo, x_hi, 200), np.linspace(y_lo, y_hi, 200))
    values = problem.f(np.stack([xs, ys], axis=-1))
    ax_plane.contour(xs, ys, values, levels=[problem.f(x)], colors="black", linewidths=1.6)
    length = 0.16 * (x_hi - x_lo)
    steepest = int(np.argmin(difference))
    for i, (u, value) in enumerate(zip(units, difference, strict=True)):
        colour = plot.PALETTE[1] if i == steepest else plot.PALETTE[0]
        ax_plane.annotate(
            "",
            xy=x + length * u,
            xytext=x,
            arrowprops={"arrowstyle": "-|>", "color": colour, "lw": 1.6},
        )
        label = f"{value:+.2f}"
        ax_plane.annotate(
            "0" if label in ("+0.00", "-0.00") else label,
            xy=x + 1.34 * length * u,
            ha="center",
            va="center",
            fontsize=8.5,
            color=colour,
        )
    ax_plane.plot(*x, marker="o", color="black", markersize=5)
    x_star = getattr(problem, "x_star", None)
    to_minimizer = None
    if x_star is not None:
        ax_plane.plot(*np.stack([x, x_star]).T, linestyle="--", color="0.35", linewidth=1.0)
        toward = x_star - x
        cosine = float(-g @ toward / (g_norm * np.linalg.norm(toward)))
        to_minimizer = float(np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))))

    phi = np.linspace(-180.0, 180.0, 361)
    ax_curve.plot(
        phi,
        g_norm * np.cos(np.deg2rad(phi)),
        color=plot.PALETTE[0],
        label=r"$u^\top \nabla f(x) = \|\nabla f(x)\| \cos\varphi$",
    )
    ax_curve.plot(
        angles,
        difference,
        linestyle="none",
        marker="o",
        color=plot.PALETTE[1],
        markersize=6,
        label="central difference",
    )
    ax_curve.axhline(0.0, color="0.5", linewidth=0.8)
    ax_curve.set_xticks([-180, -90, 0, 90, 180])
    ax_curve.set_xlabel(r"angle $\varphi$ between $u$ and $\nabla f(x)$ (degrees)")
    ax_curve.set_ylabel(r"directional derivative $D_u f(x)$")
    ax_curve.legend(loc="lower center")
    return {
        "grad": g,
        "angles": angles,
        "difference": difference,
        "exact": exact,
        "to_minimizer": to_minimizer,
    }


# --- compute_* (numbers only) and draw_* (figures) for the chapter's experiments --------


@dataclass
class TaylorModel:
    """f(x - eps g) - f(x) along the negative gradient, and its first- and second-order models."""

    eps: np.ndarray  # step sizes from 0 to span * eps_star
    true: np.ndarray
    quadratic: np.ndarray  # -eps g^T g + eps^2 / 2 g^T H g
    linear: np.ndarray  # -eps g^T g
    eps_star: float  # the quadratic model's best step g^T g / g^T H g
    change: Callable  # eps -> the true change, for one or many eps
    model: Callable  # eps -> the quadratic model


def compute_taylor_model(problem, x, span: float = 2.3, num: int = 200) -> TaylorModel:
    """The change of ``problem.f`` along -grad f(x) and its Taylor models, up to span eps*."""
    x = np.asarray(x, dtype=float)
    g, H, f0 = problem.grad(x), problem.hess(x), problem.f(x)
    gg, gHg = g @ g, g @ H @ g

    def change(eps):
        return problem.f(x - np.multiply.outer(eps, g)) - f0

    def model(eps):
        return -eps * gg + np.square(eps) / 2 * gHg

    eps_star = float(gg / gHg)
    eps = np.linspace(0, span * eps_star, num)
    return TaylorModel(eps, change(eps), model(eps), -eps * gg, eps_star, change, model)


def draw_taylor_model(ax, result: TaylorModel, ylim=(-12, 16)):
    """The three curves against the step size, with eps* and 2 eps* marked."""
    eps = result.eps
    ax.plot(eps, result.true, label=r"$f(x - \varepsilon g) - f(x)$ (true)")
    ax.plot(eps, result.quadratic, linestyle="--", label="quadratic model")
    ax.plot(eps, result.linear, linestyle=":", label=r"linear model $-\varepsilon\, g^\top g$")
    for e, text in [(result.eps_star, ""), (2 * result.eps_star, "2")]:
        ax.axvline(e, color="0.5", linewidth=0.8)
        label = rf"${text}\varepsilon^\star$"
        ax.annotate(label, (e, 0.8 * ylim[1]), xytext=(4, 0), textcoords="offset points")
    ax.set_ylim(*ylim)
    ax.set_xlabel(r"step size $\varepsilon$")
    ax.set_ylabel("change of $f$")
    ax.legend(loc="lower left")


@dataclass
class Regimes:
    """Gradient descent on :func:`quadratic` ``(kappa)`` at one step size per regime."""

    problem: Quadratic
    steps: dict  # regime name -> eps
    runs: dict  # regime name -> History
    rates: dict  # regime name -> measured rate (History.rate(**RATE))


def compute_regimes(kappa: float, steps: dict, num_steps: int = 60) -> Regimes:
    """One run of :func:`run` per named step size, and its measured rate."""
    problem = quadratic(kappa)
    runs = {name: run(problem, eps, num_steps) for name, eps in steps.items()}
    rates = {name: history.rate(**RATE) for name, history in runs.items()}
    return Regimes(problem, dict(steps), runs, rates)


def draw_regimes(ax_paths, ax_gaps, result: Regimes, order=None, faint=("divergent",)):
    """``ax_paths``: the iterates over the contours; ``ax_gaps``: the loss gaps, log scale.
    Both titled.

    Colours and markers follow the order the steps were named in, on both panels; the
    paths are drawn in ``order`` (bottom to top; default: as named), so that long
    zig-zags do not hide short ones, the ``faint`` ones (a divergent run leaves the frame
    within a few steps) lightly.
    """
    names = list(result.steps)
    colors = dict(zip(names, plot.PALETTE, strict=False))
    markers = dict(zip(names, plot.MARKERS, strict=False))
    plot.contour(ax_paths, result.problem, bounds=BOUNDS)
    for name in names if order is None else order:
        light = {"alpha": 0.45, "linewidth": 1.0} if name in faint else {}
        style = {"color": colors[name], "marker": markers[name], **light}
        plot.trajectory(ax_paths, result.runs[name], **style)
    labels = [f"{name}, ε = {eps:.3g}" for name, eps in result.steps.items()]
    plot.convergence(ax_gaps, list(result.runs.values()), labels=labels)
    ax_paths.set_title(rf"iterates on the quadratic, $\kappa = {result.problem.kappa:g}$")
    ax_gaps.set_title("loss gap (log scale)")


@dataclass
class RateCurve:
    """Measured and predicted factor per step rho(eps) of gradient descent, per kappa."""

    grid: np.ndarray  # the step sizes run
    measured: dict  # kappa -> measured rates on the grid
    theory: dict  # kappa -> max_i |1 - eps lambda_i| on the grid

    @property
    def worst(self) -> float:
        """The largest |measured - theory| over every kappa and step size."""
        return max(float(np.max(np.abs(self.measured[k] - self.theory[k]))) for k in self.measured)


def compute_rate_curve(kappas, grid, steps: int = 200) -> RateCurve:
    """Run :func:`run` at every step size of ``grid`` on :func:`quadratic` of each kappa."""
    grid = np.asarray(grid, dtype=float)
    measured, theory = {}, {}
    for kappa in kappas:
        problem = quadratic(kappa)
        measured[kappa] = np.array([run(problem, e, steps).rate(**RATE) for e in grid])
        theory[kappa] = problem.gd_rate(grid)
    return RateCurve(grid, measured, theory)


def draw_rate_curve(ax, result: RateCurve, fine=None):
    """rho(eps) as curves, the measured rates as markers, the optimal steps as stars."""
    fine = np.linspace(0.01, result.grid.max(), 400) if fine is None else fine
    for i, kappa in enumerate(result.measured):
        problem = quadratic(kappa)
        color, marker = plot.PALETTE[i], plot.MARKERS[i]
        ax.plot(fine, problem.gd_rate(fine), color=color, label=rf"theory, $\kappa = {kappa}$")
        ax.plot(
            result.grid,
            result.measured[kappa],
            linestyle="none",
            marker=marker,
            color=color,
            markersize=6,
            label=rf"measured, $\kappa = {kappa}$",
        )
        best = problem.gd_optimal_lr()
        ax.plot(best, problem.gd_rate(best), marker="*", markersize=14, color=color)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.axvspan(2.0, fine.max(), color="0.85", zorder=0)
    ax.text(2.02, 0.05, "diverges", rotation=90, va="bottom")
    ax.set_xlabel(r"step size $\varepsilon$ (units of $1/\lambda_{\max}$)")
    ax.set_ylabel(r"factor per step $\rho(\varepsilon)$")
    ax.set_ylim(0, 1.35)
    ax.legend(loc="lower left")


@dataclass
class Iterations:
    """Gradient descent at the optimal step on 10-D quadratics, one per condition number."""

    kappas: np.ndarray
    tol: float
    problems: list
    runs: list  # each just long enough to reduce ||x - x*|| by 1/tol at rho*
    counts: np.ndarray  # first k with ||x_k - x*|| <= tol ||x_0 - x*||
    bounds: np.ndarray  # ceil(ln(1/tol) / ln(1/rho*)): the runs' lengths

    @property
    def slope(self) -> float:
        """Log-log slope of the measured counts against kappa."""
        return float(np.polyfit(np.log(self.kappas), np.log(self.counts), 1)[0])

    def rate(self, kappa) -> float:
        """The measured rate over the second half of the run at ``kappa``."""
        history = self.runs[list(self.kappas).index(kappa)]
        return history.rate(start=history.steps // 2, stop=history.steps)


def compute_iterations(kappas, tol: float = 1e-6, dim: int = 10, seed: int = 1) -> Iterations:
    """Runs on 10-D quadratics with eigenvalues in [1/kappa, 1], randomly rotated."""
    problems, runs, counts, bounds = [], [], [], []
    for kappa in kappas:
        problem = Quadratic.with_condition_number(
            kappa, dim=dim, lam_min=1 / kappa, rng=np.random.default_rng(seed)
        )
        rho = (kappa - 1) / (kappa + 1)
        steps = int(np.ceil(np.log(1 / tol) / np.log(1 / rho)))
        history = minimize(problem, SGD(lr=problem.gd_optimal_lr()), steps=steps)
        d0 = np.linalg.norm(problem.x0 - problem.x_star)
        problems.append(problem)
        runs.append(history)
        counts.append(history.steps_to(tol * d0, measure="distance"))
        bounds.append(steps)
    return Iterations(np.array(kappas), tol, problems, runs, np.array(counts), np.array(bounds))


def draw_iterations(ax, result: Iterations):
    """Measured counts, the bound and (kappa / 2) ln(1/tol) against kappa, log-log."""
    kappas = result.kappas
    ax.loglog(kappas, result.counts, "o", markersize=7, label="measured")
    bound = r"bound $\ln(1/\mathrm{tol}) / \ln(1/\rho^\star)$"
    ax.loglog(kappas, result.bounds, marker="s", label=bound)
    estimate = kappas / 2 * np.log(1 / result.tol)
    approx = r"$\frac{\kappa}{2}\ln(1/\mathrm{tol})$"
    ax.loglog(kappas, estimate, linestyle="--", color="0.4", label=approx)
    ax.set_xlabel(r"condition number $\kappa$")
    ax.set_ylabel(rf"steps to reduce $\|x_k - x^\star\|$ by {1 / result.tol:.0e}")
    ax.set_title(f"log-log slope of the measured counts: {result.slope:.3f}")
    ax.legend(loc="upper left")


@dataclass
class Divergence:
    """A divergent run's error in eigen-coordinates, beside the predicted geometric sequences."""

    eps: float
    problem: Quadratic
    history: History
    coordinates: np.ndarray  # c[k, i]: the error along eigenvector v_i at step k
    factors: np.ndarray  # 1 - eps lambda_i

    @property
    def growth(self) -> float:
        """Measured growth of ||x_k - x*|| per step, over the second half of the run."""
        h = self.history
        return h.rate(start=h.steps // 2, stop=h.steps)

    @property
    def gap_growth(self) -> float:
        h = self.history
        return h.rate(start=h.steps // 2, stop=h.steps, measure="loss_gap")


def compute_divergence(kappa: float = 10, eps: float = 2.1, steps: int = 200) -> Divergence:
    """:func:`run` at ``eps`` on :func:`quadratic` ``(kappa)``, in eigen-coordinates."""
    problem = quadratic(kappa)
    history = run(problem, eps, steps=steps)
    coordinates = (history.thetas - problem.x_star) @ problem.eigenvectors
    return Divergence(eps, problem, history, coordinates, 1 - eps * problem.eigenvalues)


def draw_divergence(ax, result: Divergence, names=("flat", "steep")):
    """|c_ik| (markers) and |1 - eps lambda_i|^k |c_i0| (lines), the divergence marked."""
    c = np.abs(result.coordinates)
    k = np.arange(len(c))
    for i, name in enumerate(names):
        color, marker = plot.PALETTE[i], plot.MARKERS[i]
        lam = result.problem.eigenvalues[i]
        label = rf"{name}, $\lambda = {lam:.3g}$"
        ax.semilogy(k, c[:, i], marker, color=color, markevery=4, label=rf"$|c_{{i,k}}|$, {label}")
        factor = abs(result.factors[i])
        theory = rf"$|1 - \varepsilon\lambda|^k |c_{{i,0}}|$, {factor:.2f}$^k$"
        ax.semilogy(k, factor**k * c[0, i], color=color, label=theory)
    history = result.history
    plot.mark_divergence(ax, k[-1], c[-1, 1], history.diverged_at, plot.PALETTE[1])
    ax.set_xlabel("step $k$")
    ax.set_ylabel("size of the eigen-coordinate (log scale)")
    ax.legend(loc="lower left")

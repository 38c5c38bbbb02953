"""Chapter 1, gradient descent: the step-size explorer and the steepest-descent figure.

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

import numpy as np

from optimlib.optimizers import SGD
from optimlib.problems import Quadratic
from optimlib.run import History, minimize

from . import plot

__all__ = ["RATE", "directions", "panel", "quadratic", "run"]

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

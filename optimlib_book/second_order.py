"""Chapter 11, second-order methods: the experiments and figures of Newton, CG and L-BFGS.

The methods themselves are :mod:`optimlib.second_order`; this module only runs them and
draws what they do:

* :func:`saddle_panel`, the explorer: damped Newton near the saddle of
  :class:`optimlib.problems.Saddle`, with :func:`saddle_factor`, the factor by which one
  step multiplies the distance from the ridge, lambda / (lambda - b);
* :func:`compute_termination` / :func:`draw_termination`: CG's n steps on an
  n-dimensional quadratic, in exact line search, for two spectra;
* :func:`compute_cg_rates` / :func:`draw_cg_rates`: CG's error against the sqrt(kappa)
  bound for several condition numbers;
* :func:`compute_memory` / :func:`draw_memory`: L-BFGS steps to a tolerance against m;
* :func:`compute_comparison` / :func:`comparison_table` / :func:`draw_comparison`:
  first- and second-order methods on one ill-conditioned quadratic, counting gradient,
  function and Hessian evaluations.
"""

from __future__ import annotations

import math

import numpy as np

import optimlib as ol
from optimlib import _checks
from optimlib.problems import Quadratic, Saddle

from . import plot as olplot

__all__ = [
    "chebyshev_bound",
    "comparison_table",
    "compute_cg_rates",
    "compute_comparison",
    "compute_memory",
    "compute_termination",
    "draw_cg_rates",
    "draw_comparison",
    "draw_memory",
    "draw_termination",
    "evenly_spread",
    "rates_table",
    "saddle_factor",
    "saddle_panel",
]


def evenly_spread(n, kappa, rng) -> Quadratic:
    """A quadratic with n eigenvalues spread evenly on [1, kappa], random eigenvectors from
    rng, and x* = (1, ..., 1). (``spacing="log"``, the default, spaces them on a log scale.)"""
    return Quadratic.with_condition_number(kappa, dim=n, rng=rng, spacing="linear")


# --- Newton near a saddle -----------------------------------------------------------------


def saddle_factor(damping, b=1.0) -> float:
    """lambda / (lambda - b): what one damped Newton step multiplies y by near the ridge
    y = 0 of f = a/2 x^2 - b/2 y^2 + b/4 y^4, where the curvature in y is -b.

    The step is y - g_y / (h_yy + lambda) with g_y ~ -b y and h_yy ~ -b. Below b / 2 the
    factor is smaller than 1 in size: Newton is drawn into the saddle.
    """
    damping = _checks.nonnegative("damping", damping)
    b = _checks.positive("b", b)
    if damping == b:
        return math.inf
    return damping / (damping - b)


def saddle_panel(ax, damping=0.0, steps=30, y0=0.05, b=1.0) -> dict:
    """Damped Newton from (1, y0) on the saddle problem: contours and iterates.

    Returns the iterates, where the run ended (within 1e-3 of the "saddle" or of a
    "minimum", else "between"), the
    factor measured on the first step, y1 / y0, and the linear prediction
    :func:`saddle_factor` (which holds for small y0).
    """
    problem = Saddle(a=1.0, b=b)
    history = ol.minimize(problem, ol.Newton(damping=damping), steps, x0=[1.0, y0])
    thetas = history.thetas
    end = thetas[-1]
    if np.linalg.norm(end - problem.saddle_point) < 1e-3:
        where = "saddle"
    elif np.min(np.linalg.norm(problem.minima - end, axis=1)) < 1e-3:
        where = "minimum"
    else:
        where = "between"
    olplot.contour(ax, problem, mark_min=False)
    ax.plot(*problem.minima.T, marker="*", color="black", markersize=12, linestyle="none")
    ax.plot(0, 0, marker="x", color="black", markersize=10, linestyle="none")
    olplot.trajectory(ax, thetas, color=olplot.PALETTE[0], label=f"λ = {damping:g}")
    ax.set_xlim(problem.bounds[0])
    ax.set_ylim(problem.bounds[1])
    ax.set_title(f"damping λ = {damping:g}: ends at the {where}")
    return {
        "thetas": thetas,
        "where": where,
        "measured_factor": float(thetas[1, 1] / y0),
        "predicted_factor": saddle_factor(damping, b),
        "diverged": history.diverged,
    }


# --- conjugate gradients -------------------------------------------------------------------


def compute_termination(n=20, kappa=1e3, seed=0, steps=None) -> dict:
    """CG with exact line search on two n-dimensional quadratics with condition number
    kappa: eigenvalues spread evenly, and spaced on a log scale. Relative errors
    ||x_k - x*|| / ||x_0 - x*|| for k = 0 .. steps (default 2 n + 10), and gradient
    descent's (at its best constant step) on the first, for scale."""
    steps = 2 * n + 10 if steps is None else _checks.positive_int("steps", steps)
    rng = np.random.default_rng(seed)
    problems = {
        "evenly spread": evenly_spread(n, kappa, rng),
        "log-spaced": Quadratic.with_condition_number(kappa, dim=n, rng=rng),
    }
    errors = {}
    for name, problem in problems.items():
        h = ol.minimize(problem, ol.ConjugateGradient(line_search="exact"), steps)
        errors[name] = h.distances() / h.distances()[0]
    first = problems["evenly spread"]
    gd = ol.minimize(first, ol.SGD(lr=first.gd_optimal_lr()), steps)
    errors["gradient descent"] = gd.distances() / gd.distances()[0]
    return {"n": n, "kappa": kappa, "errors": errors}


def draw_termination(ax, result) -> None:
    for (name, e), color, marker in zip(
        result["errors"].items(), olplot.PALETTE, olplot.MARKERS, strict=False
    ):
        label = f"CG, {name} eigenvalues" if name != "gradient descent" else name
        e = np.where(e > 0, e, np.nan)
        ax.semilogy(np.arange(len(e)), e, color=color, marker=marker, markevery=2, label=label)
    ax.axvline(result["n"], color="black", linestyle="--", linewidth=1)
    ax.annotate(f"k = n = {result['n']}", (result["n"], 1e-7), xytext=(4, 0),
                textcoords="offset points")  # fmt: skip
    ax.set_xlabel("step $k$")
    ax.set_ylabel(r"$\|\theta_k - \theta^\star\| / \|\theta_0 - \theta^\star\|$")
    ax.legend(loc="lower left")


def chebyshev_bound(kappa, k):
    """2 ((sqrt(kappa) - 1) / (sqrt(kappa) + 1))^k: CG's bound on ||e_k||_A / ||e_0||_A."""
    root = math.sqrt(kappa)
    return 2 * ((root - 1) / (root + 1)) ** np.asarray(k)


def compute_cg_rates(kappas=(10.0, 100.0, 1000.0), n=300, target=1e-6, steps=200) -> dict:
    """CG (exact line search) on diagonal quadratics with n evenly spread eigenvalues in
    [1, kappa]. For each kappa: the A-norm error ratio ||e_k||_A / ||e_0||_A (from
    f - f* = ||e||_A^2 / 2), the first k with ratio below ``target``, the measured
    rate ratio_k^(1/k) there, the bound's rate (sqrt(kappa)-1)/(sqrt(kappa)+1), and gradient
    descent's (kappa-1)/(kappa+1)."""
    out = {"kappas": list(kappas), "errors": [], "steps": [], "rates": [], "theory": [], "gd": []}
    for kappa in kappas:
        q = Quadratic(np.diag(np.linspace(1.0, kappa, n)), b=np.ones(n), x0=np.zeros(n))
        gap0 = q.f(q.x0) - q.f_star
        stop = 0.1 * target**2 * gap0  # a step beyond the target, then stop
        h = ol.minimize(q, ol.ConjugateGradient(line_search="exact"), steps, tol=stop)
        gaps = np.maximum(h.loss_gaps(), 0)
        error = np.sqrt(gaps / gaps[0])
        k = int(np.flatnonzero(error < target)[0])
        root = math.sqrt(kappa)
        out["errors"].append(error)
        out["steps"].append(k)
        out["rates"].append(float(error[k] ** (1 / k)))
        out["theory"].append((root - 1) / (root + 1))
        out["gd"].append((kappa - 1) / (kappa + 1))
    out["target"] = target
    return out


def rates_table(result) -> str:
    """The rates of :func:`compute_cg_rates` as a fixed-width table."""
    lines = ["kappa  steps  measured rate  bound's rate  gradient descent's"]
    rows = zip(*(result[key] for key in ("kappas", "steps", "rates", "theory", "gd")), strict=True)
    for kappa, k, rate, theory, gd in rows:
        lines.append(f"{kappa:5.0f}  {k:5d}  {rate:13.3f}  {theory:12.3f}  {gd:18.4f}")
    return "\n".join(lines)


def draw_cg_rates(ax, result) -> None:
    for kappa, error, color, marker in zip(
        result["kappas"], result["errors"], olplot.PALETTE, olplot.MARKERS, strict=False
    ):
        k = np.arange(len(error))
        shown = error > 1e-9
        ax.semilogy(k[shown], error[shown], color=color, marker=marker, markevery=10,
                    label=f"CG, κ = {kappa:g}")  # fmt: skip
        bound = chebyshev_bound(kappa, k)
        ax.semilogy(k[bound > 1e-9], bound[bound > 1e-9], color=color, linestyle="--")
    ax.plot([], [], color="gray", linestyle="--", label="bound $2 r^k$")
    ax.set_xlabel("step $k$")
    ax.set_ylabel(r"$\|\theta_k - \theta^\star\|_A / \|\theta_0 - \theta^\star\|_A$")
    ax.legend(loc="upper right")


# --- L-BFGS ------------------------------------------------------------------------------


def compute_memory(problem, memories=(1, 2, 5, 10, 20, 50), rel_tol=1e-10, max_steps=2000):
    """L-BFGS with each memory m until f - f* <= rel_tol (f(x0) - f*): steps and
    gradient evaluations; CG with a Wolfe line search for comparison."""
    tol = rel_tol * (problem.f(problem.x0) - problem.f_star)
    runs = [ol.minimize(problem, ol.LBFGS(m=m), max_steps, tol=tol) for m in memories]
    cg = ol.minimize(problem, ol.ConjugateGradient(), max_steps, tol=tol)
    return {
        "memories": list(memories),
        "steps": [h.steps for h in runs],
        "grad_evals": [h.grad_evals for h in runs],
        "reached": [h.stop_reason == "tolerance" for h in runs],
        "cg_steps": cg.steps,
        "dim": problem.dim,
    }


def draw_memory(ax, result) -> None:
    ax.semilogx(result["memories"], result["steps"], marker="o", color=olplot.PALETTE[0],
                label="L-BFGS, steps")  # fmt: skip
    ax.semilogx(result["memories"], result["grad_evals"], marker="s", color=olplot.PALETTE[1],
                label="L-BFGS, gradient evaluations")  # fmt: skip
    ax.axhline(result["cg_steps"], color=olplot.PALETTE[2], linestyle="--",
               label="CG (Wolfe line search), steps")  # fmt: skip
    ax.axhline(result["dim"], color="black", linestyle=":", label=f"n = {result['dim']}")
    ax.set_xlabel("memory $m$ (pairs kept)")
    ax.set_ylabel("count to reach the tolerance")
    ax.set_ylim(0, 1.3 * max(result["grad_evals"]))
    ax.legend(loc="upper right", fontsize=9)


# --- against the first-order methods --------------------------------------------------------


def compute_comparison(problem, rel_tol=1e-10, max_steps=20_000) -> dict:
    """Every method until f - f* <= rel_tol (f(x0) - f*), from the same start.

    Gradient descent and the heavy ball get the step sizes that are optimal for this
    quadratic (they need mu and L, which the second-order methods do not). Returns the
    histories by name, with the counts of evaluations.
    """
    tol = rel_tol * (problem.f(problem.x0) - problem.f_star)
    eps_hb, alpha_hb = problem.heavy_ball_optimal()
    methods = {
        "gradient descent": ol.SGD(lr=problem.gd_optimal_lr()),
        "heavy ball": ol.Momentum(lr=eps_hb, alpha=alpha_hb),
        "CG (Wolfe)": ol.ConjugateGradient(),
        "L-BFGS (m = 10)": ol.LBFGS(m=10),
        "CG (exact)": ol.ConjugateGradient(line_search="exact"),
        "Newton": ol.Newton(),
    }
    runs = {
        name: ol.minimize(problem, opt, max_steps, tol=tol, label=name)
        for name, opt in methods.items()
    }
    return {"runs": runs, "tol": tol, "kappa": problem.kappa, "dim": problem.dim}


def comparison_table(result) -> str:
    """The counts of :func:`compute_comparison` as a fixed-width table."""
    lines = [f"{'method':<18}{'steps':>7}{'gradients':>11}{'f values':>10}{'Hessians':>10}"]
    for name, h in result["runs"].items():
        lines.append(f"{name:<18}{h.steps:>7}{h.grad_evals:>11}{h.f_evals:>10}{h.hess_evals:>10}")
    return "\n".join(lines)


def draw_comparison(ax, result) -> None:
    histories = list(result["runs"].values())
    olplot.convergence(ax, histories, measure="loss_gap", x="grad_evals", legend=None)
    ax.set_xscale("symlog", linthresh=1)  # linear up to one evaluation, then log
    ax.set_xlim(0, 2 * max(h.grad_evals for h in histories))
    ax.axhline(result["tol"], color="black", linestyle=":", linewidth=1)
    ax.legend(loc="lower left", fontsize=9)

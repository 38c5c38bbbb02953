"""Chapter 6, adaptive learning rates: watch the per-coordinate step of AdaGrad, RMSProp, Adam.

The adaptive methods divide each coordinate of the gradient by a running root mean
square of its past values. To see what that division does, this module feeds an
optimizer a *gradient stream*, a given sequence g_0, g_1, ... that does not depend on
theta (:class:`Stream`), and records every step and every state
(``optimlib.minimize(..., record_state=...)``). Because
the gradients ignore theta, the states s_k and r_k are exactly those of any run that
meets the same gradients, which lets a chapter compute what a *variant* of the method
would do from the same state (:func:`uncorrected_adam_steps`: Adam without its bias
correction) without writing a second optimizer.

* :func:`effective_lr`: the factor that multiplies g (AdaGrad, RMSProp) or s_hat (Adam)
  coordinate by coordinate: eps / (delta + sqrt(r)), eps / root(r), eps / root(r_hat).
* :func:`stationary_step`: |Delta theta| / eps once r has settled at g^2, in the two
  places the literature puts delta: |g| / sqrt(g^2 + delta) or |g| / (|g| + delta).
* :func:`settle_time`: how many steps RMSProp's step needs, after the gradient scale
  changes, to come back within a given fraction of its new level (the theory the
  explorer measures against).
* :func:`compute_rotation`: AdaGrad's learning-rate sweep and gradient descent on a
  quadratic valley along the axes and the same valley turned, steps to a tolerance.
* :func:`sparse_logistic`: a logistic regression whose features are nonzero with
  frequencies spread over two decades (AdaGrad's home ground).
* :func:`compute_tuned`: each method's learning rate tuned with
  :func:`optimlib.compare.tune`, and the chosen rate's run kept to look at.
* :func:`panel`: the explorer. RMSProp meets a gradient whose scale falls in stages
  (1, then 1e-2, then 1e-4 by default), once with delta inside the square root (the
  lecture) and once outside (Kingma & Ba, PyTorch): ``rho`` sets how fast the step
  recovers after each fall, ``delta`` sets the gradient scale below which it cannot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from optimlib import _checks, compare
from optimlib.optimizers import SGD, AdaGrad, Adam, Optimizer, RMSProp
from optimlib.problems import LogisticRegression, Problem, Quadratic
from optimlib.run import History, minimize

from . import plot

__all__ = [
    "FORMS",
    "Stream",
    "Tuned",
    "compute_memory",
    "compute_rotation",
    "compute_tuned",
    "draw_bias_correction",
    "draw_delta",
    "draw_effective_lr",
    "draw_head_to_head",
    "draw_memory",
    "draw_rotation",
    "draw_sparse",
    "effective_lr",
    "mean_relative_lr",
    "panel",
    "rotation_table",
    "scaled_table",
    "settle_time",
    "sparse_logistic",
    "stages",
    "stationary_step",
    "task",
    "tuned_table",
    "uncorrected_adam_steps",
]

FORMS = {True: r"$\sqrt{\delta + r}$ (lecture)", False: r"$\sqrt{r} + \delta$ (Kingma & Ba)"}


# --- feeding an optimizer a given sequence of gradients --------------------------------------


class Stream(Problem):
    """Gradients given in advance: the k-th gradient asked for is ``gradients[k]``,
    whatever theta is, so that :func:`optimlib.minimize` records a run on them.

    ``gradients`` has shape (steps, dim). A stream has no objective: ``f`` is 0
    everywhere (the History's losses say nothing). Asking for more gradients than were
    given raises ``ValueError``, so a run cannot quietly reuse the last one; a stream
    serves one run.
    """

    name = "gradient stream"

    def __init__(self, gradients):
        gradients = np.asarray(gradients, dtype=np.float64)
        if gradients.ndim != 2 or len(gradients) == 0:
            raise ValueError(
                f"gradients: give an array of shape (steps, dim); got {gradients.shape}"
            )
        self.gradients, self.calls = gradients, 0
        self.dim = gradients.shape[1]
        self.x0 = np.zeros(self.dim)

    def f(self, x):
        x = self._points(x)
        return 0.0 if x.ndim == 1 else np.zeros(x.shape[:-1])

    def grad(self, x) -> np.ndarray:
        self._point(x)
        if self.calls >= len(self.gradients):
            raise ValueError(f"stream: only {len(self.gradients)} gradients were given")
        self.calls += 1
        return self.gradients[self.calls - 1]


# --- the per-coordinate step ------------------------------------------------------------------


def effective_lr(optimizer: Optimizer, r, t=None, eps=None) -> np.ndarray:
    """The factor that multiplies the gradient (or Adam's s_hat), coordinate by coordinate.

    AdaGrad: eps / (delta + sqrt(r)); RMSProp: eps / root(r); Adam: eps / root(r_hat) with
    r_hat = r / (1 - rho2^t), t the step count stored with r. ``root`` is sqrt(delta + r)
    or sqrt(r) + delta as the optimizer's ``delta_in_sqrt`` says. ``r`` may be a stack of
    states (e.g. ``history.states["r"]``); ``t`` then a matching array. ``eps``
    defaults to the optimizer's (constant) learning rate.
    """
    eps = optimizer.lr_at(0) if eps is None else _checks.positive("eps", eps)
    r = np.asarray(r, dtype=np.float64)
    if isinstance(optimizer, AdaGrad):
        return eps / (optimizer.delta + np.sqrt(r))
    if isinstance(optimizer, RMSProp):
        return eps / optimizer.root(r)
    if isinstance(optimizer, Adam):
        if t is None:
            raise ValueError("t: Adam's effective learning rate needs the step count t")
        t = np.asarray(t, dtype=np.float64).reshape(np.shape(t) + (1,) * (r.ndim - np.ndim(t)))
        return eps / optimizer.root(r / (1 - optimizer.rho2**t))
    raise ValueError(f"optimizer: AdaGrad, RMSProp or Adam; got {type(optimizer).__name__}")


def mean_relative_lr(optimizer: Optimizer, r) -> np.ndarray:
    """eps_eff / eps at each recorded state ``r`` (a stack, one row per step): the
    geometric mean over the coordinates of :func:`effective_lr` in units of eps."""
    relative = effective_lr(optimizer, r) / optimizer.lr_at(0)
    return np.exp(np.mean(np.log(relative), axis=-1))


def compute_memory(gradients, methods: dict, stage: int, levels) -> dict:
    """Each of ``methods`` (name -> AdaGrad or RMSProp) on the gradient stream
    ``gradients`` (steps, replicas), whose mean square is ``levels[i]`` in stage i of
    ``stage`` steps. Per name: ``mean_square``, what the method divides by squared
    (RMSProp's r, AdaGrad's r / k: the mean of all past g^2), averaged over the
    replicas; ``step_rms``, the root mean square of the steps in units of eps; ``lags``,
    the steps after each change of level until ``mean_square`` is half-way to the new
    level (None: not within the stage); ``ends``, the root of ``mean_square`` at the end
    of each stage; ``spread``, the relative standard deviation of one coordinate's r at
    the end of the first stage.
    """
    steps = len(gradients)
    k = np.arange(1, steps + 1)
    ends = np.arange(1, len(levels) + 1) * stage - 1
    out = {}
    for name, opt in methods.items():
        run = minimize(Stream(gradients), opt, steps, record_state=("r",))
        r = run.states["r"]
        mean_square = r.mean(axis=1) / (k if isinstance(opt, AdaGrad) else 1)
        lags = []
        for start, new in zip(ends[:-1] + 1, levels[1:], strict=True):
            before = mean_square[start - 1]
            window = (mean_square[start : start + stage] - before) / (new - before)
            crossed = np.flatnonzero(window >= 0.5)
            lags.append(int(crossed[0]) + 1 if crossed.size else None)
        out[name] = {
            "mean_square": mean_square,
            "step_rms": np.sqrt(np.mean((np.diff(run.thetas, axis=0) / opt.lr) ** 2, axis=1)),
            "lags": lags,
            "ends": np.sqrt(mean_square[ends]),
            "spread": r[stage - 1].std() / r[stage - 1].mean(),
        }
    return out


def uncorrected_adam_steps(optimizer: Adam, run: History) -> np.ndarray:
    """The steps Adam would take from the recorded states *without* bias correction.

    -eps s_t / root(r_t), with the s_t, r_t of ``run`` (a run of ``optimizer`` on a
    :class:`Stream` that recorded ``("s", "r")``: there the states do not depend on the
    iterates, so this is exactly the run of the uncorrected method).
    """
    if not isinstance(optimizer, Adam):
        raise ValueError(f"optimizer must be an Adam; got {type(optimizer).__name__}")
    eps = optimizer.lr_at(0)
    return -eps * run.states["s"] / optimizer.root(run.states["r"])


def stationary_step(g, delta: float, delta_in_sqrt: bool) -> np.ndarray:
    """|Delta theta| / eps when the second moment has settled at r = g^2 (and s at g).

    ``delta_in_sqrt=True``: |g| / sqrt(g^2 + delta), about 1 for |g| >> sqrt(delta) and
    |g| / sqrt(delta) below; ``False``: |g| / (|g| + delta), about 1 down to |g| ~ delta.
    This is also the exact size of Adam's first (bias-corrected) step.
    """
    g = np.abs(np.asarray(g, dtype=np.float64))
    delta = _checks.nonnegative("delta", delta)
    if _checks.boolean("delta_in_sqrt", delta_in_sqrt):
        return g / np.sqrt(g * g + delta)
    return g / (g + delta)


def settle_time(
    rho: float, r_old: float, scale: float, delta: float, delta_in_sqrt: bool, within=0.1
) -> int:
    """Steps after the gradient magnitude jumps to ``scale`` until RMSProp's step is back
    within ``within`` (a fraction) of its new stationary size.

    With a constant magnitude, r_n = scale^2 + (r_old - scale^2) rho^n exactly, so the
    step eps scale / root(r_n) is monotone in n and its distance to eps scale / root(scale^2)
    can be solved for: the first n (counting the step that first sees the new scale as
    n = 1) at which it is within the fraction. A memory of about 1 / (1 - rho) steps
    times the logarithm of how far r has to travel.
    """
    rho = _checks.unit_interval("rho", rho)
    target = scale * scale
    root = (lambda r: np.sqrt(delta + r)) if delta_in_sqrt else (lambda r: np.sqrt(r) + delta)
    final = float(root(target))
    if r_old == target:
        return 1
    # Step n uses r_n; find the first n where root(r_n) is within the fraction of final.
    lo = final * (1 - within) if r_old < target else None
    hi = final / (1 - within) if r_old > target else None
    n = 1
    gap = r_old - target
    while n < 10**7:
        r_n = target + gap * rho**n
        value = float(root(r_n))
        if (hi is not None and value <= hi) or (lo is not None and value >= lo):
            return n
        n += 1
    raise ValueError("settle_time: did not settle within 10^7 steps")


# --- AdaGrad on a valley along the axes and turned -------------------------------------------


def compute_rotation(kappa: float, offset, lrs, budget: int, angles=None) -> dict:
    """AdaGrad at each learning rate of ``lrs``, and gradient descent at its optimal step
    2 / (mu + L), on a 2-d quadratic of condition number ``kappa`` turned by each angle.

    ``angles`` maps a name to an angle (default: the axis-aligned valley and the valley
    turned by 45 degrees). Every run starts at x* + Q ``offset`` (the same point relative
    to the valley) and stops at f - f* <= 1e-8 (f(x0) - f*). Returns, per name,
    ``problem``, ``sweep`` (AdaGrad's Histories, one per rate), ``gd`` and ``reached``
    (steps to the tolerance per run, AdaGrad's then GD's; None if not within ``budget``).
    """
    angles = {"axis-aligned": 0.0, "rotated by 45°": np.pi / 4} if angles is None else angles
    valleys = {}
    for name, angle in angles.items():
        problem = Quadratic.with_condition_number(kappa, angle=angle)
        x0 = problem.x_star + problem.eigenvectors @ np.asarray(offset, dtype=np.float64)
        tol = 1e-8 * (problem.f(x0) - problem.f_star)
        sweep = [
            minimize(
                problem, AdaGrad(lr=lr), budget, x0=x0, tol=tol, label=f"AdaGrad, ε = {lr:.3g}"
            )
            for lr in lrs
        ]
        gd = minimize(
            problem,
            SGD(lr=problem.gd_optimal_lr()),
            budget,
            x0=x0,
            tol=tol,
            label="GD, ε = 2/(μ+L)",
        )
        reached = [h.steps if h.stop_reason == "tolerance" else None for h in [*sweep, gd]]
        valleys[name] = {"problem": problem, "sweep": sweep, "gd": gd, "reached": reached}
    return valleys


def rotation_table(valleys: dict, lrs) -> str:
    """Steps to the tolerance, one row per run and one column per valley: narrow enough
    for a phone's code box."""
    names = list(valleys)
    rows = [f"AdaGrad ε = {lr:.3g}" for lr in lrs] + ["GD, 2/(μ+L)"]
    width = max(len(row) for row in rows) + 1
    lines = ["run".ljust(width) + "".join(f"{name.split()[0].split('-')[-1]:>9}" for name in names)]
    for i, row in enumerate(rows):
        cells = [valleys[name]["reached"][i] for name in names]
        lines.append(row.ljust(width) + "".join(f"{'-' if n is None else n:>9}" for n in cells))
    return "\n".join(lines)


# --- tuning and comparing ---------------------------------------------------------------------


def sparse_logistic(rng, N: int = 1000, d: int = 30, p_max=0.5, p_min=0.005, weight=2.0):
    """A logistic regression on sparse features: feature j is nonzero (standard normal)
    with probability p_j, log-spaced from ``p_max`` down to ``p_min``; labels drawn from a
    logistic model with weights +-``weight``; a small l2 penalty (1e-3) makes the
    minimizer unique. Returns the problem and each feature's measured frequency.
    """
    mask = rng.random((N, d)) < np.geomspace(p_max, p_min, d)
    X = mask * rng.standard_normal((N, d))
    w_true = weight * rng.choice([-1.0, 1.0], d)
    y = (rng.random(N) < 1 / (1 + np.exp(-(X @ w_true)))).astype(float)
    return LogisticRegression(X, y, l2=1e-3), mask.mean(axis=0)


@dataclass
class Tuned:
    """One method after :func:`optimlib.compare.tune`: the chosen learning rate ``lr``,
    its median ``score`` and per-seed ``scores`` over the tuning seeds (None: diverged),
    ``at_edge`` (the choice is the first or last rate of the grid), and ``run`` and
    ``optimizer``: the chosen rate's run on the first seed with its iterates recorded,
    the optimizer holding its final state."""

    lr: float
    score: float
    scores: list
    at_edge: bool
    run: History
    optimizer: Optimizer


def scaled_table(runs: dict, reach: dict) -> str:
    """Per run: the step at which f - f* <= 1e-6 (``reach``, None: never) and the final
    gap, printed as "below 1e-12" where it is rounding (which differs between machines)."""
    lines = []
    for label, h in runs.items():
        final = h.loss_gaps()[-1]
        final = f"{final:.1e}" if final > 1e-12 else "below 1e-12"
        steps = "-" if reach[label] is None else reach[label]
        lines.append(f"{label:22} f - f* <= 1e-6 after {steps:>4} steps; final f - f* {final}")
    return "\n".join(lines)


def task(problem: Problem):
    """A :mod:`optimlib.compare` task on one fixed problem from its own start: the seed
    then only draws the minibatches."""
    return lambda seed: (problem, problem.x0)


def compute_tuned(contenders: dict, make_problem, seeds, steps: int, last: int, batch_size=None):
    """Tune each of ``contenders`` (name -> (make_optimizer, learning rates)) with
    :func:`optimlib.compare.tune` on ``make_problem`` (a ``compare`` task) and the
    ``seeds``, scored by the geometric mean of the gap over the ``last`` iterates.
    Returns name -> :class:`Tuned`."""
    seeds = list(seeds)
    tuned = {}
    for name, (make_optimizer, lrs) in contenders.items():
        result = compare.tune(
            make_optimizer, make_problem, lrs, seeds, steps, batch_size, last, keep_run=True
        )
        run = result["run"]
        run.label = f"{name}, ε = {result['best_lr']:.2g}"
        best = result["best"]
        tuned[name] = Tuned(
            lr=result["best_lr"],
            score=result["median"][best],
            scores=result["scores"][best],
            at_edge=result["at_edge"],
            run=run,
            optimizer=result["optimizer"],
        )
    return tuned


def tuned_table(tuned: dict, title: str) -> str:
    """One line per method: the chosen learning rate and the median score."""
    lines = [f"{title:10}{'best ε':>9}{'f - f*':>10}"]
    lines += [f"{name:10}{t.lr:>9.3g}{t.score:>10.1e}" for name, t in tuned.items()]
    return "\n".join(lines)


# --- the chapter's figures -------------------------------------------------------------------
# Each draws computed results and nothing else. Log axes over more than three decades get
# no minor ticks (plot.thin_log_ticks): they carry no labels there, and building,
# measuring and drawing them was a third of the chapter's figure time.


def _thin(axes) -> None:
    for ax in np.ravel(axes):
        plot.thin_log_ticks(ax)


def draw_rotation(axd: dict, valleys: dict, best: int) -> None:
    """:func:`compute_rotation` drawn: AdaGrad at the rate ``best`` (an index into the
    sweep) on each valley (``axd["aligned"]``, ``axd["rotated"]``), and the distances of
    it and of gradient descent to the minimum on ``axd["curves"]``."""
    for key, (name, v) in zip(["aligned", "rotated"], valleys.items(), strict=True):
        h, problem = v["sweep"][best], v["problem"]
        plot.contour(axd[key], problem)
        plot.trajectory(axd[key], h, label=f"{h.label}: {h.steps} steps", color=plot.PALETTE[0])
        axd[key].set_title(f"{name} valley, κ = {problem.L / problem.mu:.0f}")
        axd[key].legend(loc="lower right", fontsize=8.5)
    curves = [h for v in valleys.values() for h in (v["sweep"][best], v["gd"])]
    labels = [
        f"{h.label} ({name})" for name, v in valleys.items() for h in (v["sweep"][best], v["gd"])
    ]
    plot.convergence(axd["curves"], curves, measure="distance", labels=labels)
    axd["curves"].set_title("distance to the minimum (each run stops at the tolerance)")
    _thin(list(axd.values()))


def draw_effective_lr(ax, k, curves: dict) -> None:
    """AdaGrad's eps_eff / eps (``curves``: label -> values at the steps ``k``), log-log,
    beside a line of slope -1/2."""
    for (label, values), color, marker in zip(
        curves.items(), plot.PALETTE, plot.MARKERS, strict=False
    ):
        ax.loglog(k, values, color=color, marker=marker, markevery=0.1, label=label)
    ax.loglog(k, 1.5 / np.sqrt(k), color="black", linestyle=":", label="slope −1/2")
    ax.set_xlabel("step $k$")
    ax.set_ylabel(r"effective step $\varepsilon_{\rm eff} / \varepsilon = 1/(\delta + \sqrt{r_k})$")
    ax.set_title("AdaGrad's effective learning rate only shrinks")
    ax.legend(loc="lower left", fontsize=8.5)
    _thin(ax)


def draw_sparse(axes, frequency, eff_lr, fit, tuned: dict, steps: int, batch: int) -> None:
    """``axes[0]``: each feature's effective rate against its frequency, with the power
    law ``fit`` = (slope, intercept) of log eff_lr on log frequency; ``axes[1]``: the
    tuned runs."""
    ax = axes[0]
    ax.loglog(
        frequency, eff_lr, linestyle="none", marker="o", color=plot.PALETTE[2], label="feature $j$"
    )
    slope, intercept = fit
    line = np.exp(intercept) * frequency**slope
    ax.loglog(frequency, line, color="black", linestyle=":", label=f"fit: slope {slope:.2f}")
    ax.set_xlabel("fraction of examples where feature $j$ is nonzero")
    ax.set_ylabel(rf"AdaGrad's $\varepsilon/(\delta + \sqrt{{r_j}})$ after {steps} steps")
    ax.set_title("rare features keep large steps")
    ax.legend(loc="upper right")
    plot.convergence(axes[1], [t.run for t in tuned.values()])
    axes[1].set_title(f"tuned SGD vs tuned AdaGrad, batches of {batch} (seed 0)")
    _thin(axes)


def draw_memory(axes, jumps: dict, scale, stage: int) -> None:
    """:func:`compute_memory` drawn: what each method divides by beside the true scale
    ``scale`` (left), and the root mean square of its steps (right)."""
    k_run = np.arange(1, len(scale) + 1)
    for (name, j), color, marker in zip(jumps.items(), plot.PALETTE, plot.MARKERS, strict=False):
        style = {"color": color, "marker": marker, "markevery": 0.08, "label": name}
        axes[0].plot(k_run, np.sqrt(j["mean_square"]), **style)
        axes[1].plot(k_run, j["step_rms"], **style)
    axes[0].plot(
        k_run, scale, color="black", linestyle="--", linewidth=1.2, label="true scale $c_k$"
    )
    axes[0].set_ylabel(r"$\sqrt{r_k}$ (RMSProp), $\sqrt{r_k / k}$ (AdaGrad)")
    axes[0].set_title("what each method divides by")
    axes[1].set_ylabel(r"root mean square of $\Delta\theta_k / \varepsilon$")
    axes[1].set_title("the steps it takes")
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xlabel("step $k$")
        for edge in range(stage, len(scale), stage):
            ax.axvline(edge, color="0.6", linewidth=0.8)
        ax.legend(loc="lower left", fontsize=8.5)
    _thin(axes)


def draw_bias_correction(axes, size: dict, early: int = 50) -> None:
    """Adam's step sizes (``size``: label -> |step| / eps per step t = 1, 2, ...), the
    first ``early`` steps on the left and all of them on a log step axis on the right."""
    styles = [(0, "o", "-"), (1, "s", "-"), (0, "^", ":"), (1, "D", ":")]
    for (label, values), (c, marker, line) in zip(size.items(), styles, strict=True):
        t = np.arange(1, len(values) + 1)
        for ax, stop in zip(axes, (early, len(values)), strict=True):
            ax.plot(
                t[:stop],
                values[:stop],
                color=plot.PALETTE[c],
                marker=marker,
                linestyle=line,
                markevery=0.1,
                label=label,
            )
    axes[0].set_title(f"the first {early} steps")
    axes[1].set_xscale("log")
    axes[1].set_title(f"{len(t)} steps (log step axis)")
    for ax in axes:
        ax.axhline(1.0, color="0.5", linewidth=0.8)
        ax.set_xlabel("step $t$")
        ax.set_ylabel(r"step size $|\Delta\theta_t| / \varepsilon$")
    axes[1].legend(loc="upper right", fontsize=8.5)
    _thin(axes)


def draw_delta(axes, g_scale, measured: dict, runs: dict, deltas=(1e-6, 1e-8)) -> None:
    """``axes[0]``: the first step per unit eps against the gradient scale ``g_scale``
    (``measured``: (delta, inside) -> sizes) for both places of each of the two
    ``deltas`` (solid, dashed); ``axes[1]``: the convergence of ``runs`` (label -> History)."""
    ax = axes[0]
    lines = [
        ((deltas[0], True), 1, "s", "-"),
        ((deltas[0], False), 0, "o", "-"),
        ((deltas[1], True), 1, "^", "--"),
        ((deltas[1], False), 0, "D", "--"),
    ]
    for (delta, inside), c, marker, line in lines:
        form = r"$\sqrt{\delta + r}$" if inside else r"$\sqrt{r} + \delta$"
        ax.loglog(
            g_scale,
            measured[delta, inside],
            color=plot.PALETTE[c],
            marker=marker,
            linestyle=line,
            markevery=0.1,
            label=f"{form}, $\\delta = 10^{{{np.log10(delta):.0f}}}$",
        )
    for x, text in [
        (1e-3, r"$\sqrt{10^{-6}}$"),
        (1e-4, r"$\sqrt{10^{-8}}$"),
        (1e-6, r"$10^{-6}$"),
        (1e-8, r"$10^{-8}$"),
    ]:
        ax.axvline(x, color="0.75", linewidth=0.8)
        ax.annotate(text, (x, 2e-9), rotation=90, fontsize=8, ha="right", va="bottom", color="0.35")
    ax.set_ylim(1e-9, 3)
    ax.set_xlabel(r"gradient scale $|g|$ (with $r = g^2$)")
    ax.set_ylabel(r"step size $|\Delta\theta| / \varepsilon$")
    ax.set_title(r"where $\delta$ goes decides what is 'small'")
    ax.legend(loc="lower right", fontsize=8.5)
    plot.convergence(axes[1], list(runs.values()))
    axes[1].set_title("Adam, δ = 1e-8: a loss and the loss × 1e-4")
    _thin(axes)


def draw_head_to_head(axd: dict, problem, on_valley: dict, on_noise: dict) -> None:
    """The tuned methods (:func:`compute_tuned`) on Rosenbrock's ``problem``: the paths
    (``axd["paths"]``) and the loss gaps (``axd["valley"]``); and on the noisy problem
    (``axd["noisy"]``, the first seed's run)."""
    runs = [v.run for v in on_valley.values()]
    plot.trajectories(axd["paths"], problem, runs, bounds=((-1.5, 1.5), (-1.0, 2.0)))
    axd["paths"].set_title("Rosenbrock, best of three ε each")
    axd["paths"].legend(loc="lower right", fontsize=8)
    plot.convergence(axd["valley"], runs)
    axd["valley"].set_title(f"Rosenbrock: {runs[0].steps} full-gradient steps")
    axd["valley"].legend(loc="lower left", fontsize=7.5)
    plot.convergence(axd["noisy"], [v.run for v in on_noise.values()])
    axd["noisy"].set_title("logistic regression, minibatches of 10 (seed 0)")
    axd["noisy"].legend(loc="upper right", fontsize=7.5, ncols=2)
    _thin(list(axd.values()))


# --- the explorer -----------------------------------------------------------------------------


def stages(scales, length: int) -> np.ndarray:
    """Gradient magnitudes: ``length`` steps at each of ``scales`` in turn."""
    length = _checks.positive_int("length", length)
    scales = np.asarray(scales, dtype=np.float64)
    if scales.ndim != 1 or len(scales) == 0 or not (scales > 0).all():
        raise ValueError(f"scales must be a non-empty list of positive numbers; got {scales!r}")
    return np.repeat(scales, length)


def panel(
    ax,
    rho: float = 0.9,
    delta: float = 1e-6,
    scales=(1.0, 1e-2, 1e-4),
    stage: int = 200,
    eps: float = 1e-3,
    within: float = 0.1,
):
    """RMSProp's step size when the gradient's scale falls in stages, for both deltas.

    The gradient is g_k = ``scales[i]`` for ``stage`` steps at a time (one coordinate).
    Draws |Delta theta_k| / eps against k on a log scale, once for delta inside the
    square root and once outside, with the stationary sizes (:func:`stationary_step`)
    dashed. Returns a dict of lists, one entry per stage:

    * ``plateau_inside``, ``plateau_outside``: the measured |Delta theta| / eps at the
      stage's last step; ``theory_inside``, ``theory_outside``: the stationary sizes;
    * ``settle_inside``, ``settle_outside``: steps after the stage began until the step
      stays within the fraction ``within`` of its stationary size (None if it does not
      within the stage; always None for the first stage, which starts from r = 0);
    * ``memory``: 1 / (1 - rho).
    """
    rho = _checks.unit_interval("rho", rho)
    delta = _checks.nonnegative("delta", delta)
    magnitudes = stages(scales, stage)
    scales = np.asarray(scales, dtype=np.float64)
    k = np.arange(1, len(magnitudes) + 1)
    result = {"memory": 1 / (1 - rho), "scales": scales.tolist()}
    colours = {True: "#D55E00", False: "#0072B2"}
    markers = {True: "s", False: "o"}
    for inside in (True, False):
        name = "inside" if inside else "outside"
        optimizer = RMSProp(lr=eps, rho=rho, delta=delta, delta_in_sqrt=inside)
        run = minimize(Stream(magnitudes[:, None]), optimizer, len(magnitudes))
        size = np.abs(np.diff(run.thetas[:, 0])) / eps
        plateaus, settles = [], []
        for i, s in enumerate(scales):
            block = size[i * stage : (i + 1) * stage]
            plateaus.append(float(block[-1]))
            theory = float(stationary_step(s, delta, inside))
            close = (block >= (1 - within) * theory) & (block <= theory / (1 - within))
            # the first step after which the block stays within the band
            outside_band = np.flatnonzero(~close)
            first = 0 if outside_band.size == 0 else int(outside_band[-1]) + 1
            settles.append(None if i == 0 or first >= stage else first + 1)
        result[f"plateau_{name}"] = plateaus
        result[f"theory_{name}"] = [float(stationary_step(s, delta, inside)) for s in scales]
        result[f"settle_{name}"] = settles
        ax.plot(
            k,
            size,
            color=colours[inside],
            marker=markers[inside],
            markevery=(0 if inside else len(k) // 24, max(1, len(k) // 12)),
            linewidth=3.2 if inside else 1.6,
            alpha=0.7 if inside else 1.0,
            label=FORMS[inside],
        )
        for i, theory in enumerate(result[f"theory_{name}"]):
            ax.plot(
                [i * stage + 1, (i + 1) * stage],
                [theory, theory],
                color=colours[inside],
                linestyle="--",
                linewidth=1.0,
            )
    for i, s in enumerate(scales):
        if i > 0:
            ax.axvline(i * stage + 0.5, color="0.6", linewidth=0.8)
        ax.annotate(
            f"$|g| = 10^{{{math.log10(s):.0f}}}$" if math.log10(s).is_integer() else f"|g|={s:.2g}",
            xy=((i + 0.5) * stage, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(0, -4),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=9,
        )
    ax.set_yscale("log")
    # One scale for every rho and delta: frames compare at a glance, and a slider change
    # keeps the tick labels, so the explorer need not lay the figure out again.
    ax.set_ylim(1e-4, 4.0)
    ax.set_xlim(0, len(k) + 1)
    ax.set_xlabel("step $k$")
    ax.set_ylabel(r"step size $|\Delta\theta_k| / \varepsilon$")
    ax.legend(loc="lower left", fontsize=8.5)
    _thin(ax)
    return result

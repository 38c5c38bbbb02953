"""Chapter 10, beyond the lecture: weight decay inside and outside Adam, and an online trap.

Two small drivers that feed an optimizer gradients which do not come from a
:class:`~optimlib.problems.Problem`, and the chapter's explorer:

* :func:`noise_decay`: every coordinate of theta sits in a direction the loss does not
  care about, and its gradient is pure minibatch noise of scale ``sigmas[i]``. Weight
  decay is then the only force that pulls theta back to zero, so the mean of theta over
  many coordinates shows the decay each method *actually* applies: as an L2 term added
  to the gradient (``l2``), or decoupled (AdamW's ``weight_decay``).
* :func:`online_run`: the online problem of Reddi, Kale & Kumar (2018), f_k(x) = C x at
  every third step and -x otherwise, on the interval [-1, 1] (a projection after every
  step), recording the iterates and the optimizer's state.
* :func:`compute_warmup`: Adam on a small network with and without a warm-up, at several
  peak rates, with the numbers the chapter claims (the early spike, the final loss, the
  dead ReLU units), and a sample over minibatch seeds for the run that is chaotic.
* :func:`panel`: the explorer. For one weight decay ``lam``, the mean of theta after
  ``steps`` steps against the noise scale, for Adam with an L2 term and for AdamW, with
  the decoupled prediction (1 - eps lam)^steps dashed.

And the measurements of the other sections: :func:`decoupled_gap` (an SGD run on an L2
penalty against the decoupled update), :func:`overshoot_and_settle` (Nadam against Adam),
:func:`effective_step` (AMSGrad against Adam), :func:`adadelta_steps` and
:func:`scaled_runs` (Adadelta's slow start and its invariance to the loss's scale),
:func:`compute_lion_vs_adam` (the learning rates of Lion and Adam, tuned by
:func:`optimlib.compare.tune`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimlib import _checks
from optimlib.compare import run as compare_run
from optimlib.compare import tune
from optimlib.optimizers import Adam, Optimizer
from optimlib.optimizers_extra import Adadelta, AdamW, Lion
from optimlib.run import History, minimize

from . import plot
from .adaptive import Stream

__all__ = [
    "NADAM_NAMES",
    "OnlineRun",
    "adadelta_steps",
    "compute_lion_vs_adam",
    "compute_warmup",
    "dead_units",
    "decoupled_gap",
    "draw_adadelta",
    "draw_lr_grid",
    "draw_nadam",
    "draw_online",
    "draw_warmup",
    "effective_step",
    "end_distance",
    "noise_decay",
    "online_run",
    "overshoot_and_settle",
    "panel",
    "reddi_gradient",
    "scaled_runs",
    "train",
    "warmup_table",
]


def noise_decay(
    optimizer: Optimizer, sigmas, steps: int, rng, l2: float = 0.0, theta0: float = 1.0
) -> np.ndarray:
    """Mean of theta per noise scale, step by step, when the gradient is pure noise.

    ``sigmas`` gives each coordinate's noise scale (repeat a value to average over many
    coordinates); the gradient of coordinate i at step k is ``sigmas[i]`` times a standard
    normal draw, plus ``l2 * theta_i`` (an L2 penalty l2/2 ||theta||^2 in the loss). Every
    coordinate starts at ``theta0``. Returns an array of shape (steps + 1, number of
    distinct sigmas): column j is the mean of theta_k over the coordinates whose scale is
    the j-th smallest distinct value of ``sigmas``.
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    levels, group = np.unique(sigmas, return_inverse=True)
    counts = np.bincount(group)
    optimizer.reset()
    theta = np.full_like(sigmas, theta0)
    means = [np.bincount(group, theta) / counts]
    for _ in range(steps):
        noise = sigmas * rng.standard_normal(sigmas.shape)
        theta = optimizer.step(theta, lambda th, noise=noise: noise + l2 * th)
        means.append(np.bincount(group, theta) / counts)
    return np.array(means).reshape(steps + 1, len(levels))


def _slopes(k, C: float) -> np.ndarray:
    """The slope of the linear loss f_k: C at k = 0, 3, 6, ..., and -1 otherwise."""
    return np.where(np.asarray(k) % 3 == 0, C, -1.0)


def reddi_gradient(k: int, C: float = 3.0) -> np.ndarray:
    """The gradient of f_k(x) = C x (k = 0, 3, 6, ...) or -x (otherwise), as a 1-vector."""
    return np.atleast_1d(_slopes(k, C)).astype(np.float64)


@dataclass(frozen=True)
class OnlineRun:
    """Iterates x_0 .. x_steps of :func:`online_run`, the state after every step, and C.

    The run keeps its own C so that :meth:`regret` scores it on the losses it was run on.
    """

    xs: np.ndarray
    states: dict
    C: float

    def regret(self) -> np.ndarray:
        """Average regret R_k / k: sum_{j<k} (f_j(x_j) - f_j(-1)) / k, for k = 1 .. steps."""
        k = np.arange(len(self.xs) - 1)
        losses = _slopes(k, self.C) * (self.xs[:-1] - (-1.0))
        return np.cumsum(losses) / (k + 1)


def online_run(optimizer: Optimizer, steps: int, C: float = 3.0, x0: float = 0.0) -> OnlineRun:
    """Reddi et al.'s online problem: f_k(x) = C x every third step, -x otherwise, on [-1, 1].

    The sum of three consecutive losses is (C - 2) x, so for C > 2 the best fixed point
    is x = -1. After every step the iterate is projected back onto [-1, 1] (clipped): the
    constraint belongs to the problem, not to the optimizer.
    """
    optimizer.reset()
    x = np.array([x0])
    xs, states = [x0], {}
    for k in range(steps):
        g = reddi_gradient(k, C)
        x = np.clip(optimizer.step(x, lambda _, g=g: g), -1.0, 1.0)
        xs.append(float(x[0]))
        for name, value in optimizer.state.items():
            states.setdefault(name, []).append(np.copy(value))
    return OnlineRun(np.array(xs), {name: np.array(v) for name, v in states.items()}, C)


def panel(
    ax,
    lam: float = 0.1,
    eps: float = 1e-2,
    steps: int = 500,
    sigmas=(1e-3, 1e-2, 1e-1, 1.0, 10.0),
    per_scale: int = 200,
    seed: int = 0,
    legend: str | None = "center right",
):
    """Mean theta after ``steps`` steps against the gradient-noise scale, L2 vs decoupled.

    Adam on the loss plus (lam/2) ||theta||^2 and AdamW with weight decay lam, both with
    learning rate ``eps``, on pure-noise gradients (:func:`noise_decay`, ``per_scale``
    coordinates per scale, all starting at 1). Returns ``sigmas``, the means ``l2`` and
    ``decoupled`` (one per scale), and ``target`` = (1 - eps lam)^steps, the decay that
    AdamW applies to every coordinate whatever its gradients. ``legend`` is a matplotlib
    ``loc``, or None for none (small multiples share one legend for the whole figure).
    """
    lam = _checks.nonnegative("lam", lam)
    eps = _checks.positive("eps", eps)
    per_scale = _checks.positive_int("per_scale", per_scale)
    levels = np.asarray(sigmas, dtype=np.float64)
    scales = np.repeat(levels, per_scale)
    l2 = noise_decay(Adam(lr=eps, delta_in_sqrt=False), scales, steps, _rng(seed), l2=lam)
    decoupled = noise_decay(AdamW(lr=eps, weight_decay=lam), scales, steps, _rng(seed))
    target = (1 - eps * lam) ** steps
    ax.axhline(
        target,
        color="black",
        linestyle="--",
        linewidth=1.2,
        label=rf"$(1-\varepsilon\lambda)^{{{steps}}}$",
    )
    blue, vermillion = plot.PALETTE[0], plot.PALETTE[1]  # the captions name these colours
    ax.plot(levels, decoupled[-1], marker="o", color=blue, label="AdamW (decoupled)")
    ax.plot(levels, l2[-1], marker="s", color=vermillion, label=r"Adam + L2 in the loss")
    ax.set_xscale("log")
    ax.set_ylim(-0.1, 1.1)
    ax.set_xlabel(r"gradient noise scale $\sigma$")
    ax.set_ylabel(rf"mean $\theta$ after {steps} steps")
    if legend is not None:
        ax.legend(loc=legend, fontsize=8.5)
    plot.thin_log_ticks(ax)  # unlabelled minor ticks over > 3 decades: half the drawing
    return {
        "sigmas": levels.tolist(),
        "l2": l2[-1].tolist(),
        "decoupled": decoupled[-1].tolist(),
        "target": float(target),
    }


def train(problem, lr, steps: int, batch_size: int, seed: int, record: int | None = None):
    """Adam (delta outside the root) on minibatches, as ``optimlib.minimize`` runs it.

    The same draws and the same steps as ``minimize(problem, Adam(lr=lr,
    delta_in_sqrt=False), steps, batch_size=batch_size, rng=default_rng(seed))``, but the
    full training loss is computed only for k = 0 .. ``record`` (every step when None),
    which is most of a run's cost. Returns the recorded losses and the final parameters.
    """
    last = steps if record is None else min(record, steps)
    oracle = problem.oracle(batch_size, _rng(seed))
    adam = Adam(lr=lr, delta_in_sqrt=False)
    theta = np.array(problem.x0, dtype=np.float64)
    losses = [float(problem.f(theta))]
    for k in range(steps):
        theta = adam.step(theta, oracle)
        if k < last:
            losses.append(float(problem.f(theta)))
    return np.array(losses), theta


def dead_units(mlp, theta, X) -> int:
    """Hidden ReLU units whose output is 0 on every row of X (they get no gradient)."""
    hidden = mlp.layer_outputs(theta, X)[:-1]
    return int(sum(np.all(h <= 0, axis=0).sum() for h in hidden))


def compute_warmup(
    problem,
    mlp,
    X,
    schedules: dict,
    peaks,
    steps: int,
    early: int,
    batch_size: int,
    seed: int,
    chaotic: tuple = (),
    seeds=(),
) -> dict:
    """Adam with each schedule at each peak rate: the numbers of chapter 10's warm-up table.

    ``schedules`` maps a name to ``make(peak)``, a learning-rate schedule. Per name, arrays
    indexed like ``peaks``, for the runs with minibatch seed ``seed``: ``spike``, the
    largest loss over steps 0 .. ``early`` divided by the initial loss ``f0``; ``final``,
    the final loss; ``dead``, the dead hidden units at the end; and ``curves``, the loss
    curves. The runs named in ``chaotic`` (pairs of name and peak) amplify last-bit
    differences, so that another machine gives other numbers for them; for each,
    ``sample`` holds the final losses and dead units over the minibatch ``seeds`` (the run
    with ``seed`` itself is reused, not repeated).
    """
    peaks = [float(p) for p in peaks]
    f0 = float(problem.f(problem.x0))
    units = sum(h.shape[-1] for h in mlp.layer_outputs(problem.x0, X)[:-1])
    out = {"f0": f0, "peaks": peaks, "units": units, "dead0": dead_units(mlp, problem.x0, X)}
    out |= {"spike": {}, "final": {}, "dead": {}, "curves": {}, "sample": {}}
    ends = {}  # (name, peak) -> final parameters, reused by the sample over seeds
    for name, make in schedules.items():
        curves = []
        for peak in peaks:
            losses, ends[name, peak] = train(problem, make(peak), steps, batch_size, seed)
            curves.append(losses)
        out["curves"][name] = curves
        out["spike"][name] = np.array([c[: early + 1].max() / f0 for c in curves])
        out["final"][name] = np.array([c[-1] for c in curves])
        out["dead"][name] = np.array([dead_units(mlp, ends[name, p], X) for p in peaks])
    for name, peak in chaotic:
        make, peak = schedules[name], float(peak)
        thetas = [
            ends[name, peak]
            if s == seed
            else train(problem, make(peak), steps, batch_size, s, 0)[1]
            for s in seeds
        ]
        out["sample"][name, peak] = {
            "seeds": list(seeds),
            "final": np.array([float(problem.f(theta)) for theta in thetas]),
            "dead": np.array([dead_units(mlp, theta, X) for theta in thetas]),
        }
    return out


def warmup_table(result: dict, early: int) -> str:
    """The table of :func:`compute_warmup`, with a chaotic run's end starred out.

    A chaotic run's spike comes before the chaos and stays; its final loss and dead units
    are replaced by a star, and one line below the table counts over how many of its
    seeds the run failed (final loss above 0.3) and lost more than half of the hidden
    units: counts, which another machine's rounding leaves alone when every seed is clear
    of both thresholds (the chapter asserts the margins).
    """
    peaks, units = result["peaks"], result["units"]
    lines = [f"initial loss f0 = {result['f0']:.3f}"]
    lines.append("peak ε".ljust(36) + "".join(f"{p:>7g}" for p in peaks))
    for name in result["spike"]:
        hidden = {i for i, p in enumerate(peaks) if (name, p) in result["sample"]}

        def row(values, fmt, hidden=hidden):
            cells = ("*" if i in hidden else format(v, fmt) for i, v in enumerate(values))
            return "".join(f"{c:>7}" for c in cells)

        lines.append(
            f"{name}: max f/f0, k <= {early}".ljust(36) + row(result["spike"][name], ".1f", ())
        )
        lines.append(f"{name}: final f".ljust(36) + row(result["final"][name], ".3f"))
        lines.append(f"{name}: dead units (of {units})".ljust(36) + row(result["dead"][name], "d"))
    lines.append(f"dead units at the start: {result['dead0']}")
    for (name, peak), sample in result["sample"].items():
        n = len(sample["seeds"])
        failed = int(np.sum(sample["final"] > 0.3))
        halved = int(np.sum(sample["dead"] > units / 2))
        lines.append(f"* chaotic: {name} at peak {peak:g}, over {n} minibatch seeds:")
        lines.append(
            f"  final f > 0.3 in {failed} of {n}, over half the units dead in {halved} of {n}"
        )
    return "\n".join(lines)


def _rng(seed) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- the measurements of the other sections ---------------------------------------------------


def decoupled_gap(problem, run: History, eps: float, lam: float) -> float:
    """The largest difference between the iterates of ``run`` (SGD with step ``eps`` on f
    plus (lam/2) ||theta||^2) and the decoupled update (1 - eps lam) theta - eps grad f."""
    old, new = run.thetas[:-1], run.thetas[1:]
    grads = np.array([problem.grad(theta) for theta in old])
    return float(np.max(np.abs(new - ((1 - eps * lam) * old - eps * grads))))


def overshoot_and_settle(history: History, within: float = 0.01):
    """How far ``history`` went past the minimum along the line from its start, as a
    fraction of the initial distance d0; and the step after which its distance stays
    below ``within`` d0 (None if it never settles)."""
    start = history.thetas[0] - history.x_star
    d0 = float(np.linalg.norm(start))
    past = max(0.0, -float(np.min((history.thetas - history.x_star) @ start)))
    far = np.flatnonzero(history.distances() > within * d0)
    settle = int(far[-1]) + 1 if far[-1] < history.steps else None
    return past / d0**2, settle


def effective_step(run: OnlineRun, optimizer, eps_t, key: str = "r") -> np.ndarray:
    """eps_t / (sqrt(r_hat_t) + delta) per step of a ``run`` of the Adam-family
    ``optimizer`` (one coordinate), with r_hat the bias-corrected state ``key`` ("r", or
    "r_max" for AMSGrad)."""
    r_hat = run.states[key][:, 0] / (1 - optimizer.rho2 ** run.states["t"])
    return eps_t / (np.sqrt(r_hat) + optimizer.delta)


def adadelta_steps(deltas, rho: float, steps: int) -> dict:
    """|Delta theta_t|, t = 1 .. steps, of Adadelta under the constant gradient g = 1, for
    each delta (a :class:`~optimlib_book.adaptive.Stream` of ones feeds it)."""
    sizes = {}
    for delta in deltas:
        run = minimize(Stream(np.ones((steps, 1))), Adadelta(rho=rho, delta=delta), steps)
        sizes[delta] = np.abs(np.diff(run.thetas[:, 0]))
    return sizes


def scaled_runs(problem, methods: dict, scales, steps: int) -> dict:
    """Each method (name -> a function that makes the optimizer) on c f for each scale c,
    from the same start: ``{(name, c): History}`` (diverged at a loss above 1e6)."""
    runs = {}
    for c in scales:
        for name, make in methods.items():

            def grad(theta, c=c):  # the gradient of c f
                return c * problem.grad(theta)

            runs[name, c] = minimize(problem, make(), steps, grad_fn=grad, max_loss=1e6)
    return runs


def compute_lion_vs_adam(problem, lrs, steps: int, batch_size: int, seeds, last: int) -> dict:
    """Lion and Adam (delta outside the root) tuned on the grid ``lrs`` with
    :func:`optimlib.compare.tune` (minibatches of ``batch_size``, scored by the geometric
    mean gap over the ``last`` iterates, the median over ``seeds``). Per method: the tune
    result, and ``best_run``, the run at its best rate on the first seed, with iterates."""
    makers = {
        "Adam": lambda lr: Adam(lr=lr, delta_in_sqrt=False),
        "Lion": lambda lr: Lion(lr=lr),
    }

    def task(seed):
        return problem, problem.x0

    out = {}
    for name, make in makers.items():
        tuned = tune(make, task, lrs, seeds, steps, batch_size, last)
        best = compare_run(
            make, tuned["best_lr"], task, seeds[0], steps, batch_size, record_iterates=True
        )
        out[name] = tuned | {"best_run": best}
    return out


# --- drawing ---------------------------------------------------------------------------------


def _styles():
    return zip(plot.PALETTE, plot.MARKERS, strict=False)


NADAM_NAMES = {
    "Adam": "Adam",
    "Nadam μ=ρ1": r"Nadam, $\mu = \rho_1$",
    "Nadam μ_t": r"Nadam, PyTorch's $\mu_t$",
}


def draw_nadam(axes, problem, runs: dict, overshoot: dict, lrs, shown: int, bounds) -> None:
    """``axes[0]``: the paths of Adam and Nadam (mu = rho1) at ``lrs[shown]`` over
    ``problem``'s contours; ``axes[1]``: each method's overshoot against the learning rate."""
    ax_path, ax_over = axes
    paths = [runs[name][shown] for name in ("Adam", "Nadam μ=ρ1")]
    labels = ["Adam", NADAM_NAMES["Nadam μ=ρ1"]]
    plot.trajectories(
        ax_path, problem, paths, labels=labels, bounds=bounds, legend="upper right"
    )  # fmt: skip
    ax_path.set_title(f"paths at ε = {lrs[shown]:.2g}")
    for (name, values), (color, marker) in zip(overshoot.items(), _styles(), strict=False):
        ax_over.plot(lrs, values, color=color, marker=marker, label=NADAM_NAMES[name])
    ax_over.set_xscale("log")
    ax_over.set_xlabel(r"learning rate $\varepsilon$")
    ax_over.set_ylabel("overshoot past the minimum / initial distance")
    ax_over.set_title("overshoot on a quadratic, κ = 10")
    ax_over.legend(loc="upper left")
    plot.thin_log_ticks(ax_over)


def draw_online(axes, runs: dict, effective: dict, first: int) -> None:
    """``axes[0]``: the decisions x_t of each :class:`OnlineRun`; ``axes[1]``: their
    effective steps over the ``first`` steps (log scale)."""
    ax_x, ax_eff = axes
    for (name, run), (color, marker) in zip(runs.items(), _styles(), strict=False):
        k = np.arange(len(run.xs))
        ax_x.plot(k, run.xs, color=color, marker=marker, markevery=len(k) // 10, label=name)
        steps = effective[name][: first - 1]
        ax_eff.plot(k[1:first], steps, color=color, marker=marker, markevery=3, label=name)
    ax_x.axhline(-1, color="black", linestyle="--", linewidth=1, label="best point $x = -1$")
    ax_x.set_xlabel("step $t$")
    ax_x.set_ylabel("decision $x_t$")
    ax_x.set_title("online problem: $Cx$ every third step, $-x$ otherwise")
    ax_x.legend(loc="center right")
    ax_eff.set_yscale("log")
    ax_eff.set_xlabel("step $t$")
    ax_eff.set_ylabel(r"effective step $\varepsilon_t / (\sqrt{\hat r_t} + \delta)$")
    ax_eff.set_title(f"the first {first} steps")
    ax_eff.legend(loc="upper right")
    plot.thin_log_ticks(ax_eff)


def draw_adadelta(axes, step_sizes: dict, rho: float, runs: list, labels: list) -> None:
    """``axes[0]``: Adadelta's step sizes under g = 1 for each delta, with
    sqrt(delta (1 + (1 - rho) t)) dashed (log-log); ``axes[1]``: the distance to the
    minimum of the ``runs``, the last one dotted."""
    ax_step, ax_dist = axes
    for (delta, size), (color, marker) in zip(step_sizes.items(), _styles(), strict=False):
        t = np.arange(1, len(size) + 1)
        label = rf"$\delta = 10^{{{int(np.log10(delta))}}}$"
        ax_step.plot(t, size, color=color, marker=marker, markevery=0.1, label=label)
        theory = np.sqrt(delta * (1 + (1 - rho) * t))
        ax_step.plot(t, theory, color="black", linestyle="--", linewidth=1)
    ax_step.set_xscale("log")
    ax_step.set_yscale("log")
    ax_step.set_xlabel("step $t$")
    ax_step.set_ylabel(r"$|\Delta\theta_t|$")
    ax_step.set_title("constant gradient, $g = 1$")
    ax_step.set_ylim(1e-5, 0.3)
    ax_step.legend(loc="lower right")
    plot.convergence(ax_dist, runs, measure="distance", labels=labels, legend=None)
    ax_dist.lines[-1].set_linestyle(":")  # before the legend, so that the legend shows it
    ax_dist.legend(loc="lower left")
    ax_dist.set_title("quadratic, κ = 10")
    for ax in axes:
        plot.thin_log_ticks(ax)


def draw_lr_grid(ax, lrs, tuned: dict, title: str) -> None:
    """Each method's median score against the learning rate (log-log), its best a star."""
    for (name, t), (color, marker) in zip(tuned.items(), _styles(), strict=False):
        scores = np.array(t["median"], dtype=float)
        ax.plot(lrs, scores, color=color, marker=marker, label=name)
        ax.plot(lrs[t["best"]], scores[t["best"]], marker="*", markersize=14, color=color)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"learning rate $\varepsilon$")
    ax.set_ylabel(r"$f - f^\star$, last 50 steps (geom. mean)")
    ax.set_title(title)
    ax.legend(loc="upper center")
    plot.thin_log_ticks(ax)


def draw_warmup(axd: dict, schedules: dict, result: dict, peak: float, steps: int) -> None:
    """Top: the schedules at ``peak`` and the loss curves of Adam with each (the initial
    loss dashed); bottom: the final losses against the peak rate (log-log)."""
    ax_s, ax_l, ax_f = axd["schedule"], axd["loss"], axd["final"]
    k = np.arange(steps)
    i = result["peaks"].index(peak)
    for (name, make), (color, marker) in zip(schedules.items(), _styles(), strict=False):
        ax_s.plot(k, make(peak)(k), color=color, marker=marker, markevery=20, label=name)
        curve = result["curves"][name][i]
        ax_l.plot(
            np.arange(len(curve)), curve, color=color, marker=marker, markevery=20, label=name
        )
        ax_f.plot(result["peaks"], result["final"][name], color=color, marker=marker, label=name)
    ax_s.set_xlabel("step $k$")
    ax_s.set_ylabel(r"$\varepsilon_k$")
    ax_s.set_title(f"the schedules, peak ε = {peak:g}")
    ax_s.legend(loc="upper right")
    ax_l.set_yscale("log")
    ax_l.set_xlabel("step $k$")
    ax_l.set_ylabel(r"training loss $f(\theta_k)$")
    ax_l.set_title(f"Adam with each, peak ε = {peak:g}")
    ax_l.axhline(result["f0"], color="black", linestyle="--", linewidth=1)
    ax_l.legend(loc="upper right")
    ax_f.set_xscale("log")
    ax_f.set_yscale("log")
    ax_f.set_xlabel(r"peak learning rate $\varepsilon_{\max}$")
    ax_f.set_ylabel("final training loss")
    ax_f.set_title(f"after {steps} steps, {len(result['peaks'])} peak rates")
    ax_f.legend(loc="upper center")
    for ax in (ax_l, ax_f):
        plot.thin_log_ticks(ax)


def end_distance(history: History) -> str:
    """Where a run ended, for a table: its final distance to the minimum, or the step at
    which it diverged."""
    if history.diverged:
        return f"div. at {history.diverged_at}"
    return f"{history.distances()[-1]:.2e}"

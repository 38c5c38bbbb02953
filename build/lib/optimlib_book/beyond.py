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
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimlib import _checks
from optimlib.optimizers import Adam, Optimizer
from optimlib.optimizers_extra import AdamW

from . import plot

__all__ = [
    "OnlineRun",
    "compute_warmup",
    "dead_units",
    "noise_decay",
    "online_run",
    "panel",
    "reddi_gradient",
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
    the j-th smallest distinct value of ``sigmas``. Arguments are checked before the
    optimizer is reset, so a refused call leaves it as it was.
    """
    sigmas = np.asarray(sigmas, dtype=np.float64)
    allowed = "a non-empty 1-d array of finite numbers > 0"
    if sigmas.ndim != 1 or sigmas.size == 0:
        raise ValueError(f"sigmas must be {allowed}; got shape {sigmas.shape}")
    bad = sigmas[~(np.isfinite(sigmas) & (sigmas > 0))]
    if bad.size:
        raise ValueError(f"sigmas must be {allowed}; got entries {bad.tolist()}")
    steps = _checks.nonnegative_int("steps", steps)
    l2 = _checks.nonnegative("l2", l2)
    theta0 = _checks.finite("theta0", theta0)
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng: give an explicit np.random.Generator")
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
    constraint belongs to the problem, not to the optimizer. Arguments are checked before
    the optimizer is reset, so a refused call leaves it as it was.
    """
    steps = _checks.nonnegative_int("steps", steps)
    C = _checks.positive("C", C)
    x0 = _checks.finite("x0", x0)
    if not -1 <= x0 <= 1:
        raise ValueError(f"x0 must be a number in [-1, 1] (the problem's interval); got {x0!r}")
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
    steps = _checks.nonnegative_int("steps", steps)
    last = steps if record is None else min(_checks.nonnegative_int("record", record), steps)
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
    return np.random.default_rng(_checks.nonnegative_int("seed", seed))

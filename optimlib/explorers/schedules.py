"""Chapter 4 (stochastic gradient descent): learning-rate schedules and the noise floor.

* :func:`sgd_runs` runs SGD (``optimlib.SGD``, unchanged) on several independent
  minibatch streams at once, by stacking the runs' parameters into one array: the
  chapter averages over runs without paying a Python loop per run.
* :func:`noise_floor` is the leading-order stationary excess loss of SGD with a
  constant step on a quadratic, eps tr(Sigma_g) / 4.
* :func:`decade_growth` checks the Robbins-Monro conditions numerically, from how much
  the last decade of steps adds to each partial sum compared with the decade before.
* :func:`panel` is the chapter's explorer: a power-decay schedule, the SGD loss gap it
  produces, and the floor of the current step beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import _checks
from .. import schedules as sch
from .._base import DivergenceError
from ..optimizers import SGD
from ..problems import LinearRegression

__all__ = [
    "Runs",
    "decade_growth",
    "default_problem",
    "make_schedule",
    "noise_floor",
    "panel",
    "sgd_runs",
]


@dataclass
class Runs:
    """Loss gaps of several SGD runs, recorded at the steps ``steps``.

    ``gaps[r, j]`` is f(theta_k) - f* of run r at step k = ``steps[j]`` (the full
    objective, though the runs step with minibatches). ``lrs[k]`` is eps_k for every
    step taken. ``diverged_at`` is the first step at which some run's iterate or
    loss stopped being finite or exceeded the cut-off; the recording stops there.
    """

    steps: np.ndarray
    gaps: np.ndarray
    lrs: np.ndarray
    diverged_at: int | None = None

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    def mean_gap(self, start: int, stop: int | None = None) -> float:
        """The loss gap averaged over the runs and over the recorded steps in [start, stop]."""
        stop = self.steps[-1] if stop is None else stop
        keep = (self.steps >= start) & (self.steps <= stop)
        if not keep.any():
            raise ValueError(f"mean_gap: no recorded step in [{start}, {stop}]")
        return float(self.gaps[:, keep].mean())


    def slope(self, start: int, stop: int | None = None) -> float:
        """The least-squares slope of log(mean gap) against log k over the steps [start, stop].

        About -1 for a gap that falls like 1/k, 0 for a gap that has stopped falling.
        """
        stop = self.steps[-1] if stop is None else stop
        keep = (self.steps >= max(start, 1)) & (self.steps <= stop)
        if keep.sum() < 2:
            raise ValueError(f"slope: fewer than two recorded steps in [{start}, {stop}]")
        mean = self.gaps[:, keep].mean(axis=0)
        return float(np.polyfit(np.log(self.steps[keep]), np.log(mean), 1)[0])


def _distinct_indices(rng, N: int, runs: int, m: int) -> np.ndarray:
    """For each run, m distinct indices in 0..N-1, uniformly at random: shape (runs, m).

    Rows of m independent uniform draws are redrawn until they hold no repeat, which is
    exactly uniform over m-subsets and cheap when m^2 is small next to N; otherwise
    the m smallest of N uniform keys per row.
    """
    if m * (m - 1) > 2 * N:
        return rng.random((runs, N)).argpartition(m - 1, axis=1)[:, :m]
    idx = rng.integers(N, size=(runs, m))
    while True:
        ordered = np.sort(idx, axis=1)
        repeats = (np.diff(ordered, axis=1) == 0).any(axis=1)
        if not repeats.any():
            return idx
        idx[repeats] = rng.integers(N, size=(int(repeats.sum()), m))


def _record_steps(steps: int, record) -> np.ndarray:
    if record is None:
        return np.arange(steps + 1)
    record = np.unique(np.asarray(record, dtype=np.int64))
    if record.size == 0 or record[0] < 0 or record[-1] > steps:
        raise ValueError(f"record: steps to record must lie in 0..{steps}")
    return record


def log_steps(steps: int, num: int = 80) -> np.ndarray:
    """About ``num`` steps 0..steps, evenly spaced on a log scale (for log-log plots)."""
    return np.unique(np.concatenate([[0], np.geomspace(1, steps, num).round().astype(int)]))


def sgd_runs(
    problem,
    lr,
    steps: int,
    batch_size: int,
    rng: np.random.Generator,
    runs: int = 8,
    x0=None,
    record=None,
    max_gap: float = 1e6,
) -> Runs:
    """``runs`` independent SGD runs with minibatches of ``batch_size`` distinct examples.

    ``problem`` is a linear model (``LinearRegression`` or ``LogisticRegression``): the
    minibatch gradient of run r is (1/m) sum_i loss'(x_i^T theta_r, y_i) x_i (+ l2
    theta_r) over its own minibatch. The step itself is ``optimlib.SGD(lr)`` applied to
    the stacked parameters, so ``lr`` may be a number or a schedule. ``record`` lists the
    steps at which f is evaluated (default: every step). A run whose loss gap exceeds
    ``max_gap`` times the starting gap, or whose iterate is not finite, ends all runs:
    ``Runs.diverged_at`` says at which step.
    """
    steps = _checks.nonnegative_int("steps", steps)
    runs = _checks.positive_int("runs", runs)
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng: minibatches need an explicit np.random.Generator")
    m = problem._batch_size(batch_size)
    record = _record_steps(steps, record)
    x0 = problem.x0 if x0 is None else x0
    theta = np.tile(np.asarray(x0, dtype=np.float64), (runs, 1))
    X, y, l2 = problem.X, problem.y, getattr(problem, "l2", 0.0)
    f_star = problem.f_star

    def minibatch_gradients(th):
        idx = _distinct_indices(rng, problem.N, runs, m)
        Xb = X[idx]  # (runs, m, d)
        z = np.einsum("rmd,rd->rm", Xb, th)
        return np.einsum("rm,rmd->rd", problem.dloss(z, y[idx]), Xb) / m + l2 * th

    opt = SGD(lr)
    gap0 = float(problem.f(theta[0])) - f_star
    limit = max_gap * max(gap0, 1e-12)
    gaps, lrs, diverged_at = [], [], None
    next_record = 0
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(steps + 1):
            if next_record < len(record) and record[next_record] == k:
                gap = problem.f(theta) - f_star
                if not np.all(np.isfinite(gap)) or np.any(gap > limit):
                    diverged_at = k - 1
                    record = record[:next_record]
                    break
                gaps.append(gap)
                next_record += 1
            if k == steps:
                break
            lrs.append(opt.lr_at(k))
            try:
                theta = opt.step(theta, minibatch_gradients)
            except DivergenceError:
                diverged_at = k
                record = record[:next_record]
                break
    gaps = np.array(gaps).T if gaps else np.empty((runs, 0))
    return Runs(steps=record, gaps=gaps, lrs=np.array(lrs), diverged_at=diverged_at)


def noise_floor(problem, eps, batch_size: int):
    """eps tr(Sigma_g) / 4: the leading-order mean excess loss of SGD with constant eps.

    Sigma_g is the covariance of the minibatch gradient at the minimizer (its trace is
    ``problem.minibatch_variance(x_star, m)``). For the quadratic model with additive
    noise the exact stationary excess lies between this and this / (1 - eps lambda_max / 2).
    """
    variance = problem.minibatch_variance(problem.x_star, batch_size)
    return np.asarray(eps, dtype=np.float64) * variance / 4


def decade_growth(schedule, num_steps: int = 100_000) -> dict:
    """How much the last decade of steps adds to each partial sum, relative to the one before.

    With S(n) a partial sum of eps_k (or of eps_k^2), the ratio
    rho = (S(n) - S(n/10)) / (S(n/10) - S(n/100)) is 10^(1 - q) for terms ~ k^-q: a
    series converges when rho < 1 (each decade adds a fixed fraction of the last, a
    geometric tail) and diverges when rho >= 1. The plain ratio S(n) / S(n/10) can
    mislead: a divergent tail that is still small next to the head looks convergent.
    Returns both ratios and the verdicts ``sum_diverges`` (rho1 > 0.9) and
    ``sum_of_squares_converges`` (rho2 < 0.5); between the thresholds it says None.
    """
    num_steps = _checks.positive_int("num_steps", num_steps)
    if num_steps < 1000 or num_steps % 100:
        raise ValueError(f"num_steps must be a multiple of 100, at least 1000; got {num_steps}")
    s1, s2 = sch.partial_sums(schedule, num_steps)
    n, n10, n100 = num_steps - 1, num_steps // 10 - 1, num_steps // 100 - 1

    def rho(s):
        last, before = s[n] - s[n10], s[n10] - s[n100]
        return float(last / before) if before > 0 else 0.0

    def verdict(value, low, high):
        return True if value > high else False if value < low else None

    rho1, rho2 = rho(s1), rho(s2)
    return {
        "S1": float(s1[n]),
        "S2": float(s2[n]),
        "ratio1": float(s1[n] / s1[n10]),
        "ratio2": float(s2[n] / s2[n10]),
        "rho1": rho1,
        "rho2": rho2,
        "sum_diverges": verdict(rho1, 0.5, 0.9),
        "sum_of_squares_converges": (None if verdict(rho2, 0.5, 0.9) is None else rho2 < 0.5),
    }


_DEFAULT = {}


def default_problem() -> LinearRegression:
    """The chapter's noisy problem: least squares, N = 1000 examples, d = 10, noise 0.5."""
    if "problem" not in _DEFAULT:
        rng = np.random.default_rng(0)
        _DEFAULT["problem"] = LinearRegression.synthetic(1000, 10, rng, noise_std=0.5)
    return _DEFAULT["problem"]


def make_schedule(p: float, eps0: float, k0: float):
    """eps_k = eps0 / (1 + k/k0)^p, and the constant eps0 when p = 0."""
    p = _checks.nonnegative("p", p)
    if p == 0:
        return sch.constant(eps0)
    return sch.power_decay(eps0, k0=k0, p=p)


def panel(
    ax,
    p: float = 1.0,
    eps0: float = 0.1,
    k0: float = 20.0,
    batch_size: int = 10,
    steps: int = 4000,
    runs: int = 4,
    seed: int = 0,
    problem=None,
) -> dict:
    """SGD with eps_k = eps0 / (1 + k/k0)^p (constant when p = 0) on a noisy least-squares problem.

    Draws, on log-log axes, the loss gap f(theta_k) - f* (median of ``runs`` runs, with
    the spread between the quartiles shaded) and the constant-step floor of the current
    step, eps_k tr(Sigma_g) / 4 (dashed): the gap follows that floor down while the
    schedule decays slowly enough, and freezes above it when the steps shrink too fast.
    Returns the final loss gap (mean over runs of the last tenth of the steps), the
    floor of the last step, the slope of the gap over the last decade of steps, the
    partial sums over the run and what the formula says about Robbins-Monro.
    """
    import matplotlib.pyplot as plt  # noqa: F401  (make sure pyplot's backend is set up)

    from .. import plot

    problem = default_problem() if problem is None else problem
    schedule = make_schedule(p, eps0, k0)
    record = log_steps(steps)
    rng = np.random.default_rng(seed)
    result = sgd_runs(problem, schedule, steps, batch_size, rng, runs=runs, record=record)
    k = result.steps
    color = plot.PALETTE[0]
    shown = k >= 1
    if result.gaps.shape[1] and shown.any():
        plot.band(ax, k[shown], result.gaps[:, shown], label="loss gap", color=color, marker="o")
    all_k = np.arange(1, steps + 1)
    floor = noise_floor(problem, schedule(all_k), batch_size)
    ax.plot(all_k, floor, color=plot.PALETTE[1], linestyle="--", label=r"floor of $\varepsilon_k$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("step $k$")
    ax.set_ylabel(r"$f(\theta_k) - f^\star$")
    out = {
        "p": float(p),
        "sum_diverges": bool(schedule.sum_diverges),
        "sum_of_squares_converges": bool(schedule.sum_of_squares_converges),
        "meets_robbins_monro": bool(schedule.meets_robbins_monro),
        "S1": float(np.sum(schedule(np.arange(steps)))),
        "S2": float(np.sum(schedule(np.arange(steps)) ** 2)),
        "diverged_at": result.diverged_at,
        "final_floor": float(floor[-1]),
    }
    if result.diverged:
        last = result.gaps[:, -1].max() if result.gaps.shape[1] else 1.0
        plot.mark_divergence(ax, max(int(k[-1]) if len(k) else 1, 1), last, result.diverged_at, color)
        out.update(final_gap=float("inf"), slope=float("nan"))
    else:
        out["final_gap"] = result.mean_gap(int(0.9 * steps))
        out["slope"] = result.slope(steps // 10)
    ax.legend(loc="lower left")
    return out

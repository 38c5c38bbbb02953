"""Chapter 4 (stochastic gradient descent): learning-rate schedules and the noise floor.

* :func:`sgd_runs` and :func:`sgd_compare` run SGD (the update of ``optimlib.SGD``) on
  several independent minibatch streams and under several learning rates at once,
  by stacking all the parameters into one array: the chapter averages over runs
  without paying a Python loop per run.
* :func:`expected_gaps` propagates the second moments of the quadratic model, the
  expected loss gap of SGD under any schedule, far beyond what we can afford to run.
* :func:`noise_floor` is the leading-order stationary excess loss of SGD with a
  constant step on a quadratic, eps tr(Sigma_g) / 4.
* :func:`decade_growth` checks the Robbins-Monro conditions numerically, from how much
  the last decade of steps adds to each partial sum compared with the decade before.
* The chapter's experiments, each a ``compute_*`` that returns numbers (no matplotlib)
  and a ``draw_*`` that draws them: :func:`compute_floor` (the plateaus of constant
  steps), :func:`compute_decade_sums` (what each decade adds to the partial sums),
  :func:`compute_schedule_comparison` (SGD under several schedules beside the moment
  model), and :func:`draw_linear_decay_erratum`.
* :func:`panel` is the chapter's explorer: a power-decay schedule, the SGD loss gap it
  produces, and the floor of the current step beside it.
* :func:`readable` prints the chapter's small numbers as a reader reads them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimlib import _checks
from optimlib import schedules as sch
from optimlib.optimizers import SGD
from optimlib.problems import LinearRegression

from .notebook import scientific

__all__ = [
    "DecadeSums",
    "FloorMeasurement",
    "Runs",
    "ScheduleComparison",
    "compute_decade_sums",
    "compute_floor",
    "compute_schedule_comparison",
    "decade_growth",
    "default_problem",
    "draw_decade_sums",
    "draw_floor",
    "draw_linear_decay_erratum",
    "draw_schedule_comparison",
    "expected_gaps",
    "log_steps",
    "make_schedule",
    "noise_floor",
    "panel",
    "readable",
    "sgd_compare",
    "sgd_runs",
]


def readable(value, digits: int = 3) -> str:
    """``value`` > 0 with ``digits`` significant digits as a table shows it: fixed-point
    from 10⁻³ up (``0.00604``), the prose's power of ten below (``3.84 × 10⁻⁵``)."""
    power = int(f"{value:.{digits - 1}e}".split("e")[1])  # after rounding: 0.0009996 is 1e-3
    if power >= -3:
        return f"{value:.{max(digits - 1 - power, 0)}f}"
    return scientific(value, digits - 1)


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

    Three exact samplers, each used where it is cheapest: rows of m draws redrawn until
    they hold no repeat (most rows pass when m^2 is small next to N); the first m
    distinct values of a longer row of draws; the m smallest of N uniform keys.
    """
    if m * (m - 1) <= N:  # no repeat in a row: probability >= 1 - m(m-1)/2N >= 1/2
        return _redrawn_until_distinct(rng, N, runs, m)
    if 10 * m <= N:
        return _first_distinct(rng, N, runs, m)
    return rng.random((runs, N)).argpartition(m - 1, axis=1)[:, :m]


def _redrawn_until_distinct(rng, N: int, runs: int, m: int) -> np.ndarray:
    """Rows of m uniform draws, each redrawn until it holds no repeat."""
    idx = rng.integers(N, size=(runs, m))
    redrawn = np.arange(runs)  # the rows still to check
    while True:
        ordered = np.sort(idx[redrawn], axis=1)
        redrawn = redrawn[(np.diff(ordered, axis=1) == 0).any(axis=1)]
        if not redrawn.size:
            return idx
        idx[redrawn] = rng.integers(N, size=(redrawn.size, m))


def _first_distinct(rng, N: int, runs: int, m: int) -> np.ndarray:
    """The first m distinct values of each row of uniform draws: each new value is
    uniform over those not yet drawn, which is sampling without replacement.

    A row holds m + m^2/N + 8 draws, a few more than the repeats it is expected to hold
    (about m^2 / 2N); a row with fewer than m distinct values is drawn again whole,
    which leaves the rest uniform (whether a row is kept does not depend on which
    values it holds, only on which of its draws repeat).
    """
    width = m + -(-m * m // N) + 8
    out = np.empty((runs, m), dtype=np.int64)
    todo = np.arange(runs)  # the rows still to fill
    while todo.size:
        draws = rng.integers(N, size=(todo.size, width))
        first = _first_draws(draws, N)
        full = first.sum(axis=1) >= m
        first &= np.cumsum(first, axis=1) <= m  # the first m of them
        out[todo[full]] = draws[full][first[full]].reshape(-1, m)
        todo = todo[~full]
    return out


def _first_draws(draws: np.ndarray, N: int) -> np.ndarray:
    """Whether each draw (values in 0..N-1) is the first of its value in its row.

    Each row gets a table of N cells, and each cell keeps the least position that drew
    its value: linear in the draws, where sorting each row cost 1.6 times as much
    (chapter 4's batches of 40).
    """
    rows, width = draws.shape
    cells = draws + N * np.arange(rows)[:, None]
    positions = np.broadcast_to(np.arange(width), draws.shape)
    first_position = np.full(rows * N, width)
    np.minimum.at(first_position, cells.ravel(), positions.ravel())
    return first_position[cells] == positions


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

    ``lr`` is a number or a schedule; see :func:`sgd_compare` for the rest (this is
    ``sgd_compare`` with a single learning rate).
    """
    return sgd_compare(problem, [lr], steps, batch_size, rng, runs, x0, record, max_gap)[0]


def sgd_compare(
    problem,
    lrs,
    steps: int,
    batch_size: int,
    rng: np.random.Generator,
    runs: int = 8,
    x0=None,
    record=None,
    max_gap: float = 1e6,
) -> list[Runs]:
    """SGD under each learning rate in ``lrs``, ``runs`` runs each: one :class:`Runs` per lr.

    ``problem`` is a linear model (``LinearRegression`` or ``LogisticRegression``): the
    minibatch gradient of a run is (1/m) sum_i loss'(x_i^T theta, y_i) x_i (+ l2 theta)
    over its minibatch of m distinct examples. Run r draws its own minibatches, and
    every learning rate sees the same ones (common random numbers: the comparison
    between learning rates is not blurred by different noise, and two schedules that
    agree from some step on drive their runs to the same path). The step is
    ``optimlib.SGD(lr).update``, the update line of Algorithm 8.1, applied to all the
    parameters stacked in one array (without ``step``'s per-call checks, which would
    cost more than the step itself). ``record`` lists the steps at which f is
    evaluated (default: every step); the runs go up to the last of them. A learning
    rate whose iterates stop being finite, or whose loss gap exceeds ``max_gap`` times
    the starting gap, at a recorded step is stopped there: its ``Runs.diverged_at``
    says at which step (to the resolution of ``record``), and only the gaps before
    it are kept.
    """
    steps = _checks.nonnegative_int("steps", steps)
    runs = _checks.positive_int("runs", runs)
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng: minibatches need an explicit np.random.Generator")
    m = problem.check_batch_size(batch_size)
    record = _record_steps(steps, record)
    optimizers = [SGD(lr) for lr in lrs]  # checks every lr; update() is the SGD line
    if not optimizers:
        raise ValueError("lrs: give at least one learning rate")
    eps = np.array([_values(opt, lr, steps) for opt, lr in zip(optimizers, lrs, strict=True)])
    L = len(optimizers)
    x0 = np.asarray(problem.x0 if x0 is None else x0, dtype=np.float64)
    theta = np.tile(x0, (L, runs, 1))
    X, y, l2 = problem.X, problem.y, getattr(problem, "l2", 0.0)
    f_star = problem.f_star

    block = max(1, 4096 // (runs * m))  # steps whose minibatches are drawn at once

    def minibatches():  # each step's (runs, m, d) examples and (runs, m, 1) labels
        while True:
            idx = _distinct_indices(rng, problem.N, block * runs, m).reshape(block, runs, m)
            Xb = X[idx]  # gathered for the whole block at once, shared by every learning rate
            yield from zip(Xb, Xb.transpose(0, 1, 3, 2), y[idx][..., None], strict=True)

    batches = minibatches()

    def minibatch_gradients(th):  # th: (L, runs, d)
        Xb, XbT, yb = next(batches)
        z = Xb @ th.transpose(1, 2, 0)  # (runs, m, L): a few small matmuls, not L * runs
        g = (XbT @ problem.dloss(z, yb)).transpose(2, 0, 1) / m  # (L, runs, d)
        return g + l2 * th if l2 else g

    update = optimizers[0].update  # SGD's update holds no state and no hyperparameter
    loss_gap = _loss_gap(problem)
    limit = max_gap * max(float(problem.f(x0)) - f_star, 1e-12)
    gaps = np.full((L, runs, len(record)), np.nan)
    stopped = np.full(L, -1)  # index into record where a learning rate was stopped
    with np.errstate(over="ignore", invalid="ignore"):
        for j, k in enumerate(record):
            for step in range(0 if j == 0 else record[j - 1], k):
                theta, _ = update(theta, minibatch_gradients(theta), eps[:, step, None, None])
            gap = loss_gap(theta)  # (L, runs)
            bad = ~(np.isfinite(theta).all(axis=(1, 2)) & (gap <= limit).all(axis=1))
            for lr_index in np.flatnonzero(bad & (stopped < 0)):
                stopped[lr_index] = j
                theta[lr_index] = x0  # parked: harmless numbers, no longer recorded
            gaps[:, :, j] = gap
    out = []
    for i in range(L):
        kept = len(record) if stopped[i] < 0 else stopped[i]
        diverged_at = None if stopped[i] < 0 else max(int(record[stopped[i]]) - 1, 0)
        taken = int(record[-1]) if diverged_at is None else diverged_at + 1
        out.append(
            Runs(
                steps=record[:kept],
                gaps=gaps[i, :, :kept],
                lrs=eps[i, :taken],
                diverged_at=diverged_at,
            )
        )
    return out


def _loss_gap(problem):
    """theta -> f(theta) - f* for parameters stacked in shape (L, runs, d).

    Least squares is exactly quadratic, f(theta) - f* = (1/2) e^T H e with
    e = theta - x*, which costs a d x d product instead of a pass over the N examples
    (and has no cancellation between f and f*). Other problems evaluate f, one
    learning rate at a time: a stack of L * runs points would make f one large matrix
    product, which multithreaded BLAS can make much slower.
    """
    if isinstance(problem, LinearRegression):
        x_star = problem.x_star
        H = problem.hess(x_star)
        return lambda theta: 0.5 * np.sum(((theta - x_star) @ H) * (theta - x_star), axis=-1)
    f_star = problem.f_star
    return lambda theta: np.stack([problem.f(t) for t in theta]) - f_star


def _values(opt, lr, steps: int) -> np.ndarray:
    """eps_0, ..., eps_{steps-1} of a number or a schedule (vectorized for a Schedule)."""
    if isinstance(lr, sch.Schedule):
        return np.asarray(lr(np.arange(steps)), dtype=np.float64).reshape(-1)
    return np.array([opt.lr_at(k) for k in range(steps)], dtype=np.float64)


def noise_floor(problem, eps, batch_size: int):
    """eps tr(Sigma_g) / 4: the leading-order mean excess loss of SGD with constant eps.

    Sigma_g is the covariance of the minibatch gradient at the minimizer (its trace is
    ``problem.minibatch_variance(x_star, m)``). For the quadratic model with additive
    noise the exact stationary excess lies between this and this / (1 - eps lambda_max / 2).
    """
    variance = problem.minibatch_variance(problem.x_star, batch_size)
    return np.asarray(eps, dtype=np.float64) * variance / 4


def expected_gaps(problem, schedules, steps: int, batch_size: int, x0=None) -> np.ndarray:
    """E f(theta_k) - f* under each schedule, from the quadratic model: shape (S, steps + 1).

    Near the minimizer f(theta) = f* + (1/2) e^T H e with e = theta - x*, and a minibatch
    gradient is H e + xi with noise xi of mean 0 and covariance Sigma_g (that of the
    minibatch gradient at x*). In the eigenbasis of H (eigenvalues lambda_i) the second
    moments q_i = E e_i^2 then obey exactly

        q_i <- (1 - eps_k lambda_i)^2 q_i + eps_k^2 (Sigma_g)_ii,

    and E f - f* = (1/2) sum_i lambda_i q_i. For least squares the model leaves out
    only that the noise grows with e (a correction of relative order eps). The
    recursion is run up to 1024 steps at a time with cumulative products, so 10^5
    steps of several schedules cost a few hundredths of a second.
    """
    steps = _checks.nonnegative_int("steps", steps)
    m = problem.check_batch_size(batch_size)
    lam, U = np.linalg.eigh(problem.hess(problem.x_star))
    grads = problem.per_example_grads(problem.x_star)
    grads = grads - grads.mean(axis=0)
    N = problem.N
    scale = 0.0 if N == 1 else (N - m) / (m * (N - 1))
    noise = scale * np.mean((grads @ U) ** 2, axis=0)  # diagonal of U^T Sigma_g U
    x0 = problem.x0 if x0 is None else np.asarray(x0, dtype=np.float64)
    e0 = U.T @ (x0 - problem.x_star)
    eps = np.stack([np.asarray(s(np.arange(steps)), dtype=np.float64) for s in schedules])
    q = np.tile(e0**2, (len(schedules), 1))  # (S, d)
    gaps = np.empty((len(schedules), steps + 1))
    gaps[:, 0] = 0.5 * q @ lam
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        chunk = _chunk_length(eps, lam)
        for start in range(0, steps, chunk):
            e = eps[:, start : start + chunk].T[:, :, None]  # (n, S, 1)
            a = np.maximum((1 - e * lam) ** 2, 1e-8)  # floor: avoids 0 in the division
            b = e**2 * noise
            A = np.cumprod(a, axis=0)
            path = A * (q + np.cumsum(b / A, axis=0))  # q after each step of the chunk
            gaps[:, start + 1 : start + 1 + len(e)] = 0.5 * (path @ lam).T
            q = path[-1]
    return gaps


def _chunk_length(eps: np.ndarray, lam: np.ndarray) -> int:
    """Steps of :func:`expected_gaps` per chunk: products of factors a = (1 - eps lambda)^2
    (floored at 1e-8) over a chunk stay within 1e+-250 of 1, so neither A nor b / A
    under- or overflows; at least 32 steps, at most 1024."""
    if eps.size == 0:
        return 32
    lo, hi = float(eps.min()), float(eps.max())
    corners = np.maximum((1 - np.outer([lo, hi], lam[[0, -1]])) ** 2, 1e-8)
    spread = float(np.max(np.abs(np.log10(corners))))
    if hi * lam[-1] >= 1 and lo * lam[0] <= 1:  # some eps lambda = 1: a reaches the floor
        spread = 8.0
    return int(np.clip(250 / max(spread, 1e-3), 32, 1024))


@dataclass
class FloorMeasurement:
    """Constant steps ``epsilons``, every step of ``runs`` runs each recorded.

    ``plateau[i]`` is the mean loss gap over the steps ``late`` to the end and over the
    runs of step size i, ``predicted[i]`` its floor eps tr(Sigma_g) / 4, ``slope`` and
    ``intercept`` the least-squares line of log plateau against log eps, and
    ``reach[i]`` the first step at which the first run comes within twice its floor.
    """

    epsilons: np.ndarray
    runs: list
    late: int
    plateau: np.ndarray
    predicted: np.ndarray
    slope: float
    intercept: float
    reach: np.ndarray


def compute_floor(problem, epsilons, steps: int, late: int, batch_size: int, rng, runs: int = 8):
    """SGD with each constant step in ``epsilons``, fed the same minibatches: the plateaus."""
    epsilons = np.asarray(epsilons, dtype=np.float64)
    results = sgd_compare(problem, list(epsilons), steps, batch_size, rng, runs=runs)
    plateau = np.array([r.mean_gap(late) for r in results])
    predicted = noise_floor(problem, epsilons, batch_size)
    slope, intercept = np.polyfit(np.log(epsilons), np.log(plateau), 1)
    pairs = zip(results, predicted, strict=True)
    reach = np.array([np.argmax(r.gaps[0] <= 2 * p) for r, p in pairs])
    return FloorMeasurement(
        epsilons, results, late, plateau, predicted, float(slope), float(intercept), reach
    )


def draw_floor(ax_runs, ax_fit, problem, floor: FloorMeasurement, batch_size: int) -> None:
    """The first run of each step size with its floor (dashed), and the plateaus against eps."""
    from . import plot  # matplotlib, imported only when drawing

    styles = zip(
        floor.epsilons, floor.runs, floor.predicted, plot.PALETTE, plot.MARKERS, strict=False
    )
    for eps, r, predicted, color, marker in styles:
        label = rf"$\varepsilon = {eps:.3g}$"
        ax_runs.plot(r.steps, r.gaps[0], color=color, marker=marker, markevery=0.08, label=label)
        ax_runs.axhline(predicted, color=color, linestyle="--", linewidth=1.2)
    ax_runs.set_yscale("log")
    ax_runs.set_xlabel("step $k$")
    ax_runs.set_ylabel(r"$f(\theta_k) - f^\star$")
    ax_runs.set_title("constant steps: fast descent, then a plateau")
    ax_runs.minorticks_off()  # minor ticks on long log axes are slow to draw
    ax_runs.legend(loc="upper right")

    eps = floor.epsilons
    grid = np.geomspace(eps[0] / 1.3, eps[-1] * 1.3, 50)
    prediction = noise_floor(problem, grid, batch_size)
    label = r"prediction $\varepsilon\,\mathrm{tr}\,\Sigma_g/4$"
    ax_fit.loglog(grid, prediction, color="0.3", linestyle="--", label=label)
    fit = np.exp(floor.intercept) * grid**floor.slope
    label = f"least-squares fit, slope {floor.slope:.2f}"
    ax_fit.loglog(grid, fit, color=plot.PALETTE[1], label=label)
    runs, end = floor.runs[0].gaps.shape[0], int(floor.runs[0].steps[-1])
    label = f"measured plateau ({runs} runs, steps {floor.late}-{end})"
    ax_fit.loglog(eps, floor.plateau, "o", color=plot.PALETTE[0], markersize=8, label=label)
    # plain labels at the measured steps and at 1, 2, 5 per decade: no minor log ticks,
    # whose mathtext labels cost more to draw than the rest of the figure
    ax_fit.minorticks_off()
    ax_fit.set_xticks(eps, [f"{e:.3g}" for e in eps])
    lo, hi = min(prediction.min(), fit.min()), max(prediction.max(), fit.max())
    decades = np.arange(np.floor(np.log10(lo)), np.ceil(np.log10(hi)) + 1)
    steps = (10.0 ** decades[:, None] * np.array([1.0, 2.0, 5.0])).ravel()
    steps = steps[(steps >= lo) & (steps <= hi)]
    ax_fit.set_yticks(steps, [f"{v:g}" for v in steps])
    ax_fit.set_xlabel(r"learning rate $\varepsilon$")
    ax_fit.set_ylabel(r"mean of $f(\theta_k) - f^\star$ on the plateau")
    ax_fit.set_title("plateau height is proportional to the step")
    ax_fit.legend(loc="upper left")


@dataclass
class ScheduleComparison:
    """SGD under named schedules on a budget, beside the moment model far beyond it.

    ``sims[name]`` holds the runs (:class:`Runs`), ``model[name]`` the model's expected
    gap at every step up to ``horizon``; ``final`` is the runs' mean gap over the last
    tenth of the budget, ``at_budget`` the model's over the same steps, ``agreement``
    their ratio, and ``decade`` the factor by which the model's gap changes from
    k = horizon/10 to k = horizon.
    """

    budget: int
    horizon: int
    sims: dict
    model: dict
    final: dict
    at_budget: dict
    agreement: dict
    decade: dict


def compute_schedule_comparison(
    problem, schedules: dict, budget: int, batch_size: int, rng, runs: int, horizon: int
) -> ScheduleComparison:
    """Runs of every schedule on the same minibatches, and the moment model to ``horizon``."""
    last = budget * 9 // 10  # the last tenth of the budget starts here
    saved = np.union1d(log_steps(budget), np.arange(last, budget + 1, 25))
    lrs = list(schedules.values())
    results = sgd_compare(problem, lrs, budget, batch_size, rng, runs=runs, record=saved)
    sims = dict(zip(schedules, results, strict=True))
    model = dict(zip(schedules, expected_gaps(problem, lrs, horizon, batch_size), strict=True))
    final = {name: r.mean_gap(last) for name, r in sims.items()}
    at_budget = {name: float(g[last : budget + 1].mean()) for name, g in model.items()}
    agreement = {name: final[name] / at_budget[name] for name in schedules}
    decade = {name: float(g[horizon] / g[horizon // 10]) for name, g in model.items()}
    return ScheduleComparison(budget, horizon, sims, model, final, at_budget, agreement, decade)


def draw_schedule_comparison(ax, comparison: ScheduleComparison) -> None:
    """Median and quartiles of the runs (solid) and the moment model (dashed), log-log."""
    from . import plot  # matplotlib, imported only when drawing

    colors = [c for c in plot.PALETTE if c != "#F0E442"]  # no yellow on white
    k_model = np.unique(np.geomspace(1, comparison.horizon, 300).astype(int))
    styles = zip(comparison.sims.items(), colors, plot.MARKERS, strict=False)
    for (name, r), color, marker in styles:
        k, gaps = r.steps[1:], r.gaps[:, 1:]  # k = 0 cannot sit on a log axis
        plot.band(ax, k, gaps, label=name, color=color, marker=marker)
        dashed = {"color": color, "linestyle": "--", "linewidth": 1.1}
        ax.plot(k_model, comparison.model[name][k_model], **dashed)
    budget = comparison.budget
    ax.axvline(budget, color="0.4", linestyle=":", linewidth=1.2)
    ax.annotate("budget $K$", (budget * 1.1, 3), color="0.3")
    ax.set_xscale("log")
    ax.minorticks_off()
    ax.set_xlabel("step $k$")
    ax.set_ylabel(r"$f(\theta_k) - f^\star$")
    ax.set_title(f"SGD under {len(comparison.sims)} schedules: runs (solid), model (dashed)")
    ax.legend(loc="lower left", ncols=2)


def draw_linear_decay_erratum(ax_sum, ax_sgd, tails: dict, tau: int, runs: dict, floor):
    """Top: the tail sums of eps_k^2 after tau; bottom: one SGD run per learning rate."""
    from . import plot  # matplotlib, imported only when drawing

    for (label, tail), color, marker in zip(tails.items(), plot.PALETTE[1:], "s^", strict=False):
        shown = np.unique(np.geomspace(1, len(tail), 200).astype(int))
        style = {"color": color, "marker": marker, "markevery": 20}
        ax_sum.loglog(shown, tail[shown - 1], label=label, **style)
    ax_sum.set_xlabel(r"steps after $\tau$, $n - \tau$")
    ax_sum.set_ylabel(r"$\sum_{\tau \leq k < n} \varepsilon_k^2$")
    ax_sum.set_title(rf"the tail of $\sum \varepsilon_k^2$ after $\tau = {tau}$")
    ax_sum.legend(loc="upper left")
    ax_sum.minorticks_off()

    for (name, r), color, marker in zip(runs.items(), plot.PALETTE, plot.MARKERS, strict=False):
        style = {"color": color, "marker": marker, "markevery": 200}
        ax_sgd.semilogy(r.steps, r.gaps[0], label=name, **style)
    ax_sgd.axhline(floor, color="0.3", linestyle="--", label=r"floor of $\varepsilon_\tau$")
    ax_sgd.axvline(tau, color="0.5", linestyle=":", linewidth=1.2)
    ax_sgd.annotate(r"$\tau$", (tau + 30, 1.0), color="0.3")
    ax_sgd.set_xlabel("step $k$")
    ax_sgd.set_ylabel(r"$f(\theta_k) - f^\star$")
    ax_sgd.set_title(r"after $\tau$, linear decay is constant-step SGD")
    ax_sgd.legend(loc="upper right")
    ax_sgd.minorticks_off()


def decade_growth(schedule, num_steps: int = 1_000_000) -> dict:
    """How much the last decade of steps adds to each partial sum, relative to the one before.

    With S(n) a partial sum of eps_k (or of eps_k^2), the ratio
    rho = (S(n) - S(n/10)) / (S(n/10) - S(n/100)) is 10^(1 - q) for terms ~ k^-q: for
    such power laws the series converges when rho < 1 (each decade adds a fixed
    fraction of the last, a geometric tail) and diverges when rho >= 1. The plain ratio
    S(n) / S(n/10) can mislead: a divergent tail that is still small next to the head
    looks convergent. The test reads the tail, so the schedule must have settled into
    its long-run form by step n/100 (for linear decay: tau < n/100), else it is fooled
    too. Nor can it separate series at the edge: terms 1/(k ln k) (divergent) and
    1/(k ln^2 k) (convergent) both give rho a little below 1 for any feasible n, between
    the thresholds. No finite n proves anything; the formula does. Returns both ratios
    and the verdicts ``sum_diverges`` (rho1 > 0.9) and ``sum_of_squares_converges``
    (rho2 < 0.5); between the thresholds a verdict is None (undecided).
    """
    num_steps = _checks.positive_int("num_steps", num_steps)
    if num_steps < 1000 or num_steps % 100:
        raise ValueError(f"num_steps must be a multiple of 100, at least 1000; got {num_steps}")
    eps = _terms(schedule, num_steps)
    return _verdicts(np.cumsum(eps), np.cumsum(eps**2))


def _terms(schedule, num_steps: int) -> np.ndarray:
    """eps_0, ..., eps_{num_steps-1} of a schedule or of any callable k -> eps_k."""
    if isinstance(schedule, sch.Schedule):
        return np.asarray(schedule(np.arange(num_steps)), dtype=np.float64)
    try:  # called once on all k when it accepts an array
        eps = np.asarray(schedule(np.arange(num_steps)), dtype=np.float64)
    except (TypeError, ValueError):
        eps = None
    if eps is None or eps.shape != (num_steps,):
        eps = np.array([float(schedule(k)) for k in range(num_steps)])
    return eps


def _verdicts(s1: np.ndarray, s2: np.ndarray) -> dict:
    """:func:`decade_growth`'s ratios and verdicts from partial sums over len(s1) steps."""
    num_steps = len(s1)
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


@dataclass
class DecadeSums:
    """What each decade of steps adds to the partial sums of several schedules.

    ``k`` holds log-spaced steps from 10 to ``num_steps``; for schedule i, ``eps[i]``
    is eps_{k-1} (the last term of the first k) and ``added1[i]`` (``added2[i]``) is
    S(k) - S(k/10) for the sum of eps_j (of eps_j^2) over the first k steps: flat or
    rising when the series diverges, falling towards 0 when it converges (for power
    laws; see
    :func:`decade_growth`). ``checks[i]`` is :func:`decade_growth` at ``num_steps`` and
    ``plain[i]`` the plain ratio S2(num_steps/10) / S2(num_steps/100), the one that
    a slowly growing tail fools.
    """

    names: list
    k: np.ndarray
    eps: np.ndarray
    added1: np.ndarray
    added2: np.ndarray
    checks: list
    plain: np.ndarray


def compute_decade_sums(schedules: dict, num_steps: int = 10**6, num: int = 200) -> DecadeSums:
    """The partial sums of every schedule in ``schedules`` (name -> schedule), once each."""
    k = np.unique(np.geomspace(10, num_steps, num).astype(np.int64))
    eps, added1, added2, checks, plain = [], [], [], [], []
    for schedule in schedules.values():
        terms = _terms(schedule, num_steps)
        s1, s2 = np.cumsum(terms), np.cumsum(terms**2)
        eps.append(terms[k - 1])
        added1.append(s1[k - 1] - s1[k // 10 - 1])
        added2.append(s2[k - 1] - s2[k // 10 - 1])
        checks.append(_verdicts(s1, s2))
        plain.append(s2[num_steps // 10 - 1] / s2[num_steps // 100 - 1])
    rows = (np.array(v) for v in (eps, added1, added2))
    return DecadeSums(list(schedules), k, *rows, checks, np.array(plain))


def draw_decade_sums(axes, sums: DecadeSums, colors, markers) -> None:
    """Three log-log panels: eps_k, and what the last decade added to each partial sum."""
    titles = (
        r"learning rate $\varepsilon_k$",
        r"added by the last decade, $\sum_{k/10 \leq j < k} \varepsilon_j$",
        r"added by the last decade, $\sum_{k/10 \leq j < k} \varepsilon_j^2$",
    )
    series = (sums.eps, sums.added1, sums.added2)
    for ax, title, values in zip(axes, titles, series, strict=True):
        for name, row, color, marker in zip(sums.names, values, colors, markers, strict=False):
            shown = np.where(row > 0, row, np.nan)  # step decay underflows to 0 at last
            ax.plot(sums.k, shown, color=color, marker=marker, markevery=0.1, label=name)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title)
        ax.minorticks_off()  # decades are enough, and minor log ticks are slow to draw
    axes[-1].set_xlabel("step $k$")


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
    from . import plot  # matplotlib, imported only when a panel is drawn

    problem = default_problem() if problem is None else problem
    schedule = make_schedule(p, eps0, k0)
    tail = np.arange(int(0.9 * steps), steps + 1, max(1, steps // 250))
    record = np.union1d(log_steps(steps), tail)  # dense at the end, for the final gap
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
    ax.minorticks_off()  # decades are enough here, and minor log ticks are slow to draw
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
        plot.mark_divergence(
            ax, max(int(k[-1]) if len(k) else 1, 1), last, result.diverged_at, color
        )
        out.update(final_gap=float("inf"), slope=float("nan"))
    else:
        out["final_gap"] = result.mean_gap(int(0.9 * steps))
        out["slope"] = result.slope(steps // 10)
    ax.legend(loc="upper right")
    return out

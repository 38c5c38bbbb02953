"""Chapter 12 (SGD in theory): rates over many seeds, iterate averaging, early stopping.

* :func:`seed_runs` runs SGD, wrapped in ``optimlib.Averaged``, on many independent
  minibatch streams at once: the parameters of all the runs are the rows of one array,
  which ``Averaged(SGD(...)).step`` updates like any parameter array (each row is its
  own run, since both updates act entry by entry). It records the loss gap of the last
  iterate and of the average at log-spaced steps.
* :class:`SeedRuns` fits a slope on log-log axes to each run and summarizes the slopes
  over seeds (median and an interval), and the ratio of averaged to last-iterate gaps.
* :func:`convex_bound` is the guarantee for averaged SGD with eps_j = c / sqrt(j + 1)
  on a convex problem with bounded gradients, the curve the measured gaps must stay under.
* :func:`early_stopping` runs gradient descent on an over-parametrized least-squares
  problem and records the training loss and the true risk along the path.
* :func:`panel` is the explorer: constant-step SGD, last iterate against the average.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import optimlib as ol
from optimlib import _checks

__all__ = [
    "EarlyStopping",
    "SeedRuns",
    "convex_bound",
    "default_problem",
    "draw_rates",
    "early_stopping",
    "gradient_bound",
    "minibatch_gradients",
    "noise_constants",
    "panel",
    "seed_runs",
    "stacked_oracle",
    "summary",
]

QUANTILES = (0.1, 0.9)  # the interval claimed over seeds: 80% of the runs lie inside


@dataclass
class SeedRuns:
    """Loss gaps of ``runs`` independent SGD runs at the steps ``steps`` (k >= 1).

    ``last[r, j]`` is f(theta_k) - f* of run r at k = ``steps[j]``; ``averaged[r, j]``
    the same for its Polyak-Ruppert average theta_bar_k. ``distance`` is
    max_j ||theta_j - theta*|| over every step of every run (for the convex bound).
    """

    steps: np.ndarray
    last: np.ndarray
    averaged: np.ndarray
    distance: float

    def gaps(self, which: str) -> np.ndarray:
        """The gaps of the last iterates ("last") or of the averages ("averaged")."""
        _checks.choice("which", which, ("last", "averaged"))
        return getattr(self, which)

    def slopes(self, which: str, start: int, stop: int | None = None) -> np.ndarray:
        """Each run's least-squares slope of log(gap) against log(k) over [start, stop]."""
        stop = self.steps[-1] if stop is None else stop
        keep = (self.steps >= start) & (self.steps <= stop)
        if keep.sum() < 3:
            raise ValueError(f"slopes: fewer than three recorded steps in [{start}, {stop}]")
        x = np.log(self.steps[keep])
        y = np.log(self.gaps(which)[:, keep])
        x = x - x.mean()
        return (y - y.mean(axis=1, keepdims=True)) @ x / (x @ x)

    def slope(self, which: str, start: int, stop: int | None = None, resamples: int = 400):
        """(slope, low, high): the slope of log(mean gap over seeds) against log(k) over
        [start, stop], and its 95% bootstrap interval (seeds resampled with replacement).

        Theory states rates for the expected gap, so the fit is to the mean over seeds;
        the interval says how much another set of seeds could move it.
        """
        stop = self.steps[-1] if stop is None else stop
        keep = (self.steps >= start) & (self.steps <= stop)
        if keep.sum() < 3:
            raise ValueError(f"slope: fewer than three recorded steps in [{start}, {stop}]")
        gaps = self.gaps(which)[:, keep]
        x = np.log(self.steps[keep])
        x = x - x.mean()
        rng = np.random.default_rng(0)
        picks = rng.integers(len(gaps), size=(resamples, len(gaps)))
        means = np.concatenate([gaps.mean(axis=0)[None], gaps[picks].mean(axis=1)])
        y = np.log(means)
        slopes = (y - y.mean(axis=1, keepdims=True)) @ x / (x @ x)
        low, high = np.quantile(slopes[1:], (0.025, 0.975))
        return float(slopes[0]), float(low), float(high)

    def ratios(self, start: int) -> np.ndarray:
        """Per run: mean averaged gap / mean last-iterate gap over the steps >= start."""
        keep = self.steps >= start
        return self.averaged[:, keep].mean(axis=1) / self.last[:, keep].mean(axis=1)


def summary(values) -> tuple[float, float, float]:
    """(median, low, high) over seeds; low and high are the 10% and 90% quantiles,
    interpolated linearly (``optimlib.compare.summarize`` with ``method="linear"``)."""
    median, low, high = ol.compare.summarize(values, (0.5, *QUANTILES), method="linear")
    return median, low, high


def default_problem() -> ol.problems.LinearRegression:
    """Chapter 4's noisy problem: least squares, N = 1000 examples, d = 10, noise 0.5."""
    return ol.problems.LinearRegression.synthetic(1000, 10, np.random.default_rng(0), noise_std=0.5)


def noise_constants(problem, batch_size: int) -> dict:
    """The constants of SGD's noise at theta* for minibatches of m drawn with replacement.

    Sigma_g = Sigma_1 / m, Sigma_1 the covariance of one example's gradient at theta*
    (mean 0 there). ``trace`` = tr Sigma_g sets the floor of a constant step,
    eps tr Sigma_g / 4 (chapter 4); ``inverse_trace`` = tr(H^-1 Sigma_g) sets the gap of
    the average, tr(H^-1 Sigma_g) / (2 n) after n iterates (Polyak & Juditsky 1992).
    ``mu`` and ``L`` are the extreme eigenvalues of the Hessian H at theta*.
    """
    m = _checks.positive_int("batch_size", batch_size)
    grads = problem.per_example_grads(problem.x_star)
    sigma_g = grads.T @ grads / problem.N / m
    H = problem.hess(problem.x_star)
    lam = np.linalg.eigvalsh(H)
    return {
        "trace": float(np.trace(sigma_g)),
        "inverse_trace": float(np.trace(np.linalg.solve(H, sigma_g))),
        "mu": float(lam[0]),
        "L": float(lam[-1]),
    }


def minibatch_gradients(problem, theta, idx) -> np.ndarray:
    """Row r: the mean gradient (1/m) sum_i loss'(x_i^T theta_r, y_i) x_i (+ l2 theta_r)
    over the examples idx[r] of a linear model; theta (runs, d), idx (runs, m)."""
    Xb = problem.X[idx]  # (runs, m, d)
    slopes = problem.dloss((Xb @ theta[:, :, None])[..., 0], problem.y[idx])
    g = (slopes[:, None, :] @ Xb)[:, 0, :] / idx.shape[1]
    l2 = getattr(problem, "l2", 0.0)
    return g + l2 * theta if l2 else g


def stacked_oracle(problem, batch_size: int, rng: np.random.Generator):
    """A gradient function for a stack of runs: theta (runs, d) -> minibatch gradients.

    Row r gets the mean gradient of its own m examples, drawn uniformly with
    replacement (:func:`minibatch_gradients`), m per run at every call.
    """
    m = _checks.positive_int("batch_size", batch_size)
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng: minibatches need an explicit np.random.Generator")

    def gradients(theta):
        return minibatch_gradients(problem, theta, rng.integers(problem.N, size=(len(theta), m)))

    return gradients


def seed_runs(
    problem,
    lr,
    steps: int,
    batch_size: int,
    runs: int,
    seed: int,
    start: int = 0,
    num_recorded: int = 40,
) -> SeedRuns:
    """``runs`` SGD runs with learning rate ``lr`` (a number or a schedule), each from
    ``problem.x0``, averaged from step ``start`` on (``ol.Averaged(ol.SGD(lr), start)``).

    Step k's minibatches are row k of one array of indices drawn from
    ``default_rng(seed)`` up front, (steps, runs, m): the same indices as
    :func:`stacked_oracle` drawing them step by step, without a call to the generator
    per step (a tenth of a step's time).
    """
    steps = _checks.positive_int("steps", steps)
    runs = _checks.positive_int("runs", runs)
    m = _checks.positive_int("batch_size", batch_size)
    batches = iter(np.random.default_rng(seed).integers(problem.N, size=(steps, runs, m)))
    opt = ol.Averaged(ol.SGD(lr), start=start)
    record = np.unique(np.geomspace(1, steps, num_recorded).round().astype(int))
    recorded = np.isin(np.arange(steps + 1), record)
    theta = np.tile(np.asarray(problem.x0, dtype=np.float64), (runs, 1))
    last, averaged = [], []
    distance = np.zeros(runs)  # the largest ||theta_k - theta*||^2 of each run so far
    for k in range(1, steps + 1):
        theta = opt.step(theta, lambda t: minibatch_gradients(problem, t, next(batches)))
        np.maximum(distance, np.sum((theta - problem.x_star) ** 2, axis=1), out=distance)
        if recorded[k]:
            last.append(problem.f(theta) - problem.f_star)
            averaged.append(problem.f(opt.average) - problem.f_star)
    return SeedRuns(record, np.array(last).T, np.array(averaged).T, float(np.sqrt(distance.max())))


def gradient_bound(problem) -> float:
    """G with ||g|| <= G for every minibatch gradient of a logistic regression without l2.

    |loss'(z, y)| = |sigmoid(z) - y| < 1, so a mean of per-example gradients has norm
    at most max_i ||x_i||.
    """
    return float(np.linalg.norm(problem.X, axis=1).max())


def convex_bound(k, c: float, D: float, G: float) -> np.ndarray:
    """(D^2 / (2c) + c G^2) sqrt(k + 1) / k: the bound on E f(theta_bar_k) - f*.

    theta_bar_k is the mean of theta_1 .. theta_k, the step from theta_j uses
    eps_j = c / sqrt(j + 1), every ||theta_j - theta*|| <= D and every ||g|| <= G
    (the chapter derives it; it falls like 1/sqrt(k)).
    """
    k = np.asarray(k, dtype=float)
    return (D**2 / (2 * c) + c * G**2) * np.sqrt(k + 1) / k


def draw_rates(ax, named_runs: dict, title: str) -> None:
    """Median gap (line) and 10-90% band over seeds, for each (label -> (SeedRuns, which))."""
    from . import plot

    for (label, (result, which)), color in zip(named_runs.items(), plot.PALETTE, strict=False):
        gaps = result.gaps(which)
        plot.band(ax, result.steps, gaps, label=label, color=color, quantiles=QUANTILES)
    ax.set_xscale("log")
    ax.set_xlabel("step $k$")
    ax.set_ylabel(r"$f(\theta) - f^\star$")
    if title:
        ax.set_title(title)
    # no minor ticks on axes over more than three decades, as the live explorer draws
    # them: they carry no labels there, and were two thirds of a figure's drawing time
    plot.thin_log_ticks(ax)


def draw_predictions(ax, steps, floor, inverse_trace: float, averaged_from: int) -> None:
    """The rates figure's two predictions, as black reference lines, and its legend.

    ``floor`` (dashed) is the last iterate's noise floor at each of ``steps``; the dotted
    line is the averaged iterate's tr(H^-1 Sigma_g) / (2n), ``inverse_trace`` being
    tr(H^-1 Sigma_g) and n the number of iterates averaged after step ``averaged_from``.
    """
    ax.plot(steps, floor, "k--", lw=1, label=r"floor $\varepsilon_k\,\mathrm{tr}\,\Sigma_g/4$")
    late = steps[steps > averaged_from]
    ax.plot(
        late,
        inverse_trace / (2 * (late - averaged_from)),
        "k:",
        lw=1.5,
        label=r"$\mathrm{tr}(H^{-1}\Sigma_g)/(2n)$",
    )
    ax.minorticks_off()
    ax.legend(loc="lower left", fontsize="small")


@dataclass
class EarlyStopping:
    """Gradient descent on least squares with fewer examples than one would like.

    ``train[k]`` is the training loss f(w_k), ``risk[k]`` the true (population) excess
    risk of w_k, k = 0 .. steps; ``best`` the step with the least risk. ``N`` examples
    in ``d`` dimensions.
    """

    train: np.ndarray
    risk: np.ndarray
    N: int
    d: int

    @property
    def best(self) -> int:
        return int(np.argmin(self.risk))


def early_stopping(N=60, d=40, noise_std=1.0, lr=0.2, steps=1000, seed=3) -> EarlyStopping:
    """Full-batch gradient descent from 0 on y = x^T w + noise with N examples in d dims.

    The excess risk of w is 1/2 (w - w_true)^T Sigma (w - w_true) (``LinearRegression.risk``
    minus the Bayes risk), computed for every iterate at once.
    """
    problem = ol.problems.LinearRegression.synthetic(
        N, d, np.random.default_rng(seed), noise_std=noise_std
    )
    history = ol.minimize(problem, ol.SGD(lr), steps, x0=np.zeros(d))
    errors = history.thetas - problem.w_true
    risk = np.einsum("ki,ij,kj->k", errors, problem.Sigma, errors) / 2
    return EarlyStopping(history.losses, risk, problem.N, d)


def panel(ax, eps: float = 0.05, steps: int = 2000, runs: int = 16, seed: int = 0) -> dict:
    """Constant-step SGD on chapter 4's problem: median gap of the last iterate and of
    the average (from step steps/2 on), with the 10-90% bands over ``runs`` seeds."""
    from . import plot

    problem, m, start = default_problem(), 10, steps // 2
    noise = noise_constants(problem, m)
    result = seed_runs(problem, eps, steps, m, runs, seed, start=start)
    named = {"last iterate": (result, "last"), "tail average": (result, "averaged")}
    draw_rates(ax, named, title=None)
    floor = eps * noise["trace"] / 4
    late = result.steps[result.steps > start]
    averaged = noise["inverse_trace"] / (2 * (late - start))
    ax.axhline(floor, color=plot.PALETTE[0], linestyle="--", linewidth=1.2)
    ax.plot(late, averaged, color=plot.PALETTE[1], linestyle="--", linewidth=1.2)
    ax.legend(loc="lower left")
    ratio = summary(result.ratios(3 * steps // 4))
    final = np.median(result.averaged[:, -1])
    return {
        "ratio": ratio[0],
        "ratio_low": ratio[1],
        "ratio_high": ratio[2],
        "floor": floor,
        "last_late": float(np.median(result.last[:, result.steps >= start])),
        "averaged_final": float(final),
        "averaged_predicted": float(averaged[-1]),
    }

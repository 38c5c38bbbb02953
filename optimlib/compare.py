"""Comparing optimizers fairly: the same budget, a tuned learning rate, fresh seeds.

Fair in the sense of Schmidt et al. (2021) and Choi et al. (2019): equal gradient
budgets, learning rates tuned on one grid (:func:`lr_grid`) by one criterion
(:func:`score`, :func:`tune`), and reports on evaluation seeds unused in tuning
(:func:`evaluate`). A task is ``make_problem(seed) -> (problem, x0)``; minibatches come
from ``np.random.default_rng([seed, 1])``. Results are plain Python (None for "never" or
"diverged"), so a sweep round-trips through JSON bit for bit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence

import numpy as np

from . import _checks
from .run import History, minimize

__all__ = [
    "evaluate", "gaps", "grad_evals_per_step", "lr_grid", "run", "score", "steps_to", "summarize",
    "tune"
]  # fmt: skip

BLOWUP = 1e6  # a loss gap this many times the starting gap counts as a divergence
# The smallest starting gap BLOWUP multiplies, relative to max(1, |f*|): below it a gap
# is rounding noise (a run started at the minimizer), and a million times noise is noise.
RESOLUTION = 1e-8


def lr_grid(low: float, high: float, per_decade: int) -> list[float]:
    """Learning rates 10^(j / per_decade) from ``low`` to ``high`` (both powers of ten).

    Exact powers of ten, so the same grid is produced and matched everywhere.
    """
    per_decade = _checks.positive_int("per_decade", per_decade)
    exponents = []
    for name, value in (("low", low), ("high", high)):
        e = math.log10(_checks.positive(name, value))
        if abs(e * per_decade - round(e * per_decade)) > 1e-9:
            raise ValueError(f"{name} must be a power of 10 on the grid; got {value!r}")
        exponents.append(round(e * per_decade))
    if exponents[0] >= exponents[1]:
        raise ValueError(f"low must be below high; got low={low!r}, high={high!r}")
    return [float(10 ** (j / per_decade)) for j in range(exponents[0], exponents[1] + 1)]


def run(
    make_optimizer, lr, make_problem, seed, steps, batch_size=None, record_iterates=False
) -> History:
    """One run: ``make_optimizer(lr)`` on ``make_problem(seed)`` for ``steps`` steps.

    Keeps losses (and iterates if ``record_iterates``). Diverged (``History.diverged_at``)
    also when the gap exceeds :data:`BLOWUP` times the starting gap, the latter taken at
    least :data:`RESOLUTION` * max(1, |f*|) so rounding near the minimizer is no blowup.
    """
    if not callable(make_optimizer) or not callable(make_problem):
        raise ValueError("make_optimizer and make_problem must be callables")
    seed = _checks.nonnegative_int("seed", seed)
    problem, x0 = make_problem(seed)
    ref = float(getattr(problem, "f_star", None) or 0.0)  # f*, else 0: below every loss here
    scale = max(float(problem.f(x0)) - ref, RESOLUTION * max(1.0, abs(ref)))
    rng = np.random.default_rng([seed, 1]) if batch_size is not None else None
    return minimize(
        problem,
        make_optimizer(lr),
        steps,
        x0,
        batch_size=batch_size,
        rng=rng,
        max_loss=ref + BLOWUP * scale,
        record_iterates=record_iterates,
    )


def _measure(history: History) -> str:
    """The History measure a comparison uses: the loss gap, or the loss when f* is unknown
    (every loss in this book is >= 0, so the loss is then the gap to that bound)."""
    return "loss" if history.f_star is None else "loss_gap"


def gaps(history: History) -> np.ndarray:
    """f(theta_k) - f* (or f(theta_k) when f* is unknown), k = 0 .. steps."""
    return history.losses if history.f_star is None else history.loss_gaps()


def score(history: History, steps: int, last: int = 1) -> float:
    """The tuning score: the geometric mean of the gap over the ``last`` iterates of the
    whole budget (the final gap when ``last`` is 1); inf for a divergence.

    A diverged run (or one that stopped early) ranks below every finished one. With
    minibatches the gap jitters from step to step, and a mean over the last steps ranks
    the learning rates by where they settle rather than by one step's luck.
    """
    last = _last(last, steps)
    if history.diverged or history.steps < steps:
        return math.inf
    with np.errstate(divide="ignore"):  # a gap of exactly 0 gives log 0 = -inf: score 0
        return float(np.exp(np.mean(np.log(gaps(history)[-last:]))))


def _last(last, steps: int) -> int:
    last = _checks.positive_int("last", last)
    if last > steps + 1:
        raise ValueError(f"last must be at most steps + 1 = {steps + 1} iterates; got {last}")
    return last


def steps_to(history: History, tol: float) -> int | None:
    """The first step k with gap <= tol, or None when the run never got there."""
    return history.steps_to(_checks.positive("tol", tol), _measure(history))


def _seeds(seeds) -> list[int]:
    seeds = [_checks.nonnegative_int("seeds", s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    return seeds


def tune(
    make_optimizer: Callable,
    make_problem: Callable,
    lrs: Sequence[float],
    seeds: Sequence[int],
    steps: int,
    batch_size: int | None = None,
    last: int = 1,
    keep_run: bool = False,
) -> dict:
    """Run every learning rate on every tuning seed; pick the best median :func:`score`
    (of the ``last`` iterates).

    Returns ``"lrs"``, ``"scores"`` (scores[i][j]: lr i, seed j; None if diverged),
    ``"median"`` (per lr, as :func:`summarize`), ``"best"`` (index of the smallest
    median, the smaller lr on a tie), ``"best_lr"``, ``"at_edge"`` (chosen lr at the
    grid's end); the last three are None when every median is None. ``keep_run``: also
    ``"run"``, the chosen lr's History on the first seed with its iterates recorded, and
    ``"optimizer"``, the optimizer that made it, in its final state (None when nothing
    was chosen): the run a report looks at, without running it a second time.
    """
    lrs = [_checks.positive("lrs", lr) for lr in lrs]
    if len(lrs) < 2 or any(b <= a for a, b in itertools.pairwise(lrs)):
        raise ValueError(f"lrs must hold at least two increasing learning rates; got {lrs}")
    seeds = _seeds(seeds)
    steps = _checks.positive_int("steps", steps)
    last = _last(last, steps)
    keep_run = _checks.boolean("keep_run", keep_run)
    first_runs = []  # per lr: (History, optimizer) on the first seed, when keep_run

    def one_score(lr, seed, first):
        optimizer = make_optimizer(lr)
        history = run(
            lambda _: optimizer, lr, make_problem, seed, steps, batch_size, keep_run and first
        )
        if keep_run and first:
            first_runs.append((history, optimizer))
        return _plain(score(history, steps, last))

    table = [[one_score(lr, s, j == 0) for j, s in enumerate(seeds)] for lr in lrs]
    medians = [summarize(row, (0.5,))[0] for row in table]
    finite = [i for i, m in enumerate(medians) if m is not None]
    # min keeps the first of equal keys: the smaller lr on a tie
    best = min(finite, key=lambda i: medians[i]) if finite else None
    result = {
        "lrs": lrs,
        "scores": table,
        "median": medians,
        "best": best,
        "best_lr": None if best is None else lrs[best],
        "at_edge": None if best is None else best in (0, len(lrs) - 1),
    }
    if keep_run:
        result["run"], result["optimizer"] = (None, None) if best is None else first_runs[best]
    return result


def evaluate(
    make_optimizer: Callable,
    make_problem: Callable,
    lr: float,
    seeds: Sequence[int],
    steps: int,
    record_at: Sequence[int],
    tol: float,
    batch_size: int | None = None,
) -> dict:
    """Run one learning rate on the evaluation seeds and keep what a report needs.

    Per seed: ``"curve"`` (gaps at ``record_at``), ``"final"``, ``"steps_to_tol"``,
    ``"grad_evals_to_tol"``, ``"diverged_at"``, ``"grad_evals"``; None for never/diverged.
    """
    lr = _checks.positive("lr", lr)
    tol = _checks.positive("tol", tol)
    seeds = _seeds(seeds)
    steps = _checks.positive_int("steps", steps)
    record_at = [_checks.nonnegative_int("record_at", k) for k in record_at]
    if any(k > steps for k in record_at):
        raise ValueError(f"record_at must lie in 0..{steps} (the budget); got {record_at}")
    per_seed = []
    for s in seeds:
        history = run(make_optimizer, lr, make_problem, s, steps, batch_size)
        values = gaps(history)
        k_tol = steps_to(history, tol)
        per_step = grad_evals_per_step(history.grad_evals, history.steps, history.diverged)
        per_seed.append(
            {
                "seed": s,
                "curve": [float(values[k]) if k < len(values) else None for k in record_at],
                "final": _plain(score(history, steps)),
                "steps_to_tol": k_tol,
                "grad_evals_to_tol": None if k_tol is None else k_tol * per_step,
                "diverged_at": history.diverged_at,
                "grad_evals": int(history.grad_evals),
            }
        )
    return {"lr": lr, "record_at": record_at, "tol": tol, "runs": per_seed}


def grad_evals_per_step(grad_evals: int, steps: int, diverged: bool) -> int:
    """Exact gradient evaluations per step of a run of ``steps`` steps and ``grad_evals``
    gradients (a diverged run also counted the failed step's gradient)."""
    attempted = steps + (1 if diverged else 0)
    per_step, rest = divmod(grad_evals, max(attempted, 1))
    if rest or not per_step:
        raise ValueError(
            f"grad_evals: {grad_evals} gradient evaluations in {attempted} steps "
            "is not a whole number per step"
        )
    return per_step


def summarize(values: Sequence, quantiles=(0.0, 0.5, 1.0), method: str = "higher") -> list:
    """Quantiles of values over seeds, counting None (diverged, never reached) as inf.

    ``method`` is numpy's quantile method. ``"higher"`` (the default): always one of the
    values, the larger on a doubt, so the median is None as soon as half the seeds
    diverged. ``"linear"``: interpolated between the two nearest values, the usual sample
    quantile of finite data (chapter 12's intervals over seeds); a quantile that
    involves a diverged seed is None.
    """
    method = _checks.choice("method", method, ("higher", "linear"))
    data = np.array([math.inf if v is None else float(v) for v in values])
    if data.size == 0:
        raise ValueError("values must hold at least one value")
    with np.errstate(invalid="ignore"):  # linear between two infs: NaN, returned as None
        out = np.quantile(data, quantiles, method=method)
    return [_plain(v) for v in out]


def _plain(value) -> float | None:
    """A finite float, or None (JSON has no inf)."""
    value = float(value)
    return value if math.isfinite(value) else None

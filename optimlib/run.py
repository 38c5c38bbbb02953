"""The training loop: run an optimizer on a problem and record what happened.

:func:`minimize` records a divergence ("diverged at step k") instead of crashing or
returning NaN, so a diverging run can be plotted beside a converging one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import _checks
from ._base import DivergenceError, Optimizer
from .clipping import _norm, clip

__all__ = ["History", "minimize", "rate"]

RECORD_ITERATES_UP_TO = 10_000  # parameters; above that only losses and norms are kept


@dataclass
class History:
    """What a run recorded. Index k refers to iterate theta_k, k = 0 (the start) .. steps.

    ``losses[k]`` is the full f(theta_k). ``grad_norms[k]`` (before clipping; for a line
    search, of its last gradient, at theta_{k+1}), ``lrs[k]`` and ``states[name][k]``
    (after the step, e.g. v_{k+1}) belong to step k. ``f_evals`` and ``hess_evals``
    count the optimizer's own calls (:mod:`optimlib.second_order`), not the recording.
    """

    label: str
    losses: np.ndarray
    grad_norms: np.ndarray
    lrs: np.ndarray
    thetas: np.ndarray | None
    grad_evals: int
    examples: int
    diverged_at: int | None = None
    stop_reason: str = "max_steps"
    f_star: float | None = None
    x_star: np.ndarray | None = field(default=None, repr=False)
    states: dict = field(default_factory=dict, repr=False)
    f_evals: int = 0
    hess_evals: int = 0

    @property
    def steps(self) -> int:
        """Number of completed steps (iterates recorded minus one)."""
        return len(self.losses) - 1

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None

    @property
    def final_loss(self) -> float:
        return float(self.losses[-1])

    @property
    def theta(self) -> np.ndarray | None:
        """The last iterate (when iterates were recorded)."""
        return None if self.thetas is None else self.thetas[-1]

    def loss_gaps(self) -> np.ndarray:
        """f(theta_k) - f*, for problems whose optimal value is known."""
        if self.f_star is None:
            raise ValueError("loss_gaps: the problem's optimal value f_star is unknown")
        return self.losses - self.f_star

    def distances(self) -> np.ndarray:
        """||theta_k - x*||, for problems whose minimizer is known (iterates recorded)."""
        if self.x_star is None or self.thetas is None:
            raise ValueError("distances: needs the minimizer x_star and the recorded iterates")
        diff = (self.thetas - self.x_star).reshape(len(self.thetas), -1)
        return np.linalg.norm(diff, axis=1)

    def steps_to(self, tol: float, measure: str = "loss_gap") -> int | None:
        """The first k at which ``measure`` <= tol (finite), else None."""
        tol = _checks.finite("tol", tol)
        values = self._measure(measure)
        hits = np.flatnonzero(values <= tol)
        return int(hits[0]) if hits.size else None

    def rate(self, start: int = 0, stop=None, measure: str = "distance", **options) -> float:
        """The measured linear rate of ``measure`` ("distance", "loss_gap" or "loss") over
        steps start..stop: :func:`rate` of those values, with its ``floor``, ``skip`` and
        ``envelope`` options."""
        return rate(self._measure(measure), start, stop, name=measure, **options)

    def _measure(self, measure: str) -> np.ndarray:
        table = {
            "loss_gap": self.loss_gaps,
            "distance": self.distances,
            "loss": lambda: self.losses,
        }
        if measure not in table:
            raise ValueError(f"measure must be one of {sorted(table)}; got {measure!r}")
        return table[measure]()

    def summary(self) -> str:
        """One line for a printout: how the run ended."""
        if self.diverged:
            return f"{self.label}: diverged at step {self.diverged_at}"
        return f"{self.label}: {self.steps} steps, final loss {self.final_loss:.6g}"


def rate(
    errors,
    start: int = 0,
    stop=None,
    *,
    floor=None,
    skip: float = 0.0,
    envelope: bool = False,
    name: str = "error",
) -> float:
    """Measured linear rate of errors e_k >= 0: (e_stop / e_start)^(1 / (stop - start)),
    the geometric mean of e_{k+1} / e_k over start <= k < stop.

    ``floor`` (without ``stop``): end at the first e_k <= floor * e_start, before
    rounding dominates. ``skip``: drop that fraction of the span's start (the transient).
    ``envelope``: compare maxima over quarter-span windows at both ends, robust to
    oscillation and exact for c r^k. e_start = 0 or a negative e is a ``ValueError``
    (naming ``name``); reaching e = 0 gives rate 0.0.
    """
    values = np.asarray(errors, dtype=np.float64)
    last = len(values) - 1 if values.ndim == 1 else -1
    if last < 1 or not np.isfinite(values).all():
        raise ValueError(f"errors: need a 1-D array of at least 2 finite values; got {values!r}")
    start = _checks.nonnegative_int("rate: start", start)
    if floor is not None and stop is None and start <= last:
        below = np.flatnonzero(
            values[start:] <= _checks.nonnegative("floor", floor) * values[start]
        )
        stop = start + int(below[0]) if below.size else last
    stop = last if stop is None else _checks.nonnegative_int("rate: stop", stop)
    if not start < stop <= last:
        raise ValueError(f"rate: need 0 <= start < stop <= {last}; got {start}, {stop}")
    skip = _checks.in_range("skip", skip, "a fraction in [0, 1)", lambda v: 0 <= v < 1)
    start += int(skip * (stop - start))
    if values[start] == 0:
        raise ValueError(
            f"rate: the {name} is 0 at step {start}, the run is at its minimum there (e.g. it "
            "started at the minimizer), and the ratios e_(k+1)/e_k are 0/0; a rate needs a "
            f"start with a {name} > 0"
        )
    if values[start] < 0 or values[stop] < 0:
        raise ValueError(
            f"rate: the {name} must be >= 0 at start and stop (a rate compares sizes of "
            f"errors); got {values[start]:.3g} at step {start}, {values[stop]:.3g} at {stop}"
        )
    if not _checks.boolean("envelope", envelope):
        return float((values[stop] / values[start]) ** (1.0 / (stop - start)))
    window = max(1, (stop - start) // 4)
    if stop - start - window < 2:
        raise ValueError(f"rate: a span of {stop - start} steps is too short for an envelope")
    late = np.max(values[stop - window : stop + 1])
    early = np.max(values[start : start + window + 1])
    return float((late / early) ** (1 / (stop - window - start)))


def minimize(
    problem,
    optimizer: Optimizer,
    steps: int,
    x0=None,
    *,
    grad_fn=None,
    batch_size: int | None = None,
    rng: np.random.Generator | None = None,
    max_norm: float | None = None,
    clip_value: float | None = None,
    tol: float | None = None,
    max_loss: float | None = None,
    record_iterates: bool | None = None,
    record_state: tuple = (),
    label: str | None = None,
    reset: bool = True,
) -> History:
    """Run ``optimizer`` on ``problem`` for up to ``steps`` steps and return a History.

    Gradients: ``grad_fn``, else ``problem.oracle(batch_size, rng)`` if ``batch_size``,
    else ``problem.grad``; ``max_norm`` / ``clip_value`` clip them. Stops when
    f - f* <= ``tol``, or on divergence (non-finite gradient, iterate or loss, or loss
    above ``max_loss``: ``History.diverged_at``, ``stop_reason``). ``record_state`` names
    state entries to keep (``History.states``). Resets the optimizer unless
    ``reset=False``. ``optimizer.oracles`` ("f", "hess") get ``problem.f`` /
    ``problem.hess``; a line search needs full, unclipped gradients.
    """
    if not isinstance(optimizer, Optimizer):
        raise ValueError(
            f"optimizer must be an optimlib optimizer such as ol.SGD(lr=0.1); got {optimizer!r}"
        )
    steps = _checks.nonnegative_int("steps", steps)
    reset = _checks.boolean("reset", reset)
    oracle = _gradient_oracle(problem, grad_fn, batch_size, rng)
    oracles = {name: _Counted(getattr(problem, name)) for name in getattr(optimizer, "oracles", ())}
    if "f" in oracles and (batch_size, max_norm, clip_value) != (None, None, None):
        raise ValueError(
            f"batch_size, max_norm, clip_value: {type(optimizer).__name__} searches along a "
            f"line with values of f and needs the full, unclipped gradient; leave them None"
        )
    if max_norm is not None or clip_value is not None:
        clip(np.zeros(1), max_norm, clip_value)  # check both thresholds before the run
        oracle.clip = lambda g: clip(g, max_norm, clip_value)
    f_star = getattr(problem, "f_star", None)
    if tol is not None:
        _checks.positive("tol", tol)
        if f_star is None:
            raise ValueError("tol: stopping on f - f* <= tol needs a problem with known f_star")
    if max_loss is not None:
        _checks.finite("max_loss", max_loss)
    theta = _checks.parameter_array("x0", problem.x0 if x0 is None else x0).copy()
    shape = np.shape(getattr(problem, "x0", theta))
    _checks.shaped("x0", theta, shape, f"{shape}, the problem's")
    if record_iterates is None:
        record_iterates = theta.size <= RECORD_ITERATES_UP_TO
    record_iterates = _checks.boolean("record_iterates", record_iterates)
    record_state = _state_names(record_state, optimizer.init_state(theta))
    if reset:
        optimizer.reset()

    thetas, losses, grad_norms, lrs = [theta], [], [], []
    states = {name: [] for name in record_state}
    with np.errstate(over="ignore", invalid="ignore"):  # divergence is recorded, not warned
        diverged_at, stop_reason = _loop(
            problem, optimizer, oracle, oracles, steps, tol, f_star, max_loss,
            (thetas, losses, grad_norms, lrs, states),
        )  # fmt: skip

    return History(
        label=repr(optimizer) if label is None else label,
        losses=np.array(losses),
        grad_norms=np.array(grad_norms),
        lrs=np.array(lrs),
        thetas=np.array(thetas) if record_iterates else None,
        grad_evals=oracle.calls,
        examples=oracle.calls * oracle.batch,
        diverged_at=diverged_at,
        stop_reason=stop_reason,
        f_star=f_star,
        x_star=getattr(problem, "x_star", None),
        states={name: np.array(values) for name, values in states.items()},
        f_evals=oracles["f"].calls if "f" in oracles else 0,
        hess_evals=oracles["hess"].calls if "hess" in oracles else 0,
    )


def _state_names(names, state: dict) -> tuple:
    """``record_state`` checked: a tuple or list of names the optimizer's state holds."""
    if not isinstance(names, (tuple, list)) or not all(isinstance(n, str) for n in names):
        raise ValueError(
            f"record_state must be a tuple of state names such as ('v',); got {names!r}"
        )
    unknown = sorted(set(names) - set(state))
    if unknown:
        raise ValueError(
            f"record_state: the optimizer's state holds {sorted(state)}; got {unknown}"
        )
    return tuple(names)


def _loop(problem, optimizer, oracle, oracles, steps, tol, f_star, max_loss, records):
    """The steps of :func:`minimize` (step k moves theta_k to theta_{k+1}), appending to
    ``records``; returns (diverged_at, stop_reason). Only acceptable iterates are
    recorded, so every recorded number is finite."""
    thetas, losses, grad_norms, lrs, states = records
    theta = thetas[0]
    loss = problem.f(theta)
    if np.ndim(loss) != 0:
        raise ValueError(f"x0: the loss at x0 must be one number; got shape {np.shape(loss)}")
    losses.append(float(loss))
    if not np.isfinite(losses[0]):
        raise ValueError(f"x0: the loss at the starting point is {losses[0]}; it must be finite")
    if max_loss is not None and losses[0] > max_loss:
        return 0, "max_loss"
    # theta is checked and overflow silenced here already: an optimizer that keeps the
    # base class's step is stepped by its body (second-order methods and averaging have
    # their own step)
    step = optimizer._step if type(optimizer).step is Optimizer.step else optimizer.step
    for k in range(steps):
        if tol is not None and losses[-1] - f_star <= tol:
            return None, "tolerance"
        eps = optimizer.lr_at(optimizer.k)
        try:
            theta = step(theta, oracle, **oracles)
        except DivergenceError:
            return k, "diverged"
        loss = float(problem.f(theta))
        if not math.isfinite(loss):
            return k, "diverged"
        if max_loss is not None and loss > max_loss:
            return k, "max_loss"
        thetas.append(theta)
        losses.append(loss)
        grad_norms.append(oracle.last_norm)
        lrs.append(eps)
        for name, values in states.items():
            values.append(optimizer.state[name])
    if tol is not None and losses[-1] - f_star <= tol:
        return None, "tolerance"
    return None, "max_steps"


class _CountingOracle:
    """A gradient function that counts its calls, remembers the raw gradient's norm, clips."""

    def __init__(self, grad_fn, batch: int):
        self.grad_fn, self.batch = grad_fn, batch
        self.calls, self.last_norm = 0, float("nan")
        self.clip = None

    def __call__(self, theta):  # called by a step inside _loop's np.errstate
        g = self.grad_fn(theta)
        self.calls += 1
        self.last_norm = _norm(g)
        return g if self.clip is None else self.clip(g)


class _Counted:
    """A problem's f or Hessian, counting its calls."""

    def __init__(self, fn):
        self.fn, self.calls = fn, 0

    def __call__(self, theta):
        self.calls += 1
        return self.fn(theta)


def _gradient_oracle(problem, grad_fn, batch_size, rng) -> _CountingOracle:
    if grad_fn is not None:
        if not callable(grad_fn):
            raise ValueError(f"grad_fn must be a callable theta -> gradient; got {grad_fn!r}")
        if batch_size is not None:
            raise ValueError("batch_size: give either grad_fn or batch_size, not both")
        return _CountingOracle(grad_fn, getattr(problem, "N", 1))
    if batch_size is None:
        return _CountingOracle(problem.grad, getattr(problem, "N", 1))
    if not hasattr(problem, "oracle"):
        raise ValueError(f"batch_size: {type(problem).__name__} is not a finite-sum problem")
    if not isinstance(rng, np.random.Generator):
        raise ValueError("rng: minibatches need an explicit np.random.Generator")
    return _CountingOracle(problem.oracle(batch_size, rng), batch_size)

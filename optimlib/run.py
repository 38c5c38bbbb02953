"""The training loop: run an optimizer on a problem and record what happened.

:func:`minimize` turns a divergence into a recorded outcome ("diverged at step k"),
never a crash and never a silent NaN curve: a chapter can plot a diverging run beside a
converging one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import _checks
from ._base import DivergenceError, Optimizer
from .clipping import clip, norm

__all__ = ["History", "minimize"]

RECORD_ITERATES_UP_TO = 10_000  # parameters; above that only losses and norms are kept


@dataclass
class History:
    """What a run recorded. Index k refers to iterate theta_k, k = 0 (the start) .. steps.

    ``losses[k]`` is f(theta_k) (the full objective, even when steps used minibatches);
    ``grad_norms[k]`` and ``lrs[k]`` belong to step k, which moved theta_k to theta_{k+1}
    (the norm is of the gradient as the oracle returned it, before any clipping; for a
    line-search method, of the last gradient its search computed, at theta_{k+1}).
    ``f_evals`` and ``hess_evals`` count the calls of f and of the Hessian by methods
    that need them (:mod:`optimlib.second_order`), not the loop's own recording of f.
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
        """The first k at which ``measure`` <= tol ("loss_gap", "distance" or "loss"), else None.

        ``tol`` must be a finite number (a NaN tolerance would never be met, silently).
        """
        tol = _checks.finite("tol", tol)
        values = self._measure(measure)
        hits = np.flatnonzero(values <= tol)
        return int(hits[0]) if hits.size else None

    def rate(self, start: int = 0, stop: int | None = None, measure: str = "distance") -> float:
        """Measured linear rate: the geometric mean of e_{k+1}/e_k over start <= k < stop,
        that is (e_stop / e_start)^(1 / (stop - start)).

        It needs e_start > 0 and e_stop >= 0 (a run that reaches e = 0 has rate 0.0). A run
        that is at its minimum at ``start`` (e_start = 0: it started there, or got there
        exactly) has no rate, since every ratio is 0/0: that is a ``ValueError`` saying so,
        as is a negative e (a loss gap below 0 by rounding, or a negative "loss").
        """
        values = self._measure(measure)
        last = len(values) - 1
        start = _checks.nonnegative_int("rate: start", start)
        stop = last if stop is None else _checks.nonnegative_int("rate: stop", stop)
        if not start < stop <= last:
            raise ValueError(f"rate: need 0 <= start < stop <= {last}; got {start}, {stop}")
        if values[start] == 0:
            raise ValueError(
                f"rate: the {measure} is 0 at step {start}, the run is at its minimum there "
                f"(e.g. it started at the minimizer), and the ratios e_(k+1)/e_k are 0/0; "
                f"a rate needs a start with a {measure} > 0"
            )
        if values[start] < 0 or values[stop] < 0:
            raise ValueError(
                f"rate: the {measure} must be >= 0 at start and stop (a rate compares sizes of "
                f"errors); got {values[start]:.3g} at step {start}, {values[stop]:.3g} at {stop}"
            )
        return float((values[stop] / values[start]) ** (1.0 / (stop - start)))

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
    label: str | None = None,
    reset: bool = True,
) -> History:
    """Run ``optimizer`` on ``problem`` for up to ``steps`` steps and return a History.

    Gradients come from ``grad_fn`` if given, else from ``problem.oracle(batch_size, rng)``
    (minibatches of a finite-sum problem) when ``batch_size`` is given, else from
    ``problem.grad``. ``max_norm`` / ``clip_value`` clip every gradient. The run stops
    early when f(theta) - f* <= ``tol``, or when it diverges: a non-finite gradient or
    iterate (DivergenceError), a non-finite loss, or a loss above ``max_loss``; the step
    is recorded in ``History.diverged_at`` and ``stop_reason`` says which ("diverged" or
    "max_loss"). The optimizer is reset first unless
    ``reset=False`` (to continue a run). An optimizer that needs more than gradients
    (``optimizer.oracles``, e.g. ("f",) or ("hess",)) gets ``problem.f`` / ``problem.hess``;
    one that compares values of f (a line search) needs full gradients: no ``batch_size``
    and no clipping.
    """
    if not isinstance(optimizer, Optimizer):
        raise ValueError(
            f"optimizer must be an optimlib optimizer such as ol.SGD(lr=0.1); got {optimizer!r}"
        )
    steps = _checks.nonnegative_int("steps", steps)
    if record_iterates is not None:
        record_iterates = _checks.boolean("record_iterates", record_iterates)
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
    if theta.shape != shape:
        raise ValueError(f"x0 must have shape {shape}, the problem's; got shape {theta.shape}")
    if record_iterates is None:
        record_iterates = theta.size <= RECORD_ITERATES_UP_TO
    if reset:
        optimizer.reset()

    with np.errstate(over="ignore", invalid="ignore"):  # divergence is recorded, not warned
        thetas, losses, grad_norms, lrs, diverged_at, stop_reason = _loop(
            problem, optimizer, oracle, oracles, theta, steps, tol, f_star, max_loss
        )

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
        f_evals=oracles["f"].calls if "f" in oracles else 0,
        hess_evals=oracles["hess"].calls if "hess" in oracles else 0,
    )


def _loop(problem, optimizer, oracle, oracles, theta, steps, tol, f_star, max_loss):
    """The steps of :func:`minimize`; step k moves theta_k to theta_{k+1}.

    A run "diverges at step k" when step k fails to produce an acceptable theta_{k+1}:
    a non-finite gradient or iterate, or a loss that is not finite or exceeds max_loss.
    Only acceptable iterates are recorded, so every recorded number is finite.
    """
    loss = problem.f(theta)
    if np.ndim(loss) != 0:
        raise ValueError(f"x0: the loss at x0 must be one number; got shape {np.shape(loss)}")
    thetas, losses, grad_norms, lrs = [theta], [float(loss)], [], []
    if not np.isfinite(losses[0]):
        raise ValueError(f"x0: the loss at the starting point is {losses[0]}; it must be finite")
    if max_loss is not None and losses[0] > max_loss:
        return thetas, losses, grad_norms, lrs, 0, "max_loss"
    for k in range(steps):
        if tol is not None and losses[-1] - f_star <= tol:
            return thetas, losses, grad_norms, lrs, None, "tolerance"
        eps = optimizer.lr_at(optimizer.k)
        try:
            theta = optimizer.step(theta, oracle, **oracles)
        except DivergenceError:
            return thetas, losses, grad_norms, lrs, k, "diverged"
        loss = float(problem.f(theta))
        if not np.isfinite(loss):
            return thetas, losses, grad_norms, lrs, k, "diverged"
        if max_loss is not None and loss > max_loss:
            return thetas, losses, grad_norms, lrs, k, "max_loss"
        thetas.append(theta)
        losses.append(loss)
        grad_norms.append(oracle.last_norm)
        lrs.append(eps)
    if tol is not None and losses[-1] - f_star <= tol:
        return thetas, losses, grad_norms, lrs, None, "tolerance"
    return thetas, losses, grad_norms, lrs, None, "max_steps"


class _CountingOracle:
    """A gradient function that counts its calls, remembers the raw gradient's norm, clips."""

    def __init__(self, grad_fn, batch: int):
        self.grad_fn, self.batch = grad_fn, batch
        self.calls, self.last_norm = 0, float("nan")
        self.clip = None

    def __call__(self, theta):
        g = self.grad_fn(theta)
        self.calls += 1
        self.last_norm = norm(g)
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

"""Polyak-Ruppert iterate averaging: report the average of the iterates, not the last one.

(Polyak & Juditsky 1992; Ruppert 1988; Bach & Moulines 2013 for a constant step on least
squares.) :class:`Averaged` wraps an optimizer and keeps the average in its state
(``ol.Averaged(ol.SGD(lr=0.05), start=100)``, then ``opt.average``);
:func:`averaged_history` averages a recorded History. Both use :func:`average_update`
and agree bit for bit. The average after k steps is over theta_j, start < j <= k (before
that, the iterate itself); ``decay`` = rho in [0, 1) makes it an exponential moving average.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np

from . import _checks
from ._base import DivergenceError, Optimizer, check_saved_by
from ._checks import Hyperparameter
from .run import History

__all__ = ["Averaged", "average_update", "averaged_history"]


def _decay(name: str, value):
    """None (the uniform average) or an EMA decay rate rho in [0, 1)."""
    return None if value is None else _checks.unit_interval(name, value)


def average_update(theta_bar, theta, n: int, decay=None) -> np.ndarray:
    """The average after ``theta``, the n-th iterate averaged (n >= 1), joined it: a new array.

    Uniform: theta_bar + (theta - theta_bar) / n, a running mean that never overflows (as
    ``torch.optim.swa_utils.AveragedModel``). EMA: theta_bar + (1 - rho) (theta - theta_bar),
    exact for equal iterates (torch's ``lerp``). For n = 1, a copy of theta.
    """
    n = _checks.positive_int("n", n)
    decay = _decay("decay", decay)
    theta = np.asarray(theta)
    if n == 1:
        return theta.copy()
    theta_bar = np.asarray(theta_bar)
    if theta_bar.shape != theta.shape:
        raise ValueError(
            f"theta_bar has shape {theta_bar.shape}; it must match theta's shape {theta.shape}"
        )
    if decay is None:
        return theta_bar + (theta - theta_bar) / n
    return theta_bar + (1 - decay) * (theta - theta_bar)


class Averaged(Optimizer):
    """Polyak-Ruppert averaging of any optimizer's iterates (Polyak & Juditsky 1992).

    Steps are the wrapped optimizer's (the run goes on from its iterate); then, after
    ``start`` steps, theta_bar <- :func:`average_update` (uniform, or EMA with ``decay``),
    and theta_bar <- theta before.

    Parameters: ``optimizer``, an optimlib optimizer (not itself an Averaged); ``start``,

    an integer >= 0, the steps before averaging begins; ``decay``, None (uniform
    average) or a number in [0, 1). ``lr`` is the wrapped optimizer's.
    Conventions: ``torch.optim.swa_utils.AveragedModel(model)`` with
    ``update_parameters`` called after every optimizer step from step ``start`` on holds
    the same average; with ``multi_avg_fn=get_ema_multi_avg_fn(rho)`` the same EMA.
    State: ``theta_bar`` (the average), ``n`` (iterates averaged); the wrapped
    optimizer's own state is ``opt.optimizer.state``. ``state_dict`` saves both.
    """

    start = Hyperparameter(_checks.nonnegative_int)
    decay = Hyperparameter(_decay)

    def __init__(self, optimizer, start=0, decay=None):
        if not isinstance(optimizer, Optimizer) or isinstance(optimizer, Averaged):
            raise ValueError(
                f"optimizer must be an optimlib optimizer such as ol.SGD(lr=0.1) (not an "
                f"Averaged one); got {optimizer!r}"
            )
        self.start, self.decay = start, decay
        self.optimizer = optimizer
        self.reset()

    # the step counter and the learning rate are the wrapped optimizer's
    @property
    def k(self) -> int:
        return self.optimizer.k

    @k.setter
    def k(self, value) -> None:
        self.optimizer.k = value

    @property
    def lr(self):
        return self.optimizer.lr

    @lr.setter
    def lr(self, value) -> None:
        self.optimizer.lr = value

    def hyperparameters(self) -> dict:
        return {"start": self.start, "decay": self.decay}

    @property
    def average(self) -> np.ndarray | None:
        """theta_bar: the average of the iterates so far (None before the first step)."""
        return self.state.get("theta_bar")

    def reset(self) -> None:
        self.optimizer.reset()
        self.state = {}

    def init_state(self, theta):
        return {"theta_bar": np.zeros_like(theta), "n": 0}

    def step(self, theta, grad_fn) -> np.ndarray:
        """The wrapped optimizer's step, then the average takes in the new iterate."""
        before = (self.optimizer.k, self.optimizer.state)  # never written in place
        new_theta = self.optimizer.step(theta, grad_fn)
        state = self.state or self.init_state(new_theta)
        theta_bar, n = state["theta_bar"], state["n"]
        if theta_bar.shape != new_theta.shape:
            self.optimizer.k, self.optimizer.state = before
            raise ValueError(
                f"theta has shape {new_theta.shape} but the average has shape "
                f"{theta_bar.shape}; call reset() before optimizing a new problem"
            )
        with np.errstate(over="ignore", invalid="ignore"):
            if self.optimizer.k > self.start:
                n += 1
                theta_bar = average_update(
                    theta_bar.astype(new_theta.dtype, copy=False), new_theta, n, self.decay
                )
            else:
                theta_bar = new_theta.copy()
            finite = _checks.all_finite(theta_bar)
        if not finite:
            self.optimizer.k, self.optimizer.state = before
            raise DivergenceError(
                f"step {before[0]}: the average theta_bar is not finite; the state is unchanged",
                before[0],
            )
        self.state = {"theta_bar": theta_bar, "n": n}
        return new_theta

    def state_dict(self) -> dict:
        return {**super().state_dict(), "wrapped": self.optimizer.state_dict()}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore the average and the wrapped optimizer; on a bad dict raise, change nothing."""
        check_saved_by(self, state_dict, {"k", "hyperparameters", "state", "wrapped"})
        wrapped = copy.deepcopy(self.optimizer)
        wrapped.load_state_dict(state_dict["wrapped"])  # raises on a bad wrapped state
        k = _checks.nonnegative_int("state_dict['k']", state_dict["k"])
        if k != wrapped.k:
            raise ValueError(
                f"state_dict['k'] = {k} must equal the wrapped optimizer's k = {wrapped.k}"
            )
        trial = copy.copy(self)
        trial.optimizer = wrapped
        super(Averaged, trial).load_state_dict(state_dict)  # the average and start, decay
        n, expected = trial.state.get("n", 0), max(k - trial.start, 0)
        if n != expected:
            raise ValueError(
                f"state_dict['state']['n'] must be max(k - start, 0) = {expected} (iterates "
                f"averaged after k = {k} steps from start = {trial.start}); got {n}"
            )
        self.__dict__.update(trial.__dict__)

    def __repr__(self) -> str:
        return f"Averaged({self.optimizer!r}, start={self.start!r}, decay={self.decay!r})"


def averaged_history(history: History, problem, start: int = 0, decay=None) -> History:
    """The History of the averaged iterates theta_bar_k of a recorded run, k = 0 .. steps.

    Bit for bit :class:`Averaged`'s numbers. ``losses`` are ``problem.f(theta_bar_k)``;
    everything else is the run's, so ``loss_gaps()`` and ``distances()`` measure the
    average. Needs ``minimize(..., record_iterates=True)``.
    """
    if not isinstance(history, History):
        raise ValueError(f"history must be an optimlib History; got {type(history).__name__}")
    if history.thetas is None:
        raise ValueError(
            "history: the run did not record its iterates; run minimize(..., "
            "record_iterates=True), or wrap the optimizer in ol.Averaged"
        )
    start = _checks.nonnegative_int("start", start)
    decay = _decay("decay", decay)
    averages = [history.thetas[0].copy()]
    for k in range(1, len(history.thetas)):  # n = k - start iterates averaged; 1 (a copy) before
        averages.append(average_update(averages[-1], history.thetas[k], max(k - start, 1), decay))
    thetas = np.array(averages)
    losses = np.array([float(problem.f(theta)) for theta in thetas])
    return dataclasses.replace(
        history, label=f"{history.label} (averaged)", losses=losses, thetas=thetas
    )

"""Learning-rate schedules: callables k -> eps_k, for k = 0, 1, 2, ...

Pass one as an optimizer's ``lr``; an array of k gives an array. ``meets_robbins_monro``
says whether sum eps_k = inf and sum eps_k^2 < inf; :func:`partial_sums` shows it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from . import _checks
from ._checks import nonnegative, nonnegative_int, open_unit_interval, positive, positive_int

__all__ = [
    "Constant", "Cosine", "LinearDecay", "PowerDecay", "Schedule", "StepDecay", "WarmupCosine",
    "constant", "cosine_decay", "inverse_sqrt", "inverse_time", "linear_decay", "partial_sums",
    "power_decay", "step_decay", "warmup_cosine"
]  # fmt: skip


def _checked(**checks) -> Mapping:
    """A schedule's parameters and their checks (read-only)."""
    return MappingProxyType(checks)


class Schedule:
    """Base class: ``eps(k)`` for integer or array k >= 0, plus what the formula implies.

    Every parameter is checked when it is set (``_parameters`` holds the checks), by the
    constructor or later (``s.eps0 = 0.05``): a bad value raises ``ValueError`` and
    changes nothing.
    """

    sum_diverges: bool  # sum_k eps_k = inf
    sum_of_squares_converges: bool  # sum_k eps_k^2 < inf
    _parameters: Mapping = MappingProxyType({})  # name -> its check, for changes later

    def __call__(self, k):
        if type(k) is int and 0 <= k <= _checks.LARGEST_FLOAT:
            # an optimizer's step counter, whole and >= 0: the checks below would pass it,
            # and it skips them (about 10 us a call, twice a step in the run loop)
            return float(self.eps(np.asarray(float(k))))
        if isinstance(k, int) and not isinstance(k, bool):  # beyond int64 too
            k = float(k) if abs(k) <= _checks.LARGEST_FLOAT else math.inf
        k = np.asarray(k)
        whole = k.dtype.kind in "iu" or (
            k.dtype.kind == "f" and np.all(np.isfinite(k)) and np.all(k == np.floor(k))
        )
        if not whole or np.any(k < 0):
            raise ValueError(f"k must be an integer >= 0 (finite; or an array of them); got {k!r}")
        eps = self.eps(k.astype(np.float64))
        return float(eps) if eps.ndim == 0 else eps

    def __setattr__(self, name, value):
        if name in self._parameters:
            value = self._parameters[name](name, value)
            if name in vars(self):  # a change after construction: check it with the others
                self._check_together({**vars(self), name: value}, changed=name)
        elif name in vars(self):
            raise AttributeError(f"{type(self).__name__}.{name} cannot be changed")
        object.__setattr__(self, name, value)

    def _check_together(self, values: dict, changed: str | None = None) -> None:
        """Conditions between parameters (``values``), beyond each one's own range."""

    def eps(self, k: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @property
    def meets_robbins_monro(self) -> bool:
        """True when sum eps_k = inf and sum eps_k^2 < inf (Robbins & Monro 1951)."""
        return self.sum_diverges and self.sum_of_squares_converges

    @property
    def label(self) -> str:
        """A short name for a legend: ``_label`` filled in with the parameters."""
        return self._label.format(**vars(self))

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in vars(self).items())
        return f"{type(self).__name__}({args})"


class Constant(Schedule):
    """eps_k = eps: the sum diverges, and so does the sum of squares."""

    sum_diverges = True
    sum_of_squares_converges = False
    _parameters = _checked(eps0=positive)
    _label = "constant {eps0:g}"

    def __init__(self, eps):
        self.eps0 = positive("eps", eps)  # checked under the constructor's name

    def eps(self, k):
        return np.full_like(k, self.eps0)


class LinearDecay(Schedule):
    """eps_k = (1 - k/tau) eps0 + (k/tau) eps_tau for k <= tau, then eps_tau.

    The schedule the lecture recommends. Because it holds eps_tau > 0 forever after tau,
    sum eps_k^2 diverges: it does NOT meet the Robbins-Monro conditions (with
    eps_tau = 0 the sum of eps_k is finite instead, and it fails the other condition).
    """

    _parameters = _checked(eps0=positive, eps_tau=nonnegative, tau=positive_int)
    _label = "linear decay to k={tau}"

    def __init__(self, eps0, eps_tau, tau):
        self.eps0, self.eps_tau, self.tau = eps0, eps_tau, tau

    @property
    def sum_diverges(self) -> bool:
        return self.eps_tau > 0

    @property
    def sum_of_squares_converges(self) -> bool:
        return self.eps_tau == 0

    def eps(self, k):
        alpha = np.minimum(k / self.tau, 1.0)
        return (1 - alpha) * self.eps0 + alpha * self.eps_tau


class PowerDecay(Schedule):
    """eps_k = eps0 / (1 + k/k0)^p; meets Robbins-Monro exactly when 1/2 < p <= 1."""

    _parameters = _checked(eps0=positive, k0=positive, p=positive)

    def __init__(self, eps0, k0=1.0, p=1.0):
        self.eps0, self.k0, self.p = eps0, k0, p

    @property
    def sum_diverges(self) -> bool:
        return self.p <= 1

    @property
    def sum_of_squares_converges(self) -> bool:
        return self.p > 0.5

    def eps(self, k):
        return self.eps0 / (1 + k / self.k0) ** self.p

    @property
    def label(self) -> str:
        power = "" if self.p == 1 else f"^{self.p:g}"
        return f"{self.eps0:g}/(1 + k/{self.k0:g}){power}"


class StepDecay(Schedule):
    """eps_k = eps0 * factor^floor(k / every); sum eps_k converges, so not Robbins-Monro."""

    sum_diverges = False
    sum_of_squares_converges = True
    _parameters = _checked(eps0=positive, factor=open_unit_interval, every=positive_int)
    _label = "step decay x{factor:g} every {every}"

    def __init__(self, eps0, factor=0.5, every=100):
        self.eps0, self.factor, self.every = eps0, factor, every

    def eps(self, k):
        return self.eps0 * self.factor ** np.floor(k / self.every)


class WarmupCosine(Schedule):
    """Linear warm-up to eps_max, then a half cosine down to eps_min at k = total.

    eps_k = eps_max (k + 1) / warmup for k < warmup, then
    eps_min + (eps_max - eps_min) (1 + cos(pi (k - warmup) / (total - warmup))) / 2 until
    k = total, then eps_min (Loshchilov & Hutter 2017). It fails Robbins-Monro either way.
    """

    _first = "eps_max"  # the name of the peak in the constructor's error messages
    _parameters = _checked(
        eps_max=positive, warmup=nonnegative_int, total=positive_int, eps_min=nonnegative
    )

    def __init__(self, eps_max, warmup, total, eps_min=0.0):
        self.eps_max = positive(self._first, eps_max)  # checked under the constructor's name
        self.warmup, self.total, self.eps_min = warmup, total, eps_min
        self._check_together(vars(self))

    def _check_together(self, values, changed=None):
        warmup, total, eps_min, eps_max = (
            values[name] for name in ("warmup", "total", "eps_min", "eps_max")
        )
        if total <= warmup:
            if changed == "warmup":
                raise ValueError(f"warmup must be an integer < total = {total}; got {warmup!r}")
            raise ValueError(f"total must be an integer > warmup = {warmup}; got {total!r}")
        if eps_min > eps_max:
            if changed == "eps_max":
                raise ValueError(
                    f"eps_max must be a finite number >= eps_min = {eps_min!r}; got {eps_max!r}"
                )
            peak = self._first if changed is None else "eps_max"
            raise ValueError(
                f"eps_min must be a finite number in [0, {peak} = {eps_max!r}]; got {eps_min!r}"
            )

    @property
    def sum_diverges(self) -> bool:
        return self.eps_min > 0

    @property
    def sum_of_squares_converges(self) -> bool:
        return self.eps_min == 0

    def eps(self, k):
        warm = self.eps_max * (k + 1) / max(self.warmup, 1)
        phase = np.minimum(k - self.warmup, self.total - self.warmup) / (self.total - self.warmup)
        cosine = self.eps_min + (self.eps_max - self.eps_min) * (1 + np.cos(np.pi * phase)) / 2
        return np.where(k < self.warmup, warm, cosine)

    @property
    def label(self) -> str:
        warm = f"warm-up {self.warmup}, " if self.warmup else ""
        return f"{warm}cosine to k={self.total}"


class Cosine(WarmupCosine):
    """eps_min + (eps0 - eps_min) (1 + cos(pi k / total)) / 2, then eps_min: no warm-up."""

    _first = "eps0"
    _parameters = _checked(eps_max=positive, total=positive_int, eps_min=nonnegative)  # warmup 0

    def __init__(self, eps0, total, eps_min=0.0):
        super().__init__(eps0, 0, total, eps_min)

    def __repr__(self) -> str:
        return f"Cosine(eps0={self.eps_max!r}, total={self.total!r}, eps_min={self.eps_min!r})"


# lower-case names for the same constructors, and the two classic power decays
constant, linear_decay, power_decay = Constant, LinearDecay, PowerDecay
step_decay, warmup_cosine, cosine_decay = StepDecay, WarmupCosine, Cosine


def inverse_time(eps0, k0=1.0) -> PowerDecay:
    """eps_k = eps0 / (1 + k/k0): the classic 1/k schedule of stochastic approximation."""
    return PowerDecay(eps0, k0, 1.0)


def inverse_sqrt(eps0, k0=1.0) -> PowerDecay:
    """eps_k = eps0 / sqrt(1 + k/k0): meets sum eps = inf but not sum eps^2 < inf."""
    return PowerDecay(eps0, k0, 0.5)


def partial_sums(schedule, num_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(S1, S2) with S1[n] = sum_{k<=n} eps_k and S2[n] = sum_{k<=n} eps_k^2, n < num_steps.

    For any callable k -> eps_k: S1 unbounded and S2 levelling off are Robbins-Monro.
    """
    num_steps = _checks.positive_int("num_steps", num_steps)
    if isinstance(schedule, Schedule):
        eps = schedule(np.arange(num_steps))
    else:
        eps = np.array([float(schedule(k)) for k in range(num_steps)])
    return np.cumsum(eps), np.cumsum(eps**2)

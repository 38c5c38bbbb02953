"""Initial weight scales: fan-in and fan-out, the gain of a nonlinearity, Glorot and He.

A weight matrix W of shape (n_in, n_out) multiplies a row of inputs, u = h W, as in
:class:`optimlib.nn.MLP` (PyTorch's ``nn.Linear`` stores the transpose, (n_out, n_in)).
With independent zero-mean entries of variance sigma^2, Var(u_k) = n_in sigma^2 E[h_j^2]
going forward and Var(dL/dh_j) = n_out sigma^2 E[(dL/du_k)^2] going backward. The
scales below keep one or the other of these products at its activation's fixed point:

* Glorot & Bengio (2010): sigma = gain * sqrt(2 / (n_in + n_out)), a compromise
  between the forward (1 / n_in) and backward (1 / n_out) conditions;
* He et al. (2015): sigma = gain / sqrt(n_in), the forward condition for relu with
  gain sqrt(2), since E[relu(u)^2] = Var(u) / 2 for a symmetric u.

The gains are PyTorch's (``torch.nn.init.calculate_gain``). ``MLP.init_params`` keeps
its own formulas, which these reproduce up to rounding (see the tests).
"""

from __future__ import annotations

import math

import numpy as np

from . import _checks

__all__ = ["fans", "gain", "glorot_normal", "glorot_std", "he_normal", "he_std"]

_GAINS = {
    "linear": lambda slope: 1.0,
    "sigmoid": lambda slope: 1.0,
    "tanh": lambda slope: 5.0 / 3,
    "relu": lambda slope: math.sqrt(2.0),
    "leaky_relu": lambda slope: math.sqrt(2.0 / (1 + slope**2)),
}


def fans(shape) -> tuple[int, int]:
    """(fan_in, fan_out) = (n_in, n_out) of a weight matrix of shape (n_in, n_out)."""
    if isinstance(shape, str | bytes) or np.ndim(shape) != 1 or len(shape) != 2:
        raise ValueError(f"shape must be (n_in, n_out), two positive integers; got {shape!r}")
    n_in = _checks.positive_int("shape[0] (n_in)", shape[0])
    n_out = _checks.positive_int("shape[1] (n_out)", shape[1])
    return n_in, n_out


def gain(nonlinearity: str, negative_slope: float = 0.01) -> float:
    """The factor that makes up for what ``nonlinearity`` does to the variance.

    1 for linear and sigmoid, 5/3 for tanh, sqrt(2) for relu and
    sqrt(2 / (1 + negative_slope^2)) for leaky_relu (PyTorch's values; relu's is exact
    for symmetric inputs, tanh's is a recommendation, not a fixed point).
    """
    nonlinearity = _checks.choice("nonlinearity", nonlinearity, tuple(_GAINS))
    slope = _checks.finite("negative_slope", negative_slope)
    return _GAINS[nonlinearity](slope)


def glorot_std(fan_in, fan_out, gain: float = 1.0) -> float:
    """gain * sqrt(2 / (fan_in + fan_out)): Glorot & Bengio (2010), eq. 16 in normal form."""
    fan_in = _checks.positive_int("fan_in", fan_in)
    fan_out = _checks.positive_int("fan_out", fan_out)
    gain = _checks.positive("gain", gain)
    return gain * math.sqrt(2.0 / (fan_in + fan_out))


def he_std(fan_in, gain: float = math.sqrt(2.0)) -> float:
    """gain / sqrt(fan_in): He et al. (2015), eq. 10; the default gain is relu's sqrt(2)."""
    fan_in = _checks.positive_int("fan_in", fan_in)
    gain = _checks.positive("gain", gain)
    return gain / math.sqrt(fan_in)


def _normal(shape, std: float, rng, dtype) -> np.ndarray:
    dtype = _checks.parameter_dtype(dtype)
    return np.random.default_rng(rng).normal(0.0, std, size=shape).astype(dtype, copy=False)


def glorot_normal(shape, rng, gain: float = 1.0, dtype=np.float64) -> np.ndarray:
    """W of shape (n_in, n_out) with entries N(0, glorot_std(n_in, n_out, gain)^2)."""
    n_in, n_out = fans(shape)
    return _normal((n_in, n_out), glorot_std(n_in, n_out, gain), rng, dtype)


def he_normal(shape, rng, gain: float = math.sqrt(2.0), dtype=np.float64) -> np.ndarray:
    """W of shape (n_in, n_out) with entries N(0, he_std(n_in, gain)^2)."""
    n_in, n_out = fans(shape)
    return _normal((n_in, n_out), he_std(n_in, gain), rng, dtype)

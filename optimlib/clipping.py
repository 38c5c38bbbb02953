"""Gradient clipping: keep one huge gradient (a cliff) from flinging the iterate away.

Both return a new array. By norm keeps the direction; by value can turn it (Pascanu,
Mikolov & Bengio 2013; Goodfellow et al. 2016, sec. 10.11.1).
"""

from __future__ import annotations

import math

import numpy as np

from . import _checks

__all__ = ["clip", "clip_by_norm", "clip_by_value", "clipped", "norm"]


def norm(g) -> float:
    """The 2-norm of g, without overflow for huge entries (||g|| up to ~1.8e308).

    Scaled by max |g_i| first: the plain sum of squares overflows past ~1.3e154.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        return _norm(g)


def _norm(g) -> float:
    """:func:`norm`, for callers already inside ``np.errstate(over="ignore",
    invalid="ignore")`` (the run loop): entering that context costs as much as the norm
    of a small gradient itself."""
    g = np.ravel(g).astype(np.float64, copy=False)
    # One BLAS dot product settles the common case (~5x faster); the
    # scaled sum below runs only when the squares may have overflowed or underflowed.
    squares = float(np.dot(g, g))
    if 1e-290 < squares < math.inf:
        return math.sqrt(squares)
    g = np.abs(g)
    scale = g.max(initial=0.0)  # 0.0 for an empty g, whose norm is 0
    if not np.isfinite(scale) or scale == 0:
        return float(scale)
    return float(scale * np.sqrt(np.sum((g / scale) ** 2)))


def clip_by_norm(g, max_norm) -> np.ndarray:
    """g * max_norm / ||g|| when ||g|| > max_norm, else a copy of g (2-norm).

    The result has g's dtype, its direction, and norm max_norm up to a few roundings of
    that dtype, for any finite g: also when ||g|| exceeds float64's range, and when the
    factor max_norm / ||g|| is too small for g's dtype (float32 below ~1.2e-38). Those
    cases scale by max |g_i| first and compute in float64, rounding once at the end.
    A g with an inf or NaN entry gives NaN everywhere, without a warning (the run loop
    records it as a divergence, as it would the unclipped gradient).
    """
    max_norm = _checks.positive("max_norm", max_norm)
    g = _checks.float_array("g", g)
    length = norm(g)
    if not length > max_norm:
        return g.copy()
    factor = max_norm / length
    if np.isfinite(length) and factor >= np.finfo(g.dtype).smallest_normal:
        return np.asarray(g * factor, dtype=g.dtype)  # the common case
    if not np.isfinite(g).all():  # an overflowed gradient has no direction to keep
        return np.full_like(g, np.nan)
    unit = g.astype(np.float64) / np.max(np.abs(g))  # largest entry +-1, ||unit|| >= 1
    return np.asarray(unit * (max_norm / norm(unit)), dtype=g.dtype)


def clip_by_value(g, clip_value) -> np.ndarray:
    """Each coordinate of g clamped to [-clip_value, clip_value]."""
    clip_value = _checks.positive("clip_value", clip_value)
    g = _checks.float_array("g", g)
    if clip_value > float(np.finfo(g.dtype).max):  # 1e300 for float32: no finite g_i exceeds it
        return g.copy()
    return np.asarray(np.clip(g, -clip_value, clip_value), dtype=g.dtype)


def clip(g, max_norm=None, clip_value=None) -> np.ndarray:
    """g clipped by value (when clip_value is given), then by norm (when max_norm is)."""
    if clip_value is not None:
        g = clip_by_value(g, clip_value)
    if max_norm is not None:
        g = clip_by_norm(g, max_norm)
    return g


def clipped(grad_fn, max_norm=None, clip_value=None):
    """``grad_fn`` with every gradient it returns passed through :func:`clip`."""
    clip(np.zeros(1), max_norm, clip_value)  # checks both thresholds now, not at a step
    return lambda theta: clip(grad_fn(theta), max_norm, clip_value)

"""Gradient clipping: keep one huge gradient (a cliff) from flinging the iterate away.

Both functions return a new array and never modify ``g``. Clipping by norm rescales
the whole vector, so it keeps the direction; clipping by value clamps each coordinate,
so it can turn the direction (Pascanu, Mikolov & Bengio 2013; Goodfellow et al. 2016,
sec. 10.11.1).
"""

from __future__ import annotations

import numpy as np

from . import _checks

__all__ = ["clip", "clip_by_norm", "clip_by_value", "clipped"]


def clip_by_norm(g, max_norm) -> np.ndarray:
    """g * max_norm / ||g|| when ||g|| > max_norm, else g (a copy); ||.|| is the 2-norm."""
    max_norm = _checks.positive("max_norm", max_norm)
    g = _checks.float_array("g", g)
    norm = float(np.linalg.norm(g))
    if norm > max_norm:
        return g * (max_norm / norm)
    return g.copy()


def clip_by_value(g, clip_value) -> np.ndarray:
    """Each coordinate of g clamped to [-clip_value, clip_value]."""
    clip_value = _checks.positive("clip_value", clip_value)
    g = _checks.float_array("g", g)
    return np.clip(g, -clip_value, clip_value)


def clip(g, max_norm=None, clip_value=None) -> np.ndarray:
    """g clipped by value (when clip_value is given), then by norm (when max_norm is)."""
    if clip_value is not None:
        g = clip_by_value(g, clip_value)
    if max_norm is not None:
        g = clip_by_norm(g, max_norm)
    return g


def clipped(grad_fn, max_norm=None, clip_value=None):
    """``grad_fn`` with every gradient it returns passed through :func:`clip`."""
    if max_norm is not None:
        _checks.positive("max_norm", max_norm)
    if clip_value is not None:
        _checks.positive("clip_value", clip_value)
    return lambda theta: clip(grad_fn(theta), max_norm, clip_value)

"""Test problems for the optimizers: landscapes to look at and data sets to learn from.

Every problem is a :class:`Problem` (``f``, ``grad``, ``hess`` where needed, ``x0``,
``x_star``, ``f_star``). ``f`` takes a stack of points (..., dim) and returns (...), so a
contour grid is one call. Arrays describing a problem are read-only, so no run changes
the next one's problem; randomness comes from an explicit ``np.random.Generator``.
"""

from __future__ import annotations

from ._base import Problem
from .finite_sums import FiniteSum, LinearRegression, LogisticRegression
from .landscapes import Cliff, CyclingExample, Linear, Quadratic, Rosenbrock, Saddle
from .networks import LinearRecurrence, Network, SaturatedUnit, two_spirals

__all__ = [
    "Cliff", "CyclingExample", "FiniteSum", "Linear", "LinearRecurrence", "LinearRegression",
    "LogisticRegression", "Network", "Problem", "Quadratic", "Rosenbrock", "Saddle",
    "SaturatedUnit", "two_spirals"
]  # fmt: skip

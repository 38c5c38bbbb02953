"""Test problems for the optimizers: landscapes to look at and data sets to learn from.

Every problem is a :class:`Problem`: an objective ``f``, its gradient ``grad`` (the
``grad_fn`` that ``opt.step(theta, grad_fn)`` takes), its Hessian ``hess`` where the
chapters need one, a default start ``x0``, and the minimizer ``x_star`` and optimal
value ``f_star`` where they are known. ``f`` accepts a stack of points, shape
(..., dim), and returns shape (...), so a whole contour grid costs one call; for a
single point it returns a float. Arrays that describe a problem (``A``, ``x0``,
``x_star``, ``X``, ...) are read-only, so that no run can quietly change the problem
under the next one. All randomness comes from an explicit ``np.random.Generator``.

The problems live in :mod:`.landscapes` (quadratics and two-dimensional landscapes),
:mod:`.finite_sums` (regression with minibatches) and :mod:`.networks`.
"""

from __future__ import annotations

from ._base import Problem
from .finite_sums import FiniteSum, LinearRegression, LogisticRegression
from .landscapes import Cliff, CyclingExample, Linear, Quadratic, Rosenbrock, Saddle
from .networks import LinearRecurrence, Network, SaturatedUnit, two_spirals

__all__ = [
    "Cliff",
    "CyclingExample",
    "FiniteSum",
    "Linear",
    "LinearRecurrence",
    "LinearRegression",
    "LogisticRegression",
    "Network",
    "Problem",
    "Quadratic",
    "Rosenbrock",
    "Saddle",
    "SaturatedUnit",
    "two_spirals",
]

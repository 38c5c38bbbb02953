"""The base class of every problem, and the helpers the problems share."""

from __future__ import annotations

import numpy as np

from .. import _checks


class Problem:
    """An objective f: R^dim -> R with its gradient (and Hessian, where defined).

    Subclasses set ``name`` (a legend label), ``dim``, ``x0``, ``x_star`` and ``f_star``
    (None when unknown), ``bounds`` (2-D plotting box, else None); implement f and grad.
    """

    name: str = "problem"
    dim: int
    x0: np.ndarray
    x_star: np.ndarray | None = None
    f_star: float | None = None
    bounds: tuple | None = None

    def f(self, x):
        """The objective at x, shape (..., dim) -> (...); a float for a single point."""
        raise NotImplementedError

    def grad(self, x) -> np.ndarray:
        """The gradient of f at x, shape (..., dim) -> (..., dim)."""
        raise NotImplementedError

    def hess(self, x) -> np.ndarray:
        """The Hessian of f at x, shape (dim, dim)."""
        raise NotImplementedError(f"{type(self).__name__} does not define a Hessian")

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.name}>"

    # --- helpers for subclasses ------------------------------------------------------
    def _points(self, x, name: str = "x") -> np.ndarray:
        """x as a float array of shape (..., dim), or a ValueError naming it."""
        x = _checks.float_array(name, x)
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(
                f"{name} must have shape ({self.dim},), or (..., {self.dim}) for a stack of "
                f"points; got shape {x.shape}"
            )
        return x

    def _point(self, x, name: str = "x") -> np.ndarray:
        """x as a float array of shape (dim,) exactly."""
        return _checks.shaped(name, self._points(x, name), (self.dim,), f"({self.dim},)")


def _value(f: np.ndarray, x: np.ndarray):
    """f as a plain float when x was a single point, else the array of values."""
    return float(f) if x.ndim == 1 else f


def _frozen(array) -> np.ndarray:
    """A read-only float64 copy: a problem's data cannot change behind its back."""
    array = np.array(array, dtype=np.float64)
    array.flags.writeable = False
    return array


def _generator(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng must be a numpy.random.Generator (e.g. np.random.default_rng(0)); got {rng!r}"
        )
    return rng


_EPS = float(np.finfo(np.float64).eps)


def _kappa_max(dim: int) -> float:
    """1 / (10 dim eps): the largest kappa whose rounding in A stays below lambda_min / 10."""
    return 1 / (10 * dim * _EPS)


def _condition_number(kappa, dim: int, dim_name: str) -> float:
    """kappa >= 1, and exactly 1 when there is one eigenvalue (``dim_name`` = 1)."""
    kappa = _checks.in_range(
        "kappa", kappa, "a finite number >= 1 (lambda_max / lambda_min)", lambda v: v >= 1
    )
    if dim == 1 and kappa != 1:
        raise ValueError(f"kappa must be 1 when {dim_name} = 1 (one eigenvalue); got {kappa!r}")
    return kappa


def _vector(name: str, value, dim: int) -> np.ndarray:
    """A finite float vector of shape (dim,), or a ValueError naming it."""
    value = _checks.shaped(name, _checks.float_array(name, value), (dim,), f"({dim},)")
    return _checks.finite_array(name, value)


def _sigmoid(z):
    """1 / (1 + exp(-z)) computing only exp(-|z|) <= 1, so no z overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


def _sigmoid_slope(z):
    """sigma'(z) = sigma(z) sigma(-z) = e / (1 + e)^2 with e = exp(-|z|) (even in z)."""
    e = np.exp(-np.abs(z))
    return e / (1 + e) ** 2


def _softplus(z):
    """log(1 + exp(z)), by np.logaddexp, which neither overflows nor loses small values."""
    return np.logaddexp(0.0, z)


def _newton(f, grad, hess, x, max_iter: int = 100, give_up=None):
    """Minimize f from x by Newton's method with backtracking; returns (x, converged).

    Stops when the Newton decrement g^T H^-1 g is below rounding; halves the step until
    Armijo's rule holds; ``give_up(x)`` may end the search early (then (x, False)).
    """
    for _ in range(max_iter):
        if give_up is not None and give_up(x):
            return x, False
        g, fx = grad(x), f(x)
        try:
            step = np.linalg.solve(hess(x), g)
        except np.linalg.LinAlgError:
            return x, False
        decrement = float(g @ step)
        if not decrement > 1e-28 * max(1.0, abs(fx)):
            return x, decrement >= 0  # a negative decrement: H is not positive definite
        t = 1.0
        if decrement > 1e-8:  # near the minimum the full step is safe, and rounding is not
            while f(x - t * step) > fx - 0.25 * t * decrement and t > 1e-12:
                t /= 2
        x = x - t * step
    return x, False

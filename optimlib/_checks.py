"""Argument checks shared by every module, so that every error is worded the same way.

Each check takes the parameter's name and its value, returns the value in canonical
form, and raises ``ValueError`` naming the parameter and the allowed range otherwise.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def scalar(value):
    """A 0-d numpy array as the Python number it holds (what ``np.load`` gives back for a
    saved number); anything else unchanged."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        return value.item()
    return value


def _real(name: str, value, allowed: str) -> float:
    value = scalar(value)
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond float's range, such as 10**400
        raise ValueError(f"{name} must be {allowed}; got an integer beyond float's range") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return number


def in_range(name: str, value, allowed: str, ok) -> float:
    """A finite real number for which ``ok(value)`` holds; ``allowed`` says which."""
    value = _real(name, value, allowed)
    if not ok(value):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return value


def _ranged(allowed: str, ok=None):
    """A check for finite real numbers for which ``ok`` holds; ``allowed`` words the range."""
    return lambda name, value: in_range(name, value, allowed, ok or (lambda v: True))


finite = _ranged("a finite number")
positive = _ranged("a finite number > 0", lambda v: v > 0)
nonnegative = _ranged("a finite number >= 0", lambda v: v >= 0)
unit_interval = _ranged("a number in [0, 1)", lambda v: 0 <= v < 1)  # decay rates, momentum
closed_unit_interval = _ranged("a number in [0, 1]", lambda v: 0 <= v <= 1)
open_unit_interval = _ranged("a number in (0, 1)", lambda v: 0 < v < 1)  # decay factors


def choice(name: str, value, options):
    """One of a fixed set of options (strings such as an activation's name)."""
    if value not in options:
        allowed = ", ".join(repr(option) for option in options)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def _integer(low: int):
    """A check for integers >= low (and not beyond float's range, ~1.8e308)."""

    def check(name: str, value) -> int:
        value = scalar(value)
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
        if value > LARGEST_FLOAT:  # step counts and periods meet floats (k / tau): keep finite
            raise ValueError(f"{name} must be an integer >= {low}; got one beyond float's range")
        return int(value)

    return check


LARGEST_FLOAT = int(np.finfo(np.float64).max)
positive_int, nonnegative_int = _integer(1), _integer(0)


def boolean(name: str, value) -> bool:
    """True or False (numpy booleans included), nothing merely truthy."""
    value = scalar(value)
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def learning_rate(name: str, value):
    """A finite number > 0, or a schedule: a callable k -> eps_k."""
    if callable(value):
        return value
    return in_range(
        name, value, "a finite number > 0 or a schedule (a callable k -> eps_k)", lambda v: v > 0
    )


def float_array(name: str, value) -> np.ndarray:
    """An array of floats: float arrays keep their dtype, anything else becomes float64."""
    array = np.asarray(value)
    if array.dtype.kind == "f":
        return array
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    raise ValueError(f"{name} must be an array of real numbers; got dtype {array.dtype}")


PARAMETER_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def parameter_array(name: str, value) -> np.ndarray:
    """Parameters to optimize: float32 or float64 kept, integers and booleans to float64.

    float16 and longdouble are refused: in float16 delta = 1e-8 and small g * g are 0.
    """
    array = float_array(name, value)
    if array.dtype not in PARAMETER_DTYPES:
        raise ValueError(
            f"{name} has dtype {array.dtype}; the allowed dtypes are float32 and float64 "
            f"(cast it, e.g. {name}.astype(np.float32))"
        )
    return array


def all_finite(array: np.ndarray) -> bool:
    """True when no entry is NaN or infinite; call it inside ``np.errstate(over="ignore")``.

    One dot product first: the sum of squares is NaN or inf when any entry is, so a
    finite one settles it (3x faster than the elementwise test at 10 entries). It may
    overflow for entries above ~1e154 (float64) or ~1e19 (float32), hence the errstate,
    and then the exact elementwise test decides.
    """
    if array.dtype.kind == "f":
        flat = array.ravel()
        if math.isfinite(flat.dot(flat)):
            return True
    return bool(np.isfinite(array).all())


def shaped(name: str, array: np.ndarray, shape: tuple, expected: str) -> np.ndarray:
    """``array`` if its shape is ``shape`` (None: any length), else a ValueError
    "``name`` must have shape ``expected``; got shape ...". ``expected`` words the shape."""
    if array.shape == shape:  # the common case, checked once a step in the run loop
        return array
    if array.ndim != len(shape) or any(
        want not in (None, n) for n, want in zip(array.shape, shape, strict=True)
    ):
        raise ValueError(f"{name} must have shape {expected}; got shape {array.shape}")
    return array


def finite_array(name: str, value) -> np.ndarray:
    """:func:`float_array` in float64 with every entry finite: data that defines a problem."""
    array = float_array(name, value).astype(np.float64)
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite; it contains NaN or inf")
    return array


def parameter_dtype(dtype) -> np.dtype:
    """float32 or float64, the dtypes parameters are computed in (see :func:`parameter_array`)."""
    if np.dtype(dtype) not in PARAMETER_DTYPES:
        raise ValueError(f"dtype must be float32 or float64; got {np.dtype(dtype)}")
    return np.dtype(dtype)


def one_of(*options):
    """A check for :func:`choice` among ``options``, for a :class:`Hyperparameter`."""
    return lambda name, value: choice(name, value, options)


class Hyperparameter:
    """An attribute checked on every assignment: a bad value raises and the old one stays.

    ``alpha = Hyperparameter(unit_interval)`` makes ``opt.alpha = 1.5`` a ``ValueError``.
    The checked value is stored in the instance's ``__dict__`` under the same name, and
    with no ``__get__`` here reading ``opt.alpha`` finds it there as fast as a plain
    attribute (an optimizer reads its hyperparameters at every step).
    """

    def __init__(self, check):
        self.check = check

    def __set_name__(self, owner, name):
        self.name = name

    def __set__(self, obj, value):
        obj.__dict__[self.name] = self.check(self.name, value)


def hyperparameter_names(cls) -> tuple[str, ...]:
    """The names of a class's ``Hyperparameter`` attributes, base classes first."""
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for name, attribute in vars(klass).items():
            if isinstance(attribute, Hyperparameter) and name not in names:
                names.append(name)
    return tuple(names)

"""Argument checks shared by every module, so that every error is worded the same way.

Each check takes the parameter's name and its value, returns the value in canonical
form, and raises ``ValueError`` naming the parameter and the allowed range otherwise.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def _real(name: str, value, allowed: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be {allowed}; got {value!r}")
    return value


def finite(name: str, value) -> float:
    """A finite real number."""
    return _real(name, value, "a finite number")


def positive(name: str, value) -> float:
    """A finite real number > 0."""
    value = _real(name, value, "a finite number > 0")
    if value <= 0:
        raise ValueError(f"{name} must be a finite number > 0; got {value!r}")
    return value


def nonnegative(name: str, value) -> float:
    """A finite real number >= 0."""
    value = _real(name, value, "a finite number >= 0")
    if value < 0:
        raise ValueError(f"{name} must be a finite number >= 0; got {value!r}")
    return value


def unit_interval(name: str, value) -> float:
    """A real number in [0, 1): a decay rate or a momentum coefficient."""
    value = _real(name, value, "a number in [0, 1)")
    if not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1); got {value!r}")
    return value


def closed_unit_interval(name: str, value) -> float:
    """A real number in [0, 1] (a running-average weight, where 1 keeps only the last value)."""
    value = _real(name, value, "a number in [0, 1]")
    if not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number in [0, 1]; got {value!r}")
    return value


def choice(name: str, value, options):
    """One of a fixed set of options (strings such as an activation's name)."""
    if value not in options:
        allowed = ", ".join(repr(option) for option in options)
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")
    return value


def open_unit_interval(name: str, value) -> float:
    """A real number in (0, 1): a multiplicative decay factor."""
    value = _real(name, value, "a number in (0, 1)")
    if not 0 < value < 1:
        raise ValueError(f"{name} must be a number in (0, 1); got {value!r}")
    return value


def positive_int(name: str, value) -> int:
    """An integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    return int(value)


def nonnegative_int(name: str, value) -> int:
    """An integer >= 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be an integer >= 0; got {value!r}")
    return int(value)


def boolean(name: str, value) -> bool:
    """True or False (numpy booleans included), nothing merely truthy."""
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False; got {value!r}")
    return bool(value)


def learning_rate(name: str, value):
    """A finite number > 0, or a schedule: a callable k -> eps_k."""
    if callable(value):
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"{name} must be a finite number > 0 or a schedule (a callable k -> eps_k); "
            f"got {value!r}"
        )
    return positive(name, value)


def float_array(name: str, value) -> np.ndarray:
    """An array of floats: float arrays keep their dtype, anything else becomes float64."""
    array = np.asarray(value)
    if array.dtype.kind == "f":
        return array
    if array.dtype.kind in "biu":
        return array.astype(np.float64)
    raise ValueError(f"{name} must be an array of real numbers; got dtype {array.dtype}")


def all_finite(array: np.ndarray) -> bool:
    """True when no entry is NaN or infinite.

    A sum is finite exactly when every term is, unless finite terms overflow; so one
    fast reduction settles the common case and the exact test runs only on suspicion.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if math.isfinite(np.sum(array)):
            return True
    return bool(np.isfinite(array).all())


class Hyperparameter:
    """An attribute checked on every assignment: a bad value raises and the old one stays.

    ``alpha = Hyperparameter(unit_interval)`` in a class body makes ``opt.alpha = 1.5``
    raise ``ValueError`` naming ``alpha`` and its range, whether in ``__init__`` or later
    (a widget moving a slider, a student editing a cell).
    """

    def __init__(self, check):
        self.check = check

    def __set_name__(self, owner, name):
        self.name = name
        self.attribute = "_" + name

    def __get__(self, obj, objtype=None):
        return self if obj is None else getattr(obj, self.attribute)

    def __set__(self, obj, value):
        setattr(obj, self.attribute, self.check(self.name, value))


def hyperparameter_names(cls) -> tuple[str, ...]:
    """The names of a class's ``Hyperparameter`` attributes, base classes first."""
    names: list[str] = []
    for klass in reversed(cls.__mro__):
        for name, attribute in vars(klass).items():
            if isinstance(attribute, Hyperparameter) and name not in names:
                names.append(name)
    return tuple(names)

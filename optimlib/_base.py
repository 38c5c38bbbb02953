"""What every optimizer shares: checks, the step counter, schedules, state, divergence.

Guarantees for every algorithm: ``step(theta, grad_fn)`` returns a new array and writes
into no array it was given or handed out; it computes in theta's dtype (float32 or
float64; float16 is refused, delta and g * g underflow there); ``load_state_dict``
resumes bit for bit; bad input raises ``ValueError`` naming the parameter and range; a
non-finite gradient, iterate or state raises :class:`DivergenceError`, state unchanged.
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from . import _checks
from ._checks import Hyperparameter

GradFn = Callable[[np.ndarray], np.ndarray]


class DivergenceError(FloatingPointError):
    """A step met a non-finite gradient, iterate or state; ``step`` is its index k.

    The optimizer keeps the state from before that step, to inspect or resume.
    """

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


class Optimizer:
    """Base class: subclasses write ``init_state`` and ``update`` (and ``gradient_point``)."""

    lr = Hyperparameter(_checks.learning_rate)
    # State arrays that hold a stack of m theta-shaped vectors, shape (m, *theta.shape)
    # (L-BFGS's memory); every other state array has theta's shape.
    stacked_state: tuple[str, ...] = ()

    def __init__(self, lr):
        self.lr = lr
        self.reset()

    # --- what a subclass writes ------------------------------------------------------
    def init_state(self, theta: np.ndarray) -> dict:
        """The state before the first step (zeros, as the algorithm boxes initialise)."""
        return {}

    def gradient_point(self, theta: np.ndarray, **state) -> np.ndarray:
        """Where the gradient is evaluated: theta itself, except for look-ahead methods."""
        return theta

    def update(self, theta: np.ndarray, g: np.ndarray, eps: float, **state):
        """One step of the algorithm: returns ``(new_theta, new_state)`` and writes nothing.

        Every array it returns must be new: arrays handed out are never written again.
        """
        raise NotImplementedError

    # --- the public interface --------------------------------------------------------
    def reset(self) -> None:
        """Forget everything learned: k = 0 and the state of a fresh optimizer."""
        self.k = 0
        self.state: dict = {}

    def lr_at(self, k: int) -> float:
        """The learning rate eps_k used at step k (the constant, or the schedule's value)."""
        if not callable(self.lr):
            return self.lr
        return _checks.nonnegative(f"lr: the schedule's eps_{k}", self.lr(k))

    def step(self, theta, grad_fn: GradFn) -> np.ndarray:
        """One step from ``theta`` with ``grad_fn`` (theta -> gradient); returns the new theta."""
        theta = _checks.parameter_array("theta", theta)
        # Overflow is reported as a DivergenceError, not as a RuntimeWarning.
        with np.errstate(over="ignore", invalid="ignore"):
            return self._step(theta, grad_fn)

    def _step(self, theta: np.ndarray, grad_fn: GradFn) -> np.ndarray:
        """:meth:`step` for a theta that is already a float32/float64 array, inside
        ``np.errstate(over="ignore", invalid="ignore")``: the run loop calls it, having
        both already (entering the context costs as much as a small problem's gradient)."""
        eps = self.lr_at(self.k)
        state = self._state_for(theta)
        point = _as_array(self.gradient_point(theta, **state))
        g = _checked_gradient(grad_fn, point, self.k)
        new_theta, new_state = self.update(theta, g, eps, **state)
        new_theta = _as_array(new_theta)
        new_state = {name: _as_array(value) for name, value in new_state.items()}
        _check_finite(new_theta, new_state, self.k)
        self.state = new_state
        self.k += 1
        return new_theta

    def hyperparameters(self) -> dict:
        """The hyperparameters by name, as the constructor takes them."""
        return {name: getattr(self, name) for name in _checks.hyperparameter_names(type(self))}

    def state_dict(self) -> dict:
        """A deep copy of everything a resumed run needs to continue bit for bit."""
        return {
            "optimizer": type(self).__name__,
            "k": self.k,
            # deep copies: a schedule changed later must not change what was saved
            "hyperparameters": copy.deepcopy(self.hyperparameters()),
            "state": copy.deepcopy(self.state),
        }

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what ``state_dict`` saved (numbers may be numpy scalars or 0-d arrays,
        as ``np.load`` returns them); on a bad dict raise and change nothing."""
        check_saved_by(self, state_dict, {"k", "hyperparameters", "state"})
        k = _checks.nonnegative_int("state_dict['k']", state_dict["k"])
        for key in ("state", "hyperparameters"):
            if not isinstance(state_dict[key], dict):
                raise ValueError(f"state_dict[{key!r}] must be a dict; got {state_dict[key]!r}")
        # Before the first step the state is empty; after it, it holds every variable.
        template = self.init_state(np.zeros(1)) if k > 0 else {}
        if set(state_dict["state"]) != set(template):
            raise ValueError(
                f"state_dict['state'] after k = {k} steps must hold {sorted(template)}; "
                f"got {sorted(state_dict['state'])}"
            )
        state = {
            key: _loaded_state_value(key, value, template[key])
            for key, value in state_dict["state"].items()
        }
        shapes = {
            np.shape(v)[1:] if key in self.stacked_state else np.shape(v)
            for key, v in state.items()
            if isinstance(v, np.ndarray)
        }
        if len(shapes) > 1:
            raise ValueError(f"state_dict['state']: arrays of different shapes {sorted(shapes)}")
        trial = copy.copy(self)  # check every hyperparameter before touching self
        hyperparameters = copy.deepcopy(state_dict["hyperparameters"])
        if set(hyperparameters) != set(self.hyperparameters()):
            raise ValueError(
                f"state_dict['hyperparameters'] must name {sorted(self.hyperparameters())}; "
                f"got {sorted(hyperparameters)}"
            )
        for key, value in hyperparameters.items():
            check = getattr(type(self), key).check
            setattr(trial, key, check(f"state_dict['hyperparameters'][{key!r}]", value))
        self.__dict__.update(trial.__dict__)
        self.k, self.state = k, state

    def __repr__(self) -> str:
        args = ", ".join(f"{name}={value!r}" for name, value in self.hyperparameters().items())
        return f"{type(self).__name__}({args})"

    # --- helpers ---------------------------------------------------------------------
    def _state_for(self, theta: np.ndarray) -> dict:
        """The current state, checked against theta and cast to its dtype."""
        if not self.state:
            return self.init_state(theta)
        state = {}
        for name, value in self.state.items():
            if isinstance(value, np.ndarray):
                shape = value.shape[1:] if name in self.stacked_state else value.shape
                if shape != theta.shape:
                    raise ValueError(
                        f"theta has shape {theta.shape} but the state {name!r} has shape "
                        f"{value.shape}; call reset() before optimizing a new problem"
                    )
                value = value.astype(theta.dtype, copy=False)
            state[name] = value
        return state


def check_saved_by(optimizer, state_dict, keys: set) -> None:
    """A state_dict is a dict, saved by an optimizer of this class, with every key in ``keys``."""
    if not isinstance(state_dict, dict):
        raise ValueError(
            f"state_dict must be a dict as state_dict() returns it; got {type(state_dict)}"
        )
    name = _checks.scalar(state_dict.get("optimizer"))
    if name != type(optimizer).__name__:
        raise ValueError(
            f"state_dict: saved by {name!r}, cannot be loaded into {type(optimizer).__name__}"
        )
    missing = keys - set(state_dict)
    if missing:
        raise ValueError(f"state_dict: missing {sorted(missing)}")


def _checked_gradient(grad_fn: GradFn, point: np.ndarray, k: int) -> np.ndarray:
    """``grad_fn(point)``, checked: theta's shape, theta's dtype, and finite."""
    if not callable(grad_fn):
        raise ValueError(f"grad_fn must be a callable theta -> gradient; got {grad_fn!r}")
    view = point.view()
    view.flags.writeable = False  # grad_fn cannot write into the caller's theta through us
    g = _checks.shaped(
        "gradient", np.asarray(grad_fn(view)), point.shape, f"{point.shape}, theta's"
    )
    if g.dtype.kind not in "iuf":
        raise ValueError(f"gradient: grad_fn returned dtype {g.dtype}; it must be real numbers")
    g = g.astype(point.dtype, copy=False)
    if not _checks.all_finite(g):  # called inside step's np.errstate
        raise DivergenceError(
            f"step {k}: the gradient is not finite (NaN or inf); the state is unchanged", k
        )
    return g


def _loaded_state_value(key: str, value, like):
    """A saved state variable, checked against ``like`` (the same variable of a fresh
    optimizer): a float32/float64 array, or a number given back as the Python number."""
    name = f"state_dict['state'][{key!r}]"
    if isinstance(like, np.ndarray):
        if isinstance(value, np.floating):  # a 0-d state array read back as a numpy scalar
            value = np.asarray(value)
        if not isinstance(value, np.ndarray) or value.dtype not in _checks.PARAMETER_DTYPES:
            got = f"dtype {value.dtype}" if isinstance(value, np.ndarray) else repr(value)
            raise ValueError(f"{name} must be a float32 or float64 numpy array; got {got}")
        if not np.isfinite(value).all():
            raise ValueError(f"{name} must be finite; it contains NaN or inf")
        return value.copy()
    if isinstance(like, int):
        return _checks.nonnegative_int(name, value)
    return _checks.finite(name, value)


def _as_array(value):
    """Arithmetic on 0-d arrays returns numpy scalars: turn those back into 0-d arrays."""
    return np.asarray(value) if isinstance(value, np.floating) else value


def _check_finite(theta: np.ndarray, state: dict, k: int) -> None:
    """Called inside ``np.errstate(over="ignore")``."""
    for name, value in (("theta", theta), *state.items()):
        if isinstance(value, np.ndarray) and not _checks.all_finite(value):
            raise DivergenceError(
                f"step {k}: the update made {name} non-finite (NaN or inf); the state is "
                f"unchanged. Usual causes: a learning rate too large for the curvature, or "
                f"0/0 from delta = 0 with a zero gradient.",
                k,
            )

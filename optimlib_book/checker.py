"""Check a student's own implementation of an update against optimlib, step by step.

In an exercise the student writes one update, in the words of its algorithm box, and
calls ``checker.check(method, their_function)``:

* an optimizer step (``"sgd"`` with linear decay, ``"momentum"``, ``"nesterov"``,
  ``"adagrad"``, ``"rmsprop"``, ``"adam"``, ``"adamw"``) is a function
  ``step(theta, grad_fn, state, **hyper) -> new theta``: it calls ``grad_fn`` where the
  box evaluates the gradient, updates the box's variables in the dict ``state`` (which
  the checker fills with their initial values, by the box's names: ``"v"``, ``"r"``,
  ``"s"``, ``"t"``, ``"k"``) and returns the new theta; the hyperparameters come as
  keywords with the box's names (``eps``, ``alpha``, ``rho``, ``rho1``, ``rho2``,
  ``delta``; SGD's schedule ``eps0, eps_tau, tau``);
* ``"clip_by_norm"`` is ``clip_by_norm(g, max_norm) -> clipped g``;
* ``"batch_norm_backward"`` is ``batch_norm_backward(g, H_hat, sigma) -> dL/dH``.

:func:`signature` prints what a method's function takes. The checker runs the student's
function and optimlib's reference side by side in float64 (on a 4-dimensional quadratic
with condition number 20, or on fixed gradients and minibatches), compares the
parameters AND every state variable after each step, and at the first difference says
which step, which variable (in the box's words), what was expected and what came back,
and, when one of the mistakes listed in :mod:`optimlib_book.checker_cases` reproduces the
student's result, what went wrong.

Tolerance: at every step the reference starts from the student's own previous theta and
state, so only one step's rounding is compared, never an accumulation. One step is a few
tens of float64 operations, each rounding by at most 2^-53 = 1.1e-16 relative, so two
correct implementations that order the operations differently agree to about 1e-14 of
the variable's size. The checker allows 1e-12 (the largest difference relative to the
variable's largest entry), a hundredfold margin; the mildest real mistake it tests for
(delta inside instead of outside the root, with the checker's delta = 1e-3) differs by
more than 1e-8, ten thousand times the tolerance (``tests/book/test_checker.py``).
"""

from __future__ import annotations

import copy
import inspect
from dataclasses import dataclass

import numpy as np

import optimlib as ol

from .checker_cases import CASES, Case

__all__ = ["METHODS", "RTOL", "Report", "check", "signature"]

RTOL = 1e-12  # see the module docstring: a hundred times one step's rounding
METHODS = tuple(CASES)


@dataclass(frozen=True)
class Report:
    """What :func:`check` found; true when every step agreed (``assert report`` works)."""

    method: str
    passed: bool
    steps: int  # steps (or cases) that agreed
    message: str
    step: int | None = None  # the first step that differs
    variable: str | None = None  # the first variable that differs there, box order
    hints: tuple[str, ...] = ()
    relative: float | None = None  # its largest difference, relative to its largest entry

    def __bool__(self) -> bool:
        return self.passed


def signature(method: str) -> str:
    """The function an exercise asks for, e.g. ``adam_step(theta, grad_fn, state, eps, ...)``."""
    return _case(method).signature


def check(method: str, fn, *, seed: int = 0, steps: int | None = None, verbose: bool = True):
    """Run ``fn`` beside optimlib's reference for ``method`` and return a :class:`Report`.

    ``seed`` picks the problem (the quadratic's eigenvectors and minimizer, the
    gradients, the minibatches), ``steps`` how many steps (or cases) to compare. With
    ``verbose`` the report's message is printed. A function that takes the wrong
    arguments is a ``TypeError``; one that returns the wrong shape or loses a state
    variable is a ``ValueError``: neither is a wrong answer, so neither is reported as one.
    """
    case = _case(method)
    if not callable(fn):
        raise TypeError(f"fn must be your function {case.signature}; got {fn!r}")
    _check_signature(case, fn)
    steps = case.steps if steps is None else int(steps)
    if steps < 1:
        raise ValueError(f"steps must be an integer >= 1; got {steps}")
    report = _run(method, case, fn, np.random.default_rng(seed), steps)
    if verbose:
        print(report.message)
    return report


# --- running --------------------------------------------------------------------------


def _case(method) -> Case:
    if method not in CASES:
        raise ValueError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    return CASES[method]


def _check_signature(case: Case, fn) -> None:
    hyper = {name: 0.0 for name in case.arguments if name in case.hyper}
    positional = [None] * (len(case.arguments) - len(hyper))
    try:
        inspect.signature(fn).bind(*positional, **hyper)
    except TypeError as error:
        raise TypeError(
            f"your function must take ({', '.join(case.arguments)}), by these names: "
            f"the checker calls {case.signature} with the hyperparameters as keywords "
            f"({error})"
        ) from None
    except ValueError:  # builtins without a signature: let the call decide
        pass


class _Recorder:
    """grad_fn as the student receives it: records every point it is called at."""

    def __init__(self, grad_fn):
        self.grad_fn, self.points = grad_fn, []

    def __call__(self, theta):
        point = np.array(theta, dtype=np.float64)
        self.points.append(point)
        return self.grad_fn(point.copy())


def _problem(rng) -> ol.problems.Quadratic:
    """A 4-dimensional quadratic with curvatures 1 .. 20 along random directions."""
    q, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    A = q @ np.diag(np.geomspace(1.0, 20.0, 4)) @ q.T
    return ol.problems.Quadratic(A, b=rng.standard_normal(4))


def _inputs(case: Case, rng, steps: int) -> list:
    """The fixed inputs of a clipping or backward exercise, one per case."""
    if case.kind == "clip":
        norms_and_thresholds = [(5.0, 1.0), (0.5, 1.0), (3.0, 2.0), (1e3, 10.0), (0.9, 1.0)]
        out = []
        for k in range(steps):
            norm, max_norm = norms_and_thresholds[k % len(norms_and_thresholds)]
            g = rng.standard_normal(4)
            out.append((g * norm / np.linalg.norm(g), max_norm))
        return out
    out = []
    for _ in range(steps):
        H = rng.standard_normal((8, 3)) * np.array([0.5, 2.0, 10.0]) + 1.0
        g = rng.standard_normal((8, 3))
        out.append((g, H))
    return out


def _run(method: str, case: Case, fn, rng, steps: int) -> Report:
    if case.kind == "step":
        return _run_steps(method, case, fn, rng, steps)
    for k, inputs in enumerate(_inputs(case, rng, steps)):
        got = _call(case, fn, inputs, k)
        expected = _call(case, case.reference, inputs, k, reference=True)
        failure = _compare(method, case, fn, inputs, k, expected, got)
        if failure is not None:
            return failure
    return _success(method, case, steps)


def _run_steps(method: str, case: Case, fn, rng, steps: int) -> Report:
    problem = _problem(rng)
    theta, state = np.array(problem.x0, dtype=np.float64), case.init_state(problem.x0)
    for k in range(steps):
        inputs = (theta, state, problem.grad)
        got = _call(case, fn, inputs, k)
        expected = _call(case, case.reference, inputs, k, reference=True)
        failure = _compare(method, case, fn, inputs, k, expected, got)
        if failure is not None:
            return failure
        theta = got["theta"]
        state = {name: got[name] for name in case.init_state(theta)}
    return _success(method, case, steps)


def _call(case: Case, fn, inputs, k: int, reference: bool = False) -> dict:
    """Run one step (or case) of ``fn`` on copies of ``inputs``; its outputs by name."""
    with np.errstate(all="ignore"):  # a student's NaN is reported, not warned about
        if case.kind == "clip":
            g, max_norm = inputs
            return {"clipped g": _result(case, fn(g.copy(), max_norm), g.shape)}
        if case.kind == "backward":
            g, H = inputs
            if reference:
                return {"dL/dH": case.reference(g.copy(), H, **case.hyper)}
            sigma = np.sqrt(case.hyper["delta"] + np.var(H, axis=0))
            H_hat = (H - np.mean(H, axis=0)) / sigma
            return {"dL/dH": _result(case, fn(g.copy(), H_hat, sigma.copy()), g.shape)}
        theta, state, grad_fn = inputs
        state = copy.deepcopy(state)
        recorder = _Recorder(grad_fn)
        extra = {"k": k} if reference else {}
        new_theta = _result(
            case, fn(theta.copy(), recorder, state, **case.hyper, **extra), theta.shape
        )
    # where the gradient was taken (compared only where the box says: Nesterov)
    outputs = {"theta": new_theta, "grad point": recorder.points[-1] if recorder.points else None}
    for name, initial in case.init_state(theta).items():
        if name not in state:
            raise ValueError(
                f"{case.function} removed state[{name!r}]: keep {case.symbols[name]} in "
                f"state[{name!r}] from step to step"
            )
        value = state[name]
        if isinstance(initial, np.ndarray):
            value = np.asarray(value, dtype=np.float64)
            if value.shape != theta.shape:
                raise ValueError(
                    f"{case.function} left state[{name!r}] with shape {value.shape}; "
                    f"it must have theta's shape {theta.shape}"
                )
        outputs[name] = value
    return outputs


def _result(case: Case, value, shape) -> np.ndarray:
    """The student's return value as a float64 array of the expected shape, or an error."""
    if value is None:
        raise TypeError(f"{case.function} returned None: end it with a return statement")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"{case.function} must return an array of numbers; got {type(value).__name__}"
        ) from None
    if array.shape != shape:
        raise ValueError(
            f"{case.function} returned an array of shape {array.shape}; it must have "
            f"shape {shape}, the shape of its first argument"
        )
    return array


# --- comparing and explaining ---------------------------------------------------------


def _difference(expected, got, nan_equal: bool = False):
    """None when ``got`` agrees with ``expected``; else (largest error, its index, relative)."""
    if expected is None or got is None:
        return None if expected is None and got is None else (np.inf, None, np.inf)
    expected, got = np.asarray(expected, dtype=np.float64), np.asarray(got, dtype=np.float64)
    if nan_equal:
        both = np.isnan(expected) & np.isnan(got)
        expected, got = np.where(both, 0.0, expected), np.where(both, 0.0, got)
    error = np.abs(got - expected)
    if not np.all(np.isfinite(got)):
        error = np.where(np.isfinite(got), error, np.inf)
    index = int(np.argmax(error))
    largest = float(error.ravel()[index])
    scale = float(np.max(np.abs(expected), initial=0.0))
    relative = largest / scale if scale > 0 else (0.0 if largest == 0 else np.inf)
    if relative <= RTOL:
        return None
    return largest, (np.unravel_index(index, error.shape) if error.ndim else None), relative


def _compare(method, case, fn, inputs, k, expected, got) -> Report | None:
    for name in case.symbols:
        if name not in expected:
            continue
        difference = _difference(expected[name], got[name])
        if difference is not None:
            hints = _diagnose(case, inputs, k, got) or _generic_hints(case, name, inputs, got)
            message = _failure_message(case, k, name, expected[name], got[name], difference, hints)
            return Report(method, False, k, message, k, name, tuple(hints), difference[2])
    return None


def _diagnose(case: Case, inputs, k: int, got: dict) -> list[str]:
    """The hints of every known mistake that reproduces the student's outputs at step k."""
    hints = []
    for mistake in case.mistakes:
        try:
            outputs = _call(case, mistake.fn, inputs, k)
        except (ArithmeticError, ValueError, TypeError):
            continue
        compared = [n for n in outputs if n in case.symbols]
        if all(_difference(outputs[n], got[n], nan_equal=True) is None for n in compared):
            hints.append(mistake.hint)
    return hints


def _generic_hints(case: Case, name: str, inputs, got: dict) -> list[str]:
    if got.get("grad point", 0) is None:
        return [f"{case.function} never called grad_fn: the gradient is g = grad_fn(...)"]
    if name == "grad point":
        return ["the gradient is evaluated at the wrong point: see where the box takes g"]
    if name in ("theta", "clipped g") and _difference(inputs[0], got[name]) is None:
        argument = case.arguments[0]
        return [f"{case.function} returned {argument} unchanged: compute the new {argument}"]
    if not np.all(np.isfinite(np.asarray(got[name], dtype=np.float64))):
        return [
            f"{name} is not finite (NaN or inf): look for a division by zero or a "
            f"square root of a negative number"
        ]
    return [f"compare the line that computes {case.symbols[name]} with the algorithm box"]


def _show(value) -> str:
    if value is None:
        return "(grad_fn was not called)"
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:  # a step count, or a NaN where one was expected
        return f"{int(array)}" if np.isfinite(array) and array == int(array) else f"{array:.6g}"
    flat = array.ravel()
    text = np.array2string(flat[:6], precision=4, separator=", ", floatmode="maxprec")
    return text if flat.size <= 6 else f"{text[:-1]}, ...] ({array.size} entries)"


def _failure_message(case, k, name, expected, got, difference, hints) -> str:
    largest, index, relative = difference
    where = "" if index is None else f" at index {tuple(int(i) for i in index)}"
    unit = "step" if case.kind == "step" else "case"
    lines = [
        f"Not yet: {case.title}, {unit} {k}, differs in {case.symbols[name]}.",
        f"  expected {name} = {_show(expected)}",
        f"  got      {name} = {_show(got)}",
    ]
    if np.isfinite(largest):
        lines.append(
            f"  largest difference {largest:.2e}{where}, {relative:.2e} relative to the "
            f"largest entry (allowed: {RTOL:.0e})"
        )
    lines += [f"  Hint: {hint}" for hint in hints]
    return "\n".join(lines)


def _success(method: str, case: Case, steps: int) -> Report:
    names = ", ".join(name for name in case.symbols if name != "grad point")
    if case.kind == "step":
        what = f"{steps} steps on a 4-dimensional quadratic (condition number 20)"
    else:
        what = f"{steps} cases"
    unit = "step" if case.kind == "step" else "case"
    message = (
        f"Correct: your {case.function} agrees with optimlib's reference for {case.title} "
        f"over {what}: {names} within {RTOL:.0e} relative at every {unit}."
    )
    return Report(method, True, steps, message)

"""What :mod:`optimlib_book.checker` checks: each exercise's reference, symbols and mistakes.

An exercise is a :class:`Case`: the function the student writes (its name and
arguments), the reference it is compared with (optimlib's own code), the names of the
variables compared, in the order the algorithm box computes them, with the words the
box uses for them, and the mistakes students make, each written the way a student
would write it. The checker runs the mistakes on the student's own inputs at the first
step that differs: a mistake that reproduces the student's result names the error.

Three kinds of exercise:

* an optimizer step, ``step(theta, grad_fn, state, **hyper) -> new theta``, which
  updates the dict ``state`` (the box's variables, by the box's names) in place;
* clipping, ``clip_by_norm(g, max_norm) -> clipped g``;
* the batch-norm backward pass, ``backward(g, H_hat, sigma) -> dL/dH``, with
  g = dL/dH_hat, H_hat the normalized minibatch and sigma its per-column scale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

import optimlib as ol
from optimlib.optimizers_extra import AdamW


@dataclass(frozen=True)
class Mistake:
    """A common error, written as a student would write it, and the hint that names it."""

    hint: str
    fn: Callable


@dataclass(frozen=True)
class Case:
    """One exercise (see the module docstring); ``kind`` is "step", "clip" or "backward"."""

    kind: str
    title: str  # the algorithm's name and box, as the chapter says it
    function: str  # the name the exercise gives the student's function
    arguments: tuple[str, ...]  # every argument, in order
    symbols: dict[str, str]  # compared variable -> the box's words for it, box order
    reference: Callable
    hyper: dict = field(default_factory=dict)
    init_state: Callable = lambda theta: {}
    mistakes: tuple[Mistake, ...] = ()
    steps: int = 12

    @property
    def signature(self) -> str:
        return f"{self.function}({', '.join(self.arguments)})"


# --- optimizer steps ---------------------------------------------------------------


def _optimlib_step(make: Callable, counter: str | None = None) -> Callable:
    """The reference for a step exercise: optimlib's optimizer, resumed from ``state``
    after ``k`` steps through its public ``load_state_dict``, takes one step.

    ``counter`` names a state entry that holds optimlib's own step count ``k`` (SGD's
    schedule index), which optimlib keeps outside its state dict.
    """

    def reference(theta, grad_fn, state, k, **hyper):
        opt = make(**hyper)
        if k > 0:
            saved = {name: value for name, value in state.items() if name != counter}
            opt.load_state_dict(
                {
                    "optimizer": type(opt).__name__,
                    "k": k,
                    "hyperparameters": opt.hyperparameters(),
                    "state": saved,
                }
            )
        theta = opt.step(theta, grad_fn)
        state.clear()
        state.update(opt.state)
        if counter is not None:
            state[counter] = opt.k
        return theta

    return reference


def _linear_decay(k, eps0, eps_tau, tau):
    return (1 - k / tau) * eps0 + (k / tau) * eps_tau if k <= tau else eps_tau


def _sgd_no_hold(theta, grad_fn, state, eps0, eps_tau, tau):
    k = state["k"]
    eps = (1 - k / tau) * eps0 + (k / tau) * eps_tau  # keeps falling after tau
    state["k"] = k + 1
    return theta - eps * grad_fn(theta)


def _sgd_k_from_one(theta, grad_fn, state, eps0, eps_tau, tau):
    state["k"] += 1  # counted before the step: eps_1 at the first step
    return theta - _linear_decay(state["k"], eps0, eps_tau, tau) * grad_fn(theta)


def _sgd_no_count(theta, grad_fn, state, eps0, eps_tau, tau):
    return theta - _linear_decay(state["k"], eps0, eps_tau, tau) * grad_fn(theta)


def _sgd_ascent(theta, grad_fn, state, eps0, eps_tau, tau):
    eps = _linear_decay(state["k"], eps0, eps_tau, tau)
    state["k"] += 1
    return theta + eps * grad_fn(theta)


SGD_SCHEDULE = Case(
    kind="step",
    title="SGD with linear decay (Algorithm 8.1)",
    function="sgd_step",
    arguments=("theta", "grad_fn", "state", "eps0", "eps_tau", "tau"),
    symbols={"theta": "theta (the parameters)", "k": "k (steps taken)"},
    reference=_optimlib_step(
        lambda eps0, eps_tau, tau: ol.SGD(lr=ol.schedules.linear_decay(eps0, eps_tau, tau)),
        counter="k",
    ),
    hyper={"eps0": 0.05, "eps_tau": 0.005, "tau": 8},
    init_state=lambda theta: {"k": 0},
    mistakes=(
        Mistake(
            "the schedule keeps decaying after tau: linear decay holds eps_k = eps_tau for k > tau",
            _sgd_no_hold,
        ),
        Mistake(
            "k is counted before the step: the first step uses eps_0, so compute eps_k "
            "with the old k and then set state['k'] = k + 1",
            _sgd_k_from_one,
        ),
        Mistake(
            "state['k'] never grows: add 1 to it at every step, or the schedule stays at eps_0",
            _sgd_no_count,
        ),
        Mistake("the step goes uphill: theta <- theta - eps_k g, with a minus", _sgd_ascent),
    ),
    steps=12,
)


def _momentum_sign(theta, grad_fn, state, eps, alpha):
    state["v"] = alpha * state["v"] + eps * grad_fn(theta)
    return theta - state["v"]


def _momentum_torch(theta, grad_fn, state, eps, alpha):
    state["v"] = alpha * state["v"] + grad_fn(theta)
    return theta - eps * state["v"]


def _momentum_old_velocity(theta, grad_fn, state, eps, alpha):
    g = grad_fn(theta)
    new_theta = theta + state["v"]
    state["v"] = alpha * state["v"] - eps * g
    return new_theta


def _nesterov_at_theta(theta, grad_fn, state, eps, alpha):
    state["v"] = alpha * state["v"] - eps * grad_fn(theta)
    return theta + state["v"]


def _nesterov_full_velocity(theta, grad_fn, state, eps, alpha):
    state["v"] = alpha * state["v"] - eps * grad_fn(theta + state["v"])
    return theta + state["v"]


def _nesterov_behind(theta, grad_fn, state, eps, alpha):
    state["v"] = alpha * state["v"] - eps * grad_fn(theta - alpha * state["v"])
    return theta + state["v"]


_VELOCITY_MISTAKES = (
    (
        "your velocity has the opposite sign: the box keeps v <- alpha v - eps g and "
        "steps theta <- theta + v (the same theta, but v must be the step itself)",
        _momentum_sign,
    ),
    (
        "you keep PyTorch's buffer b <- alpha b + g and step theta - eps b: the same "
        "theta for a constant eps, but the box's velocity is v = -eps b",
        _momentum_torch,
    ),
    (
        "theta moves by the old velocity: update v first, then theta <- theta + v with the new v",
        _momentum_old_velocity,
    ),
)


def _nesterov_sign(theta, grad_fn, state, eps, alpha):
    state["v"] = alpha * state["v"] + eps * grad_fn(theta - alpha * state["v"])
    return theta - state["v"]


def _nesterov_torch(theta, grad_fn, state, eps, alpha):
    state["v"] = alpha * state["v"] + grad_fn(theta - eps * alpha * state["v"])
    return theta - eps * state["v"]


def _nesterov_old_velocity(theta, grad_fn, state, eps, alpha):
    g = grad_fn(theta + alpha * state["v"])
    new_theta = theta + state["v"]
    state["v"] = alpha * state["v"] - eps * g
    return new_theta


# the heavy ball's velocity mistakes, made in Nesterov's step (same order, same hints)
_NESTEROV_TWINS = (_nesterov_sign, _nesterov_torch, _nesterov_old_velocity)


def _velocity_case(title: str, function: str, optimizer, mistakes) -> Case:
    """The heavy ball or Nesterov: the same arguments, state and comparisons."""
    return Case(
        kind="step",
        title=title,
        function=function,
        arguments=("theta", "grad_fn", "state", "eps", "alpha"),
        symbols={
            "grad point": "the point where g is evaluated",
            "v": "v (the velocity)",
            "theta": "theta (the parameters)",
        },
        reference=_optimlib_step(lambda eps, alpha: optimizer(lr=eps, alpha=alpha)),
        hyper={"eps": 0.02, "alpha": 0.9},
        init_state=lambda theta: {"v": np.zeros_like(theta)},
        mistakes=tuple(mistakes),
    )


MOMENTUM = _velocity_case(
    "momentum (the heavy ball)",
    "momentum_step",
    ol.Momentum,
    (Mistake(hint, fn) for hint, fn in _VELOCITY_MISTAKES),
)

NESTEROV = _velocity_case(
    "Nesterov momentum (Sutskever et al.'s form)",
    "nesterov_step",
    ol.Nesterov,
    (
        Mistake(
            "the gradient is taken at theta: Nesterov evaluates it at the look-ahead "
            "point theta + alpha v (with the old v), which is all that sets it apart from "
            "the heavy ball",
            _nesterov_at_theta,
        ),
        Mistake(
            "the gradient is taken at theta + v: the look-ahead point is theta + alpha v",
            _nesterov_full_velocity,
        ),
        Mistake(
            "the gradient is taken at theta - alpha v: the look-ahead goes forward, "
            "theta + alpha v",
            _nesterov_behind,
        ),
        *(
            Mistake(hint, fn)
            for (hint, _), fn in zip(_VELOCITY_MISTAKES, _NESTEROV_TWINS, strict=True)
        ),
    ),
)


def _adagrad_no_square(theta, grad_fn, state, eps, delta):
    g = grad_fn(theta)
    state["r"] = state["r"] + g  # not squared
    return theta - eps * g / (delta + np.sqrt(state["r"]))


def _adagrad_delta_inside(theta, grad_fn, state, eps, delta):
    g = grad_fn(theta)
    state["r"] = state["r"] + g * g
    return theta - eps * g / np.sqrt(delta + state["r"])


def _adagrad_forgets(theta, grad_fn, state, eps, delta):
    g = grad_fn(theta)
    state["r"] = g * g  # replaced, not accumulated
    return theta - eps * g / (delta + np.sqrt(state["r"]))


def _adagrad_no_root(theta, grad_fn, state, eps, delta):
    g = grad_fn(theta)
    state["r"] = state["r"] + g * g
    return theta - eps * g / (delta + state["r"])


_NO_ROOT = "the step divides by r itself: the box divides by its square root"

ADAGRAD = Case(
    kind="step",
    title="AdaGrad (Algorithm 8.4)",
    function="adagrad_step",
    arguments=("theta", "grad_fn", "state", "eps", "delta"),
    symbols={"r": "r (the sum of squared gradients)", "theta": "theta (the parameters)"},
    reference=_optimlib_step(lambda eps, delta: ol.AdaGrad(lr=eps, delta=delta)),
    hyper={"eps": 0.5, "delta": 1e-3},
    init_state=lambda theta: {"r": np.zeros_like(theta)},
    mistakes=(
        Mistake(
            "r accumulates g, not its square: r <- r + g * g (elementwise), so that "
            "sqrt(r) has the units of g",
            _adagrad_no_square,
        ),
        Mistake(
            "delta is inside the root: Algorithm 8.4 divides by delta + sqrt(r)",
            _adagrad_delta_inside,
        ),
        Mistake(
            "r is replaced, not accumulated: r <- r + g * g sums over all steps",
            _adagrad_forgets,
        ),
        Mistake(_NO_ROOT, _adagrad_no_root),
    ),
)


def _rmsprop(inside: bool, weight: Callable = lambda rho: 1 - rho) -> Callable:
    def step(theta, grad_fn, state, eps, rho, delta):
        g = grad_fn(theta)
        state["r"] = rho * state["r"] + weight(rho) * g * g
        root = np.sqrt(delta + state["r"]) if inside else np.sqrt(state["r"]) + delta
        return theta - eps * g / root

    return step


RMSPROP = Case(
    kind="step",
    title="RMSProp (Algorithm 8.5)",
    function="rmsprop_step",
    arguments=("theta", "grad_fn", "state", "eps", "rho", "delta"),
    symbols={
        "r": "r (the running average of squared gradients)",
        "theta": "theta (the parameters)",
    },
    reference=_optimlib_step(lambda eps, rho, delta: ol.RMSProp(eps, rho, delta, True)),
    hyper={"eps": 0.01, "rho": 0.9, "delta": 1e-3},
    init_state=lambda theta: {"r": np.zeros_like(theta)},
    mistakes=(
        Mistake(
            "delta is outside the root, sqrt(r) + delta (PyTorch's RMSprop): "
            "Algorithm 8.5 divides by sqrt(delta + r)",
            _rmsprop(inside=False),
        ),
        Mistake(
            "rho and 1 - rho are swapped: r <- rho r + (1 - rho) g * g keeps most of the old r",
            _rmsprop(inside=True, weight=lambda rho: rho),
        ),
        Mistake(
            "the new g * g lacks its weight 1 - rho: r <- rho r + (1 - rho) g * g",
            _rmsprop(inside=True, weight=lambda rho: 1.0),
        ),
    ),
)


def _adam(
    correct: bool = True,
    inside: bool = False,
    count_first: bool = True,
    decay_in_gradient: bool = False,
) -> Callable:
    """Adam (and AdamW, when called with ``weight_decay``) with one thing changed."""

    def step(theta, grad_fn, state, eps, rho1, rho2, delta, weight_decay=0.0):
        g = grad_fn(theta)
        if decay_in_gradient:
            g = g + weight_decay * theta
        else:
            theta = theta * (1 - eps * weight_decay)
        if count_first:
            state["t"] += 1
        state["s"] = rho1 * state["s"] + (1 - rho1) * g
        state["r"] = rho2 * state["r"] + (1 - rho2) * g * g
        s_hat, r_hat = state["s"], state["r"]
        if correct:
            s_hat = s_hat / (1 - rho1 ** state["t"])
            r_hat = r_hat / (1 - rho2 ** state["t"])
        if not count_first:
            state["t"] += 1
        root = np.sqrt(r_hat + delta) if inside else np.sqrt(r_hat) + delta
        return theta - eps * s_hat / root

    return step


_ADAM_MISTAKES = (
    Mistake(
        "the bias correction is missing: divide by 1 - rho^t, s_hat = s / (1 - rho1^t) "
        "and r_hat = r / (1 - rho2^t), before the step",
        _adam(correct=False),
    ),
    Mistake(
        "delta is inside the root, sqrt(r_hat + delta) (the lecture's version): "
        "Algorithm 8.7, Kingma & Ba and PyTorch divide by sqrt(r_hat) + delta",
        _adam(inside=True),
    ),
    Mistake(
        "t is increased after the bias correction: t <- t + 1 comes first, so the first "
        "step divides by 1 - rho^1",
        _adam(count_first=False),
    ),
)

_ADAM_SYMBOLS = {
    "t": "t (steps taken)",
    "s": "s (the first moment estimate)",
    "r": "r (the second moment estimate)",
    "theta": "theta (the parameters)",
}


def _adam_state(theta):
    return {"s": np.zeros_like(theta), "r": np.zeros_like(theta), "t": 0}


ADAM = Case(
    kind="step",
    title="Adam (Algorithm 8.7)",
    function="adam_step",
    arguments=("theta", "grad_fn", "state", "eps", "rho1", "rho2", "delta"),
    symbols=_ADAM_SYMBOLS,
    reference=_optimlib_step(
        lambda eps, rho1, rho2, delta: ol.Adam(eps, rho1, rho2, delta, delta_in_sqrt=False)
    ),
    hyper={"eps": 0.05, "rho1": 0.9, "rho2": 0.999, "delta": 1e-3},
    init_state=_adam_state,
    mistakes=_ADAM_MISTAKES,
)

ADAMW = Case(
    kind="step",
    title="AdamW (Adam with decoupled weight decay)",
    function="adamw_step",
    arguments=("theta", "grad_fn", "state", "eps", "rho1", "rho2", "delta", "weight_decay"),
    symbols=_ADAM_SYMBOLS,
    reference=_optimlib_step(
        lambda eps, rho1, rho2, delta, weight_decay: AdamW(eps, rho1, rho2, delta, weight_decay)
    ),
    hyper={"eps": 0.05, "rho1": 0.9, "rho2": 0.999, "delta": 1e-3, "weight_decay": 0.5},
    init_state=_adam_state,
    mistakes=(
        Mistake(
            "the weight decay is added to the gradient (L2 regularization, Adam's own "
            "weight_decay): AdamW shrinks theta <- theta (1 - eps lambda) directly, so the "
            "decay is not divided by sqrt(r_hat)",
            _adam(decay_in_gradient=True),
        ),
        *_ADAM_MISTAKES,
    ),
)


# --- clipping and the batch-norm backward pass -----------------------------------


def _clip_by_value(g, max_norm):
    return np.clip(g, -max_norm, max_norm)


def _clip_always(g, max_norm):
    return g * max_norm / np.linalg.norm(g)


def _clip_squared(g, max_norm):
    norm = np.linalg.norm(g)
    return g * max_norm / norm**2 if norm > max_norm else g


def _clip_inverted(g, max_norm):
    norm = np.linalg.norm(g)
    return g * norm / max_norm if norm > max_norm else g


CLIP_BY_NORM = Case(
    kind="clip",
    title="clipping by norm",
    function="clip_by_norm",
    arguments=("g", "max_norm"),
    symbols={"clipped g": "the clipped gradient"},
    reference=ol.clip_by_norm,
    mistakes=(
        Mistake(
            "this clips each entry to [-max_norm, max_norm] (clipping by value), which "
            "turns the direction: clipping by norm rescales the whole vector, "
            "g * max_norm / ||g||, when ||g|| > max_norm",
            _clip_by_value,
        ),
        Mistake(
            "this rescales every gradient to norm max_norm: one whose norm is at most "
            "max_norm must stay as it is",
            _clip_always,
        ),
        Mistake("this divides by ||g||^2: the factor is max_norm / ||g||", _clip_squared),
        Mistake("the factor is upside down: it is max_norm / ||g||", _clip_inverted),
    ),
    steps=5,
)


def _backward_without(mean_g: bool = True, sigma_path: bool = True, power: int = 1):
    def backward(g, H_hat, sigma):
        out = g
        if mean_g:
            out = out - np.mean(g, axis=0)
        if sigma_path:
            out = out - H_hat * np.mean(g * H_hat, axis=0)
        return out / sigma**power

    return backward


def _backward_sums(g, H_hat, sigma):
    return (g - np.sum(g, axis=0) - H_hat * np.sum(g * H_hat, axis=0)) / sigma


def _batch_norm_reference(g, H, delta):
    layer = ol.nn.BatchNorm(H.shape[1], delta=delta, affine=False)
    layer.forward(H)
    return layer.backward(g)


BATCH_NORM_BACKWARD = Case(
    kind="backward",
    title="the batch-norm backward pass",
    function="batch_norm_backward",
    arguments=("g", "H_hat", "sigma"),
    symbols={"dL/dH": "dL/dH (the gradient with respect to the layer's input)"},
    reference=_batch_norm_reference,
    hyper={"delta": 1e-8},
    mistakes=(
        Mistake(
            "both mean terms are missing: g / sigma treats mu and sigma as constants; "
            "they depend on every row, which adds - mean(g) - H_hat mean(g * H_hat)",
            _backward_without(mean_g=False, sigma_path=False),
        ),
        Mistake(
            "the path through mu is missing: subtract mean(g), the column mean of g",
            _backward_without(mean_g=False),
        ),
        Mistake(
            "the path through sigma is missing: subtract H_hat * mean(g * H_hat)",
            _backward_without(sigma_path=False),
        ),
        Mistake("sums where the formula has means: divide the column sums by m", _backward_sums),
        Mistake(
            "divided by sigma^2 (the variance): the formula divides by sigma once",
            _backward_without(power=2),
        ),
    ),
    steps=4,
)


CASES = {
    "sgd": SGD_SCHEDULE,
    "momentum": MOMENTUM,
    "nesterov": NESTEROV,
    "adagrad": ADAGRAD,
    "rmsprop": RMSPROP,
    "adam": ADAM,
    "adamw": ADAMW,
    "clip_by_norm": CLIP_BY_NORM,
    "batch_norm_backward": BATCH_NORM_BACKWARD,
}

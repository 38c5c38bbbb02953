"""The optimizers of the lecture, each written to be read beside its algorithm box.

Each class holds only its algorithm, with the box's symbols: ``init_state`` (the
"Initialize" lines) and ``update`` (the loop); the rest is in :mod:`optimlib._base`.
Ranges are checked on construction and on every assignment; a schedule's eps_k must be
finite and >= 0; with delta = 0 a zero gradient entry is 0/0, a DivergenceError.
theta: any shape, float32 or float64. "Conventions" says where PyTorch differs.
"""

from __future__ import annotations

import numpy as np

from . import _checks
from ._base import DivergenceError, Optimizer
from ._checks import Hyperparameter

__all__ = [
    "SGD", "AdaGrad", "Adam", "DivergenceError", "Momentum", "Nesterov", "Optimizer", "RMSProp"
]  # fmt: skip


class SGD(Optimizer):
    """Stochastic gradient descent, Algorithm 8.1 (Robbins & Monro 1951).

    theta <- theta - eps_k g.
    With full gradients this is plain gradient descent.

    Parameters: lr (eps) > 0, or a schedule k -> eps_k >= 0.
    Conventions: ``torch.optim.SGD(lr=eps)`` (no momentum, no weight decay) takes the
    same step. State: none.
    """

    def update(self, theta, g, eps):
        theta = theta - eps * g
        return theta, {}


class Momentum(Optimizer):
    """The heavy-ball method of Polyak (1964).

    v <- alpha v - eps g(theta);  theta <- theta + v.

    Parameters: lr (eps) > 0 or a schedule; alpha in [0, 1) (0 is SGD).
    Conventions: ``torch.optim.SGD(lr=eps, momentum=alpha)`` keeps b <- alpha b + g and
    steps theta <- theta - eps b, so v = -eps b: mathematically the same iterates for a
    constant eps (the rounding differs).
    With a schedule they differ: here each gradient is scaled by the eps_k of its own
    step, in PyTorch all of b by the current one. State: v (the velocity, 0 at the start).
    """

    alpha = Hyperparameter(_checks.unit_interval)

    def __init__(self, lr, alpha=0.9):
        self.alpha = alpha
        super().__init__(lr)

    def init_state(self, theta):
        return {"v": np.zeros_like(theta)}

    def update(self, theta, g, eps, v):
        v = self.alpha * v - eps * g
        theta = theta + v
        return theta, {"v": v}


class Nesterov(Momentum):
    """Nesterov's accelerated gradient in the form of Sutskever et al. (2013).

    v <- alpha v - eps g(theta + alpha v);  theta <- theta + v.
    The gradient is taken at the look-ahead point theta + alpha v.

    Parameters: lr (eps) > 0 or a schedule; alpha in [0, 1).
    Conventions: this is the Sutskever form, whose iterate is theta. PyTorch's
    ``SGD(momentum=alpha, nesterov=True)`` iterates the look-ahead variable
    phi = theta + alpha v instead (its gradient is taken at its own iterate): the same
    method in a shifted variable, so its iterates are this method's look-ahead points,
    not its thetas. State: v (0 at the start).
    """

    def gradient_point(self, theta, v):
        # The look-ahead point; the update itself is Momentum's.
        return theta + self.alpha * v


class AdaGrad(Optimizer):
    """AdaGrad, Algorithm 8.4 (Duchi, Hazan & Singer 2011).

    r <- r + g * g;  theta <- theta - eps g / (delta + sqrt(r)).

    Parameters: lr (eps) > 0 or a schedule; delta >= 0 (default 1e-7, the book's).
    Conventions: delta is outside the square root, as in Goodfellow et al.'s
    Algorithm 8.4 and in ``torch.optim.Adagrad`` (whose eps is delta, default 1e-10;
    with lr_decay = 0 and initial_accumulator_value = 0 it takes the same step).
    State: r (the sum of squared gradients, 0 at the start).
    """

    delta = Hyperparameter(_checks.nonnegative)

    def __init__(self, lr, delta=1e-7):
        self.delta = delta
        super().__init__(lr)

    def init_state(self, theta):
        return {"r": np.zeros_like(theta)}

    def update(self, theta, g, eps, r):
        r = r + g * g
        delta_theta = -eps * g / (self.delta + np.sqrt(r))
        theta = theta + delta_theta
        return theta, {"r": r}


class _RootMeanSquareScaling(Optimizer):
    """Where delta goes in the root of a second moment.

    ``delta_in_sqrt=True``: sqrt(delta + r) (Algorithm 8.5; the lecture's RMSProp, Adam);
    ``False``: sqrt(r) + delta (Algorithm 8.7, Kingma & Ba, PyTorch). They differ where r
    is small: for delta < 1, sqrt(delta) is far larger than delta.
    """

    delta = Hyperparameter(_checks.nonnegative)
    delta_in_sqrt = Hyperparameter(_checks.boolean)

    def root(self, r: np.ndarray) -> np.ndarray:
        if self.delta_in_sqrt:
            return np.sqrt(self.delta + r)
        return np.sqrt(r) + self.delta


class RMSProp(_RootMeanSquareScaling):
    """RMSProp, Algorithm 8.5 (Tieleman & Hinton 2012).

    r <- rho r + (1 - rho) g * g;  theta <- theta - eps g / sqrt(delta + r).

    Parameters: lr (eps) > 0 or a schedule; rho in [0, 1); delta >= 0;
    delta_in_sqrt True (default) or False.
    Conventions: delta inside the root, sqrt(delta + r), as in Goodfellow et al.'s
    Algorithm 8.5, which the lecture copies. ``torch.optim.RMSprop`` puts it outside,
    sqrt(r) + delta (its alpha is rho, its eps is delta, default 1e-8): that is
    ``delta_in_sqrt=False``. State: r (the running average of g * g, 0 at the start).
    """

    rho = Hyperparameter(_checks.unit_interval)

    def __init__(self, lr=0.01, rho=0.9, delta=1e-6, delta_in_sqrt=True):
        self.rho, self.delta, self.delta_in_sqrt = rho, delta, delta_in_sqrt
        super().__init__(lr)

    def init_state(self, theta):
        return {"r": np.zeros_like(theta)}

    def update(self, theta, g, eps, r):
        r = self.rho * r + (1 - self.rho) * g * g
        delta_theta = -eps * g / self.root(r)
        theta = theta + delta_theta
        return theta, {"r": r}


class _AdamFamily(Optimizer):
    """What Adam and its variants (AdamW, AMSGrad, Nadam) share: the decay rates
    rho1, rho2 of the two moments, delta, and the state s, r (first and second moments,
    zero at the start) and t (steps taken). Each subclass writes its own ``update``."""

    rho1 = Hyperparameter(_checks.unit_interval)
    rho2 = Hyperparameter(_checks.unit_interval)
    delta = Hyperparameter(_checks.nonnegative)

    def __init__(self, lr, rho1, rho2, delta):
        self.rho1, self.rho2, self.delta = rho1, rho2, delta
        super().__init__(lr)

    def init_state(self, theta):
        return {"s": np.zeros_like(theta), "r": np.zeros_like(theta), "t": 0}


class Adam(_AdamFamily, _RootMeanSquareScaling):
    """Adam, Algorithm 8.7 (Kingma & Ba 2015; Goodfellow et al.).

    t <- t + 1;  s <- rho1 s + (1 - rho1) g;  r <- rho2 r + (1 - rho2) g * g;
    s_hat = s / (1 - rho1^t);  r_hat = r / (1 - rho2^t);
    theta <- theta - eps s_hat / (sqrt(r_hat) + delta)    (delta_in_sqrt=False, default)
    theta <- theta - eps s_hat / sqrt(r_hat + delta)      (delta_in_sqrt=True, the lecture's).

    Parameters: lr (eps) > 0 or a schedule; rho1, rho2 in [0, 1); delta >= 0;
    delta_in_sqrt False (default) or True.
    Conventions: Kingma & Ba, Goodfellow et al.'s Algorithm 8.7 and ``torch.optim.Adam``
    all put delta outside the root, sqrt(r_hat) + delta: the default,
    ``delta_in_sqrt=False`` (PyTorch's betas are (rho1, rho2), its eps is delta). The
    lecture writes sqrt(r_hat + delta), its own departure from those sources:
    ``delta_in_sqrt=True``. With delta = 1e-8 inside the root the denominator never falls
    below sqrt(delta) = 1e-4, a different method wherever r_hat is that small.
    State: s, r (first and second moments, 0 at the start), t (steps taken).
    """

    def __init__(self, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8, delta_in_sqrt=False):
        self.delta_in_sqrt = delta_in_sqrt
        super().__init__(lr, rho1, rho2, delta)

    def update(self, theta, g, eps, s, r, t):
        t = t + 1
        s = self.rho1 * s + (1 - self.rho1) * g
        r = self.rho2 * r + (1 - self.rho2) * g * g
        s_hat = s / (1 - self.rho1**t)
        r_hat = r / (1 - self.rho2**t)
        delta_theta = -eps * s_hat / self.root(r_hat)
        theta = theta + delta_theta
        return theta, {"s": s, "r": r, "t": t}

"""The optimizers of the lecture, each written to be read beside its algorithm box.

Each class holds only its algorithm: ``init_state`` (the box's "Initialize" lines) and
``update`` (the lines inside its loop), with the box's symbols (``eps``, ``alpha``,
``rho``, ``delta``, ``s``, ``r``, ``t``, ``v``). Checks, the step counter, schedules,
saving and resuming, and divergence handling live in :mod:`optimlib._base`.
"""

from __future__ import annotations

import numpy as np

from . import _checks
from ._base import DivergenceError, Optimizer
from ._checks import Hyperparameter

__all__ = [
    "SGD",
    "AdaGrad",
    "Adam",
    "DivergenceError",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "RMSProp",
]


class SGD(Optimizer):
    """Stochastic gradient descent, Algorithm 8.1 (Robbins & Monro 1951).

    theta <- theta - eps_k g.
    With full gradients this is plain gradient descent.
    """

    def update(self, theta, g, eps):
        theta = theta - eps * g
        return theta, {}


class Momentum(Optimizer):
    """The heavy-ball method of Polyak (1964).

    v <- alpha v - eps g(theta);  theta <- theta + v.
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
    The gradient is taken at the look-ahead point theta + alpha v. PyTorch's
    ``nesterov=True`` iterates phi = theta + alpha v instead: the same method
    in a shifted variable.
    """

    def gradient_point(self, theta, v):
        # The look-ahead point; the update itself is Momentum's.
        return theta + self.alpha * v


class AdaGrad(Optimizer):
    """AdaGrad, Algorithm 8.4 (Duchi, Hazan & Singer 2011).

    r <- r + g * g;  theta <- theta - eps g / (delta + sqrt(r)).
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

    ``delta_in_sqrt=True``:  sqrt(delta + r)  (the lecture, Algorithms 8.5, 8.7)
    ``delta_in_sqrt=False``: sqrt(r) + delta  (Kingma & Ba, PyTorch)
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
    """Adam, Algorithm 8.7 (Kingma & Ba 2015).

    t <- t + 1;  s <- rho1 s + (1 - rho1) g;  r <- rho2 r + (1 - rho2) g * g;
    s_hat = s / (1 - rho1^t);  r_hat = r / (1 - rho2^t);
    theta <- theta - eps s_hat / sqrt(r_hat + delta).
    """

    def __init__(self, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8, delta_in_sqrt=True):
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

"""Optimizers beyond the lecture: AdamW, Nadam, AMSGrad, Adadelta and Lion.

Written like :mod:`optimlib.optimizers`, in PyTorch's formulation where PyTorch has the
method (each docstring says where the paper differs). Ranges: ``lr`` > 0 or a schedule;
``rho``, ``rho1``, ``rho2`` in [0, 1); ``delta``, ``weight_decay``, ``momentum_decay``
finite numbers >= 0. theta: float32 or float64.
"""

from __future__ import annotations

import numpy as np

from . import _checks
from ._base import Optimizer
from ._checks import Hyperparameter
from .optimizers import _AdamFamily

__all__ = ["AMSGrad", "Adadelta", "AdamW", "Lion", "Nadam"]


class AdamW(_AdamFamily):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019).

    t <- t + 1;  theta <- theta (1 - eps lambda);
    s <- rho1 s + (1 - rho1) g;  r <- rho2 r + (1 - rho2) g * g;
    s_hat = s / (1 - rho1^t);  r_hat = r / (1 - rho2^t);
    theta <- theta - eps s_hat / (sqrt(r_hat) + delta).

    lambda is ``weight_decay``. The decay shrinks theta directly instead of adding
    lambda theta to g, so it is not rescaled by 1 / sqrt(r_hat). As in PyTorch's
    ``torch.optim.AdamW``, the decay multiplies theta by (1 - eps lambda) BEFORE the Adam
    step, and it is scaled by the learning rate eps (the paper scales it by the schedule
    multiplier alone); g is the gradient at the theta before the decay.
    State: s, r (first and second moments), t (steps taken).
    """

    weight_decay = Hyperparameter(_checks.nonnegative)

    def __init__(self, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8, weight_decay=1e-2):
        self.weight_decay = weight_decay
        super().__init__(lr, rho1, rho2, delta)

    def update(self, theta, g, eps, s, r, t):
        t = t + 1
        theta = theta * (1 - eps * self.weight_decay)
        s = self.rho1 * s + (1 - self.rho1) * g
        r = self.rho2 * r + (1 - self.rho2) * g * g
        s_hat = s / (1 - self.rho1**t)
        r_hat = r / (1 - self.rho2**t)
        delta_theta = -eps * s_hat / (np.sqrt(r_hat) + self.delta)
        theta = theta + delta_theta
        return theta, {"s": s, "r": r, "t": t}


class AMSGrad(_AdamFamily):
    """AMSGrad (Reddi, Kale & Kumar 2018): Adam that divides by the largest r so far.

    t <- t + 1;  s <- rho1 s + (1 - rho1) g;  r <- rho2 r + (1 - rho2) g * g;
    r_max <- max(r_max, r);
    s_hat = s / (1 - rho1^t);  r_hat = r_max / (1 - rho2^t);
    theta <- theta - eps s_hat / (sqrt(r_hat) + delta).

    This is PyTorch's ``Adam(amsgrad=True)``: the maximum is taken over the uncorrected
    r, and the bias correction of step t is applied to it afterwards (the paper has no
    bias correction). Because r_max never decreases, the effective step
    eps sqrt(1 - rho2^t) / sqrt(r_max) cannot jump up when r forgets a large gradient,
    as Adam's does; only the bias-correction factor raises it, slowly and towards 1.
    State: s, r (first and second moments), r_max (elementwise maximum of r), t.
    """

    def __init__(self, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
        super().__init__(lr, rho1, rho2, delta)

    def init_state(self, theta):
        return {**super().init_state(theta), "r_max": np.zeros_like(theta)}

    def update(self, theta, g, eps, s, r, r_max, t):
        t = t + 1
        s = self.rho1 * s + (1 - self.rho1) * g
        r = self.rho2 * r + (1 - self.rho2) * g * g
        r_max = np.maximum(r_max, r)
        s_hat = s / (1 - self.rho1**t)
        r_hat = r_max / (1 - self.rho2**t)
        delta_theta = -eps * s_hat / (np.sqrt(r_hat) + self.delta)
        theta = theta + delta_theta
        return theta, {"s": s, "r": r, "r_max": r_max, "t": t}


class Nadam(_AdamFamily):
    """Nadam, Adam with Nesterov momentum (Dozat 2016), as in ``torch.optim.NAdam``.

    t <- t + 1;
    mu_t = rho1 (1 - 0.96^(t psi) / 2);  mu_next = rho1 (1 - 0.96^((t + 1) psi) / 2);
    mu_product <- mu_product mu_t;
    s <- rho1 s + (1 - rho1) g;  r <- rho2 r + (1 - rho2) g * g;
    root = sqrt(r / (1 - rho2^t)) + delta;
    theta <- theta - eps (1 - mu_t) / (1 - mu_product) g / root;
    theta <- theta - eps mu_next / (1 - mu_product mu_next) s / root.

    psi is ``momentum_decay``: the momentum coefficient mu_t warms up from about rho1/2
    towards rho1 (Dozat's schedule). The two lines for theta are the Nesterov look-ahead:
    the current gradient, and the momentum s as it will be weighted at the next step;
    mu_product = mu_1 ... mu_t does Adam's bias correction for the varying mu_t.
    State: s, r (first and second moments), t, mu_product (a float, 1 at the start).
    (PyTorch keeps mu_product in float32 unless its default dtype is float64.)
    """

    momentum_decay = Hyperparameter(_checks.nonnegative)

    def __init__(self, lr=2e-3, rho1=0.9, rho2=0.999, delta=1e-8, momentum_decay=4e-3):
        self.momentum_decay = momentum_decay
        super().__init__(lr, rho1, rho2, delta)

    def init_state(self, theta):
        return {**super().init_state(theta), "mu_product": 1.0}

    def update(self, theta, g, eps, s, r, t, mu_product):
        t = t + 1
        mu = self.rho1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))
        mu_next = self.rho1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * self.momentum_decay))
        mu_product = mu_product * mu
        s = self.rho1 * s + (1 - self.rho1) * g
        r = self.rho2 * r + (1 - self.rho2) * g * g
        root = np.sqrt(r / (1 - self.rho2**t)) + self.delta
        theta = theta - eps * (1 - mu) / (1 - mu_product) * g / root
        theta = theta - eps * mu_next / (1 - mu_product * mu_next) * s / root
        return theta, {"s": s, "r": r, "t": t, "mu_product": mu_product}


class Adadelta(Optimizer):
    """Adadelta (Zeiler 2012), as in ``torch.optim.Adadelta``.

    r <- rho r + (1 - rho) g * g;
    delta_theta = -sqrt(u + delta) / sqrt(r + delta) g;
    u <- rho u + (1 - rho) delta_theta * delta_theta;
    theta <- theta + eps delta_theta.

    The ratio of two root mean squares gives the step the units of theta. Zeiler's
    method has no learning rate: that is eps = 1, the default; PyTorch multiplies the
    step by lr, so eps is here too. Here delta sits inside both roots, as in the paper.
    State: r (running average of g * g), u (running average of delta_theta^2).
    """

    rho = Hyperparameter(_checks.unit_interval)
    delta = Hyperparameter(_checks.nonnegative)

    def __init__(self, lr=1.0, rho=0.9, delta=1e-6):
        self.rho, self.delta = rho, delta
        super().__init__(lr)

    def init_state(self, theta):
        return {"r": np.zeros_like(theta), "u": np.zeros_like(theta)}

    def update(self, theta, g, eps, r, u):
        r = self.rho * r + (1 - self.rho) * g * g
        delta_theta = -np.sqrt(u + self.delta) / np.sqrt(r + self.delta) * g
        u = self.rho * u + (1 - self.rho) * delta_theta * delta_theta
        theta = theta + eps * delta_theta
        return theta, {"r": r, "u": u}


class Lion(Optimizer):
    """Lion, EvoLved Sign Momentum (Chen et al. 2023, Algorithm 2).

    c = rho1 s + (1 - rho1) g;
    theta <- theta - eps (sign(c) + lambda theta);
    s <- rho2 s + (1 - rho2) g.

    Every coordinate moves by exactly eps (plus the decay), in the direction of an
    interpolation c between the momentum and the gradient; the momentum s itself
    forgets more slowly (rho2 > rho1). lambda is ``weight_decay``, decoupled as in AdamW.
    PyTorch has no Lion: the tests compare with the paper's algorithm line by line.
    State: s (the momentum, the paper's m).
    """

    rho1 = Hyperparameter(_checks.unit_interval)
    rho2 = Hyperparameter(_checks.unit_interval)
    weight_decay = Hyperparameter(_checks.nonnegative)

    def __init__(self, lr=1e-4, rho1=0.9, rho2=0.99, weight_decay=0.0):
        self.rho1, self.rho2, self.weight_decay = rho1, rho2, weight_decay
        super().__init__(lr)

    def init_state(self, theta):
        return {"s": np.zeros_like(theta)}

    def update(self, theta, g, eps, s):
        c = self.rho1 * s + (1 - self.rho1) * g
        theta = theta - eps * (np.sign(c) + self.weight_decay * theta)
        s = self.rho2 * s + (1 - self.rho2) * g
        return theta, {"s": s}

"""Networks as problems: an MLP on two spirals (chapter 9), a saturated unit with a
plateau (chapter 2), a linear recurrence whose gradients explode or vanish (chapter 7)."""

from __future__ import annotations

import math

import numpy as np

from .. import _checks
from .. import nn as _nn
from ._base import Problem, _frozen, _generator, _value, _vector
from .finite_sums import _REDUCTIONS, FiniteSum


def two_spirals(N, rng, noise=0.1, turns=1.5) -> tuple[np.ndarray, np.ndarray]:
    """N points on two interleaved spirals, labels 0 and 1 (Lang & Witbrock 1988).

    Each winds ``turns`` times, radius growing by 1 per turn, the second turned by half a
    turn (arms 1/2 apart); points spread evenly along the length (t = sqrt(U)), plus
    N(0, ``noise``^2) per coordinate. Returns X (N, 2) and y in {0, 1}, half each, shuffled.
    """
    N = _checks.positive_int("N", N)
    rng = _generator(rng)
    noise = _checks.nonnegative("noise", noise)
    turns = _checks.positive("turns", turns)
    y = rng.permutation(np.arange(N) % 2)
    t = np.sqrt(rng.random(N))
    angle = 2 * np.pi * turns * t + np.pi * y
    X = (turns * t)[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    X += noise * rng.standard_normal((N, 2))
    return X, y


class Network(FiniteSum):
    """An MLP classifier on a data set, as a finite-sum problem of its flat parameters.

    L_i is the cross-entropy of (X[i], y[i]) under ``mlp`` (``loss="cross_entropy"``):
    ``minimize(Network(mlp, X, y, rng), opt, steps, batch_size=m, rng=...)``. Minibatch
    gradients take one backward pass on the chosen rows. ``x0`` defaults to
    ``mlp.init_params(rng)``; ``x_star``, ``f_star`` are None. Batch norm is refused: it
    makes an example's loss depend on its minibatch, so f is no longer a fixed sum.
    """

    def __init__(self, mlp, X, y, rng=None, x0=None):
        if not isinstance(mlp, _nn.MLP):
            raise ValueError(f"mlp must be an optimlib.nn.MLP; got {type(mlp).__name__}")
        if mlp.loss_name != "cross_entropy" or mlp.batch_norm:
            raise ValueError(
                f"mlp must be a classifier (loss='cross_entropy') without batch norm; got {mlp!r}"
            )
        labels = mlp._check_y(y, X)
        mlp._check_X(X, np.float64)
        super().__init__(X, labels)
        self.mlp, self.labels = mlp, _frozen(labels).astype(np.int64)
        self.labels.flags.writeable = False
        self.dim = mlp.num_params
        if x0 is None:
            if rng is None:
                raise ValueError("rng: a Network needs an rng to initialize x0 (or an x0)")
            x0 = mlp.init_params(_generator(rng))
        self.x0 = _frozen(_vector("x0", x0, self.dim))
        self.name = f"MLP {list(mlp.sizes)} on N={self.N} examples"

    def per_example_losses(self, w, idx=None) -> np.ndarray:
        X, labels = self._examples(idx)
        w = self._points(w, "w")
        flat = w.reshape(-1, self.dim)
        rows = np.arange(len(labels))
        losses = [-_nn.log_softmax(self.mlp.forward(t, X), axis=1)[rows, labels] for t in flat]
        return np.array(losses).reshape((*w.shape[:-1], len(labels)))

    def per_example_grads(self, w, idx=None) -> np.ndarray:
        X, labels = self._examples(idx)
        w = self._point(w, "w")
        return np.array([self.mlp.grad(w, X[i : i + 1], labels[i : i + 1]) for i in range(len(X))])

    def grad(self, w) -> np.ndarray:
        return self.mlp.grad(self._point(w, "w"), self.X, self.labels)

    def minibatch_grad(self, w, m, rng, reduction="mean") -> np.ndarray:
        """The MLP's gradient on m distinct random examples (times N with "sum")."""
        reduction = _checks.choice("reduction", reduction, _REDUCTIONS)
        X, labels = self._examples(self.sample_indices(m, rng))
        g = self.mlp.grad(self._point(w, "w"), X, labels)
        return self.N * g if reduction == "sum" else g

    def accuracy(self, w) -> float:
        """The fraction of the N examples whose predicted class is the label."""
        return self.mlp.accuracy(self._point(w, "w"), self.X, self.labels)

    def _examples(self, idx):
        X, _ = self._rows(idx)
        return X, self.labels if idx is None else self.labels[np.asarray(idx)]


class SaturatedUnit(Problem):
    """One tanh unit, two examples, a plateau: y_hat = w2 tanh(w1 x + b1) + b2.

    Examples (-1, -1) and (1, 1), mean squared error, theta = (w1, b1, w2, b2) as in
    ``MLP([1, 1, 1], "tanh", "mse")``. x0 = (0, beta, 1, 0) starts where tanh's slope is
    sech^2(beta) ~ 4 exp(-2 beta): the loss sits at 1 until w1 grows. f* = 0 is attained.
    """

    X = _frozen([[-1.0], [1.0]])
    y = _frozen([-1.0, 1.0])
    plateau_loss = 1.0
    f_star = 0.0

    def __init__(self, beta=3.0):
        self.beta = _checks.finite("beta", beta)
        self.mlp = _nn.MLP([1, 1, 1], activation="tanh", loss="mse")
        self.dim = self.mlp.num_params  # 4
        self.x0 = _frozen([0.0, self.beta, 1.0, 0.0])
        self.name = f"saturated tanh unit (beta={self.beta:g})"

    @property
    def slope(self) -> float:
        """tanh'(beta) = sech^2(beta): the unit's slope at the start."""
        return 1.0 / math.cosh(self.beta) ** 2

    def plateau_gradient(self, w2=1.0) -> float:
        """|df/dw1| on the plateau (w1 = 0, output 0 for both examples): 2 |w2| sech^2(beta).

        There the residuals are (+1, -1), so df/dw1 = -2 w2 sech^2(beta) and df/db1 = 0.
        """
        return 2 * abs(_checks.finite("w2", w2)) * self.slope

    def plateau_point(self, w2=1.0) -> np.ndarray:
        """The point (0, beta, w2, -w2 tanh(beta)) of the plateau: output 0, loss 1."""
        w2 = _checks.finite("w2", w2)
        return np.array([0.0, self.beta, w2, -w2 * math.tanh(self.beta)])

    def f(self, x):
        x = self._points(x)
        flat = x.reshape(-1, self.dim)
        values = np.array([self.mlp.loss(theta, self.X, self.y) for theta in flat])
        return _value(values.reshape(x.shape[:-1]), x)

    def grad(self, x) -> np.ndarray:
        return self.mlp.grad(self._point(x), self.X, self.y)


def unroll(W, H0, T: int) -> np.ndarray:
    """The states h_0, ..., h_T of h_t = W h_{t-1}: shape (T + 1, ..., n, N).

    ``W`` is (n, n) or a stack (..., n, n); ``H0`` (n, N) holds N starting states.
    """
    T = _checks.nonnegative_int("T", T)
    W = np.asarray(W, dtype=float)
    h = np.broadcast_to(np.asarray(H0, dtype=float), (*W.shape[:-2], *np.shape(H0)))
    states = [h]
    for _ in range(T):
        h = W @ h
        states.append(h)
    return np.stack(states)


def backward(W, states, delta) -> tuple[np.ndarray, np.ndarray]:
    """Backpropagation through the recurrence, given delta = dL/dh_T.

    h_t = W h_{t-1} gives dL/dh_{t-1} = W^T dL/dh_t and dL/dW = sum_t dL/dh_t h_{t-1}^T
    (t = 1..T): every factor W that h_T passed through is also crossed on the way back.
    Returns (dL/dW, signals) with ``signals[t]`` = dL/dh_t, t = 0..T.
    """
    W = np.asarray(W, dtype=float)
    WT = np.swapaxes(W, -1, -2)
    states_T = np.swapaxes(np.asarray(states, dtype=float), -1, -2)  # every h_t^T at once
    T = len(states_T) - 1
    signals = [None] * (T + 1)
    signals[T] = a = np.asarray(delta, dtype=float)
    dW = np.zeros(np.broadcast_shapes(W.shape, a.shape[:-2] + W.shape[-2:]))
    for t in range(T, 0, -1):
        dW = dW + a @ states_T[t - 1]
        a = WT @ a
        signals[t - 1] = a
    return dW, np.stack(signals)


class LinearRecurrence(Problem):
    """f(W) = (1 / 2N) sum_i ||h_T^(i) - y_i||^2 with h_t = W h_{t-1}, h_0^(i) = x_i.

    Columns of ``X`` (n, N) are starts, of ``Y`` targets; theta is W row by row. The
    gradient is :func:`backward` of (h_T - y) / N. ``f_star``: given by the caller, or None.
    """

    def __init__(self, X, Y, T: int, x0, f_star=None, name="linear recurrence"):
        X, Y = _checks.finite_array("X", X), _checks.finite_array("Y", Y)
        if X.ndim != 2 or X.shape != Y.shape or X.size == 0:
            raise ValueError(
                f"X and Y must both have shape (n, N), n, N >= 1; got {X.shape} and {Y.shape}"
            )
        self.X, self.Y = _frozen(X), _frozen(Y)
        self.n, self.N = X.shape
        self.T = _checks.positive_int("T", T)
        self.dim = self.n * self.n
        self.x0 = _frozen(_vector("x0", np.reshape(x0, -1), self.dim))
        self.f_star = None if f_star is None else _checks.finite("f_star", f_star)
        self.name = str(name)

    def matrix(self, theta) -> np.ndarray:
        """theta (..., n^2) as W (..., n, n)."""
        theta = self._points(theta, "theta")
        return theta.reshape(*theta.shape[:-1], self.n, self.n)

    def f(self, x):
        W = self.matrix(x)
        residual = np.linalg.matrix_power(W, self.T) @ self.X - self.Y  # by repeated squaring
        return _value(np.sum(residual**2, axis=(-2, -1)) / (2 * self.N), self._points(x))

    def grad(self, x) -> np.ndarray:
        W = self.matrix(x)
        states = unroll(W, self.X, self.T)
        dW, _ = backward(W, states, (states[-1] - self.Y) / self.N)
        return dW.reshape(np.shape(x))

    def hess(self, x, h: float = 1e-6) -> np.ndarray:
        """The Hessian at one point, by central differences of the exact gradient.

        Accurate to ~1e-8 of its largest entry, enough for limits like 2 / lambda_max.
        """
        x = self._point(x)
        h = _checks.positive("h", h)
        steps = h * np.eye(self.dim)
        H = np.stack([(self.grad(x + e) - self.grad(x - e)) / (2 * h) for e in steps], axis=1)
        return (H + H.T) / 2

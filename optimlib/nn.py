"""Softmax and cross-entropy, batch normalization, and an MLP on a flat parameter vector.

All numpy, in the input's floating dtype, with hand-derived gradients (the tests compare
them with PyTorch's autograd). The softmax family subtracts the largest entry first
(Goodfellow et al. 2016, sec. 4.1); :func:`naive_softmax` is the unprotected formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from . import _checks
from ._checks import Hyperparameter

__all__ = [
    "MLP", "BatchNorm", "batch_norm", "cross_entropy", "cross_entropy_grad", "gradient_check",
    "log_softmax", "logsumexp", "naive_softmax", "softmax"
]  # fmt: skip


def _shifted(z: np.ndarray, axis) -> tuple[np.ndarray, np.ndarray]:
    """``(z - c, c)`` with c the largest entry along ``axis`` (kept as a length-1 axis).

    After the shift the largest entry is 0: no exp overflows, and the sum of exponentials
    is at least exp(0) = 1, so its log never sees 0. A slice whose maximum is infinite
    gains nothing from a shift (inf - inf is NaN), so it is left unshifted.
    """
    c = np.max(z, axis=axis, keepdims=True)
    c = np.where(np.isfinite(c), c, 0)
    return z - c, c


def softmax(z, axis=-1) -> np.ndarray:
    """softmax(z)_i = exp(z_i - c) / sum_j exp(z_j - c), with c = max_j z_j.

    Any constant c gives the same value; the maximum is the one that cannot overflow.
    Underflow of the small terms to 0 is harmless (they are negligible next to exp(0) = 1)
    and is not reported, even under ``np.errstate(all="raise")``.
    """
    z = _checks.float_array("z", z)
    with np.errstate(over="ignore", under="ignore"):
        shifted, _ = _shifted(z, axis)
        e = np.exp(shifted)
        return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax(z, axis=-1) -> np.ndarray:
    """log softmax(z)_i = (z_i - c) - log sum_j exp(z_j - c), with c = max_j z_j.

    Not log(softmax(z)), which gives log 0 = -inf where a probability underflows.
    """
    z = _checks.float_array("z", z)
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        shifted, _ = _shifted(z, axis)
        return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


def logsumexp(z, axis=-1, keepdims=False) -> np.ndarray:
    """log sum_j exp(z_j) = c + log sum_j exp(z_j - c), with c = max_j z_j."""
    z = _checks.float_array("z", z)
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        shifted, c = _shifted(z, axis)
        out = c + np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
    return out if keepdims else np.squeeze(out, axis=axis)


def naive_softmax(z, axis=-1) -> np.ndarray:
    """exp(z_i) / sum_j exp(z_j), unprotected, for teaching: z = [1000, 1000] gives NaN.

    Floating-point warnings are silenced, so the failure shows only in the result.
    """
    z = _checks.float_array("z", z)
    with np.errstate(all="ignore"):
        e = np.exp(z)
        return e / np.sum(e, axis=axis, keepdims=True)


def _check_labels(labels, m: int, num_classes: int, name: str = "labels") -> np.ndarray:
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must be integer class indices in [0, {num_classes}); got dtype {labels.dtype}"
        )
    _checks.shaped(name, labels, (m,), f"({m},), one label per example")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"{name} must be class indices in [0, {num_classes}); "
            f"got values from {labels.min()} to {labels.max()}"
        )
    return labels


def _softmax_cross_entropy(logits, labels, name="labels") -> tuple[float, np.ndarray]:
    """The loss and its gradient from one log-softmax, shared by the two public functions."""
    logits = _checks.float_array("logits", logits)
    if logits.ndim != 2 or logits.size == 0:
        raise ValueError(
            f"logits must have shape (m, C): m >= 1 examples, C >= 1 classes; "
            f"got shape {logits.shape}"
        )
    m, num_classes = logits.shape
    labels = _check_labels(labels, m, num_classes, name)
    rows = np.arange(m)
    log_p = log_softmax(logits, axis=1)
    loss = -log_p[rows, labels].sum() / m
    dlogits = softmax(logits, axis=1)
    dlogits[rows, labels] -= 1
    with np.errstate(under="ignore"):  # a probability of 1e-310 may become 0 here: harmless
        dlogits /= m
    return float(loss), dlogits


def cross_entropy(logits, labels) -> float:
    """Mean -log softmax(logits_i)[y_i] over the m rows of ``logits`` (m, C); labels in [0, C).

    Finite for huge or tiny logits; equals ``torch.nn.functional.cross_entropy`` (mean).
    """
    return _softmax_cross_entropy(logits, labels)[0]


def cross_entropy_grad(logits, labels) -> np.ndarray:
    """(softmax(logits) - one_hot(labels)) / m: the gradient of :func:`cross_entropy`."""
    return _softmax_cross_entropy(logits, labels)[1]


def _batch_moments(H: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """mu and the biased variance (1/m) sum_i (H_i - mu)^2 over the minibatch axis 0."""
    m = H.shape[0]
    if m < 2:
        raise ValueError(
            f"H: batch normalization in training mode needs a minibatch of m >= 2 examples; "
            f"got m = {m}. The variance of a single example is 0, so every normalized value "
            f"would be 0 and carry no information. Use more examples, or evaluation mode "
            f"(training=False), which normalizes with the running averages instead."
        )
    # sum / m is np.mean's own arithmetic, without its Python overhead (a deep network
    # normalizes every layer at every step)
    mu = H.sum(axis=0) / m
    var = ((H - mu) ** 2).sum(axis=0) / m
    return mu, var


def batch_norm(H, delta=1e-8) -> np.ndarray:
    """The lecture's H' = (H - mu) / sqrt(delta + var), mean and biased variance over axis 0.

    H is (m, n) or (m,) with m >= 2. No gamma, beta or running averages (see :class:`BatchNorm`).
    """
    delta = _checks.nonnegative("delta", delta)
    H = _checks.parameter_array("H", H)  # float16: delta underflows, 0/0 for a flat column
    if H.ndim not in (1, 2):
        raise ValueError(f"H must have shape (m, n) or (m,); got shape {H.shape}")
    mu, var = _batch_moments(H)
    return (H - mu) / np.sqrt(delta + var)


class BatchNorm:
    """Batch normalization, Algorithm 1 of Ioffe & Szegedy (2015), with its backward pass.

    out = gamma * (H - mu) / sqrt(delta + var) + beta (gamma = 1, beta = 0 at the start;
    ``affine=False`` drops them). Running averages follow ``torch.nn.BatchNorm1d``
    (the running variance is unbiased, m / (m - 1)); evaluation mode normalizes with them.
    """

    delta = Hyperparameter(_checks.nonnegative)
    momentum = Hyperparameter(_checks.closed_unit_interval)

    def __init__(self, num_features, delta=1e-8, momentum=0.1, affine=True):
        self.num_features = _checks.positive_int("num_features", num_features)
        self.delta = delta
        self.momentum = momentum
        self.affine = _checks.boolean("affine", affine)
        self.gamma = np.ones(self.num_features) if self.affine else None
        self.beta = np.zeros(self.num_features) if self.affine else None
        self.grads: dict = {}
        self.reset_running_stats()
        self._cache = None

    def reset_running_stats(self) -> None:
        """Forget the running averages: mean 0 and variance 1, as before any training."""
        self.running_mean = np.zeros(self.num_features)
        self.running_var = np.ones(self.num_features)

    def forward(self, H, training=True, *, update_running=True) -> np.ndarray:
        """The layer's output gamma * H_hat + beta for a minibatch H of shape (m, num_features).

        H_hat uses the batch's mean and variance in training mode, the running averages
        when ``training=False``. In training mode the running averages move towards this
        batch's statistics, unless ``update_running=False`` (to look without counting).
        """
        training = _checks.boolean("training", training)
        H = _checks.parameter_array("H", H)  # float16: delta underflows (0/0)
        _checks.shaped(
            "H", H, (None, self.num_features), f"(m, num_features) = (m, {self.num_features})"
        )
        if training:
            mu, var = _batch_moments(H)
            if update_running:
                m, p = H.shape[0], self.momentum
                self.running_mean = (1 - p) * self.running_mean + p * mu
                self.running_var = (1 - p) * self.running_var + p * var * (m / (m - 1))
        else:
            mu = self.running_mean.astype(H.dtype, copy=False)
            var = self.running_var.astype(H.dtype, copy=False)
        sigma = np.sqrt(self.delta + var)
        H_hat = (H - mu) / sigma
        self._cache = (H_hat, sigma, training)
        if not self.affine:
            return H_hat
        gamma = self.gamma.astype(H.dtype, copy=False)
        return gamma * H_hat + self.beta.astype(H.dtype, copy=False)

    def backward(self, dH_out) -> np.ndarray:
        """dL/dH from dL/dout, for the last ``forward``; stores dL/dgamma, dL/dbeta in ``grads``.

        With g = dL/dH_hat = gamma * dH_out, training mode gives (every mean over axis 0)
            dL/dH = (g - mean(g) - H_hat * mean(g * H_hat)) / sigma,
        where the two subtracted terms are the paths through mu and through sigma. In
        evaluation mode mu and sigma are constants and dL/dH = g / sigma.
        """
        if self._cache is None:
            raise RuntimeError("backward: call forward first; there is no batch to differentiate")
        H_hat, sigma, training = self._cache
        dH_out = _checks.parameter_array("dH_out", dH_out)
        _checks.shaped("dH_out", dH_out, H_hat.shape, f"{H_hat.shape}, the last forward's output's")
        if self.affine:
            self.grads = {
                "gamma": np.sum(dH_out * H_hat, axis=0),
                "beta": np.sum(dH_out, axis=0),
            }
            g = dH_out * self.gamma.astype(dH_out.dtype, copy=False)
        else:
            self.grads = {}
            g = dH_out
        if not training:
            return g / sigma
        m = len(g)
        return (g - g.sum(axis=0) / m - H_hat * ((g * H_hat).sum(axis=0) / m)) / sigma

    def __repr__(self) -> str:
        return (
            f"BatchNorm({self.num_features}, delta={self.delta!r}, "
            f"momentum={self.momentum!r}, affine={self.affine!r})"
        )


# --- a multilayer perceptron on a flat parameter vector --------------------------------

_ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    # name: (phi(u), phi'(u) written with u and a = phi(u), whichever is cheaper)
    "relu": (lambda u: np.maximum(u, 0), lambda u, a: (u > 0).astype(u.dtype)),
    "tanh": (np.tanh, lambda u, a: 1 - a * a),
    "linear": (lambda u: u, lambda u, a: np.ones_like(u)),
}
_LOSSES = ("cross_entropy", "mse")


class MLP:
    """A multilayer perceptron whose parameters are one flat vector theta, with manual backprop.

    ``sizes = [n_0, ..., n_L]``: h_l = phi(h_{l-1} W_l + b_l), no phi on the last layer,
    whose output is the logits (``loss="cross_entropy"``, integer labels) or a prediction
    (``loss="mse"``, like ``torch.nn.functional.mse_loss``). Rows of X are examples.
    ``activation``: relu (relu'(0) = 0, as in PyTorch), tanh or linear; ``bias=False``
    drops every bias (``MLP([1] * (l + 1), "linear", bias=False, loss="mse")`` is a deep
    linear chain). ``batch_norm=True`` puts BN between each hidden linear layer and its
    activation, with gamma_l, beta_l in theta in place of the bias (Ioffe & Szegedy 2015,
    sec. 3.2). theta holds, layer after layer, W_l (row-major), then b_l or gamma_l,
    beta_l (:meth:`unflatten`). Only :meth:`loss_and_grad` and :meth:`grad` update the
    BN running averages, so logging a loss or checking a gradient does not disturb them.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation="relu",
        batch_norm=False,
        loss="cross_entropy",
        bias=True,
        bn_delta=1e-8,
        bn_momentum=0.1,
    ):
        if isinstance(sizes, str | bytes) or np.ndim(sizes) != 1 or len(sizes) < 2:
            raise ValueError(
                f"sizes must be a list of at least 2 layer widths [n_in, ..., n_out]; got {sizes!r}"
            )
        self.sizes = tuple(_checks.positive_int(f"sizes[{i}]", n) for i, n in enumerate(sizes))
        self.activation = _checks.choice("activation", activation, tuple(_ACTIVATIONS))
        self.loss_name = _checks.choice("loss", loss, _LOSSES)
        if self.loss_name == "cross_entropy" and self.sizes[-1] < 2:
            raise ValueError(
                f"sizes[-1] must be >= 2 with loss='cross_entropy' (one logit per class); "
                f"got {self.sizes[-1]}"
            )
        self.batch_norm = _checks.boolean("batch_norm", batch_norm)
        self.bias = _checks.boolean("bias", bias)
        bn_delta = _checks.nonnegative("bn_delta", bn_delta)
        bn_momentum = _checks.closed_unit_interval("bn_momentum", bn_momentum)
        self.num_layers = len(self.sizes) - 1
        self.bn_layers: list[BatchNorm | None] = [
            BatchNorm(n, delta=bn_delta, momentum=bn_momentum, affine=False)
            if self.batch_norm and l < self.num_layers - 1
            else None
            for l, n in enumerate(self.sizes[1:])
        ]
        self._layout, offset = [], 0  # per layer: name -> (offset in theta, shape)
        for n_in, n_out, bn in zip(self.sizes[:-1], self.sizes[1:], self.bn_layers, strict=True):
            extra = ("gamma", "beta") if bn is not None else ("b",) if self.bias else ()
            self._layout.append({})
            for name in ("W", *extra):
                shape = (n_in, n_out) if name == "W" else (n_out,)
                self._layout[-1][name] = (offset, shape)
                offset += math.prod(shape)
        self.num_params = offset

    # --- parameters ------------------------------------------------------------------
    def unflatten(self, theta) -> list[dict[str, np.ndarray]]:
        """Per layer, named views into theta ("W", and "b" or "gamma", "beta"): writable."""
        theta = self._check_theta(theta)
        return [
            {
                name: theta[offset : offset + math.prod(shape)].reshape(shape)
                for name, (offset, shape) in layer.items()
            }
            for layer in self._layout
        ]

    def init_params(self, rng, dtype=np.float64) -> np.ndarray:
        """A fresh theta: zero biases and betas, unit gammas, W_l ~ N(0, 2 / n_{l-1}) before a
        relu (He et al. 2015), else N(0, 2 / (n_{l-1} + n_l)) (Glorot & Bengio 2010)."""
        rng = np.random.default_rng(rng)
        theta = np.zeros(self.num_params, dtype=_checks.parameter_dtype(dtype))
        for l, params in enumerate(self.unflatten(theta)):
            n_in, n_out = params["W"].shape
            followed_by_relu = l < self.num_layers - 1 and self.activation == "relu"
            variance = 2 / n_in if followed_by_relu else 2 / (n_in + n_out)
            params["W"][...] = rng.normal(0.0, np.sqrt(variance), size=(n_in, n_out))
            if "gamma" in params:
                params["gamma"][...] = 1
        return theta

    def reset_running_stats(self) -> None:
        """Forget the batch-norm running averages (before training a new theta)."""
        for bn in self.bn_layers:
            if bn is not None:
                bn.reset_running_stats()

    # --- forward and backward --------------------------------------------------------
    def forward(self, theta, X, training=True) -> np.ndarray:
        """The network's output for the rows of X: logits, or predictions for "mse"."""
        return self._forward(theta, X, training, update_running=False)[0]

    def loss(self, theta, X, y, training=True) -> float:
        """The mean loss over the examples (rows of X) with targets y."""
        y = self._check_y(y, X)
        out = self.forward(theta, X, training)
        return self._loss(out, y)[0]

    def loss_and_grad(self, theta, X, y, training=True, update_running=True):
        """``(loss, dloss/dtheta)`` by backprop; updates BN running averages unless told not."""
        theta = self._check_theta(theta)
        y = self._check_y(y, X)  # before the forward pass touches the running averages
        out, cache = self._forward(theta, X, training, update_running)
        value, d_out = self._loss(out, y)
        return value, self._backward(theta, cache, d_out)

    def grad(self, theta, X, y) -> np.ndarray:
        """The gradient alone, for ``opt.step(theta, lambda th: mlp.grad(th, X, y))``."""
        return self.loss_and_grad(theta, X, y)[1]

    def _forward(self, theta, X, training, update_running):
        """Output and, per layer, what backward needs: the input h, and u, a or H_hat."""
        training = _checks.boolean("training", training)
        theta = self._check_theta(theta)
        H = self._check_X(X, theta.dtype)
        phi = _ACTIVATIONS[self.activation][0]
        cache = []
        for l, (params, bn) in enumerate(zip(self.unflatten(theta), self.bn_layers, strict=True)):
            saved = {"H_in": H}
            U = H @ params["W"]
            if "b" in params:
                U = U + params["b"]
            if bn is not None:
                saved["H_hat"] = bn.forward(U, training, update_running=update_running)
                U = params["gamma"] * saved["H_hat"] + params["beta"]
            if l < self.num_layers - 1:
                H = phi(U)
                saved.update(U=U, A=H)
            else:
                H = U  # the output layer has no activation
            cache.append(saved)
        return H, cache

    def _backward(self, theta, cache, d_out) -> np.ndarray:
        """Backpropagation: from dL/d(output) to dL/dtheta, last layer first."""
        phi_prime = _ACTIVATIONS[self.activation][1]
        grad = np.zeros(theta.shape, dtype=theta.dtype)
        layers = zip(
            self.unflatten(theta), self.unflatten(grad), self.bn_layers, cache, strict=True
        )
        dH = d_out
        for l, (params, grads, bn, saved) in reversed(list(enumerate(layers))):
            dU = dH
            if l < self.num_layers - 1:
                dU = dH * phi_prime(saved["U"], saved["A"])
            if bn is not None:
                grads["gamma"][...] = np.sum(dU * saved["H_hat"], axis=0)
                grads["beta"][...] = np.sum(dU, axis=0)
                dU = bn.backward(dU * params["gamma"])
            grads["W"][...] = saved["H_in"].T @ dU
            if "b" in grads:
                grads["b"][...] = np.sum(dU, axis=0)
            dH = dU @ params["W"].T
        return grad

    def _loss(self, out: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """The loss and its gradient with respect to the output (y already checked)."""
        if self.loss_name == "cross_entropy":
            return _softmax_cross_entropy(out, y, name="y")
        residual = out - y.astype(out.dtype, copy=False)
        return float(np.mean(residual**2)), (2 / residual.size) * residual

    # --- evaluation and diagnostics --------------------------------------------------
    def predict(self, theta, X) -> np.ndarray:
        """Predicted classes ("cross_entropy") or outputs ("mse"), in evaluation mode."""
        out = self.forward(theta, X, training=False)
        if self.loss_name == "cross_entropy":
            return np.argmax(out, axis=1)
        return out

    def accuracy(self, theta, X, y) -> float:
        """The fraction of examples whose predicted class is the label (classification only)."""
        if self.loss_name != "cross_entropy":
            raise ValueError(
                "accuracy: needs loss='cross_entropy' (a classifier); this MLP uses mse"
            )
        y = self._check_y(y, X)
        return float(np.mean(self.predict(theta, X) == y))

    def layer_outputs(self, theta, X, training=True) -> list[np.ndarray]:
        """h_1, ..., h_L: each layer's output after its activation (the last is the output)."""
        out, cache = self._forward(theta, X, training, update_running=False)
        return [saved["H_in"] for saved in cache[1:]] + [out]

    # --- checks ----------------------------------------------------------------------
    def _check_theta(self, theta) -> np.ndarray:
        theta = _checks.parameter_array("theta", theta)  # it computes in theta's dtype
        expected = f"({self.num_params},), one flat vector for sizes {list(self.sizes)}"
        return _checks.shaped("theta", theta, (self.num_params,), expected)

    def _check_y(self, y, X) -> np.ndarray:
        """Labels (m,) for cross-entropy; targets (m, n_L), or (m,) when n_L = 1, for mse."""
        m = np.shape(X)[0] if np.ndim(X) else 0
        if self.loss_name == "cross_entropy":
            return _check_labels(y, m, self.sizes[-1], name="y")
        y = _checks.float_array("y", y)
        if y.ndim == 1 and self.sizes[-1] == 1:
            y = y[:, None]  # a single output: targets may come as a vector
        expected = f"({m}, {self.sizes[-1]}), the output's"
        return _checks.shaped("y", y, (m, self.sizes[-1]), expected)

    def _check_X(self, X, dtype) -> np.ndarray:
        X = _checks.float_array("X", X)
        _checks.shaped("X", X, (None, self.sizes[0]), f"(m, {self.sizes[0]}): one example per row")
        return X.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return (
            f"MLP({list(self.sizes)}, activation={self.activation!r}, "
            f"batch_norm={self.batch_norm!r}, loss={self.loss_name!r}, bias={self.bias!r})"
        )


def gradient_check(f, grad, x, h=1e-6, rng=None, num_directions=None) -> float:
    """max_k |grad(x) . u_k - D_k| / max(max_k |grad(x) . u_k|, max_k |D_k|), in float64.

    D_u = (f(x + h u) - f(x - h u)) / (2 h) along every coordinate, or along
    ``num_directions`` random u ~ N(0, I) from ``rng``. With h = 1e-6 a correct gradient
    gives ~1e-8 (1e-7 when |f| is large), a wrong one or a kink within h 1e-3 or more.
    """
    h = _checks.positive("h", h)
    x = _checks.float_array("x", x).astype(np.float64)  # a copy: f and grad cannot alter it
    g = np.asarray(grad(x.copy()), dtype=np.float64)
    _checks.shaped("grad(x)", g, x.shape, f"{x.shape}, x's")

    def central_difference(u: np.ndarray) -> float:
        return (float(f(x + h * u)) - float(f(x - h * u))) / (2 * h)

    if num_directions is None:  # the coordinate directions e_i, along which grad(x) . e_i = g_i
        directions = (np.eye(1, x.size, i).reshape(x.shape) for i in range(x.size))
        analytic = g.ravel()
    else:
        num_directions = _checks.positive_int("num_directions", num_directions)
        rng = np.random.default_rng(rng)
        directions = [rng.standard_normal(x.shape) for _ in range(num_directions)]
        analytic = np.array([np.sum(g * u) for u in directions])
    numeric = np.array([central_difference(u) for u in directions], dtype=np.float64)
    scale = max(np.max(np.abs(analytic), initial=0.0), np.max(np.abs(numeric), initial=0.0))
    if scale == 0:
        return 0.0  # both say the function is flat here: they agree exactly
    return float(np.max(np.abs(analytic - numeric)) / scale)

"""Chapter 13 (initialization): symmetry breaking, the variance recursions measured layer
by layer in optimlib's MLP, what a bad scale does to training, and weight-space symmetry.

* :func:`scaled_params` draws theta for an :class:`optimlib.nn.MLP` with every W_l
  ~ N(0, scale / n_in) and zero biases; ``scale`` = n_in sigma^2 is 1 for Glorot's
  normal initialization of a square layer and 2 for He's (``optimlib.init``).
* :func:`predicted_variances` runs the forward and backward recursions (Gaussian
  expectations by Gauss-Hermite quadrature); :func:`measure_variances` measures the
  same quantities over seeds in the MLP itself.
* :func:`symmetric_training` trains a small network from identical and from random
  weights and records how far its hidden units are apart.
* :func:`training_runs` trains a deep relu network from several scales, over seeds.
* :func:`permute_hidden` permutes hidden units (the same function, another theta).
* :func:`panel` is the explorer: both recursions for one activation and scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

import optimlib as ol
from optimlib import _checks

__all__ = [
    "ACTIVATIONS",
    "LayerVariances",
    "Symmetric",
    "Training",
    "draw_symmetric",
    "draw_training",
    "draw_variances",
    "gaussian_mean",
    "measure_variances",
    "panel",
    "permute_hidden",
    "predicted_variances",
    "scaled_params",
    "segment_losses",
    "symmetric_training",
    "training_runs",
    "unit_spread",
]

QUANTILES = (0.1, 0.9)  # the band drawn over seeds: 80% of the runs lie inside
PANEL_WIDTH, PANEL_BATCH, PANEL_SEEDS = 64, 32, 4  # the explorer's network: fast to redraw

# phi and phi' of the MLP's activations, for the recursions (the MLP has its own copies)
ACTIVATIONS = {
    "tanh": (np.tanh, lambda u: 1 - np.tanh(u) ** 2),
    "relu": (lambda u: np.maximum(u, 0), lambda u: (u > 0).astype(float)),
    "linear": (lambda u: u, np.ones_like),
}

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(80)
_WEIGHTS = _WEIGHTS / math.sqrt(2 * math.pi)  # a probability measure: N(0, 1)


def gaussian_mean(f, variance: float) -> float:
    """E f(u) for u ~ N(0, variance), by 80-point Gauss-Hermite quadrature.

    Exact for polynomials of degree < 160; for tanh^2 and tanh'^2 (smooth) it agrees
    with a Monte Carlo estimate to its sampling error (the tests).
    """
    variance = _checks.nonnegative("variance", variance)
    return float(_WEIGHTS @ f(math.sqrt(variance) * _NODES))


def scaled_params(mlp, scale: float, rng) -> np.ndarray:
    """theta with every W_l ~ N(0, scale / n_in) (he_std with gain sqrt(scale)), biases 0."""
    scale = _checks.positive("scale", scale)
    rng = np.random.default_rng(rng)
    theta = np.zeros(mlp.num_params)
    for params in mlp.unflatten(theta):
        n_in, n_out = params["W"].shape
        params["W"][...] = ol.init.he_normal((n_in, n_out), rng, gain=math.sqrt(scale))
    return theta


def predicted_variances(activation: str, scale: float, depth: int, q0: float = 1.0):
    """(q, r): the recursions' E[h_l^2] and E[(dL/du_l)^2], l = 1..depth, for square layers.

    Forward: v_l = scale q_{l-1} is the variance of the pre-activation u_l (W_l has
    n_in sigma^2 = scale and is independent of h_{l-1}), and q_l = E phi(u)^2 with
    u ~ N(0, v_l), or q_L = v_L for the linear output layer. Backward, from a standard
    normal output gradient (r_L = 1): r_l = scale E phi'(u_l)^2 r_{l+1}, which assumes
    that W_{l+1} is independent of u_l's derivative (exact for relu in expectation only
    to this extent).
    """
    phi, phi_prime = ACTIVATIONS[_checks.choice("activation", activation, tuple(ACTIVATIONS))]
    scale = _checks.positive("scale", scale)
    depth = _checks.positive_int("depth", depth)
    q, pre = [], []
    previous = _checks.positive("q0", q0)
    for layer in range(depth):
        v = scale * previous
        pre.append(v)
        previous = gaussian_mean(lambda u: phi(u) ** 2, v) if layer < depth - 1 else v
        q.append(previous)
    r = [1.0]
    for v in reversed(pre[:-1]):
        r.append(scale * gaussian_mean(lambda u: phi_prime(u) ** 2, v) * r[-1])
    return np.array(q), np.array(r[::-1])


@dataclass
class LayerVariances:
    """Measured ``forward[s, l-1]`` = mean of h_l^2 and ``backward[s, l-1]`` = per-example
    mean of (dL/du_l)^2 over seeds s and layers l = 1..L, with the recursions' values."""

    activation: str
    scale: float
    forward: np.ndarray
    backward: np.ndarray
    predicted_forward: np.ndarray
    predicted_backward: np.ndarray

    def ratios(self, which: str) -> np.ndarray:
        """measured / predicted, per seed and layer ("forward" or "backward")."""
        _checks.choice("which", which, ("forward", "backward"))
        return getattr(self, which) / getattr(self, f"predicted_{which}")

    def median_ratios(self, which: str) -> np.ndarray:
        """Per layer, the median over seeds of measured / predicted."""
        return np.median(self.ratios(which), axis=0)


def measure_variances(
    activation: str, scale: float, width=128, depth=10, batch=64, seeds=8, seed=0
) -> LayerVariances:
    """Both variances, layer by layer, in ``MLP([width] * (depth + 1), activation)``.

    Inputs are standard normal (q0 = 1). Forward: ``mlp.layer_outputs``. Backward: the
    mse targets y = out - (m n_L / 2) G make the output gradient dL/d(out) exactly G,
    standard normal and independent across examples; then dL/db_l = sum_i dL/du_l(x_i)
    has expected square m E[(dL/du_l)^2], so each mean of db_l^2 over units, divided by
    m, estimates the per-example backward variance.
    """
    depth = _checks.positive_int("depth", depth)
    batch = _checks.positive_int("batch", batch)
    seeds = _checks.positive_int("seeds", seeds)
    mlp = ol.nn.MLP([width] * (depth + 1), activation, loss="mse")
    forward, backward = [], []
    for s in range(seeds):
        rng = np.random.default_rng([seed, s])
        X = rng.standard_normal((batch, width))
        theta = scaled_params(mlp, scale, rng)
        outputs = mlp.layer_outputs(theta, X)
        G = rng.standard_normal(outputs[-1].shape)
        y = outputs[-1] - (G.size / 2) * G
        _, grad = mlp.loss_and_grad(theta, X, y)
        forward.append([np.mean(h**2) for h in outputs])
        backward.append([np.mean(g["b"] ** 2) / batch for g in mlp.unflatten(grad)])
    q, r = predicted_variances(activation, scale, depth)
    return LayerVariances(activation, scale, np.array(forward), np.array(backward), q, r)


def draw_variances(ax, results, which: str, labels=None) -> None:
    """Median over seeds (line), 10-90% band, and the recursion (dashed), per result."""
    from matplotlib.ticker import MaxNLocator

    from . import plot

    labels = labels or [f"$n\\sigma^2$ = {res.scale:g}" for res in results]
    for res, label, color in zip(results, labels, plot.PALETTE, strict=False):
        measured = getattr(res, which)
        layers = np.arange(1, measured.shape[1] + 1)
        plot.band(ax, layers, measured, label=label, color=color, quantiles=QUANTILES)
        predicted = getattr(res, f"predicted_{which}")
        ax.plot(layers, predicted, color=color, linestyle="--", linewidth=1.2)
    ax.set_xlabel("layer $l$")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if which == "forward":
        ax.set_ylabel(r"$\mathrm{E}[h_l^2]$ (activations)")
    else:
        ax.set_ylabel(r"$\mathrm{E}[(\partial L/\partial u_l)^2]$ (gradients)")
    plot.thin_log_ticks(ax)


# --- symmetry breaking ------------------------------------------------------------------


def unit_spread(mlp, theta, layer: int = 0) -> float:
    """How far apart the hidden units of ``layer`` are: the largest distance of a unit's
    incoming and outgoing weights (and bias) from the first unit's, over their norm."""
    params = mlp.unflatten(theta)
    units = np.concatenate(
        [params[layer]["W"].T, params[layer]["b"][:, None], params[layer + 1]["W"]], axis=1
    )
    scale = max(float(np.linalg.norm(units[0])), np.finfo(float).tiny)
    return float(np.max(np.linalg.norm(units - units[0], axis=1)) / scale)


@dataclass
class Symmetric:
    """Training from identical weights (``same``) and from random weights (``random``):
    losses per step and the spread of the hidden units (:func:`unit_spread`) per step,
    and the first-layer weights w_1j of every hidden unit j per step (``paths``)."""

    losses: dict
    spreads: dict
    paths: dict
    width: int


def symmetric_training(width=8, steps=300, lr=0.1, seed=0, N=100) -> Symmetric:
    """A tanh MLP [2, width, 2] trained by gradient descent on two spirals, from every
    weight = 0.5 (biases 0) and from N(0, 0.25) weights: the same scale, one symmetric."""
    rng = np.random.default_rng(seed)
    X, y = ol.problems.two_spirals(N, rng)
    mlp = ol.nn.MLP([2, width, 2], "tanh")
    starts = {"same": np.zeros(mlp.num_params), "random": np.zeros(mlp.num_params)}
    for start_name, theta in starts.items():
        for params in mlp.unflatten(theta):
            shape = params["W"].shape
            params["W"][...] = 0.5 if start_name == "same" else rng.normal(0, 0.5, shape)
    losses, spreads, paths = {}, {}, {}
    for name, theta in starts.items():
        opt = ol.SGD(lr=lr)
        loss_path, spread_path, weights = [], [], []
        for _ in range(steps):
            loss, grad = mlp.loss_and_grad(theta, X, y)
            loss_path.append(loss)
            spread_path.append(unit_spread(mlp, theta))
            weights.append(mlp.unflatten(theta)[0]["W"][0].copy())
            theta = opt.step(theta, lambda _theta, g=grad: g)
        losses[name] = np.array(loss_path)
        spreads[name] = np.array(spread_path)
        paths[name] = np.array(weights)
    return Symmetric(losses, spreads, paths, width)


def draw_symmetric(axes, result: Symmetric) -> None:
    """w_1j of every hidden unit j against the step, from identical (left) and from
    random (right) weights."""
    from . import plot

    titles = {"same": "identical start", "random": "random start"}
    for ax, name in zip(axes, ("same", "random"), strict=True):
        paths = result.paths[name]
        for j in range(paths.shape[1]):
            ax.plot(paths[:, j], color=plot.PALETTE[j % len(plot.PALETTE)], linewidth=1.2)
        ax.set_title(titles[name])
        ax.set_xlabel("step $k$")
        ax.set_ylabel("first weight $w_{1j}$ of unit $j$")


# --- training from several scales -----------------------------------------------------


@dataclass
class Training:
    """``losses[scale]`` (seeds, steps + 1): the full-batch loss of each run before each
    step and after the last, NaN after a divergence; ``diverged[scale]`` counts runs
    that diverged; ``final_theta`` is the last parameters of the first seed per scale."""

    losses: dict
    diverged: dict
    final_theta: dict
    mlp: object
    X: np.ndarray
    y: np.ndarray

    def median_final(self, scale: float) -> float:
        """The median over seeds of the final loss (a diverged run counts as infinite)."""
        last = np.where(np.isnan(self.losses[scale][:, -1]), np.inf, self.losses[scale][:, -1])
        return float(np.median(last))


def training_runs(
    scales=(0.5, 1.0, 2.0, 4.0), depth=6, width=16, steps=100, seeds=5, lr=0.08, N=100
) -> Training:
    """A relu MLP [2, width x depth, 2] on two spirals (N points), full-batch momentum
    (lr, alpha = 0.9) from W_l ~ N(0, scale / n_in), for each scale and seed."""
    steps = _checks.positive_int("steps", steps)
    X, y = ol.problems.two_spirals(N, np.random.default_rng(0))
    mlp = ol.nn.MLP([2] + [width] * depth + [2], "relu")
    losses, diverged, final = {}, {}, {}
    for scale in scales:
        runs, count = np.full((seeds, steps + 1), np.nan), 0
        for s in range(seeds):
            theta = scaled_params(mlp, scale, np.random.default_rng([1, s]))
            opt = ol.Momentum(lr=lr, alpha=0.9)
            for k in range(steps + 1):
                with np.errstate(over="ignore", invalid="ignore"):  # a divergence is recorded
                    loss, grad = mlp.loss_and_grad(theta, X, y)
                if not np.isfinite(loss):
                    count += 1
                    break
                runs[s, k] = loss
                if k < steps:
                    try:
                        theta = opt.step(theta, lambda _theta, g=grad: g)
                    except ol.DivergenceError:
                        count += 1
                        break
            if s == 0:
                final[scale] = theta
        losses[scale], diverged[scale] = runs, count
    return Training(losses, diverged, final, mlp, X, y)


def draw_training(ax, result: Training) -> None:
    """Median loss over seeds (line) and the 10-90% band, per initial scale."""
    from . import plot

    for (scale, runs), color in zip(result.losses.items(), plot.PALETTE, strict=False):
        steps = np.arange(runs.shape[1])
        plot.band(
            ax, steps, runs, label=f"$n\\sigma^2$ = {scale:g}", color=color, quantiles=QUANTILES
        )
    ax.axhline(math.log(2), color="0.5", linestyle=":", linewidth=1.2, label="log 2 (chance)")
    ax.set_xlabel("step $k$")
    ax.set_ylabel("training loss (cross-entropy)")
    ax.legend(loc="lower left")


# --- weight-space symmetry --------------------------------------------------------------


def permute_hidden(mlp, theta, rng) -> np.ndarray:
    """A new theta whose hidden units of every hidden layer are shuffled: column j of
    W_l and entry j of b_l move to position pi(j), and so does row j of W_{l+1}."""
    rng = np.random.default_rng(rng)
    new = np.array(theta, dtype=float)
    params = mlp.unflatten(new)
    for layer in range(mlp.num_layers - 1):
        order = rng.permutation(mlp.sizes[layer + 1])
        params[layer]["W"][...] = params[layer]["W"][:, order]
        params[layer]["b"][...] = params[layer]["b"][order]
        params[layer + 1]["W"][...] = params[layer + 1]["W"][order, :]
    return new


def segment_losses(mlp, theta_a, theta_b, X, y, points=21) -> np.ndarray:
    """The loss at (1 - t) theta_a + t theta_b for ``points`` values of t from 0 to 1."""
    ts = np.linspace(0, 1, points)
    return np.array([mlp.loss(theta_a + t * (theta_b - theta_a), X, y) for t in ts])


# --- the explorer ---------------------------------------------------------------------


def panel(ax, scale: float = 2.0, depth: int = 10, activation: str = "tanh") -> dict:
    """Both recursions for one activation and scale n sigma^2: activations (blue) and
    gradients (orange), measured over PANEL_SEEDS seeds in an MLP of width PANEL_WIDTH,
    and predicted."""
    from matplotlib.ticker import MaxNLocator

    from . import plot

    result = measure_variances(
        activation, scale, PANEL_WIDTH, depth, batch=PANEL_BATCH, seeds=PANEL_SEEDS
    )
    layers = np.arange(1, depth + 1)
    for which, color, label in (
        ("forward", plot.PALETTE[0], r"activations $\mathrm{E}[h_l^2]$"),
        ("backward", plot.PALETTE[1], r"gradients $\mathrm{E}[(\partial L/\partial u_l)^2]$"),
    ):
        plot.band(ax, layers, getattr(result, which), label=label, color=color, quantiles=QUANTILES)
        ax.plot(
            layers,
            getattr(result, f"predicted_{which}"),
            color=color,
            linestyle="--",
            linewidth=1.2,
        )
    ax.set_xlabel("layer $l$")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("mean square")
    ax.legend(loc="best", fontsize="small")
    plot.thin_log_ticks(ax)
    forward = np.median(result.forward, axis=0)
    backward = np.median(result.backward, axis=0)
    return {
        "activations_last": float(forward[-1]),
        "predicted_activations_last": float(result.predicted_forward[-1]),
        "gradients_first": float(backward[0]),
        "predicted_gradients_first": float(result.predicted_backward[0]),
    }

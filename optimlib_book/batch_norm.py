"""Chapter 8, batch normalization: the deep linear chain, deep MLPs with and without it.

The deep linear chain y_hat = x w_1 w_2 ... w_l (Goodfellow et al. 2016, sec. 8.7.1),
which :class:`optimlib.nn.MLP` builds as ``MLP([1] * (l + 1), activation="linear",
bias=False, loss="mse")`` with theta = (w_1, ..., w_l):

* :func:`chain` and :func:`chain_weights`: the network and reproducible weights
  w_i = scale * exp(spread * z_i), z_i ~ N(0, 1), whose first l entries do not depend
  on how many are drawn (a chain of depth l is a prefix of a deeper one);
* :func:`output_gradient`: y_hat and its gradient g_i = dy_hat/dw_i, computed by the
  MLP's backpropagation (with a target that makes dL/dy_hat = 1);
* :func:`one_step`: what the simultaneous step w <- w - eps g does to y_hat, exactly
  (y_hat * prod_i (1 - r_i), r_i = eps g_i / w_i) and to first order (-eps g.g), with
  the terms of every order; :func:`elementary_symmetric` gives those terms;
* :func:`panel`: the explorer, realised against predicted change over a range of eps.

Training a deep ReLU network on two spirals with minibatch SGD:

* :class:`SpiralClassification`: an MLP's full-data loss as a problem for
  :func:`optimlib.minimize`, with minibatch gradients from ``oracle(m, rng)``;
* :func:`train`, :func:`lr_sweep` and :func:`sweep_panel`: runs with and without batch
  normalization over a grid of learning rates, divergence recorded as an outcome;
* :func:`compute_seed_spread`: the final loss and weight growth of one configuration over
  several seeds, for runs that are chaotic (their last bits, and so one seed's numbers,
  differ between CPUs; statistics over seeds do not);
* :func:`dead_fraction`: the ReLU units that output 0 on every example;
* :func:`column_norms`: the norms of the columns of each hidden weight matrix;
* :func:`own_batch_accuracy`: test accuracy when each test batch is normalized with
  its own statistics instead of the running averages.
"""

from __future__ import annotations

import math

import numpy as np

from optimlib import _checks
from optimlib.nn import MLP, batch_norm
from optimlib.optimizers import SGD
from optimlib.run import History, minimize

from . import plot

__all__ = [
    "CHANCE",
    "SpiralClassification",
    "batch_size_panel",
    "bounds_panel",
    "chain",
    "chain_weights",
    "column_norms",
    "compute_seed_spread",
    "dead_fraction",
    "delta_panel",
    "depth_panel",
    "elementary_symmetric",
    "lr_sweep",
    "one_step",
    "output_gradient",
    "own_batch_accuracy",
    "panel",
    "ratio_panel",
    "signals_panel",
    "sweep_panel",
    "train",
]

CHANCE = math.log(2)  # cross-entropy of the constant prediction (1/2, 1/2) on two classes


# --- the deep linear chain ---------------------------------------------------------------


def chain(depth: int, batch_norm: bool = False) -> MLP:
    """The chain y_hat = x w_1 ... w_depth: an MLP of width 1, no bias, no activation.

    ``batch_norm=True`` normalizes every hidden unit over the minibatch (with its gamma
    and beta), as :class:`optimlib.nn.MLP` does; its theta then holds w_i, gamma_i,
    beta_i for the hidden layers and w_depth for the last.
    """
    depth = _checks.positive_int("depth", depth)
    return MLP(
        [1] * (depth + 1), activation="linear", bias=False, loss="mse", batch_norm=batch_norm
    )


def chain_weights(depth: int, scale: float = 1.0, spread: float = 0.1, seed: int = 0):
    """w_i = scale * exp(spread * z_i), i = 1..depth, with z ~ N(0, 1) from ``seed``.

    The weights are positive; their geometric mean is scale * exp(spread * mean(z)),
    near ``scale``. The first l weights are the same whatever ``depth`` >= l.
    """
    depth = _checks.positive_int("depth", depth)
    scale = _checks.positive("scale", scale)
    spread = _checks.nonnegative("spread", spread)
    z = np.random.default_rng(seed).standard_normal(depth)
    return scale * np.exp(spread * z)


def output_gradient(weights, x: float = 1.0) -> tuple[float, np.ndarray]:
    """``(y_hat, g)``: the chain's output for input x and g_i = dy_hat / dw_i.

    g comes from the MLP's backpropagation of the loss (y_hat - y)^2 with the target
    y = y_hat - 1/2, whose derivative dL/dy_hat = 2 (y_hat - y) is exactly 1, so the
    loss gradient is the output's gradient (the "gradient of 1 on y_hat" of Goodfellow
    et al. 2016, sec. 8.7.1). It equals x prod_{j != i} w_j.
    """
    weights = _checks.float_array("weights", weights)
    if weights.ndim != 1 or weights.size < 1:
        raise ValueError(f"weights must be a vector (w_1, ..., w_l); got shape {weights.shape}")
    mlp = chain(weights.size)
    X = np.array([[float(x)]])
    y_hat = mlp.forward(weights, X)
    g = mlp.grad(weights, X, y_hat - 0.5)
    return float(y_hat[0, 0]), g


def elementary_symmetric(r) -> np.ndarray:
    """e_0, e_1, ..., e_l of r_1..r_l: e_k is the sum of all products of k distinct r_i.

    They are the coefficients of prod_i (1 + r_i t) in powers of t, so that
    prod_i (1 - r_i) = sum_k (-1)^k e_k.
    """
    r = np.asarray(r, dtype=float).ravel()
    e = np.zeros(r.size + 1)
    e[0] = 1.0
    for i, ri in enumerate(r):
        e[1 : i + 2] = e[1 : i + 2] + ri * e[: i + 1]  # multiply by (1 + ri t)
    return e


def one_step(weights, eps: float, x: float = 1.0) -> dict:
    """The simultaneous gradient step w <- w - eps g on the chain, exactly and to first order.

    With g = grad y_hat (:func:`output_gradient`) and r_i = eps g_i / w_i (w_i != 0),

        y_hat(w - eps g) = x prod_i (w_i - eps g_i) = y_hat prod_i (1 - r_i)
                         = y_hat (1 - e_1 + e_2 - e_3 + ... + (-1)^l e_l),

    where y_hat * e_1 = eps g.g is the first-order decrease. Returns ``y`` (y_hat),
    ``g``, ``predicted`` (-eps g.g), ``realised`` (the new output, by the MLP, minus
    y_hat), ``terms`` (the change of order k, y_hat (-1)^k e_k, for k = 1..l; they sum
    to ``realised``), ``r``, ``s`` (= e_1 = sum r_i, the relative change the first-order
    step predicts), ``rel_error`` (|realised - predicted| / |predicted|) and
    ``wrong_sign`` (the output went up although the first-order step predicts a fall).
    """
    eps = _checks.positive("eps", eps)
    weights = _checks.float_array("weights", weights)
    y, g = output_gradient(weights, x)
    if np.any(weights == 0):
        raise ValueError("weights: every w_i must be nonzero (r_i = eps g_i / w_i)")
    new = chain(weights.size).forward(weights - eps * g, np.array([[float(x)]]))
    realised = float(new[0, 0]) - y
    predicted = -eps * float(g @ g)
    r = eps * g / weights
    e = elementary_symmetric(r)
    k = np.arange(1, weights.size + 1)
    return {
        "y": y,
        "g": g,
        "predicted": predicted,
        "realised": realised,
        "terms": y * (-1.0) ** k * e[1:],
        "r": r,
        "s": float(np.sum(r)),
        "rel_error": abs(realised - predicted) / abs(predicted),
        "wrong_sign": realised * predicted < 0,
    }


def panel(
    ax,
    depth: int = 10,
    scale: float = 1.1,
    spread: float = 0.1,
    seed: int = 0,
    eps_min: float = 1e-5,
    eps_max: float = 1.0,
    num: int = 61,
):
    """The change of y_hat after one step w <- w - eps g, against eps (log-log).

    The chain has ``depth`` weights from :func:`chain_weights` (``scale``, ``spread``,
    ``seed``) and input x = 1. The line is the first-order prediction |eps g.g|; the
    markers are the realised change |y_hat(w - eps g) - y_hat|, filled where y_hat fell
    as predicted and crosses where it rose instead (wrong sign). The dotted line marks
    eps* = y_hat / g.g, where the predicted relative change s = eps g.g / y_hat is 1.

    Returns ``eps`` (the grid), ``predicted``, ``realised``, ``rel_error``, ``y``,
    ``eps_star``, ``eps_10`` (the largest grid eps up to which every relative error is
    at most 10 %), ``wrong_sign_from`` (the smallest grid eps with a wrong sign, or None).
    """
    depth = _checks.positive_int("depth", depth)
    eps_grid = np.geomspace(eps_min, eps_max, num)
    weights = chain_weights(depth, scale, spread, seed)
    y, g = output_gradient(weights)
    mlp, X = chain(depth), np.array([[1.0]])
    new = np.array([float(mlp.forward(weights - eps * g, X)[0, 0]) for eps in eps_grid])
    predicted = -eps_grid * float(g @ g)
    realised = new - y
    rel_error = np.abs(realised - predicted) / np.abs(predicted)
    wrong = realised * predicted < 0
    eps_star = y / float(g @ g)
    bad = np.flatnonzero(rel_error > 0.1)
    if bad.size == 0:
        eps_10 = float(eps_grid[-1])
    else:
        eps_10 = float(eps_grid[bad[0] - 1]) if bad[0] > 0 else None

    blue, orange, purple = plot.PALETTE[0], plot.PALETTE[1], plot.PALETTE[3]
    size = np.abs(realised)
    top = 30 * max(float(np.abs(predicted).max()), abs(y))  # rises beyond it are capped
    ax.plot(eps_grid, np.abs(predicted), color=blue, label="first order")
    fell = ~wrong & (realised != 0)
    ax.plot(
        eps_grid[fell],
        size[fell],
        linestyle="none",
        marker="o",
        color=orange,
        label="realised fall",
    )
    rise = wrong & (size <= top)
    beyond = wrong & (size > top)
    if rise.any():
        ax.plot(
            eps_grid[rise],
            size[rise],
            linestyle="none",
            marker="X",
            markersize=7,
            color=purple,
            label="realised rise",
        )
    if beyond.any():
        ax.plot(
            eps_grid[beyond],
            np.full(int(beyond.sum()), top),
            linestyle="none",
            marker="^",
            markersize=7,
            color=purple,
            clip_on=False,
            label="rise, off scale",
        )
    ax.axhline(abs(y), color="0.6", linestyle="--", linewidth=1.0, label=r"$|\hat y|$")
    ax.axvline(eps_star, color="0.3", linestyle=":", linewidth=1.2)
    position = math.log(eps_star / eps_min) / math.log(eps_max / eps_min)
    ax.text(
        eps_star,
        0.03,
        r" $\varepsilon^\ast$ ",
        transform=ax.get_xaxis_transform(),
        ha="right" if position > 0.75 else "left",
        fontsize=10,
        va="bottom",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(top=top)
    ax.set_xlabel(r"learning rate $\varepsilon$")
    ax.set_ylabel(r"$|\Delta \hat y|$ after one step")
    ax.set_title(rf"depth $l = {depth}$, weights $\approx {scale:g}$")
    ax.legend(loc="upper left", fontsize=8)
    return {
        "eps": eps_grid,
        "predicted": predicted,
        "realised": realised,
        "rel_error": rel_error,
        "y": y,
        "eps_star": eps_star,
        "eps_10": eps_10,
        "wrong_sign_from": float(eps_grid[wrong][0]) if wrong.any() else None,
    }


def depth_panel(ax, scales=(0.8, 1.0, 1.25), max_depth: int = 30, seed: int = 0) -> dict:
    """|dy_hat/dw_1| against the depth l = 1..max_depth, one curve per weight scale.

    For each scale c the chains are the prefixes of ``chain_weights(max_depth, c)``, so
    adding a layer multiplies the gradient of w_1 by the new weight. Returns ``depths``,
    and per scale: ``grads`` (the gradients), ``rates`` (the measured growth per layer,
    (g(max_depth) / g(1)) ** (1 / (max_depth - 1))) and ``geo_means`` (the geometric mean
    of w_2..w_max_depth, which the rate must equal).
    """
    max_depth = _checks.positive_int("max_depth", max_depth)
    if max_depth < 2:
        raise ValueError(f"max_depth must be >= 2 to measure a growth rate; got {max_depth}")
    depths = np.arange(1, max_depth + 1)
    result = {"depths": depths, "grads": {}, "rates": {}, "geo_means": {}}
    for c, color, marker in zip(scales, plot.PALETTE, plot.MARKERS, strict=False):
        w = chain_weights(max_depth, scale=c, seed=seed)
        grads = np.array([abs(output_gradient(w[:l])[1][0]) for l in depths])
        rate = float((grads[-1] / grads[0]) ** (1 / (max_depth - 1)))
        result["grads"][c] = grads
        result["rates"][c] = rate
        result["geo_means"][c] = float(np.exp(np.mean(np.log(w[1:]))))
        ax.plot(
            depths,
            grads,
            color=color,
            marker=marker,
            markevery=3,
            label=rf"$w_i \approx {c:g}$: $\times${rate:.3f} per layer",
        )
    ax.set_yscale("log")
    ax.set_xlabel("depth $l$ of the chain")
    ax.set_ylabel(r"$|\partial \hat y / \partial w_1|$")
    ax.legend(loc="upper left")
    return result


def signals_panel(ax, weights, x: float = 1.0) -> dict:
    """Inside one chain: the forward signal h_{i-1}, the backward signal dy_hat/dh_i and
    their product, the gradient g_i, against the layer i (log scale).

    h comes from the MLP's ``layer_outputs``, g from its backpropagation; the backward
    signal is the product w_{i+1} ... w_l. Returns ``forward``, ``backward``, ``grads``.
    """
    weights = _checks.float_array("weights", weights)
    l = weights.size
    X = np.array([[float(x)]])
    outs = chain(l).layer_outputs(weights, X)
    h = np.array([float(x)] + [float(o[0, 0]) for o in outs])
    forward = h[:-1]
    backward = np.array([np.prod(weights[i + 1 :]) for i in range(l)])
    _, grads = output_gradient(weights, x)
    layer = np.arange(1, l + 1)
    ax.plot(layer, forward, marker="o", markevery=3, label=r"forward $h_{i-1}$")
    ax.plot(
        layer, backward, marker="s", markevery=3, label=r"backward $\partial\hat y/\partial h_i$"
    )
    ax.plot(layer, np.abs(grads), marker="^", markevery=3, label=r"gradient $g_i$")
    ax.set_yscale("log")
    top = float(max(np.abs(forward).max(), np.abs(backward).max(), np.abs(grads).max()))
    bottom = float(min(np.abs(forward).min(), np.abs(backward).min()))
    ax.set_ylim(bottom / 1.5, top * 8)  # room for the legend above the curves
    ax.set_xlabel("layer $i$")
    ax.set_ylabel("size")
    ax.legend(loc="upper center", ncol=2, fontsize=8.5)
    return {"forward": forward, "backward": backward, "grads": grads}


def ratio_panel(ax, weights, eps_list, depths=None, top: float = 2.5) -> dict:
    """Realised change of y_hat / first-order prediction against depth, one curve per eps.

    The chains are the prefixes ``weights[:l]`` for l in ``depths`` (default 1..len).
    A ratio of 1 means the first-order step is exact. Ratios off the scale are drawn on
    a grey row at height ``top``: crosses where the ratio is negative (y_hat rose
    although the step was meant to lower it), triangles where it exceeds ``top`` (y_hat
    fell far more than predicted). Returns ``depths``, ``steps`` (eps -> list of
    :func:`one_step` results) and ``ratio`` (eps -> array).
    """
    weights = _checks.float_array("weights", weights)
    depths = np.arange(1, weights.size + 1) if depths is None else np.asarray(depths)
    steps = {eps: [one_step(weights[:l], eps) for l in depths] for eps in eps_list}
    ratio = {
        eps: np.array([st["realised"] / st["predicted"] for st in steps[eps]]) for eps in eps_list
    }
    shown = np.concatenate([r[(r > 0) & (r <= top)] for r in ratio.values()])
    off_scale = False
    for eps, color, marker in zip(eps_list, plot.PALETTE, plot.MARKERS, strict=False):
        r = ratio[eps]
        inside = (r > 0) & (r <= top)
        # draw the curve only up to the first point off the scale
        last = int(np.argmin(inside)) if not inside.all() else len(r)
        ax.plot(
            depths[:last],
            r[:last],
            color=color,
            marker=marker,
            markevery=3,
            label=rf"$\varepsilon = {eps:g}$",
        )
        for mask, symbol in ((r < 0, "X"), (r > top, "^")):
            if mask.any():
                off_scale = True
                ax.plot(
                    depths[mask],
                    np.full(int(mask.sum()), top),
                    color=color,
                    marker=symbol,
                    markersize=8,
                    linestyle="none",
                    clip_on=False,
                )
    if off_scale:
        ax.axhline(top, color="0.85", linewidth=9, zorder=0)
        ax.text(
            depths[0],
            top,
            f" off scale: \u2716 wrong sign, \u25b2 above {top:g}",
            va="center",
            fontsize=8,
        )
    ax.axhline(1, color="0.3", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_ylim(shown.min() / 2, top * 1.6)
    ax.set_xlabel("depth $l$")
    ax.set_ylabel("realised / first-order change")
    ax.legend(loc="lower left", fontsize=8.5)
    return {"depths": depths, "steps": steps, "ratio": ratio}


def bounds_panel(ax, steps: dict) -> dict:
    """The ratio realised / predicted against s = eps g.g / y_hat, with the bounds
    (1 - e^-s) / s and min(1, 1/s) of the chapter's proposition shaded.

    ``steps`` maps eps to lists of :func:`one_step` results (as :func:`ratio_panel`
    returns them); only steps with every r_i in [0, 1], where the bounds hold, are
    drawn. Returns the drawn ``s``, ``ratio``, ``lower`` and ``upper`` (flat arrays).
    """
    s_all, q_all = [], []
    for (_, group), color, marker in zip(steps.items(), plot.PALETTE, plot.MARKERS, strict=False):
        kept = [st for st in group if st["r"].min() >= 0 and st["r"].max() <= 1]
        s = np.array([st["s"] for st in kept])
        q = np.array([st["realised"] / st["predicted"] for st in kept])
        ax.plot(s, q, color=color, marker=marker, linestyle="none")
        s_all.append(s)
        q_all.append(q)
    s, q = np.concatenate(s_all), np.concatenate(q_all)
    grid = np.geomspace(s.min() / 2, s.max() * 2, 200)
    low, high = (1 - np.exp(-grid)) / grid, np.minimum(1, 1 / grid)
    ax.fill_between(grid, low, high, color="0.85", label="bounds of Proposition 1")
    ax.plot(grid, low, color="0.4", linewidth=1)
    ax.plot(grid, high, color="0.4", linewidth=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"predicted relative change $s$")
    ax.set_ylabel("realised / first-order change")
    ax.legend(loc="lower left", fontsize=8.5)
    return {"s": s, "ratio": q, "lower": (1 - np.exp(-s)) / s, "upper": np.minimum(1, 1 / s)}


# --- a deep network on two spirals ---------------------------------------------------------


class SpiralClassification:
    """The mean cross-entropy of an MLP on (X, y), as a problem for :func:`optimlib.minimize`.

    ``f(theta)`` is the full-data loss in training mode (with batch norm: normalized by
    the statistics of all N examples; it does not touch the running averages), and
    ``oracle(m, rng)`` returns a gradient function that draws m examples without
    replacement with ``rng`` at every call and returns the minibatch gradient
    ``mlp.grad``, the training step that also updates the running averages.
    """

    def __init__(self, mlp: MLP, X, y, x0):
        self.mlp, self.X, self.y = mlp, np.asarray(X, dtype=float), np.asarray(y)
        self.x0 = np.asarray(x0, dtype=float)
        self.N = len(self.X)
        self.name = repr(mlp)

    def f(self, theta) -> float:
        return self.mlp.loss(theta, self.X, self.y)

    def grad(self, theta) -> np.ndarray:
        return self.mlp.loss_and_grad(theta, self.X, self.y, update_running=False)[1]

    def oracle(self, m: int, rng: np.random.Generator):
        m = _checks.positive_int("m", m)

        def minibatch_gradient(theta):
            idx = rng.choice(self.N, m, replace=False)
            return self.mlp.grad(theta, self.X[idx], self.y[idx])

        return minibatch_gradient


def train(
    X,
    y,
    lr: float,
    batch_norm: bool,
    depth: int = 8,
    width: int = 16,
    steps: int = 200,
    batch_size: int = 32,
    seed: int = 0,
    max_loss: float = 1e3,
) -> tuple[MLP, History]:
    """Minibatch SGD on a ReLU MLP with ``depth`` hidden layers of ``width`` units.

    The network is ``MLP([2] + [width] * depth + [2], "relu", batch_norm)``, initialized
    and fed minibatches from ``np.random.default_rng(seed)`` (the same draws with and
    without batch norm). A run whose gradient or loss stops being finite, or whose loss
    passes ``max_loss``, is recorded as diverged. Returns the MLP (its running averages
    are those of the run) and the History (losses are full-data training-mode losses).
    """
    mlp = MLP([2] + [width] * depth + [2], activation="relu", batch_norm=batch_norm)
    rng = np.random.default_rng(seed)
    problem = SpiralClassification(mlp, X, y, mlp.init_params(rng))
    label = "batch norm" if batch_norm else "no batch norm"
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        history = minimize(
            problem,
            SGD(lr=lr),
            steps,
            batch_size=batch_size,
            rng=rng,
            max_loss=max_loss,
            label=label,
        )
    return mlp, history


def lr_sweep(X, y, lrs, **kwargs) -> dict:
    """:func:`train` with and without batch norm for every learning rate in ``lrs``.

    Returns ``{"lrs": lrs, "plain": [...], "bn": [...]}``, each list holding the
    ``(mlp, history)`` pairs in the order of ``lrs``.
    """
    lrs = [float(lr) for lr in lrs]
    return {
        "lrs": np.array(lrs),
        "plain": [train(X, y, lr, False, **kwargs) for lr in lrs],
        "bn": [train(X, y, lr, True, **kwargs) for lr in lrs],
    }


def compute_seed_spread(
    X,
    y,
    lr: float,
    seeds,
    batch_norm: bool = True,
    depth: int = 8,
    width: int = 16,
    steps: int = 200,
    batch_size: int = 32,
    max_loss: float = 1e3,
    runs: dict | None = None,
) -> dict:
    """The run of :func:`train` repeated for every seed in ``seeds``: its final full-data
    loss and, with batch norm, the mean growth of the hidden weight columns.

    Each run takes the same SGD steps as ``train(X, y, lr, batch_norm, ..., seed=seed)``
    (the same initialization and minibatches, bit for bit) but evaluates the full-data
    loss only at the end, which makes it cheaper. A run is ``diverged`` when a gradient
    stops being finite, a minibatch loss is not at most ``max_loss`` (``train`` watches
    the full-data loss instead), or the final loss is not; its numbers are then NaN.
    ``growth`` is mean_j ||w_j(end)|| / ||w_j(0)|| over the hidden columns
    (:func:`column_norms`; NaN without batch norm). ``runs`` maps seeds to
    ``(mlp, history)`` pairs that :func:`train` already returned for the same settings,
    which are used instead of training again. Returns ``seeds``, ``final``,
    ``diverged``, ``growth`` (arrays, one entry per seed) and, over the runs that did not
    diverge, ``final_median``, ``final_range`` and ``growth_median``, ``growth_range``
    ((min, max) pairs).
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds: give at least one seed")
    lr = _checks.positive("lr", lr)
    steps = _checks.nonnegative_int("steps", steps)
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    final, growth = np.full(len(seeds), np.nan), np.full(len(seeds), np.nan)
    diverged = np.zeros(len(seeds), dtype=bool)
    runs = {} if runs is None else runs
    for i, seed in enumerate(seeds):
        if seed in runs:
            mlp, history = runs[seed]
            diverged[i] = history.diverged
            if not diverged[i]:
                final[i] = history.final_loss
                if batch_norm:
                    norms = column_norms(mlp, history.thetas[[0, -1]])
                    growth[i] = float(np.mean(norms[1] / norms[0]))
            continue
        mlp = MLP([2] + [width] * depth + [2], activation="relu", batch_norm=batch_norm)
        rng = np.random.default_rng(seed)
        theta0 = mlp.init_params(rng)
        theta = theta0
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for _ in range(steps):  # the minibatches of SpiralClassification.oracle
                idx = rng.choice(len(X), batch_size, replace=False)
                batch_loss, g = mlp.loss_and_grad(theta, X[idx], y[idx])
                if not (np.all(np.isfinite(g)) and batch_loss <= max_loss):
                    break
                theta = theta - lr * g
            else:
                loss = mlp.loss(theta, X, y)
                if np.isfinite(loss) and loss <= max_loss:
                    final[i] = loss
        diverged[i] = np.isnan(final[i])
        if batch_norm and not diverged[i]:
            norms = column_norms(mlp, [theta0, theta])
            growth[i] = float(np.mean(norms[1] / norms[0]))
    result = {"seeds": seeds, "final": final, "diverged": diverged, "growth": growth}
    for key in ("final", "growth"):
        kept = result[key][~np.isnan(result[key])]
        ok = kept.size > 0
        result[f"{key}_median"] = float(np.median(kept)) if ok else math.nan
        result[f"{key}_range"] = (float(kept.min()), float(kept.max())) if ok else (math.nan,) * 2
    return result


def sweep_panel(ax, sweep: dict, threshold: float = CHANCE / 2) -> dict:
    """Final full-data loss against the learning rate, with and without batch norm.

    Runs that diverged are drawn on a row "diverged" above the plot's top; the chance
    level ln 2 and ``threshold`` (a run "learned" when it ends below it) are dashed.
    Returns, for "plain" and "bn": ``final`` (final losses, NaN where diverged),
    ``diverged`` (bools) and ``largest_learned`` (the largest lr whose run ended below
    the threshold, or None).
    """
    lrs = sweep["lrs"]
    result = {}
    finite = [h.final_loss for key in ("plain", "bn") for _, h in sweep[key] if not h.diverged]
    top = 3.0 * max([*finite, CHANCE])
    styles = {
        "plain": ("no batch norm", plot.PALETTE[1], "s"),
        "bn": ("batch norm", plot.PALETTE[0], "o"),
    }
    for key in ("plain", "bn"):
        label, color, marker = styles[key]
        diverged = np.array([h.diverged for _, h in sweep[key]])
        final = np.array([np.nan if h.diverged else h.final_loss for _, h in sweep[key]])
        ys = np.where(diverged, top, final)
        ax.plot(lrs, ys, color=color, marker=marker, markersize=7, label=label)
        learned = lrs[~diverged & (final < threshold)]
        result[key] = {
            "final": final,
            "diverged": diverged,
            "largest_learned": float(learned.max()) if learned.size else None,
        }
    ax.axhline(top, color="0.85", linewidth=8, zorder=0)
    ax.text(lrs[0], top, "  diverged", va="center", fontsize=9)
    ax.axhline(CHANCE, color="0.3", linestyle="--", linewidth=1.0)
    ax.text(lrs[0], CHANCE * 1.06, "  chance level ln 2", va="bottom", fontsize=9)
    ax.axhline(threshold, color="0.3", linestyle=":", linewidth=1.0)
    ax.text(lrs[0], threshold * 1.06, "  half of chance", va="bottom", fontsize=9)
    ax.set_xscale("log")
    ax.set_yscale("log")
    low = min([*finite, threshold]) / 1.5
    ticks = [t for t in (0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10) if low <= t < top / 1.3]
    ax.set_yticks(ticks, [f"{t:g}" for t in ticks])
    ax.set_yticks([], minor=True)
    ax.set_ylim(low, top * 1.4)
    ax.set_xlabel(r"learning rate $\varepsilon$")
    ax.set_ylabel("full-data loss after training")
    ax.legend(loc="lower right")
    return result


def dead_fraction(mlp: MLP, theta, X) -> np.ndarray:
    """Per hidden layer, the fraction of units whose output is 0 on every row of X.

    For a ReLU network: such a unit passes no signal forward and no gradient back.
    Uses training-mode batch statistics over all of X.
    """
    outputs = mlp.layer_outputs(theta, X)[:-1]
    return np.array([float(np.mean(np.all(h <= 0, axis=0))) for h in outputs])


def column_norms(mlp: MLP, thetas) -> np.ndarray:
    """||W_l[:, j]|| for every iterate, hidden layer l and unit j: shape (K, layers, width).

    Only the hidden layers (those followed by batch norm when the MLP has it); all of
    them must have the same width.
    """
    thetas = np.atleast_2d(np.asarray(thetas, dtype=float))
    hidden = mlp.num_layers - 1
    return np.array(
        [
            [np.linalg.norm(params["W"], axis=0) for params in mlp.unflatten(theta)[:hidden]]
            for theta in thetas
        ]
    )


def own_batch_accuracy(mlp: MLP, theta, X, y, batch_size: int) -> float:
    """Accuracy when X is cut into consecutive batches, each normalized by its own statistics.

    This is training-mode batch normalization applied at test time: a prediction then
    depends on the other examples of its batch. ``len(X)`` must be a multiple of
    ``batch_size`` (>= 2).
    """
    batch_size = _checks.positive_int("batch_size", batch_size)
    X, y = np.asarray(X, dtype=float), np.asarray(y)
    if batch_size < 2 or len(X) % batch_size:
        raise ValueError(f"batch_size must be >= 2 and divide len(X) = {len(X)}; got {batch_size}")
    correct = 0
    for start in range(0, len(X), batch_size):
        out = mlp.forward(theta, X[start : start + batch_size], training=True)
        correct += int(np.sum(np.argmax(out, axis=1) == y[start : start + batch_size]))
    return correct / len(X)


def batch_size_panel(ax, mlp: MLP, theta, X, y, sizes) -> dict:
    """Test accuracy with every test batch normalized by its own statistics, against the
    batch size (log 2 axis), beside the evaluation-mode accuracy (running averages).

    Returns ``sizes``, ``own`` (the accuracies, :func:`own_batch_accuracy`) and ``eval``.
    """
    sizes = [int(b) for b in sizes]
    own = [own_batch_accuracy(mlp, theta, X, y, b) for b in sizes]
    acc_eval = mlp.accuracy(theta, X, y)
    ax.plot(sizes, own, marker="o", label="own batch statistics (training mode)")
    ax.axhline(
        acc_eval,
        color=plot.PALETTE[1],
        linestyle="--",
        label=f"running averages (evaluation mode): {acc_eval:.3f}",
    )
    ax.axhline(0.5, color="0.5", linestyle=":", label="chance")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("test batch size")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.45, 1.0)
    ax.legend(loc="lower right")
    return {"sizes": sizes, "own": own, "eval": acc_eval}


def delta_panel(ax, deltas=(1e-8, 1e-5), stds=None, m: int = 64, seed: int = 4) -> dict:
    """The standard deviation of a column after ``optimlib.nn.batch_norm`` against that
    of the input column, for each delta, with the formula sqrt(v / (v + delta)).

    The input columns are s * z + 3, z a fixed vector of m values with batch mean 0 and
    batch variance exactly 1, for s in ``stds`` (default 1e-7 .. 10). Dotted lines mark
    sqrt(delta). Returns ``stds``, and per delta ``measured`` and ``theory``.
    """
    stds = np.geomspace(1e-7, 10, 33) if stds is None else np.asarray(stds, dtype=float)
    z = np.random.default_rng(seed).standard_normal(m)
    z = (z - z.mean()) / z.std()
    result = {"stds": stds, "measured": {}, "theory": {}}
    for delta, color, marker in zip(deltas, plot.PALETTE, plot.MARKERS, strict=False):
        measured = np.array([batch_norm(s * z + 3.0, delta).std() for s in stds])
        theory = stds / np.sqrt(stds**2 + delta)
        ax.plot(stds, theory, color=color, linewidth=1)
        ax.plot(
            stds,
            measured,
            color=color,
            marker=marker,
            linestyle="none",
            label=rf"$\delta = 10^{{{round(math.log10(delta))}}}$",
        )
        ax.axvline(math.sqrt(delta), color=color, linestyle=":", linewidth=1)
        result["measured"][delta] = measured
        result["theory"][delta] = theory
    ax.set_xscale("log")
    ax.set_xlabel(r"standard deviation of the input column $\sqrt{v}$")
    ax.set_ylabel("standard deviation of the output")
    ax.legend(loc="upper left")
    return result

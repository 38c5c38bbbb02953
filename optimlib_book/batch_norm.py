"""Chapter 8, batch normalization: the deep linear chain, deep MLPs with and without it.

Each figure is a ``compute_*`` function (numbers only, tested without matplotlib) and a
``draw_*(ax, result)`` function; the explorer's :func:`panel` is the two together.

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
* :func:`compute_depth`, :func:`compute_signals`, :func:`compute_ratios`,
  :func:`compute_bounds`, :func:`compute_step_sizes` (the explorer): the chapter's
  measurements on the chain.

The layer: :func:`compute_gradient_checks` (its backward pass against central
differences), :func:`compute_scale_invariance` and :func:`compute_chain_steps` (what
the normalization makes invisible).

Training a deep ReLU network on two spirals with minibatch SGD:

* :class:`SpiralClassification`: an MLP's full-data loss as a problem for
  :func:`optimlib.minimize`, with minibatch gradients from ``oracle(m, rng)``;
* :func:`train`, :func:`lr_sweep`, :func:`compute_outcomes`: runs with and without batch
  normalization over a grid of learning rates, divergence recorded as an outcome;
* :func:`compute_seed_spread`: the final loss and weight growth of one configuration over
  several seeds, for runs that are chaotic (their last bits, and so one seed's numbers,
  differ between CPUs; statistics over seeds do not);
* :func:`dead_fraction`, :func:`column_norms`, :func:`compute_growth`: dead ReLU units
  and the growth of normalized weights;
* :func:`own_batch_accuracy`, :func:`compute_batch_sizes`, :func:`compute_batch_mates`:
  test time, with running averages or with each test batch's own statistics;
* :func:`compute_degenerate_columns`, :func:`compute_delta_spread`,
  :func:`compute_delta_change`: what delta is for.
"""

from __future__ import annotations

import math

import numpy as np

from optimlib import _checks
from optimlib.nn import MLP, BatchNorm, batch_norm, gradient_check, softmax
from optimlib.optimizers import SGD
from optimlib.problems import two_spirals
from optimlib.run import History, minimize

from . import plot

__all__ = [
    "CHANCE",
    "SpiralClassification",
    "bn_chain_theta",
    "chain",
    "chain_weights",
    "column_norms",
    "compute_batch_mates",
    "compute_batch_sizes",
    "compute_bounds",
    "compute_chain_steps",
    "compute_degenerate_columns",
    "compute_delta_change",
    "compute_delta_spread",
    "compute_depth",
    "compute_gradient_checks",
    "compute_growth",
    "compute_outcomes",
    "compute_ratios",
    "compute_scale_invariance",
    "compute_seed_spread",
    "compute_signals",
    "compute_step_sizes",
    "dead_fraction",
    "draw_batch_sizes",
    "draw_bounds",
    "draw_curves",
    "draw_delta_spread",
    "draw_depth",
    "draw_outcomes",
    "draw_ratios",
    "draw_signals",
    "draw_step_sizes",
    "elementary_symmetric",
    "endings_table",
    "lr_sweep",
    "one_step",
    "output_gradient",
    "own_batch_accuracy",
    "panel",
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


def compute_step_sizes(
    depth: int = 10,
    scale: float = 1.1,
    spread: float = 0.1,
    seed: int = 0,
    eps_min: float = 1e-5,
    eps_max: float = 1.0,
    num: int = 61,
) -> dict:
    """The change of y_hat after one step w <- w - eps g, over a log grid of eps.

    The chain has ``depth`` weights from :func:`chain_weights` (``scale``, ``spread``,
    ``seed``) and input x = 1. Returns ``eps`` (the grid), ``predicted`` (-eps g.g),
    ``realised`` (y_hat(w - eps g) - y_hat), ``rel_error``, ``wrong_sign`` (bools: y_hat
    rose), ``y``, ``eps_star`` (= y_hat / g.g, where s = 1), ``eps_10`` (the largest grid
    eps up to which every relative error is at most 10 %), ``wrong_sign_from`` (the
    smallest grid eps with a wrong sign, or None), and the inputs ``depth``, ``scale``.
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
    bad = np.flatnonzero(rel_error > 0.1)
    if bad.size == 0:
        eps_10 = float(eps_grid[-1])
    else:
        eps_10 = float(eps_grid[bad[0] - 1]) if bad[0] > 0 else None
    return {
        "eps": eps_grid,
        "predicted": predicted,
        "realised": realised,
        "rel_error": rel_error,
        "wrong_sign": wrong,
        "y": y,
        "eps_star": y / float(g @ g),
        "eps_10": eps_10,
        "wrong_sign_from": float(eps_grid[wrong][0]) if wrong.any() else None,
        "depth": depth,
        "scale": scale,
    }


def draw_step_sizes(ax, result: dict) -> None:
    """Draw :func:`compute_step_sizes` on log-log axes.

    The line is the first-order prediction |eps g.g|; the markers are the realised change,
    dots where y_hat fell as predicted and crosses where it rose instead (wrong sign),
    triangles capped at the top for rises far off the scale. The dotted line marks eps*.
    """
    eps_grid, predicted, y = result["eps"], result["predicted"], result["y"]
    realised, wrong = result["realised"], result["wrong_sign"]
    blue, orange, purple = plot.PALETTE[0], plot.PALETTE[1], plot.PALETTE[3]
    size = np.abs(realised)
    top = 30 * max(float(np.abs(predicted).max()), abs(y))  # rises beyond it are capped
    ax.plot(eps_grid, np.abs(predicted), color=blue, label="first order")
    fell = ~wrong & (realised != 0)
    dots = {"linestyle": "none", "marker": "o", "color": orange}
    ax.plot(eps_grid[fell], size[fell], label="realised fall", **dots)
    rise, beyond = wrong & (size <= top), wrong & (size > top)
    crosses = {"linestyle": "none", "markersize": 7, "color": purple}
    if rise.any():
        ax.plot(eps_grid[rise], size[rise], marker="X", label="realised rise", **crosses)
    if beyond.any():
        capped = np.full(int(beyond.sum()), top)
        ax.plot(
            eps_grid[beyond], capped, marker="^", clip_on=False, label="rise, off scale", **crosses
        )
    ax.axhline(abs(y), color="0.6", linestyle="--", linewidth=1.0, label=r"$|\hat y|$")
    eps_star = result["eps_star"]
    ax.axvline(eps_star, color="0.3", linestyle=":", linewidth=1.2)
    position = math.log(eps_star / eps_grid[0]) / math.log(eps_grid[-1] / eps_grid[0])
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
    ax.set_title(rf"depth $l = {result['depth']}$, weights $\approx {result['scale']:g}$")
    ax.legend(loc="upper left", fontsize=8)
    plot.thin_log_ticks(ax)  # no unlabelled minor ticks over > 3 decades: half the drawing


def panel(ax, **params) -> dict:
    """The explorer: :func:`compute_step_sizes` (its parameters) drawn by
    :func:`draw_step_sizes`; returns the computed numbers."""
    result = compute_step_sizes(**params)
    draw_step_sizes(ax, result)
    return result


def compute_depth(scales=(0.8, 1.0, 1.25), max_depth: int = 30, seed: int = 0) -> dict:
    """|dy_hat/dw_1| for the depths l = 1..max_depth, for each weight scale.

    For each scale c the chains are the prefixes of ``chain_weights(max_depth, c)``, so
    adding a layer multiplies the gradient of w_1 by the new weight. Returns ``depths``,
    and per scale: ``grads`` (the gradients), ``rates`` (the measured growth per layer,
    (g(max_depth) / g(1)) ** (1 / (max_depth - 1))) and ``geo_means`` (the geometric mean
    of w_2..w_max_depth, which the rate must equal).
    """
    depths = np.arange(1, max_depth + 1)
    result = {"depths": depths, "grads": {}, "rates": {}, "geo_means": {}}
    for c in scales:
        w = chain_weights(max_depth, scale=c, seed=seed)
        grads = np.array([abs(output_gradient(w[:l])[1][0]) for l in depths])
        result["grads"][c] = grads
        result["rates"][c] = float((grads[-1] / grads[0]) ** (1 / (max_depth - 1)))
        result["geo_means"][c] = float(np.exp(np.mean(np.log(w[1:]))))
    return result


def draw_depth(ax, result: dict) -> None:
    """Draw :func:`compute_depth`: one curve per scale, log scale, the rate in the legend."""
    styles = zip(result["grads"].items(), plot.PALETTE, plot.MARKERS, strict=False)
    for (c, grads), color, marker in styles:
        rate = result["rates"][c]
        label = rf"$w_i \approx {c:g}$: $\times${rate:.3f} per layer"
        ax.plot(result["depths"], grads, color=color, marker=marker, markevery=3, label=label)
    ax.set_yscale("log")
    ax.set_xlabel("depth $l$ of the chain")
    ax.set_ylabel(r"$|\partial \hat y / \partial w_1|$")
    ax.legend(loc="upper left")
    plot.thin_log_ticks(ax)


def compute_signals(weights, x: float = 1.0) -> dict:
    """Inside one chain: the forward signal h_{i-1}, the backward signal dy_hat/dh_i and
    their product, the gradient g_i, for every layer i.

    h comes from the MLP's ``layer_outputs``, g from its backpropagation; the backward
    signal is the product w_{i+1} ... w_l. Returns ``forward``, ``backward``, ``grads``.
    """
    weights = _checks.float_array("weights", weights)
    l = weights.size
    outs = chain(l).layer_outputs(weights, np.array([[float(x)]]))
    h = np.array([float(x)] + [float(o[0, 0]) for o in outs])
    backward = np.array([np.prod(weights[i + 1 :]) for i in range(l)])
    _, grads = output_gradient(weights, x)
    return {"forward": h[:-1], "backward": backward, "grads": grads}


def draw_signals(ax, result: dict) -> None:
    """Draw :func:`compute_signals` against the layer i (log scale)."""
    forward, backward, grads = result["forward"], result["backward"], result["grads"]
    layer = np.arange(1, forward.size + 1)
    ax.plot(layer, forward, marker="o", markevery=3, label=r"forward $h_{i-1}$")
    label = r"backward $\partial\hat y/\partial h_i$"
    ax.plot(layer, backward, marker="s", markevery=3, label=label)
    ax.plot(layer, np.abs(grads), marker="^", markevery=3, label=r"gradient $g_i$")
    ax.set_yscale("log")
    top = float(max(np.abs(forward).max(), np.abs(backward).max(), np.abs(grads).max()))
    bottom = float(min(np.abs(forward).min(), np.abs(backward).min()))
    ax.set_ylim(bottom / 1.5, top * 8)  # room for the legend above the curves
    ax.set_xlabel("layer $i$")
    ax.set_ylabel("size")
    ax.legend(loc="upper center", ncol=2, fontsize=8.5)
    plot.thin_log_ticks(ax)


def compute_ratios(weights, eps_list, depths=None) -> dict:
    """Realised change of y_hat / first-order prediction, per eps and depth.

    The chains are the prefixes ``weights[:l]`` for l in ``depths`` (default 1..len).
    A ratio of 1 means the first-order step is exact. Returns ``depths``, ``steps``
    (eps -> list of :func:`one_step` results) and ``ratio`` (eps -> array).
    """
    weights = _checks.float_array("weights", weights)
    depths = np.arange(1, weights.size + 1) if depths is None else np.asarray(depths)
    steps = {eps: [one_step(weights[:l], eps) for l in depths] for eps in eps_list}
    ratio = {
        eps: np.array([st["realised"] / st["predicted"] for st in steps[eps]]) for eps in eps_list
    }
    return {"depths": depths, "steps": steps, "ratio": ratio}


def draw_ratios(ax, result: dict, top: float = 2.5) -> None:
    """Draw :func:`compute_ratios` against the depth, one curve per eps (log scale).

    Ratios off the scale are drawn on a grey row at height ``top``: crosses where the
    ratio is negative (y_hat rose although the step was meant to lower it), triangles
    where it exceeds ``top`` (y_hat fell far more than predicted).
    """
    depths, ratio = result["depths"], result["ratio"]
    shown = np.concatenate([r[(r > 0) & (r <= top)] for r in ratio.values()])
    off_scale = False
    for (eps, r), color, marker in zip(ratio.items(), plot.PALETTE, plot.MARKERS, strict=False):
        inside = (r > 0) & (r <= top)
        last = int(np.argmin(inside)) if not inside.all() else len(r)  # up to the first miss
        label = rf"$\varepsilon = {eps:g}$"
        ax.plot(depths[:last], r[:last], color=color, marker=marker, markevery=3, label=label)
        for mask, symbol in ((r < 0, "X"), (r > top, "^")):
            if mask.any():
                off_scale = True
                row = np.full(int(mask.sum()), top)
                style = {"marker": symbol, "markersize": 8, "linestyle": "none"}
                ax.plot(depths[mask], row, color=color, clip_on=False, **style)
    if off_scale:
        ax.axhline(top, color="0.85", linewidth=9, zorder=0)
        text = f" off scale: \u2716 wrong sign, \u25b2 above {top:g}"
        ax.text(depths[0], top, text, va="center", fontsize=8)
    ax.axhline(1, color="0.3", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_ylim(shown.min() / 2, top * 1.6)
    ax.set_xlabel("depth $l$")
    ax.set_ylabel("realised / first-order change")
    ax.legend(loc="lower left", fontsize=8.5)
    plot.thin_log_ticks(ax)


def compute_bounds(steps: dict) -> dict:
    """The steps of :func:`compute_ratios` where the chapter's proposition applies (every
    r_i in [0, 1]), with the ratio realised / predicted, s = eps g.g / y_hat, and the
    bounds (1 - e^-s) / s and min(1, 1/s).

    Returns ``groups`` (eps -> (s, ratio) of its kept steps) and the flat arrays ``s``,
    ``ratio``, ``lower``, ``upper``.
    """
    groups = {}
    for eps, group in steps.items():
        kept = [st for st in group if st["r"].min() >= 0 and st["r"].max() <= 1]
        s = np.array([st["s"] for st in kept])
        groups[eps] = (s, np.array([st["realised"] / st["predicted"] for st in kept]))
    s = np.concatenate([g[0] for g in groups.values()])
    q = np.concatenate([g[1] for g in groups.values()])
    return {
        "groups": groups,
        "s": s,
        "ratio": q,
        "lower": (1 - np.exp(-s)) / s,
        "upper": np.minimum(1, 1 / s),
    }


def draw_bounds(ax, result: dict) -> None:
    """Draw :func:`compute_bounds`: the ratios against s, the band between the bounds."""
    styles = zip(result["groups"].values(), plot.PALETTE, plot.MARKERS, strict=False)
    for (s, q), color, marker in styles:
        ax.plot(s, q, color=color, marker=marker, linestyle="none")
    s = result["s"]
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
    plot.thin_log_ticks(ax)


# --- the layer: gradient check, scale invariance, the chain with batch norm ------------------


def compute_gradient_checks(seed: int = 8, m: int = 16, n: int = 5) -> dict:
    """``optimlib.nn.gradient_check`` of the batch-norm layer and of a network with it.

    A layer with random gamma in [0.5, 2] and beta ~ N(0, 1) normalizes H ~ N(2, 9)
    (m x n); the loss L = sum(G * out) for a fixed random G has dL/d(out) = G. Checked:
    dL/dH, dL/d(gamma, beta), and an MLP [2, 8, 8, 8, 2] (tanh, batch norm) on 32 points
    of two spirals; and a plausible mistake, the backward pass without the path through
    sigma. Returns ``errors`` (name -> relative error), ``err_wrong``, and the projector's
    two components of dL/dH relative to its largest entry: ``along_1`` (|1^T dL/dH|,
    rounding) and ``along_h`` (|h_hat^T dL/dH|), with ``along_h_cols`` and
    ``along_h_expected`` = delta / (v + delta) h_hat^T g_bar / sigma per column.
    """
    rng = np.random.default_rng(seed)
    H = rng.normal(2.0, 3.0, size=(m, n))
    G = rng.standard_normal((m, n))
    bn = BatchNorm(n)
    bn.gamma = rng.uniform(0.5, 2.0, n)
    bn.beta = rng.standard_normal(n)
    affine = np.concatenate([bn.gamma, bn.beta])
    Xb, yb = two_spirals(32, rng)
    net = MLP([2, 8, 8, 8, 2], activation="tanh", batch_norm=True)
    theta = net.init_params(rng)

    def loss_of_H(flat):
        return np.sum(G * bn.forward(flat.reshape(m, n), update_running=False))

    def grad_of_H(flat):
        bn.forward(flat.reshape(m, n), update_running=False)
        return bn.backward(G).ravel()

    def loss_of_affine(p):
        bn.gamma, bn.beta = p[:n], p[n:]
        return np.sum(G * bn.forward(H, update_running=False))

    def grad_of_affine(p):
        loss_of_affine(p)
        bn.backward(G)
        return np.concatenate([bn.grads["gamma"], bn.grads["beta"]])

    def grad_without_sigma_path(flat):
        g = G * bn.gamma
        sigma = np.sqrt(bn.delta + flat.reshape(m, n).var(axis=0))
        return ((g - g.mean(axis=0)) / sigma).ravel()

    def net_grad(th):
        return net.loss_and_grad(th, Xb, yb, update_running=False)[1]

    errors = {
        "dL/dH": gradient_check(loss_of_H, grad_of_H, H.ravel()),
        "dL/d(gamma,beta)": gradient_check(loss_of_affine, grad_of_affine, affine),
        "MLP with BN": gradient_check(lambda th: net.loss(th, Xb, yb), net_grad, theta),
    }
    err_wrong = gradient_check(loss_of_H, grad_without_sigma_path, H.ravel())
    bn.gamma, bn.beta = affine[:n], affine[n:]
    bn.forward(H, update_running=False)
    dH = bn.backward(G)
    v = H.var(axis=0)
    sigma = np.sqrt(bn.delta + v)
    H_hat = (H - H.mean(axis=0)) / sigma
    along_h = np.sum(H_hat * dH, axis=0)
    expected = bn.delta / (v + bn.delta) * np.sum(H_hat * (bn.gamma * G), axis=0) / sigma
    largest = np.abs(dH).max()
    return {
        "errors": errors,
        "err_wrong": err_wrong,
        "along_1": float(np.abs(dH.sum(axis=0)).max() / largest),
        "along_h": float(np.abs(along_h).max() / largest),
        "along_h_cols": along_h,
        "along_h_expected": expected,
    }


def compute_scale_invariance(
    X, y, depth: int = 8, width: int = 16, layer: int = 2, unit: int = 5, factor: float = 10.0
) -> dict:
    """A ReLU MLP with batch norm at its initialization (seed 0), with one column of a
    hidden weight matrix (``unit`` of ``layer``) multiplied by ``factor``.

    Returns ``change_out`` (the largest change of the output, relative to its largest
    entry), ``change_grad`` (that column's gradient times ``factor`` against before, same
    measure), and the largest |cos(w_j, dL/dw_j)| over the columns of the hidden layers
    (``cos_hidden``) and of the output layer (``cos_out``).
    """
    deep = MLP([2] + [width] * depth + [2], activation="relu", batch_norm=True)
    theta = deep.init_params(np.random.default_rng(0))
    scaled = theta.copy()
    deep.unflatten(scaled)[layer]["W"][:, unit] *= factor
    out, out_s = deep.forward(theta, X), deep.forward(scaled, X)
    grad = deep.loss_and_grad(theta, X, y, update_running=False)[1]
    grad_s = deep.loss_and_grad(scaled, X, y, update_running=False)[1]
    col = deep.unflatten(grad)[layer]["W"][:, unit]
    col_s = deep.unflatten(grad_s)[layer]["W"][:, unit]

    def cosines(params, grads):
        W, gW = params["W"], grads["W"]
        dots = np.sum(W * gW, axis=0)
        return np.abs(dots / (np.linalg.norm(W, axis=0) * np.linalg.norm(gW, axis=0)))

    pairs = list(zip(deep.unflatten(theta), deep.unflatten(grad), strict=True))
    return {
        "change_out": float(np.abs(out_s - out).max() / np.abs(out).max()),
        "change_grad": float(np.abs(factor * col_s - col).max() / np.abs(col).max()),
        "cos_hidden": float(max(cosines(p, q).max() for p, q in pairs[:-1])),
        "cos_out": float(cosines(*pairs[-1]).max()),
    }


def bn_chain_theta(net: MLP, weights) -> np.ndarray:
    """theta of a chain with batch norm (:func:`chain`) with weights w_i, gamma 1, beta 0."""
    theta = net.init_params(0)  # gamma = 1, beta = 0
    for params, w_i in zip(net.unflatten(theta), weights, strict=True):
        params["W"][...] = w_i
    return theta


def compute_chain_steps(
    weights, eps_list=(0.01, 0.1), depths=(2, 10, 30), seed: int = 5, stretch: float = 7.0
) -> dict:
    """One gradient step on the mean squared error of y = 2x + noise (32 examples, from
    ``seed``) with the chains ``weights[:l]``, without and with batch norm.

    Returns ``ratios``: (eps, l) -> (ratio without, ratio with batch norm, the largest
    |dL/dw| of the normalized chain's hidden weights), each ratio the change of the loss
    over its first-order prediction -eps ||grad L||^2; and ``stretch_gap``: how much the
    deepest normalized chain's output moves when w_1 is multiplied by ``stretch``.
    """
    rng = np.random.default_rng(seed)
    Xc = rng.standard_normal((32, 1))
    Yc = 2 * Xc + 0.3 * rng.standard_normal((32, 1))

    def loss_ratio(net, th, eps):
        L, g = net.loss_and_grad(th, Xc, Yc, update_running=False)
        return (net.loss(th - eps * g, Xc, Yc) - L) / (-eps * g @ g), g

    ratios = {}
    for eps in eps_list:
        for l in depths:
            normed = chain(l, batch_norm=True)
            r_plain, _ = loss_ratio(chain(l), weights[:l], eps)
            r_bn, g_bn = loss_ratio(normed, bn_chain_theta(normed, weights[:l]), eps)
            hidden = max(np.abs(p["W"]).max() for p in normed.unflatten(g_bn)[:-1])
            ratios[eps, l] = (float(r_plain), float(r_bn), float(hidden))
    th_bn = bn_chain_theta(normed, weights[: depths[-1]])
    stretched = th_bn.copy()
    normed.unflatten(stretched)[0]["W"][...] *= stretch
    gap = np.abs(normed.forward(stretched, Xc) - normed.forward(th_bn, Xc)).max()
    return {"ratios": ratios, "stretch_gap": float(gap)}


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


def endings_table(sweep: dict, chaotic=()) -> str:
    """How each run of :func:`lr_sweep` ended, one row per learning rate: its final loss,
    or the step at which it diverged. Runs at a learning rate in ``chaotic`` (batch norm
    only) print no digits: they differ between CPUs and are reported over seeds."""

    def ending(run, is_chaotic=False):
        if run.diverged:
            return f"diverged at step {run.diverged_at}"
        return "final loss: see below" if is_chaotic else f"final loss {run.final_loss:.4f}"

    lines = ["eps     no batch norm          batch norm"]
    rows = zip(sweep["lrs"], sweep["plain"], sweep["bn"], strict=True)
    for lr, (_, a), (_, b) in rows:
        lines.append(f"{lr:<6g}  {ending(a):21s}  {ending(b, lr in chaotic)}")
    return "\n".join(lines)


def draw_curves(axes, sweep: dict, lrs) -> None:
    """The full-data loss of :func:`lr_sweep`'s runs against the step, with and without
    batch norm, one panel per learning rate in ``lrs`` (log scale; dashed: chance)."""
    for ax, lr in zip(axes, lrs, strict=True):
        k = list(sweep["lrs"]).index(lr)
        plot.convergence(ax, [sweep["bn"][k][1], sweep["plain"][k][1]], measure="loss")
        ax.axhline(CHANCE, color="0.3", linestyle="--", linewidth=1)
        ax.set_title(rf"$\varepsilon = {lr:g}$")
        ax.set_ylim(0.04, 300)
        plot.thin_log_ticks(ax)
        if ax is not axes[0]:
            ax.get_legend().remove()
            ax.set_ylabel("")
    axes[0].set_ylabel("full-data loss")
    axes[0].text(75, CHANCE * 1.2, "chance", fontsize=9)


def compute_outcomes(sweep: dict, threshold: float = CHANCE / 2) -> dict:
    """How :func:`lr_sweep`'s runs end. For "plain" and "bn": ``final`` (final losses, NaN
    where diverged), ``diverged`` (bools) and ``largest_learned`` (the largest lr whose
    run ended below ``threshold``, or None); and ``threshold``."""
    lrs = sweep["lrs"]
    result = {"threshold": threshold}
    for key in ("plain", "bn"):
        diverged = np.array([h.diverged for _, h in sweep[key]])
        final = np.array([np.nan if h.diverged else h.final_loss for _, h in sweep[key]])
        learned = lrs[~diverged & (final < threshold)]
        result[key] = {
            "final": final,
            "diverged": diverged,
            "largest_learned": float(learned.max()) if learned.size else None,
        }
    return result


def draw_outcomes(ax, sweep: dict, outcomes: dict) -> None:
    """Final loss against the learning rate (:func:`compute_outcomes`), log-log. Runs
    that diverged sit on a grey row "diverged" above the others; chance ln 2 (dashed) and
    the threshold of "learned" (dotted) are marked."""
    lrs, threshold = sweep["lrs"], outcomes["threshold"]
    finals = np.concatenate([outcomes[k]["final"] for k in ("plain", "bn")])
    finite = [*finals[~np.isnan(finals)]]
    top = 3.0 * max([*finite, CHANCE])
    styles = {
        "plain": ("no batch norm", plot.PALETTE[1], "s"),
        "bn": ("batch norm", plot.PALETTE[0], "o"),
    }
    for key, (label, color, marker) in styles.items():
        ys = np.where(outcomes[key]["diverged"], top, outcomes[key]["final"])
        ax.plot(lrs, ys, color=color, marker=marker, markersize=7, label=label)
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
    plot.thin_log_ticks(ax)


def compute_growth(sweep: dict) -> dict:
    """The growth of the hidden weight columns in :func:`lr_sweep`'s batch-norm runs.

    For every run that did not diverge: ``growth`` (lr -> mean_j ||w_j(end)|| /
    ||w_j(0)||) and ``least_change`` (lr -> the smallest relative change of a column
    norm in one step, negative if a column ever shrank). For the runs that diverged:
    ``gamma`` (lr -> the largest |gamma| at the last finite step).
    """
    result = {"growth": {}, "least_change": {}, "gamma": {}}
    for lr, (net, run) in zip(sweep["lrs"], sweep["bn"], strict=True):
        lr = float(lr)
        if run.diverged:
            hidden = net.unflatten(run.theta)[:-1]
            result["gamma"][lr] = float(max(np.abs(p["gamma"]).max() for p in hidden))
            continue
        norms = column_norms(net, run.thetas)  # (steps + 1, layers, units)
        result["least_change"][lr] = float((np.diff(norms, axis=0) / norms[:-1]).min())
        result["growth"][lr] = float(np.mean(norms[-1] / norms[0]))
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


def compute_batch_sizes(mlp: MLP, theta, X, y, sizes) -> dict:
    """Test accuracy with every test batch normalized by its own statistics, for each
    batch size, beside the evaluation-mode accuracy (running averages).

    Returns ``sizes``, ``own`` (the accuracies, :func:`own_batch_accuracy`) and ``eval``.
    """
    sizes = [int(b) for b in sizes]
    own = [own_batch_accuracy(mlp, theta, X, y, b) for b in sizes]
    return {"sizes": sizes, "own": own, "eval": mlp.accuracy(theta, X, y)}


def draw_batch_sizes(ax, result: dict) -> None:
    """Draw :func:`compute_batch_sizes` against the batch size (log 2 axis)."""
    acc_eval = result["eval"]
    ax.plot(
        result["sizes"], result["own"], marker="o", label="own batch statistics (training mode)"
    )
    label = f"running averages (evaluation mode): {acc_eval:.3f}"
    ax.axhline(acc_eval, color=plot.PALETTE[1], linestyle="--", label=label)
    ax.axhline(0.5, color="0.5", linestyle=":", label="chance")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("test batch size")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.45, 1.0)
    ax.legend(loc="lower right")


def compute_batch_mates(
    mlp: MLP, theta, X, index: int = 0, draws: int = 200, mates: int = 3, seed: int = 2
) -> dict:
    """The predicted probability of class 1 for the example ``X[index]``, in batches
    with ``mates`` other examples of X drawn at random (``draws`` times, from ``seed``),
    in training mode (batch statistics) and in evaluation mode (running averages).

    Returns ``train`` and ``eval``, arrays of ``draws`` probabilities.
    """
    rng = np.random.default_rng(seed)
    x0, others = X[index : index + 1], np.delete(np.arange(len(X)), index)
    probs = {True: [], False: []}
    for _ in range(draws):
        batch = np.vstack([x0, X[rng.choice(others, mates, replace=False)]])
        for training in (True, False):
            logits = mlp.forward(theta, batch, training=training)
            probs[training].append(softmax(logits[0])[1])
    return {"train": np.array(probs[True]), "eval": np.array(probs[False])}


def compute_degenerate_columns(seed: int = 3, m: int = 8) -> dict:
    """Batch norm of three columns of m rows: an ordinary feature N(1, 4), a dead ReLU unit
    (zeros) and a constant 0.7, with delta = 0 and delta = 1e-8.

    Returns ``H``, ``out_0`` and ``out_8`` (the two outputs), ``mean_error`` (how far the
    computed mean of the constant column is from 0.7: rounding), and the backward pass
    of the layer (delta = 1e-8) for a random upstream gradient ``G``: ``dH``.
    """
    rng = np.random.default_rng(seed)
    H = np.column_stack([rng.normal(1.0, 2.0, m), np.zeros(m), np.full(m, 0.7)])
    with np.errstate(invalid="ignore"):
        out_0 = batch_norm(H, delta=0.0)
    layer = BatchNorm(3, delta=1e-8)
    layer.forward(H, update_running=False)
    G = rng.standard_normal(H.shape)
    return {
        "H": H,
        "out_0": out_0,
        "out_8": batch_norm(H, delta=1e-8),
        "mean_error": float(abs(np.mean(H, axis=0)[2] - 0.7)),  # as batch_norm computes it
        "G": G,
        "dH": layer.backward(G),
    }


def compute_delta_spread(deltas=(1e-8, 1e-5), stds=None, m: int = 64, seed: int = 4) -> dict:
    """The standard deviation of a column after ``optimlib.nn.batch_norm`` against that
    of the input column, for each delta, with the formula sqrt(v / (v + delta)).

    The input columns are s * z + 3, z a fixed vector of m values with batch mean 0 and
    batch variance exactly 1, for s in ``stds`` (default 1e-7 .. 10). Returns ``stds``,
    and per delta ``measured`` and ``theory``.
    """
    stds = np.geomspace(1e-7, 10, 33) if stds is None else np.asarray(stds, dtype=float)
    z = np.random.default_rng(seed).standard_normal(m)
    z = (z - z.mean()) / z.std()
    result = {"stds": stds, "measured": {}, "theory": {}}
    for delta in deltas:
        result["measured"][delta] = np.array([batch_norm(s * z + 3.0, delta).std() for s in stds])
        result["theory"][delta] = stds / np.sqrt(stds**2 + delta)
    return result


def draw_delta_spread(ax, result: dict) -> None:
    """Draw :func:`compute_delta_spread`: lines the formula, markers the measurements,
    dotted verticals at sqrt(delta)."""
    stds = result["stds"]
    styles = zip(result["theory"], plot.PALETTE, plot.MARKERS, strict=False)
    for delta, color, marker in styles:
        ax.plot(stds, result["theory"][delta], color=color, linewidth=1)
        label = rf"$\delta = 10^{{{round(math.log10(delta))}}}$"
        measured = result["measured"][delta]
        ax.plot(stds, measured, color=color, marker=marker, linestyle="none", label=label)
        ax.axvline(math.sqrt(delta), color=color, linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel(r"standard deviation of the input column $\sqrt{v}$")
    ax.set_ylabel("standard deviation of the output")
    ax.legend(loc="upper left")
    plot.thin_log_ticks(ax)


def compute_delta_change(deltas=(1e-8, 1e-5), std: float = 2.0, m: int = 64, seed: int = 4) -> dict:
    """The relative change delta makes to a normalized column of standard deviation ``std``
    (exactly: z standardized, times std, plus 1), against delta / (2 v) with v = std^2.

    Returns ``measured`` and ``predicted``, dicts over delta.
    """
    z = np.random.default_rng(seed).standard_normal(m)
    col = std * (z - z.mean()) / z.std() + 1.0
    exact = batch_norm(col, 0.0)
    measured = {d: float(1 - batch_norm(col, d)[0] / exact[0]) for d in deltas}
    return {"measured": measured, "predicted": {d: d / (2 * std**2) for d in deltas}}

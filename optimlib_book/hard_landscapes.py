"""Chapter 2, "What makes optimization hard": a saddle to escape and a plateau to cross.

* :func:`escape_step` and :func:`predicted_escape`: how long gradient descent lingers
  near the saddle of :class:`optimlib.problems.Saddle`, measured and predicted.
* :func:`saddle_panel`: the chapter's explorer: the iterates of gradient descent started
  a distance ``offset`` off the saddle's stable axis, every iterate drawn, so that the
  ones piling up near the saddle show the time lost there.

It imports matplotlib only when the panel is drawn.
"""

from __future__ import annotations

import math

import numpy as np

from optimlib import _checks
from optimlib.optimizers import SGD
from optimlib.problems import Saddle
from optimlib.run import History, minimize

__all__ = ["escape_step", "predicted_escape", "saddle_panel"]


def escape_step(history: History, threshold: float = 0.5) -> int | None:
    """The first k with |theta_k[1]| >= threshold: when a run on the saddle has left it.

    ``None`` when the run never got that far (for instance, started exactly on the
    stable axis y = 0, where gradient descent converges to the saddle).
    """
    threshold = _checks.positive("threshold", threshold)
    if history.thetas is None:
        raise ValueError("history: escape_step needs the recorded iterates (record_iterates)")
    hits = np.flatnonzero(np.abs(history.thetas[:, 1]) >= threshold)
    return int(hits[0]) if hits.size else None


def predicted_escape(offset, eps, b=1.0, threshold=0.5, refined=True):
    """The number of gradient-descent steps from |y_0| = offset to |y| = threshold.

    On f = a/2 x^2 - b/2 y^2 + b/4 y^4 the y-coordinate of gradient descent obeys
    y_{k+1} = y_k + eps b (y_k - y_k^3). Near the saddle, y_k ~ (1 + eps b)^k y_0, so

        K = ln(threshold / offset) / ln(1 + eps b)                    (refined=False).

    The cubic term slows the last part of the escape. The gradient flow
    dy/dt = b (y - y^3) keeps y^2 / (1 - y^2) proportional to exp(2 b t); writing the
    growth b t of the flow as the growth k ln(1 + eps b) of the steps gives

        K = ln[threshold sqrt(1 - offset^2) / (offset sqrt(1 - threshold^2))]
            / ln(1 + eps b)                                            (refined=True),

    within one step of the first k with |y_k| >= threshold for eps b <= 0.3 (tested).
    ``offset`` may be an array.
    """
    offset = np.asarray(offset, dtype=np.float64)
    if not (np.all(offset > 0) and np.all(offset < 1)):
        raise ValueError(f"offset must lie in (0, 1); got {offset!r}")
    eps = _checks.positive("eps", eps)
    b = _checks.positive("b", b)
    threshold = _checks.positive("threshold", threshold)
    if not threshold < 1:
        raise ValueError(
            f"threshold must lie in (0, 1) (the minima are at |y| = 1); got {threshold}"
        )
    ratio = threshold / offset
    if refined:
        ratio = ratio * np.sqrt((1 - offset**2) / (1 - threshold**2))
    steps = np.log(ratio) / math.log1p(eps * b)
    return float(steps) if steps.ndim == 0 else steps


def saddle_panel(ax, offset=1e-6, eps=0.1, b=1.0, threshold=0.5, steps=None) -> dict:
    """Gradient descent on :class:`~optimlib.problems.Saddle` from (1, offset), every iterate.

    Draws the contours, the two minima, the saddle, the lines |y| = threshold, and each
    iterate as a dot: where the dots crowd, the run is slow. Runs ``steps`` steps (by
    default 40 past the predicted escape). Returns ``escape_step`` (measured, or None),
    ``predicted`` (:func:`predicted_escape`), ``near_saddle`` (how many iterates lie
    within 0.1 of the saddle), ``loss_gap`` (f - f* at the end) and ``history``.
    """
    offset = float(offset)
    predicted = predicted_escape(offset, eps, b=b, threshold=threshold)
    problem = Saddle(b=b)
    if not eps * max(problem.a, 2 * problem.b) < 2:
        raise ValueError(
            f"eps must be below 2 / max(a, 2b) = {2 / max(problem.a, 2 * problem.b):g}, "
            f"or gradient descent is unstable at the minima; got {eps}"
        )
    if steps is None:
        steps = math.ceil(predicted) + 40
    history = minimize(problem, SGD(lr=eps), steps=steps, x0=[1.0, offset], label="GD")
    escape = escape_step(history, threshold)

    from . import plot  # lazily: matplotlib

    plot.contour(ax, problem, mark_min=False, resolution=160)
    for y in (-threshold, threshold):
        ax.axhline(y, color="0.5", linestyle="--", linewidth=0.8)
    ax.plot(*problem.minima.T, marker="*", color="black", markersize=12, linestyle="none")
    ax.plot(0, 0, marker="X", color="black", markersize=8, linestyle="none")
    thetas = history.thetas
    color = plot.PALETTE[0]
    ax.plot(thetas[:, 0], thetas[:, 1], color=color, linewidth=0.8)
    ax.plot(thetas[:, 0], thetas[:, 1], "o", color=color, markersize=2.5)
    ax.plot(*thetas[0], "o", color=color, markersize=7, markerfacecolor="white")
    if escape is not None:
        ax.plot(*thetas[escape], "s", color=plot.PALETTE[1], markersize=7, zorder=6)
        text = f"escaped at step {escape}\n(predicted {predicted:.1f})"
    else:
        text = f"not escaped in {history.steps} steps\n(predicted {predicted:.1f})"
    ax.text(
        0.03,
        0.03,
        text,
        transform=ax.transAxes,
        fontsize=10,
        va="bottom",
        bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 2},
    )
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    near = int(np.sum(np.linalg.norm(thetas - problem.saddle_point, axis=1) < 0.1))
    return {
        "escape_step": escape,
        "predicted": predicted,
        "near_saddle": near,
        "loss_gap": float(history.losses[-1] - problem.f_star),
        "history": history,
    }

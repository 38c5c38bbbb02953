"""The book's figures: one style, colour-blind-safe colours, log scales for losses.

Part of the book package, so that ``import optimlib`` never loads matplotlib. Every
function draws into an ``Axes`` it is given and returns it, so a chapter composes
panels freely and a widget can redraw one panel.

Colours are the Okabe-Ito palette, which stays distinguishable under the common forms
of colour blindness; lines also differ by marker, so no figure relies on colour alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from itertools import cycle, pairwise

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure

from optimlib.run import History
from optimlib.schedules import partial_sums

from . import stacked
from .png import figure_png

__all__ = [
    "MARKERS",
    "PALETTE",
    "band",
    "contour",
    "convergence",
    "figure",
    "mark_divergence",
    "overlapping_tick_labels",
    "schedule_sums",
    "style",
    "thin_log_ticks",
    "trajectories",
    "trajectory",
    "use_one_draw_png",
    "use_style",
]

# Okabe & Ito (2008): blue, vermillion, bluish green, reddish purple, orange, sky blue,
# yellow, black.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]

STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.constrained_layout.use": True,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 9.5,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "lines.linewidth": 1.8,
    "lines.markersize": 4,
    "image.cmap": "viridis",
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
}


def use_style() -> None:
    """Apply the book's style to every figure that follows (call once per notebook).

    In the book's build it also has each multi-panel figure stored with a copy whose
    panels are stacked, for phone-width pages (``optimlib_book.stacked``).
    """
    mpl.rcParams.update(STYLE)
    stacked.install()


# The names matplotlib gives the inline backend, whose PNG formatter use_one_draw_png replaces.
INLINE_BACKENDS = ("inline", "module://matplotlib_inline.backend_inline")


def _inline_png(fig) -> bytes | None:
    """IPython's image/png formatter for a Figure: nothing for an empty one, as IPython's."""
    if not fig.axes and not fig.lines:
        return None
    return figure_png(fig)


def use_one_draw_png(shell=None) -> None:
    """Show the notebook's figures as PNGs drawn once (:func:`optimlib_book.png.figure_png`).

    The inline backend's formatter saves each figure with ``savefig``, which draws a
    constrained-layout figure twice; this one draws it once, with the same pixels. Call
    it in a chapter's setup cell, after :func:`use_style` and before any figure, and
    change no ``InlineBackend`` setting after it: IPython re-registers its own formatter
    then. Changes nothing outside IPython or under another backend. Returns None, so
    that the setup cell that ends with it shows no output.
    """
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return
        shell = get_ipython()
    backend = mpl.get_backend()
    if shell is None or backend.lower() not in INLINE_BACKENDS:
        return
    # pyplot loads the backend at the first figure, and the backend then registers its
    # own PNG formatter over any other: load it now, so that ours comes last.
    plt.switch_backend(backend)
    shell.display_formatter.formatters["image/png"].for_type(Figure, _inline_png)


@contextmanager
def style():
    """The book's style for the figures made inside a ``with`` block only."""
    with mpl.rc_context(STYLE):
        yield


def figure(ncols: int = 1, nrows: int = 1, width: float = 6.4, height: float = 4.0, **kwargs):
    """A figure with a grid of axes, each panel ``width`` x ``height`` inches / ncols, nrows."""
    return plt.subplots(nrows, ncols, figsize=(width, height), squeeze=False, **kwargs)


def thin_log_ticks(ax, decades: float = 3.0):
    """No minor ticks on a log axis of ``ax`` that spans more than ``decades`` decades
    and shows at least two labelled ones.

    Over many decades the eight unlabelled minor ticks a decade add nothing a reader
    uses (the labelled decades carry the scale), but each is a tick object with two
    labels that matplotlib builds, measures for the layout and draws: on a log-log
    panel they were a third of a live explorer's redraw. Narrower log axes keep their
    minor ticks, which there carry labels (2 x 10^k, 5 x 10^k), and so does an axis
    with a single decade in view, which the marks alone make readable.
    """
    for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if axis.get_scale() != "log" or min(low, high) <= 0:
            continue
        low, high = sorted((low, high))
        if np.log10(high / low) <= decades:
            continue  # narrow: the major locator need not run (every redraw calls this)
        if sum(low <= v <= high for v in axis.major.locator()) >= 2:  # labelled decades
            axis.set_minor_locator(mpl.ticker.NullLocator())
    return ax


def overlapping_tick_labels(fig, gap: float = 1.0) -> list[str]:
    """The pairs of tick labels of ``fig`` that run into each other, as "left | right".

    Checks each axis's visible, non-empty labels (major and minor) in view, on each side
    of the axes, after a draw of ``fig``: neighbours along the axis must be at least
    ``gap`` pixels apart. Over a decade or less, for one, matplotlib labels a log axis's
    minor ticks (2 x 10^k, 3 x 10^k, ...), and on a narrow panel they overlap in a row.
    """
    renderer = fig.canvas.get_renderer()
    found = []
    for ax in fig.axes:
        for axis, along in ((ax.xaxis, 0), (ax.yaxis, 1)):
            low, high = sorted(axis.get_view_interval())
            ticks = [
                t
                for t in (*axis.get_major_ticks(), *axis.get_minor_ticks())
                if low <= t.get_loc() <= high
            ]
            for side in ("label1", "label2"):  # below and above (left and right): apart
                labels = [getattr(t, side) for t in ticks]
                boxes = sorted(
                    (
                        (label.get_window_extent(renderer).get_points()[:, along], label.get_text())
                        for label in labels
                        if label.get_visible() and label.get_text()
                    ),
                    key=lambda box: box[0][0],
                )
                for (first, a), (second, b) in pairwise(boxes):
                    if second[0] - first[1] < gap:
                        found.append(f"{a} | {b}")
    return found


def _style_cycle():
    return cycle(zip(PALETTE, MARKERS, strict=True))


def _grid(problem, bounds, resolution: int):
    (x_lo, x_hi), (y_lo, y_hi) = bounds
    xs = np.linspace(x_lo, x_hi, resolution)
    ys = np.linspace(y_lo, y_hi, resolution)
    X, Y = np.meshgrid(xs, ys)
    Z = np.asarray(problem.f(np.stack([X, Y], axis=-1)), dtype=float)
    return X, Y, Z


def contour(ax, problem, bounds=None, levels: int = 18, resolution: int = 240, mark_min=True):
    """Contour lines of a 2-D problem's f, spaced logarithmically above its minimum.

    Log spacing shows the floor of a narrow valley and the walls around it in one
    picture, where evenly spaced levels would crowd into the walls.
    """
    bounds = problem.bounds if bounds is None else bounds
    if bounds is None:
        raise ValueError("bounds: give ((xmin, xmax), (ymin, ymax)); the problem has none")
    X, Y, Z = _grid(problem, bounds, resolution)
    floor = np.nanmin(Z)
    f_star = getattr(problem, "f_star", None)
    if f_star is not None:
        floor = min(floor, f_star)
    span = np.nanmax(Z) - floor
    gaps = np.geomspace(span * 1e-4, span, levels)
    ax.contour(X, Y, Z, levels=floor + gaps, cmap="viridis", linewidths=0.8, alpha=0.8)
    x_star = getattr(problem, "x_star", None)
    if mark_min and x_star is not None:
        ax.plot(*x_star, marker="*", color="black", markersize=12, linestyle="none", zorder=5)
    ax.set_xlim(bounds[0])
    ax.set_ylim(bounds[1])
    ax.set_xlabel(r"$\theta_1$")
    ax.set_ylabel(r"$\theta_2$")
    ax.set_aspect("equal", adjustable="box")
    ax.grid(False)
    return ax


def trajectory(ax, path, label=None, color=None, marker="o", every: int = 1, **kwargs):
    """The iterates theta_0, theta_1, ... of a 2-D run (a History or an array (K, 2)).

    Iterates beyond the axes' limits are drawn clipped at the frame, so a run flung far
    away still shows where it left; a diverged History ends in a cross.
    """
    history = path if isinstance(path, History) else None
    points = np.asarray(history.thetas if history is not None else path, dtype=float)
    if history is not None and label is None:
        label = history.label
    (line,) = ax.plot(
        points[::every, 0],
        points[::every, 1],
        marker=marker,
        color=color,
        label=label,
        markevery=max(1, len(points[::every]) // 40),
        **kwargs,
    )
    ax.plot(*points[0], marker="o", markersize=7, markerfacecolor="white", color=line.get_color())
    if history is not None and history.diverged:
        ax.plot(*points[-1], marker="X", markersize=10, color=line.get_color(), zorder=6)
    return ax


def trajectories(
    ax, problem, histories: Sequence[History], labels=None, bounds=None, legend="best", **kwargs
):
    """Contours of ``problem`` with the iterates of several runs on top.

    ``legend``: where to put the legend (a matplotlib ``loc``), or None for none.
    """
    contour(ax, problem, bounds=bounds)
    xlim, ylim = ax.get_xlim(), ax.get_ylim()
    labels = labels or [None] * len(histories)
    for history, label, (color, marker) in zip(histories, labels, _style_cycle(), strict=False):
        trajectory(ax, history, label=label, color=color, marker=marker, **kwargs)
    ax.set_xlim(xlim)
    ax.set_ylim(ylim)
    if legend is not None:
        ax.legend(loc=legend)
    return ax


_MEASURES = {
    "loss_gap": (lambda h: h.loss_gaps(), r"$f(\theta_k) - f^\star$"),
    "loss": (lambda h: h.losses, r"$f(\theta_k)$"),
    "distance": (lambda h: h.distances(), r"$\|\theta_k - \theta^\star\|$"),
    "grad_norm": (lambda h: h.grad_norms, r"$\|g_k\|$"),
}
_X_AXES = {
    "steps": (lambda h, n: np.arange(n), "step $k$"),
    "grad_evals": (
        lambda h, n: np.arange(n) * h.grad_evals / max(h.steps, 1),
        "gradient evaluations",
    ),
    "examples": (lambda h, n: np.arange(n) * h.examples / max(h.steps, 1), "examples processed"),
}


def convergence(
    ax,
    histories: Sequence[History],
    measure: str = "loss_gap",
    x: str = "steps",
    labels=None,
    logy: bool = True,
    legend="best",
    **kwargs,
):
    """Convergence curves on a log scale, one per run; diverged runs end in a labelled cross.

    ``measure``: "loss_gap" (f - f*), "loss", "distance" (to theta*) or "grad_norm";
    ``x``: "steps", "grad_evals" or "examples" (to compare batch sizes at equal cost);
    ``legend``: a matplotlib ``loc``, or None for no legend.
    """
    if measure not in _MEASURES:
        raise ValueError(f"measure must be one of {sorted(_MEASURES)}; got {measure!r}")
    if x not in _X_AXES:
        raise ValueError(f"x must be one of {sorted(_X_AXES)}; got {x!r}")
    values_of, ylabel = _MEASURES[measure]
    x_of, xlabel = _X_AXES[x]
    labels = labels or [h.label for h in histories]
    for history, label, (color, marker) in zip(histories, labels, _style_cycle(), strict=False):
        values = np.asarray(values_of(history), dtype=float)
        xs = x_of(history, len(values))
        if logy:
            # An exact zero (a run that hit the minimum) cannot sit on a log axis.
            values = np.where(values > 0, values, np.nan)
        ax.plot(
            xs,
            values,
            color=color,
            marker=marker,
            label=label,
            markevery=max(1, len(values) // 12),
            **kwargs,
        )
        if history.diverged:
            mark_divergence(ax, xs[-1], values[-1], history.diverged_at, color)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if legend is not None:
        ax.legend(loc=legend)
    return ax


def mark_divergence(ax, x, y, step, color):
    """A cross at the last finite point of a diverged run, labelled with the step.

    The label goes on the side of the cross with more room (left of a cross in the
    right half of the axes), so that it stays inside the frame.
    """
    ax.plot([x], [y], marker="X", markersize=10, color=color, linestyle="none", zorder=6)
    left, right = ax.get_xlim()
    on_the_right = (x - left) > (right - left) / 2
    ax.annotate(
        f"diverged at step {step}",
        (x, y),
        textcoords="offset points",
        xytext=(-8, 8) if on_the_right else (8, 8),
        ha="right" if on_the_right else "left",
        color=color,
        fontsize=9,
    )
    return ax


def schedule_sums(axes, schedules: Sequence, num_steps: int, labels=None):
    """Three panels for the Robbins-Monro conditions: eps_k, sum eps_k, sum eps_k^2.

    ``axes`` is a sequence of three Axes (log-log). A schedule meets the conditions when
    its curve in the middle panel keeps rising and the one in the right panel levels off.
    """
    ax_eps, ax_s1, ax_s2 = axes
    # Log-spaced sample points: on log-log axes they look the same as every step, at a
    # few hundred points per line instead of num_steps.
    shown = np.unique(np.geomspace(1, num_steps, 400).astype(int)) - 1
    labels = labels or [getattr(s, "label", repr(s)) for s in schedules]
    for schedule, label, (color, marker) in zip(schedules, labels, _style_cycle(), strict=False):
        s1, s2 = partial_sums(schedule, num_steps)
        eps = np.diff(s1, prepend=0.0)
        style = {"color": color, "marker": marker, "markevery": 0.1, "label": label}
        ax_eps.plot(shown + 1, eps[shown], **style)
        ax_s1.plot(shown + 1, s1[shown], **style)
        ax_s2.plot(shown + 1, s2[shown], **style)
    titles = (
        r"$\varepsilon_k$",
        r"$\sum_{j\leq k}\varepsilon_j$",
        r"$\sum_{j\leq k}\varepsilon_j^2$",
    )
    for ax, title in zip(axes, titles, strict=True):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step $k + 1$")
        ax.set_title(title)
    ax_eps.legend(loc="lower left")
    return axes


def band(ax, x, runs, label=None, color=None, marker=None, quantiles=(0.25, 0.75), logy=True):
    """The median of several runs (rows of ``runs``) with a shaded inter-quantile band.

    For comparisons over seeds: one line per method, its spread visible, instead of
    one lucky run.
    """
    runs = np.asarray(runs, dtype=float)
    # The nan-aware versions take one column at a time: only where a run left gaps.
    median, quantile = (
        (np.nanmedian, np.nanquantile) if np.isnan(runs).any() else (np.median, np.quantile)
    )
    median = median(runs, axis=0)
    low, high = quantile(runs, quantiles, axis=0)
    (line,) = ax.plot(
        x, median, label=label, color=color, marker=marker, markevery=max(1, len(x) // 12)
    )
    ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    if logy:
        ax.set_yscale("log")
    return ax

"""Chapter 9, head to head: draw and tabulate the sweep of :mod:`.head_to_head_sweep`.

The sweep (:mod:`optimlib.compare` on the tasks of :mod:`.head_to_head_sweep`) is
stored as plain data: for every task and optimizer, the tuning scores at every learning rate
and the evaluation runs at the chosen one. This module reads that data only; it runs
nothing.

* :func:`curve_band`: the median and the range over seeds of the gap at each recorded
  step, a diverged seed counting as worse than any number;
* :func:`convergence_panel`: those medians and ranges for every optimizer on one task;
* :func:`finals_panel`: where each seed ended, one row per optimizer;
* :func:`sensitivity_panel`: the median tuning score against the learning rate;
* :func:`good_range`: the learning rates whose median final gap is within the task's
  tolerance, the width of a method's margin for error;
* :func:`panel`: the explorer, every optimizer at one common learning rate (how most
  comparison pictures are made) ranked by its median final gap;
* :func:`paths_panel`: trajectories of a few runs on a 2-D problem, drawn so that no
  path hides another;
* :func:`legend`: one legend for a figure, the methods grouped by family;
* :func:`compute_ranking`: the median final gap of each method with a bootstrap interval
  over the evaluation seeds, and the methods ranked in groups those intervals can tell
  apart; :func:`draw_ranking` draws it;
* :func:`compute_defaults`: each method's hyperparameters besides the learning rate,
  and where PyTorch's defaults (:data:`PYTORCH`) differ;
* :func:`steps_table`: the steps-to-tolerance table as markdown, and
  :func:`html_table` to show such a table in a notebook output (the book renders
  markdown outputs as CommonMark, which has no tables), padded, numbers right-aligned,
  scrolling sideways in its own box on a narrow screen.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import NullFormatter

from optimlib import _checks
from optimlib.compare import grad_evals_per_step, summarize

from .head_to_head_sweep import DATA_FILE
from .notebook import scientific
from .plot import MARKERS, PALETTE, contour, thin_log_ticks

__all__ = [
    "FAMILIES",
    "PYTORCH",
    "RESAMPLES",
    "STYLES",
    "compute_defaults",
    "compute_ranking",
    "convergence_panel",
    "curve_band",
    "defaults_table",
    "draw_ranking",
    "final_gaps",
    "finals_panel",
    "good_range",
    "html_table",
    "legend",
    "load",
    "panel",
    "paths_panel",
    "ranking_table",
    "sensitivity_panel",
    "steps_table",
]

# Eleven lines stay distinguishable: each method has a colour and a marker of its own,
# and the line style says the family. The book's palette (Okabe & Ito, plot.PALETTE) gives seven
# colours (its yellow is too pale for a line on white) and eight markers; Paul Tol's
# olive, wine and indigo and a mid grey, and three more markers, make eleven.
_BLUE, _VERMILLION, _GREEN, _PURPLE, _ORANGE, _SKY, _YELLOW, _BLACK = PALETTE
_OLIVE, _WINE, _INDIGO, _GREY = "#999933", "#882255", "#332288", "#777777"
FAMILIES = {
    "SGD": "plain",
    "Momentum": "plain",
    "Nesterov": "plain",
    "AdaGrad": "adaptive",
    "RMSProp": "adaptive",
    "Adadelta": "adaptive",
    "Adam": "Adam family",
    "AdamW": "Adam family",
    "Nadam": "Adam family",
    "AMSGrad": "Adam family",
    "Lion": "sign",
}
_DASHES = {"plain": "-", "adaptive": "--", "Adam family": "-.", "sign": ":"}
_COLOURS = {
    "SGD": _BLACK,
    "Momentum": _VERMILLION,
    "Nesterov": _BLUE,
    "AdaGrad": _PURPLE,
    "RMSProp": _ORANGE,
    "Adadelta": _OLIVE,
    "Adam": _GREEN,
    "AdamW": _SKY,
    "Nadam": _WINE,
    "AMSGrad": _INDIGO,
    "Lion": _GREY,
}
_MARKERS = dict(zip(FAMILIES, [*MARKERS, "<", ">", "h"], strict=True))
STYLES = {
    name: {"color": _COLOURS[name], "marker": _MARKERS[name], "linestyle": _DASHES[family]}
    for name, family in FAMILIES.items()
}
FLOOR = 1e-16  # a gap at or below rounding is drawn here: a log axis has no room for 0
RESAMPLES = 10_000  # bootstrap resamples of the evaluation seeds
LEVEL = 0.95  # the coverage asked of each interval

# PyTorch's defaults for the hyperparameters optimlib's methods share with torch.optim:
# name -> (torch.optim class, {optimlib's name: (PyTorch's name, PyTorch's default)}).
# "betas[1]" is the second of PyTorch's betas; a PyTorch name of None is a choice its
# formula makes (PyTorch always adds eps outside the square root). Momentum's 0 in
# torch.optim.SGD means "off": PyTorch leaves momentum to the user. Lion is not in
# torch.optim. tests/book/test_head_to_head.py reads these from torch itself.
PYTORCH = {
    "SGD": ("SGD", {}),
    "Momentum": ("SGD", {"alpha": ("momentum", 0.0)}),
    "Nesterov": ("SGD", {"alpha": ("momentum", 0.0)}),
    "AdaGrad": ("Adagrad", {"delta": ("eps", 1e-10)}),
    "RMSProp": (
        "RMSprop",
        {"rho": ("alpha", 0.99), "delta": ("eps", 1e-8), "delta_in_sqrt": (None, False)},
    ),
    "Adam": (
        "Adam",
        {
            "rho1": ("betas[0]", 0.9),
            "rho2": ("betas[1]", 0.999),
            "delta": ("eps", 1e-8),
            "delta_in_sqrt": (None, False),
        },
    ),
    "AdamW": (
        "AdamW",
        {
            "rho1": ("betas[0]", 0.9),
            "rho2": ("betas[1]", 0.999),
            "delta": ("eps", 1e-8),
            "weight_decay": ("weight_decay", 1e-2),
        },
    ),
    "Nadam": (
        "NAdam",
        {
            "rho1": ("betas[0]", 0.9),
            "rho2": ("betas[1]", 0.999),
            "delta": ("eps", 1e-8),
            "momentum_decay": ("momentum_decay", 4e-3),
        },
    ),
    "AMSGrad": (
        "Adam",
        {"rho1": ("betas[0]", 0.9), "rho2": ("betas[1]", 0.999), "delta": ("eps", 1e-8)},
    ),
    "Adadelta": ("Adadelta", {"rho": ("rho", 0.9), "delta": ("eps", 1e-6)}),
    "Lion": (None, {}),
}


def load(path=None) -> dict:
    """The sweep's data (JSON): the file optimlib ships unless ``path`` names another."""
    return json.loads(Path(DATA_FILE if path is None else path).read_text())


def curve_band(data: dict, task: str, optimizer: str):
    """``(grad_evals, median, low, high, diverged)`` of the gap over the evaluation seeds.

    low and high are the smallest and largest gap over the seeds at each recorded step,
    as arrays with inf where a diverged seed decides the value; ``diverged`` counts
    the seeds that diverged.
    """
    entry = data["tasks"][task]["optimizers"][optimizer]["eval"]
    runs = entry["runs"]
    x = np.array(entry["record_at"]) * _per_step(data, task, optimizer)
    # compare.summarize's rule (None counts as inf, numpy's "higher" quantiles: one of
    # the seeds' values) at every recorded step at once
    curves = np.array([[math.inf if v is None else v for v in r["curve"]] for r in runs], float)
    low, median, high = np.quantile(curves, (0.0, 0.5, 1.0), axis=0, method="higher")
    diverged = sum(r["diverged_at"] is not None for r in runs)
    return x, median, low, high, diverged


def _per_step(data: dict, task: str, optimizer: str) -> int:
    """Gradient evaluations per step of the evaluation runs, exact from what each run
    stored (the task's budget of steps, or the step it diverged at)."""
    budget = data["tasks"][task]["steps"]
    runs = data["tasks"][task]["optimizers"][optimizer]["eval"]["runs"]
    costs = {
        grad_evals_per_step(
            r["grad_evals"],
            budget if r["diverged_at"] is None else r["diverged_at"],
            r["diverged_at"] is not None,
        )
        for r in runs
    }
    if len(costs) != 1:
        raise ValueError(f"data: {optimizer}'s runs on {task} cost {sorted(costs)} per step")
    return costs.pop()


def _style(name):
    return STYLES.get(name, {"color": "0.3", "marker": "o", "linestyle": "-"})


def _stagger(name, every: int, n: int) -> tuple[int, int]:
    """``markevery`` for one method: every ``every``-th point, starting at an offset of
    its own, so that the markers of two methods that draw the same line both show."""
    order = list(FAMILIES).index(name) if name in FAMILIES else 0
    every = max(1, every)
    return (order * every // len(FAMILIES)) % min(every, max(n, 1)), every


def legend(where, names=None, **kwargs):
    """One legend for all the panels of a figure: the methods in columns by family, each
    family headed by its line style.

    ``where``: a Figure (the legend goes below its panels, one column per family) or an
    Axes left free for it (the legend fills it in two columns, and its frame and ticks
    are switched off). ``names``: the methods to list (all of :data:`FAMILIES` by
    default). Keyword arguments go to matplotlib's ``legend``. Returns the legend.
    """
    names = list(FAMILIES) if names is None else list(names)
    columns = {}
    for name in names:
        columns.setdefault(FAMILIES.get(name, "other"), []).append(name)
    rows = 1 + max(len(members) for members in columns.values())
    handles, labels, headers = [], [], []
    for family, members in columns.items():
        headers.append(len(labels))
        handles.append(Line2D([], [], color="0.45", linestyle=_DASHES.get(family, "-")))
        labels.append(family)
        for name in members:
            handles.append(Line2D([], [], markersize=7, linewidth=1.8, **_style(name)))
            labels.append(name)
        for _ in range(rows - 1 - len(members)):
            handles.append(Line2D([], [], linestyle="none"))
            labels.append("")
    options = {"handlelength": 3.2, "columnspacing": 1.6, "fontsize": 12}
    if isinstance(where, Figure):
        options.update(loc="outside lower center", ncol=len(columns))
    else:
        where.set_axis_off()
        options.update(loc="center", ncol=2)
    box = where.legend(handles, labels, **{**options, **kwargs})
    for i in headers:
        box.get_texts()[i].set_fontstyle("italic")
        box.get_texts()[i].set_color("0.35")
    return box


def _seed_curves(data: dict, task: str, optimizer: str) -> np.ndarray:
    """The evaluation seeds' gap curves as rows, nan from a divergence on."""
    runs = data["tasks"][task]["optimizers"][optimizer]["eval"]["runs"]
    return np.array([[np.nan if v is None else v for v in r["curve"]] for r in runs], float)


def convergence_panel(
    ax, data: dict, task: str, optimizers=None, legend: bool = False, bands=None
) -> dict:
    """Median gap against gradient evaluations for each optimizer at its tuned learning
    rate, with a light band from the best to the worst seed among those still running.
    A seed that diverged is a cross on the top edge of the panel at the gradient
    evaluation at which it diverged (the run's last: the one whose step failed); its
    band ends there, and a median that ends early means at least half the seeds did.

    ``bands``: the optimizers that get a band (all by default; ``()`` for none). The
    vertical range follows the medians, so a band can run off the bottom of the panel.

    Returns, per optimizer, the final median gap (None when at least half the seeds
    diverged), the number of diverged seeds and the gradient evaluations at which they
    diverged.
    """
    optimizers = list(optimizers or data["tasks"][task]["optimizers"])
    bands = optimizers if bands is None else list(bands)
    curves = {name: curve_band(data, task, name) for name in optimizers}
    medians = np.concatenate([c[1][np.isfinite(c[1])] for c in curves.values()] + [[1.0]])
    top = 10 * float(np.max(medians))
    bottom = max(float(np.min(medians)) / 10, FLOOR / 10)
    out = {"final_median": {}, "diverged": {}, "diverged_at": {}}
    for name, (x, median, low, _, diverged) in curves.items():
        style = _style(name)
        shown = np.where(np.isfinite(median), np.maximum(median, FLOOR), np.nan)
        ax.plot(
            x, shown, label=name, markevery=_stagger(name, len(x) // 6, len(x)), zorder=3, **style
        )
        if name in bands:
            # curve_band's high is inf once a seed diverged (a cross marks that seed):
            # the band's top is the worst seed still running, fmax skipping the nans
            running = np.isfinite(low)
            high = np.fmax.reduce(_seed_curves(data, task, name), axis=0)
            ax.fill_between(
                x,
                np.clip(low, FLOOR, top),
                np.clip(high, FLOOR, top),
                where=running,
                color=style["color"],
                alpha=0.1,
                linewidth=0,
                zorder=1,
            )
        runs = data["tasks"][task]["optimizers"][name]["eval"]["runs"]
        gone = [r["grad_evals"] for r in runs if r["diverged_at"] is not None]
        if gone:
            ax.plot(
                gone,
                np.full(len(gone), 1.0),
                "x",
                color=style["color"],
                markersize=10,
                markeredgewidth=2.5,
                transform=ax.get_xaxis_transform(),
                clip_on=False,
                zorder=4,
            )
        final = median[-1]
        out["final_median"][name] = float(final) if np.isfinite(final) else None
        out["diverged"][name] = diverged
        out["diverged_at"][name] = [float(g) for g in gone]
    ax.set_yscale("log")
    ax.set_ylim(bottom, top)
    ax.set_xlabel("gradient evaluations")
    ax.set_ylabel(_ylabel(data, task))
    if legend:
        ax.legend(loc="best", ncol=2)
    thin_log_ticks(ax)  # no unlabelled minor ticks over > 3 decades: half the drawing
    return out


def finals_panel(ax, data: dict, task: str, optimizers=None, level=None) -> dict:
    """Where the evaluation runs end: one row per optimizer, a dot for each seed's final
    gap (log scale), the median as a bar across the row and the range as a thin line;
    a seed that diverged is a cross at the right edge. ``level``: a gap to mark with a
    dotted vertical line (None for none).

    Returns, per optimizer, ``(low, median, high)`` over the seeds (None for a diverged
    seed's value, as :func:`optimlib.compare.summarize`) and the rows' names, top first.
    """
    optimizers = list(optimizers or data["tasks"][task]["optimizers"])
    finals = {
        name: [r["final"] for r in data["tasks"][task]["optimizers"][name]["eval"]["runs"]]
        for name in optimizers
    }
    values = [v for row in finals.values() for v in row if v is not None]
    right = 3 * max([*values, FLOOR])
    out = {"summary": {}, "rows": optimizers}
    for y, name in enumerate(optimizers):
        style = _style(name)
        done = np.array([v for v in finals[name] if v is not None], dtype=float)
        low, median, high = summarize(finals[name])
        if done.size:
            ax.plot([done.min(), done.max()], [y, y], color=style["color"], linewidth=1.2)
            ax.plot(
                np.maximum(done, FLOOR),
                np.full(done.size, y),
                linestyle="none",
                marker=style["marker"],
                color=style["color"],
                markersize=7,
                alpha=0.75,
            )
        if median is not None:
            ax.plot([median], [y], marker="|", markersize=18, mew=3, color=style["color"])
        gone = len(finals[name]) - done.size
        if gone:
            ax.plot([right], [y], "x", color=style["color"], markersize=9, mew=2)
        out["summary"][name] = (low, median, high)
    if level is not None:
        ax.axvline(level, color="0.3", linestyle=":", linewidth=1.2)
    ax.set_xscale("log")
    ax.set_yticks(range(len(optimizers)), optimizers)
    ax.set_ylim(len(optimizers) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel(f"final {_ylabel(data, task)} (each dot a seed, bar the median)")
    thin_log_ticks(ax)
    return out


def _medians(tuned: dict) -> np.ndarray:
    return np.array([math.inf if v is None else v for v in tuned["median"]])


def good_range(data: dict, task: str, optimizer: str, tol=None) -> list[float]:
    """The grid learning rates at which ``optimizer``'s median final gap over the tuning
    seeds is at most ``tol`` (the task's tolerance by default): the lrs that solve the
    task within the budget.

    Its length (times the grid step, in decades) measures how much room the method
    leaves for a learning rate that is not the tuned one.
    """
    tol = _checks.positive("tol", data["tasks"][task]["tol"] if tol is None else tol)
    tuned = data["tasks"][task]["optimizers"][optimizer]["tune"]
    return [lr for lr, m in zip(tuned["lrs"], _medians(tuned), strict=True) if m <= tol]


def _ylabel(data, task):
    if data["tasks"][task]["measure"] == "loss":
        return r"loss $f(\theta_k)$"
    return r"gap $f(\theta_k) - f^\star$"


def sensitivity_panel(ax, data: dict, task: str, optimizers=None, legend: bool = False) -> dict:
    """Median final gap over the tuning seeds against the learning rate, one line per
    optimizer, its tuned learning rate circled, the task's tolerance dashed (a curve
    below it is the method's :func:`good_range`). A learning rate at which at least half
    the tuning seeds diverged is a cross on a "diverged" row above the data: a curve that
    climbs to that row and runs along it is a method that diverges from there on. When
    no median is finite (nothing to tune), the crosses sit on that row above the
    tolerance.

    Returns, per optimizer, the tuned lr (None when there is none) and the lrs at which
    at least half the seeds diverged.
    """
    entries = data["tasks"][task]["optimizers"]
    optimizers = optimizers or list(entries)
    finite = [m for name in optimizers for m in entries[name]["tune"]["median"] if m is not None]
    top = 30 * max(max(finite, default=data["tasks"][task]["tol"]), FLOOR)
    out = {"best_lr": {}, "diverged_lrs": {}}
    for name in optimizers:
        tuned, style = entries[name]["tune"], _style(name)
        lrs, med = np.array(tuned["lrs"]), _medians(tuned)
        gone = ~np.isfinite(med)
        shown = np.where(gone, top, np.maximum(med, FLOOR))
        ax.plot(lrs, shown, label=name, markevery=_stagger(name, 3, len(lrs)), **style)
        if gone.any():
            ax.plot(
                lrs[gone],
                shown[gone],
                "x",
                color=style["color"],
                markersize=7,
                markeredgewidth=1.8,
            )
        best = tuned["best"]
        if best is not None:  # None: nothing was chosen (compare.tune)
            ax.plot(
                lrs[best], shown[best], "o", mfc="none", mec=style["color"], markersize=12, mew=1.6
            )
        out["best_lr"][name] = tuned["best_lr"]
        out["diverged_lrs"][name] = [float(v) for v in lrs[gone]]
    ax.set_xscale("log")
    ax.set_yscale("log")
    tol = data["tasks"][task]["tol"]
    ax.axhline(tol, color="0.3", linestyle="--", linewidth=1)
    ax.annotate(
        "tolerance",
        (1.0, tol),
        xycoords=("axes fraction", "data"),
        xytext=(-4, -14),
        textcoords="offset points",
        fontsize=11,
        color="0.3",
        ha="right",
    )
    if any(out["diverged_lrs"].values()):  # the row of crosses, above a thin line
        ax.axhline(top / 5, color="0.6", linewidth=0.8)
        ax.annotate(
            "diverged",
            (0.0, top),
            xycoords=("axes fraction", "data"),
            xytext=(4, 6),
            textcoords="offset points",
            fontsize=11,
            color="0.4",
            va="bottom",
        )
        ax.set_ylim(top=top * 30)
    ax.set_xlabel(r"learning rate $\varepsilon$")
    ax.set_ylabel(f"median final {_ylabel(data, task).split(' ')[0]} (tuning seeds)")
    if legend:
        ax.legend(loc="best", ncol=2)
    thin_log_ticks(ax)
    return out


def panel(ax, lr: float = 1e-2, task: str = "mlp", data=None) -> dict:
    """The explorer: every optimizer at ONE learning rate, the way many pictures are made.

    Bars: the median final gap over the tuning seeds at the grid learning rate nearest
    to ``lr``, one bar per optimizer, best first, on a log axis from a whole decade to
    another; a method for which at least half the seeds diverged comes last, its hatched
    bar running off the right end. ``data`` is the sweep (see
    :func:`load`). Returns the grid lr used and the ranking (names, best first; diverged
    last).
    """
    if data is None:
        raise ValueError("data: pass the sweep, load()")
    if task not in data["tasks"]:
        raise ValueError(f"task must be one of {sorted(data['tasks'])}; got {task!r}")
    lr = _checks.positive("lr", lr)
    entries = data["tasks"][task]["optimizers"]
    lrs = np.array(data["config"]["lrs"])
    i = int(np.argmin(np.abs(np.log10(lrs) - math.log10(lr))))
    values = {name: _medians(e["tune"])[i] for name, e in entries.items()}
    ranking = sorted(values, key=lambda name: (values[name], list(entries).index(name)))
    tol = data["tasks"][task]["tol"]
    shown = [v for v in values.values() if np.isfinite(v)] + [tol]
    # Both ends at whole decades, the left one at least a decade below the best bar: two
    # or more labelled decades, so matplotlib labels no minor tick (over one decade it
    # labels 2, 3, 4 and 6 x 10^k, whose labels ran into each other).
    left = 10.0 ** math.floor(math.log10(max(min(shown) / 10, FLOOR)))
    right = 10.0 ** math.ceil(math.log10(1.1 * max(shown)))
    for y, name in enumerate(ranking):
        value, style = values[name], _style(name)
        ok = np.isfinite(value)
        ax.barh(  # a diverged method's bar runs off the right end
            y,
            max(value, left) - left if ok else right - left,
            left=left,
            color=style["color"] if ok else "white",
            edgecolor=style["color"],
            hatch=None if ok else "//",
        )
    ax.set_yticks(
        range(len(ranking)), [n if np.isfinite(values[n]) else f"{n} (diverged)" for n in ranking]
    )
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(left, right)
    ax.axvline(tol, color="0.4", linestyle="--", linewidth=1)
    ax.set_xlabel(f"median final {_ylabel(data, task).split(' ')[0]} at ε = {lrs[i]:.3g}")
    thin_log_ticks(ax)
    return {
        "lr": float(lrs[i]),
        "ranking": ranking,
        "values": {k: float(v) for k, v in values.items()},
    }


def compute_defaults(optimizers: dict) -> dict:
    """Each method's hyperparameters besides the learning rate, beside PyTorch's.

    ``optimizers``: ``{name: make(lr)}`` (the sweep's :data:`OPTIMIZERS`). Returns, per
    name, ``"values"`` (the hyperparameters the sweep runs with, from the optimizer
    itself), ``"pytorch"`` (the torch.optim class, None when PyTorch has none) and
    ``"differs"``: ``{name: (PyTorch's name, PyTorch's default)}`` for each value that
    is not PyTorch's (PyTorch's name None: a choice of its formula).
    """
    out = {}
    for name, make in optimizers.items():
        values = {k: v for k, v in make(1.0).hyperparameters().items() if k != "lr"}
        cls, theirs = PYTORCH.get(name, (None, {}))
        differs = {k: t for k, t in theirs.items() if k in values and values[k] != t[1]}
        out[name] = {"values": values, "pytorch": cls, "differs": differs}
    return out


def _value(v) -> str:
    return str(v) if isinstance(v, bool) else f"{v:g}"


def defaults_table(defaults: dict) -> str:
    """Markdown: :func:`compute_defaults` as a table, one row per method: the values the
    sweep uses and, where they differ, PyTorch's ("-" where they agree)."""
    lines = ["| optimizer | hyperparameters | PyTorch's default, where different |"]
    lines.append("| --- | --- | --- |")
    for name, d in defaults.items():
        ours = ", ".join(f"{k}={_value(v)}" for k, v in d["values"].items()) or "-"
        if d["pytorch"] is None:
            theirs = "not in PyTorch"
        else:
            differs = [d["differs"][k] for k in d["values"] if k in d["differs"]]
            text = [f"{t}={_value(v)}" if t else "eps outside the root" for t, v in differs]
            theirs = ", ".join(text) or "-"
        lines.append(f"| {name} | {ours} | {theirs} |")
    return "\n".join(lines)


def final_gaps(data: dict, task: str, optimizer: str, key: str = "final") -> np.ndarray:
    """The final gap of each evaluation seed, inf for a seed that diverged (``key``:
    another number each run stores, e.g. ``"steps_to_tol"``, inf where it is None)."""
    runs = data["tasks"][task]["optimizers"][optimizer]["eval"]["runs"]
    return np.array([math.inf if r[key] is None else r[key] for r in runs], float)


def compute_ranking(
    data: dict,
    task: str,
    optimizers=None,
    resamples: int = RESAMPLES,
    seed: int = 0,
    key: str = "final",
) -> dict:
    """The methods ranked by their median final gap, in groups the seeds can tell apart.

    ``key="steps_to_tol"`` ranks by the steps to the tolerance instead (a seed that never
    reached it counts as inf), with the same intervals and groups.

    For each method: the median of its final gaps over the evaluation seeds (numpy's
    ``"higher"`` median, as :func:`optimlib.compare.summarize`: one of the values, inf
    when half the seeds diverged) and a percentile bootstrap interval of that median:
    ``resamples`` times, draw as many seeds as there are, with replacement (one draw of
    seed indices, ``np.random.default_rng(seed)``, shared by all methods), take the
    median; the interval runs from the 2.5% to the 97.5% quantile of those medians
    (``"lower"`` and ``"higher"``: values of the data, so no rounding enters).

    Groups: the method with the best median and every method whose interval reaches
    down to the top of its interval form the first group; the same rule on the methods
    left gives the next, and so on. Two methods in different groups have intervals that
    do not overlap; two in one group may or may not differ.

    Returns ``"median"``, ``"low"``, ``"high"`` (per method, inf for "diverged"),
    ``"groups"`` (lists of names, best first, each by median), ``"group"`` (per method,
    1 = best), ``"factor"`` (per method, high / low: how well the seeds pin the median
    down, inf when unbounded) and ``"resamples"``, ``"level"``, ``"seeds"``, ``"measure"``
    (the task's: ``"loss"`` or ``"loss_gap"``).
    """
    optimizers = list(optimizers or data["tasks"][task]["optimizers"])
    resamples = _checks.positive_int("resamples", resamples)
    finals = np.array([final_gaps(data, task, name, key) for name in optimizers])
    n = finals.shape[1]
    draws = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    # the "higher" median of n values is the sorted value at index ceil((n - 1) / 2):
    # np.partition finds it without sorting every resample (np.quantile's result, faster)
    middle = n // 2
    medians = np.partition(finals[:, draws], middle, axis=2)[:, :, middle]
    tail = (1 - LEVEL) / 2
    low = np.quantile(medians, tail, axis=1, method="lower")
    high = np.quantile(medians, 1 - tail, axis=1, method="higher")
    centre = np.quantile(finals, 0.5, axis=1, method="higher")
    out = {
        "median": dict(zip(optimizers, centre.tolist(), strict=True)),
        "low": dict(zip(optimizers, low.tolist(), strict=True)),
        "high": dict(zip(optimizers, high.tolist(), strict=True)),
        "resamples": resamples,
        "level": LEVEL,
        "seeds": n,
        "measure": data["tasks"][task].get("measure", "loss_gap"),
    }
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(np.isfinite(high) & (low > 0), high / low, math.inf)
    out["factor"] = dict(zip(optimizers, factor.tolist(), strict=True))
    left = sorted(optimizers, key=lambda m: (out["median"][m], optimizers.index(m)))
    groups = []
    while left:
        top = out["high"][left[0]]
        groups.append([m for m in left if out["low"][m] <= top])
        left = [m for m in left if m not in groups[-1]]
    out["groups"] = groups
    out["group"] = {m: k + 1 for k, members in enumerate(groups) for m in members}
    return out


def draw_ranking(ax, ranking: dict, level=None, xlabel=None) -> dict:
    """One row per method, best group on top: the median (marker) and its bootstrap
    interval (line) on a log axis, a thin rule between groups and the group's number
    at the left; a method whose median diverged is a cross at the right edge.
    ``level``: a gap to mark with a dotted vertical line (None for none); ``xlabel``:
    the axis label (a default naming the interval otherwise).

    Returns the rows' names, top first, and the y of each rule between groups.
    """
    rows = [m for group in ranking["groups"] for m in group]
    finite = [v for m in rows for v in (ranking["low"][m], ranking["high"][m]) if np.isfinite(v)]
    right = 3 * max([*finite, FLOOR])
    rules = []
    for y, name in enumerate(rows):
        style = _style(name)
        low, median, high = (ranking[k][name] for k in ("low", "median", "high"))
        line = [max(low, FLOOR), high if np.isfinite(high) else right]
        ax.plot(line, [y, y], color=style["color"], linewidth=2.4, solid_capstyle="butt")
        if np.isfinite(median):
            ax.plot([max(median, FLOOR)], [y], marker=style["marker"], color=style["color"])
        else:
            ax.plot([right], [y], "x", color=style["color"], markersize=9, mew=2)
    y = 0
    for k, group in enumerate(ranking["groups"]):
        if k:
            ax.axhline(y - 0.5, color="0.5", linewidth=0.8)
            rules.append(y - 0.5)
        ax.annotate(
            f"{k + 1}",
            (0.0, y + (len(group) - 1) / 2),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 0),
            textcoords="offset points",
            ha="right",
            va="center",
            fontsize=10,
            color="0.4",
        )
        y += len(group)
    if level is not None:
        ax.axvline(level, color="0.3", linestyle=":", linewidth=1.2)
    ax.set_xscale("log")
    ax.set_yticks(range(len(rows)), rows)
    ax.tick_params(axis="y", pad=14)
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.grid(axis="y", visible=False)
    ax.xaxis.set_minor_formatter(NullFormatter())  # a narrow range labels minor ticks
    lo, hi = ax.get_xlim()
    if hi / lo < 30:  # less than a decade and a half: label 1, 2, 3, 5 times powers of ten
        decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
        ticks = [m * 10.0**e for e in decades for m in (1, 2, 3, 5) if lo <= m * 10.0**e <= hi]
        ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
    level_text = f"{100 * ranking['level']:.0f}%"
    measure = "loss" if ranking.get("measure") == "loss" else "gap"
    ax.set_xlabel(xlabel or f"median final {measure}, {level_text} interval")
    thin_log_ticks(ax)
    return {"rows": rows, "rules": rules}


def ranking_table(rankings: dict, optimizers) -> str:
    """Markdown: one row per method, one column per task (``rankings``: ``{task:
    compute_ranking(...)}``): the method's group, its median final gap and the
    interval, written as the prose writes numbers, "2: 3.1 × 10⁻⁵ [1.2 × 10⁻⁵, 8.0 × 10⁻⁵]";
    "diverged" stands for inf."""

    def number(v):
        return scientific(v, 1) if np.isfinite(v) else "diverged"

    tasks = list(rankings)
    lines = ["| optimizer | " + " | ".join(tasks) + " |", "|" + " --- |" * (len(tasks) + 1)]
    for name in optimizers:
        cells = []
        for r in rankings.values():
            low, median, high = (number(r[k][name]) for k in ("low", "median", "high"))
            cells.append(f"{r['group'][name]}: {median} [{low}, {high}]")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def steps_table(data: dict, tasks=None, optimizers=None) -> str:
    """Markdown: median steps to each task's tolerance over the evaluation seeds, with the
    range, and how many seeds got there. Each step costs one gradient evaluation (the
    table checks it), so the numbers are gradient evaluations as well.

    The median counts a seed that never reached the tolerance as slower than any that
    did: "not reached" when at least half the seeds never got there.
    """
    tasks = tasks or list(data["tasks"])
    optimizers = optimizers or list(data["tasks"][tasks[0]]["optimizers"])
    header = (
        "| optimizer | "
        + " | ".join(f"{t} (tol {data['tasks'][t]['tol']:g})" for t in tasks)
        + " |"
    )
    lines = [header, "|" + " --- |" * (len(tasks) + 1)]
    for name in optimizers:
        cells = []
        for t in tasks:
            runs = data["tasks"][t]["optimizers"][name]["eval"]["runs"]
            steps = [r["steps_to_tol"] for r in runs]
            evals = [r["grad_evals_to_tol"] for r in runs]
            if steps != evals:
                raise ValueError(f"{name} on {t}: gradient evaluations differ from steps")
            low, median, high = summarize(steps)
            reached = sum(k is not None for k in steps)
            if median is None:
                cells.append(f"not reached ({reached}/{len(runs)})")
            else:
                spread = f"{low:.0f}–{high:.0f}" if high is not None else f"{low:.0f}–never"
                cells.append(f"{median:.0f} [{spread}] ({reached}/{len(runs)})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


_CELL = "padding:0.3em 0.9em;border-bottom:1px solid rgba(128,128,128,0.35);white-space:nowrap"


def html_table(markdown: str) -> str:
    """A markdown pipe table (header, separator, rows) as an HTML table.

    Every cell is padded; the first column (the names) is left-aligned and every other
    column right-aligned, so numbers line up by their last digit. The table sits in a box
    that scrolls sideways when the page is narrower than the table (a phone), instead
    of being cut off. The styles are inline: the table looks the same wherever the HTML
    is shown.
    """
    lines = [line.strip() for line in markdown.strip().splitlines()]
    if len(lines) < 2 or not set(lines[1]) <= set("|-: "):
        raise ValueError("markdown must be a pipe table: a header line, then a --- line")

    def cells(line):
        return [html.escape(c.strip()) for c in line.strip("|").split("|")]

    def row(line, tag):
        return "".join(
            f'<{tag} style="{_CELL};text-align:{"left" if j == 0 else "right"}">{c}</{tag}>'
            for j, c in enumerate(cells(line))
        )

    head = f"<tr>{row(lines[0], 'th')}</tr>"
    body = "".join(f"<tr>{row(line, 'td')}</tr>" for line in lines[2:])
    return (
        '<div style="overflow-x:auto;max-width:100%">'
        '<table style="border-collapse:collapse;margin:0.5em 0">'
        f"<thead>{head}</thead><tbody>{body}</tbody></table></div>"
    )


def _path_length(points: np.ndarray) -> np.ndarray:
    """The length along the path from the start to each point."""
    return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))])


def _exit(points: np.ndarray, last: int, ax) -> np.ndarray:
    """Where the path leaves the axes after ``points[last]`` (that point itself when the
    next one is not a finite number)."""
    here = points[last]
    if last + 1 >= len(points) or not np.all(np.isfinite(points[last + 1])):
        return here
    step = points[last + 1] - here
    t = 1.0
    for axis, (lo, hi) in enumerate((ax.get_xlim(), ax.get_ylim())):
        if step[axis] > 0:
            t = min(t, (hi - here[axis]) / step[axis])
        elif step[axis] < 0:
            t = min(t, (lo - here[axis]) / step[axis])
    return here + t * step


def paths_panel(ax, problem, runs: dict, labels=None, bounds=None, markers: int = 6) -> dict:
    """Trajectories of 2-D runs on the contours of ``problem``, drawn so that no path
    hides another.

    ``runs``: ``{name: History}`` (with its iterates), styled by :data:`STYLES`;
    ``labels``: ``{name: legend label}`` (the name by default). The longest path is drawn
    first and widest, each shorter one thinner and on top, so a short path that follows a
    long one stays visible. Each path carries ``markers`` of its method's markers, evenly
    spaced along its length (so a short path shows them as well as a long one) and drawn
    above every path, and a large marker with a dark edge where it ended. A run that
    diverged is drawn up to where its path leaves the axes and ends in a cross on the
    frame (at its last iterate, if that is still inside). The shared start is a white
    circle.

    Returns, per name, the path ``"length"`` (inside the axes), its ``"end"`` (the last
    point drawn), the ``"reach"`` (distance from the start to the end) and ``"lines"``, a
    line in the path's style for a legend (``ax.legend(handles=...)``); and ``"order"``,
    the names as drawn.
    """
    if not runs:
        raise ValueError("runs: give at least one {name: History}")
    for name, history in runs.items():
        shape = np.shape(history.thetas) if history.thetas is not None else None
        if shape is None or len(shape) != 2 or shape[1] != 2:
            raise ValueError(
                f"runs: {name!r} must hold the iterates of a 2-D problem "
                f"(minimize(..., record_iterates=True)); got thetas of shape {shape}"
            )
    labels = labels or {}
    contour(ax, problem, bounds=bounds)
    (x_lo, x_hi), (y_lo, y_hi) = ax.get_xlim(), ax.get_ylim()
    drawn = {}
    for name, history in runs.items():
        points = np.asarray(history.thetas, dtype=float)
        inside = np.flatnonzero(
            np.all(np.isfinite(points), axis=1)
            & (points[:, 0] >= x_lo)
            & (points[:, 0] <= x_hi)
            & (points[:, 1] >= y_lo)
            & (points[:, 1] <= y_hi)
        )
        last = int(inside[-1]) if inside.size else 0
        if runs[name].diverged:  # draw it up to where it leaves the axes, and stop
            points = np.vstack([points[: last + 1], _exit(points, last, ax)])
            last = len(points) - 1
        length = _path_length(points[: last + 1])
        drawn[name] = (points, last, length)
    order = sorted(drawn, key=lambda n: -drawn[n][2][-1])
    widths = np.linspace(7.0, 1.6, len(order)) if len(order) > 1 else [2.0]
    out = {"length": {}, "reach": {}, "end": {}, "order": order, "lines": {}}
    for k, name in enumerate(order):
        points, last, length = drawn[name]
        style = _style(name)
        targets = np.linspace(0, length[-1], markers + 2)[1:-1]
        spots = sorted({int(np.searchsorted(length, t)) for t in targets} - {0}) if markers else []
        look = {
            "color": style["color"],
            "linewidth": widths[k],
            "marker": style["marker"],
            "markersize": 5 + widths[k],
            "markeredgecolor": "white",
            "markeredgewidth": 0.6,
        }
        # the path under the shorter ones, its markers above every path
        ax.plot(points[:, 0], points[:, 1], **{**look, "marker": "none"}, zorder=3 + k)
        ax.plot(*points[spots].T, **{**look, "linestyle": "none"}, zorder=10 + k)
        ax.plot(
            *points[last],
            marker="X" if runs[name].diverged else style["marker"],
            markersize=15,
            color=style["color"],
            markeredgecolor="black",
            markeredgewidth=1.2,
            linestyle="none",
            zorder=20 + k,
            clip_on=False,
        )
        out["lines"][name] = Line2D([], [], label=labels.get(name, name), **look)
        out["length"][name] = float(length[-1])
        out["reach"][name] = float(np.linalg.norm(points[last] - points[0]))
        out["end"][name] = points[last]
    start = np.asarray(next(iter(runs.values())).thetas[0], dtype=float)
    ax.plot(*start, "o", markersize=10, mfc="white", mec="black", zorder=40)
    return out


def labelled_paths_panel(ax, problem, runs: dict, lrs: dict, bounds=None) -> dict:
    """:func:`paths_panel`, with a legend below the axes naming each run's learning rate
    (``lrs``: ``{name: lr}``) and final loss, in the order of ``runs``.

    Returns what :func:`paths_panel` returns.
    """
    labels = {n: f"{n} (ε = {lrs[n]:.3g}): f = {h.final_loss:.1e}" for n, h in runs.items()}
    drawn = paths_panel(ax, problem, runs, labels, bounds=bounds)
    ax.legend(
        [drawn["lines"][n] for n in runs],
        [labels[n] for n in runs],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.13),
        ncol=2,
        fontsize=11,
    )
    return drawn

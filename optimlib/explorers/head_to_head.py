"""Chapter 9, head to head: draw and tabulate the sweep of :mod:`.head_to_head_sweep`.

The sweep (:mod:`optimlib.compare` on the tasks of :mod:`.head_to_head_sweep`) is
stored as plain data: for every task and optimizer, the tuning scores at every learning rate
and the evaluation runs at the chosen one. This module reads that data only; it runs
nothing.

* :func:`curve_band`: the median and the range over seeds of the gap at each recorded
  step, a diverged seed counting as worse than any number;
* :func:`convergence_panel`: those medians and ranges for every optimizer on one task;
* :func:`sensitivity_panel`: the median tuning score against the learning rate;
* :func:`good_range`: the learning rates whose median final gap is within the task's
  tolerance, the width of a method's margin for error;
* :func:`panel`: the explorer, every optimizer at one common learning rate (how most
  comparison pictures are made) ranked by its median final gap;
* :func:`steps_table`: the steps-to-tolerance table as markdown, and
  :func:`html_table` to show such a table in a notebook output (the book renders
  markdown outputs as CommonMark, which has no tables).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path

import numpy as np

from ..compare import summarize
from ..plot import MARKERS, PALETTE
from .head_to_head_sweep import DATA_FILE

__all__ = [
    "FAMILIES",
    "STYLES",
    "convergence_panel",
    "curve_band",
    "good_range",
    "html_table",
    "load",
    "panel",
    "sensitivity_panel",
    "steps_table",
]

# Line style by family, colour and marker by method: eleven lines stay distinguishable.
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
STYLES = {
    name: {
        "color": PALETTE[i % len(PALETTE)],
        "marker": MARKERS[i % len(MARKERS)],
        "linestyle": _DASHES[family],
    }
    for i, (name, family) in enumerate(FAMILIES.items())
}
FLOOR = 1e-16  # a gap at or below rounding is drawn here: a log axis has no room for 0


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
    # a run that did not diverge used the whole budget: its count gives the cost per step
    per_step = max(1, round(max(r["grad_evals"] for r in runs) / max(entry["record_at"][-1], 1)))
    x = np.array(entry["record_at"]) * per_step
    columns = zip(*[r["curve"] for r in runs], strict=True)
    rows = np.array([summarize(col) for col in columns], dtype=float)  # None -> nan
    rows = np.where(np.isnan(rows), np.inf, rows)
    diverged = sum(r["diverged_at"] is not None for r in runs)
    return x, rows[:, 1], rows[:, 0], rows[:, 2], diverged


def _style(name):
    return STYLES.get(name, {"color": "0.3", "marker": "o", "linestyle": "-"})


def convergence_panel(ax, data: dict, task: str, optimizers=None, legend: bool = False) -> dict:
    """Median gap against gradient evaluations, a shaded band from the best to the worst
    seed, for each optimizer at its tuned learning rate. A band that leaves the top of
    the axes is a seed that diverged; a median that ends early means most did.

    Returns, per optimizer, the final median gap (None when most seeds diverged) and
    the number of diverged seeds.
    """
    optimizers = optimizers or list(data["tasks"][task]["optimizers"])
    bands = {name: curve_band(data, task, name) for name in optimizers}
    finite = np.concatenate([b[3][np.isfinite(b[3])] for b in bands.values()] + [[1.0]])
    top = 10 * float(np.max(finite))
    out = {"final_median": {}, "diverged": {}}
    for name, (x, median, low, high, diverged) in bands.items():
        style = _style(name)
        shown = np.where(np.isfinite(median), np.maximum(median, FLOOR), np.nan)
        ax.plot(
            x,
            shown,
            label=name,
            markevery=max(1, len(x) // 6),
            **style,
        )
        ax.fill_between(
            x,
            np.clip(low, FLOOR, top),
            np.clip(high, FLOOR, top),
            color=style["color"],
            alpha=0.12,
            linewidth=0,
        )
        final = median[-1]
        out["final_median"][name] = float(final) if np.isfinite(final) else None
        out["diverged"][name] = diverged
    ax.set_yscale("log")
    ax.set_ylim(top=top)
    ax.set_xlabel("gradient evaluations")
    ax.set_ylabel(_ylabel(data, task))
    if legend:
        ax.legend(loc="best", ncol=2)
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
    tol = data["tasks"][task]["tol"] if tol is None else tol
    if not tol > 0:
        raise ValueError(f"tol must be a number > 0; got {tol!r}")
    tuned = data["tasks"][task]["optimizers"][optimizer]["tune"]
    return [lr for lr, m in zip(tuned["lrs"], _medians(tuned), strict=True) if m <= tol]


def _ylabel(data, task):
    if data["tasks"][task]["measure"] == "loss":
        return r"loss $f(\theta_k)$"
    return r"gap $f(\theta_k) - f^\star$"


def sensitivity_panel(ax, data: dict, task: str, optimizers=None, legend: bool = False) -> dict:
    """Median final gap over the tuning seeds against the learning rate, one line per
    optimizer, its tuned learning rate circled, the task's tolerance dashed (a curve
    below it is the method's :func:`good_range`). Learning rates at which most tuning
    seeds diverged are drawn as crosses on a "diverged" row above the data.

    Returns, per optimizer, the tuned lr and the lrs at which most seeds diverged.
    """
    entries = data["tasks"][task]["optimizers"]
    optimizers = optimizers or list(entries)
    finite = [m for name in optimizers for m in entries[name]["tune"]["median"] if m is not None]
    top = 30 * max(max(finite), FLOOR)
    out = {"best_lr": {}, "diverged_lrs": {}}
    for name in optimizers:
        tuned, style = entries[name]["tune"], _style(name)
        lrs, med = np.array(tuned["lrs"]), _medians(tuned)
        shown = np.where(np.isfinite(med), np.maximum(med, FLOOR), np.nan)
        ax.plot(lrs, shown, label=name, markevery=2, **style)
        gone = ~np.isfinite(med)
        ax.plot(lrs[gone], np.full(gone.sum(), top), "x", color=style["color"], markersize=5)
        best = tuned["best"]
        ax.plot(lrs[best], shown[best], "o", mfc="none", mec=style["color"], markersize=11)
        out["best_lr"][name] = tuned["best_lr"]
        out["diverged_lrs"][name] = [float(v) for v in lrs[gone]]
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.axhline(top / 3, color="0.6", linewidth=0.8)
    tol = data["tasks"][task]["tol"]
    ax.axhline(tol, color="0.3", linestyle="--", linewidth=1)
    ax.annotate(
        "tolerance",
        (ax.get_xlim()[1], tol),
        xytext=(-4, -12),
        textcoords="offset points",
        fontsize=9,
        color="0.3",
        ha="right",
    )
    ax.annotate(
        "diverged",
        (ax.get_xlim()[0], top),
        xytext=(4, 4),
        textcoords="offset points",
        fontsize=9,
        color="0.4",
        va="bottom",
    )
    ax.set_xlabel(r"learning rate $\varepsilon$")
    ax.set_ylabel(f"median final {_ylabel(data, task).split(' ')[0]} (tuning seeds)")
    if legend:
        ax.legend(loc="best", ncol=2)
    return out


def panel(ax, lr: float = 1e-2, task: str = "mlp", data=None) -> dict:
    """The explorer: every optimizer at ONE learning rate, the way many pictures are made.

    Bars: the median final gap over the tuning seeds at the grid learning rate nearest
    to ``lr``, one bar per optimizer, best first; a method for which most seeds diverged
    gets a hatched bar at the top. ``data`` is the sweep (see :func:`load`). Returns the
    grid lr used and the ranking (names, best first; diverged last).
    """
    if data is None:
        raise ValueError("data: pass the sweep, load()")
    if task not in data["tasks"]:
        raise ValueError(f"task must be one of {sorted(data['tasks'])}; got {task!r}")
    if not lr > 0:
        raise ValueError(f"lr must be a number > 0; got {lr!r}")
    entries = data["tasks"][task]["optimizers"]
    lrs = np.array(data["config"]["lrs"])
    i = int(np.argmin(np.abs(np.log10(lrs) - math.log10(lr))))
    values = {name: _medians(e["tune"])[i] for name, e in entries.items()}
    ranking = sorted(values, key=lambda name: (values[name], list(entries).index(name)))
    finite = [v for v in values.values() if np.isfinite(v)]
    top = 30 * max(max(finite) if finite else 1.0, FLOOR)
    left = max(min(finite) / 10 if finite else FLOOR, FLOOR)
    for y, name in enumerate(ranking):
        value, style = values[name], _style(name)
        ok = np.isfinite(value)
        ax.barh(
            y,
            max(value, left) - left if ok else top - left,
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
    ax.axvline(data["tasks"][task]["tol"], color="0.4", linestyle="--", linewidth=1)
    ax.set_xlabel(f"median final {_ylabel(data, task).split(' ')[0]} at ε = {lrs[i]:.3g}")
    return {
        "lr": float(lrs[i]),
        "ranking": ranking,
        "values": {k: float(v) for k, v in values.items()},
    }


def steps_table(data: dict, tasks=None, optimizers=None) -> str:
    """Markdown: median steps to each task's tolerance over the evaluation seeds, with the
    range, and how many seeds got there. Each step costs one gradient evaluation (the
    table checks it), so the numbers are gradient evaluations as well.

    The median counts a seed that never reached the tolerance as slower than any that
    did: "not reached" when most seeds never got there.
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


def html_table(markdown: str) -> str:
    """A markdown pipe table (header, separator, rows) as an HTML table."""
    lines = [line.strip() for line in markdown.strip().splitlines()]
    if len(lines) < 2 or not set(lines[1]) <= set("|-: "):
        raise ValueError("markdown must be a pipe table: a header line, then a --- line")

    def cells(line):
        return [html.escape(c.strip()) for c in line.strip("|").split("|")]

    head = "".join(f"<th>{c}</th>" for c in cells(lines[0]))
    body = "".join(
        "<tr>" + "".join(f"<td>{c}</td>" for c in cells(line)) + "</tr>" for line in lines[2:]
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

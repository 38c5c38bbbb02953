"""Slider latency of every live explorer: from a slider change to the redrawn figure.

    python benchmarks/bench_explorers.py   # writes the "explorers" section of RESULTS.md

A slider change makes the explorer redraw its panel on its one figure and encode the
PNG it shows (``widgets.Canvas``, the Agg backend). This times exactly that call, at
every point of the chapter's scrubber grid (the same panel, fixed parameters and figure
size as the notebook's scrubber, which follow its explorer), after one warm-up call.
Reported: median and slowest wall-clock time, the slowest CPU time of this process (less
inflated when other jobs share the machine), and the same against the previous redraw
(a new figure + panel + ``savefig``) timed in the same run. The budget is 200 ms.
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from results_file import describe_machine, write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT))
import sphinx_scrubber  # noqa: E402  (the scrubbers' specs, as the book build reads them)

from optimlib_book import plot, widgets  # noqa: E402

BUDGET_MS = 200.0

# Live explorers whose chapter has no scrubber yet: the explorer's own controls and
# fixed arguments (book/12-sgd-theory.ipynb), on a grid across its slider's range.
WITHOUT_SCRUBBER = {
    "12-sgd-theory": sphinx_scrubber.Spec(
        panel="optimlib_book.sgd_theory:panel",
        grid={"eps": [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3]},
        fixed={"steps": 1000, "runs": 12},
        labels={"eps": "ε"},
    )
}


def redraw(canvas, point) -> tuple[float, float]:
    """One slider change: (wall, CPU) seconds to redraw the panel and encode its PNG."""
    wall, cpu = time.perf_counter(), time.process_time()
    canvas(**point)
    return time.perf_counter() - wall, time.process_time() - cpu


def redraw_from_scratch(panel, size, point, fixed) -> float:
    """The reference: CPU seconds for what the explorer did before ``widgets.Canvas``
    (a new figure, the panel, ``savefig``), timed beside it so that load cancels out."""
    cpu = time.process_time()
    fig, axes = plot.figure(width=size[0], height=size[1])
    panel(axes[0, 0], **point, **fixed)
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    return time.process_time() - cpu


def measure(spec) -> dict:
    panel = sphinx_scrubber.resolve(spec.panel)
    fixed = sphinx_scrubber.resolve_fixed(spec.fixed)
    points = sphinx_scrubber.grid_points(spec.grid)
    canvas = widgets.Canvas(panel, *spec.size, **fixed)
    redraw(canvas, points[0])  # warm: imports, font cache, the explorer's first drawing
    redraw_from_scratch(panel, spec.size, points[0], fixed)
    walls, cpus, references = [], [], []
    for point in points:
        wall, cpu = redraw(canvas, point)
        walls.append(wall * 1e3)
        cpus.append(cpu * 1e3)
        references.append(redraw_from_scratch(panel, spec.size, point, fixed) * 1e3)
    return {
        "median": statistics.median(walls),
        "max": max(walls),
        "cpu_max": max(cpus),
        "reference_max": max(references),
        "ratio": sum(cpus) / sum(references),
        "points": len(points),
    }


def main() -> int:
    rows, slow = [], []
    load_start = os.getloadavg()[0]
    with plot.style():
        for notebook in sorted((ROOT / "book").glob("[0-9]*.ipynb")):
            specs = sphinx_scrubber.specs_in(notebook)
            if not specs and notebook.stem in WITHOUT_SCRUBBER:
                specs = [WITHOUT_SCRUBBER[notebook.stem]]
            for spec in specs:
                m = measure(spec)
                rows.append(
                    f"| `{notebook.stem}` | `{spec.panel}` | {m['points']} | "
                    f"{m['median']:.0f} | {m['max']:.0f} | {m['cpu_max']:.0f} | "
                    f"{m['reference_max']:.0f} | {m['ratio']:.2f} |"
                )
                print(rows[-1], flush=True)
                if m["cpu_max"] > BUDGET_MS:
                    slow.append(spec.panel)
    lines = [
        "## Explorers: slider latency",
        "",
        f"Machine: {describe_machine()}; one BLAS thread; load average "
        f"{load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (other jobs",
        "inflate wall-clock and, less, CPU times).",
        "A slider change redraws the explorer's figure (`widgets.Canvas`: one reused",
        "figure, layout recomputed only when its tick labels change, no minor ticks on log",
        "axes over more than 3 decades) and encodes its PNG (Agg); timed at every point of",
        "the chapter's scrubber grid. Reference: the previous redraw (a new figure, the",
        "panel, `savefig`) at the same points in the same run; ratio = total CPU time of",
        f"the explorer / of the reference. Budget: {BUDGET_MS:.0f} ms.",
        "",
        "| notebook | panel | settings | median ms | slowest ms | slowest CPU ms "
        "| reference slowest CPU ms | ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        f"Over {BUDGET_MS:.0f} ms of CPU in this run: "
        + (", ".join(f"`{panel}`" for panel in slow) if slow else "none")
        + ".",
    ]
    write_section("explorers", lines)
    if slow:
        print(f"over {BUDGET_MS:.0f} ms of CPU: {', '.join(slow)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

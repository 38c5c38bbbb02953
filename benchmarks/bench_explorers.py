"""Slider latency of every live explorer: from a slider change to the redrawn figure.

    python benchmarks/bench_explorers.py   # writes the "explorers" section of RESULTS.md

A slider change makes the explorer call its panel on a new figure and show it (the
inline backend saves a PNG). This measures that, with the Agg backend: ``figure`` +
``panel`` + ``savefig`` to PNG, at every point of the chapter's scrubber grid (the same
panel, fixed parameters and figure size as the notebook's scrubber, which follow its
explorer). Reported: median and slowest wall-clock time, and the slowest CPU time of
this process (less inflated when other jobs share the machine). The budget is 200 ms.
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

from optimlib_book import plot  # noqa: E402

BUDGET_MS = 200.0


def redraw(panel, size, point, fixed) -> tuple[float, float]:
    """One slider change: (wall, CPU) seconds to draw the panel and encode its PNG."""
    wall, cpu = time.perf_counter(), time.process_time()
    fig, axes = plot.figure(width=size[0], height=size[1])
    panel(axes[0, 0], **point, **fixed)
    fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(spec) -> dict:
    panel = sphinx_scrubber.resolve(spec.panel)
    fixed = sphinx_scrubber.resolve_fixed(spec.fixed)
    points = sphinx_scrubber.grid_points(spec.grid)
    redraw(panel, spec.size, points[0], fixed)  # warm: imports, font cache
    walls, cpus = [], []
    for point in points:
        wall, cpu = redraw(panel, spec.size, point, fixed)
        walls.append(wall * 1e3)
        cpus.append(cpu * 1e3)
    return {
        "median": statistics.median(walls),
        "max": max(walls),
        "cpu_max": max(cpus),
        "points": len(points),
    }


def main() -> int:
    rows, slow = [], []
    with plot.style():
        for notebook in sorted((ROOT / "book").glob("[0-9]*.ipynb")):
            for spec in sphinx_scrubber.specs_in(notebook):
                m = measure(spec)
                rows.append(
                    f"| `{notebook.stem}` | `{spec.panel}` | {m['points']} | "
                    f"{m['median']:.0f} | {m['max']:.0f} | {m['cpu_max']:.0f} |"
                )
                print(rows[-1], flush=True)
                if m["cpu_max"] > BUDGET_MS:
                    slow.append(spec.panel)
    lines = [
        "## Explorers: slider latency",
        "",
        f"Machine: {describe_machine()}; one BLAS thread; load average "
        f"{os.getloadavg()[0]:.1f} at the end (other jobs inflate wall-clock times).",
        "A slider change redraws the panel",
        "and encodes its PNG (Agg); timed at every point of the chapter's scrubber grid.",
        f"Budget: {BUDGET_MS:.0f} ms.",
        "",
        "| notebook | panel | settings | median ms | slowest ms | slowest CPU ms |",
        "|---|---|---:|---:|---:|---:|",
        *rows,
    ]
    write_section("explorers", lines)
    if slow:
        print(f"over {BUDGET_MS:.0f} ms of CPU: {', '.join(slow)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

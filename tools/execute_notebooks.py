"""Execute chapter notebooks in place, storing fresh outputs (what nbval compares against).

    python tools/execute_notebooks.py                 # every notebook under book/
    python tools/execute_notebooks.py book/01_*.ipynb # some of them

Prints each notebook's execution time and fails when one exceeds the 10-second budget
of the book's conventions (``--budget`` to change it), so a slow chapter is caught when
its outputs are stored, not later in CI.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]

# The kernels inherit this: one BLAS thread, as `make test` runs them (see the Makefile),
# so that stored outputs are computed the way CI recomputes them.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")


def execute(path: Path, timeout: int = 120, write: bool = True) -> float:
    """Execute a notebook; store its fresh outputs when ``write``; return the seconds taken."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)  # timestamps of an earlier run
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        # No per-cell timestamps: re-executing an unchanged cell must leave the file
        # unchanged, so that a diff (and a merge) shows only what really changed.
        record_timing=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    if write:
        nbformat.write(notebook, path)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--budget", type=float, default=10.0, help="seconds allowed per notebook")
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "book").glob("*.ipynb"))
    slow = []
    for path in paths:
        seconds = execute(path)
        print(f"{seconds:6.2f} s  {path.relative_to(ROOT) if path.is_absolute() else path}")
        if seconds > args.budget:
            slow.append(path)
    if slow:
        print(f"over the {args.budget:g} s budget: {', '.join(map(str, slow))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

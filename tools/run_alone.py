"""Run chapter notebooks the way a student elsewhere does: each copied alone to an empty
folder, executed top to bottom with nbclient, in an environment that has the book's
wheel with its `book` extra and a kernel, and none of the book's build tools (no
MyST-NB, no Sphinx). Two notebooks at a time (one kernel per core of CI's two), each in
its own process. Fails on the first error a cell raises. With ``--executed DIR`` each
executed notebook is written to DIR, for ``tools/compare_executed.py`` to compare its
outputs with the stored ones.

    python tools/run_alone.py [--jobs N] [--executed DIR] book/*.ipynb   # `make standalone`
"""

from __future__ import annotations

import argparse
import concurrent.futures
import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def run_alone(notebook: Path, executed: Path | None = None, timeout: int = 300) -> None:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / notebook.name
        shutil.copy(notebook, copy)
        nb = nbformat.read(copy, as_version=4)
        NotebookClient(nb, timeout=timeout, kernel_name="python3").execute(cwd=folder)
    if executed is not None:
        nbformat.write(nb, executed / notebook.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--executed", type=Path, help="folder for the executed notebooks")
    args = parser.parse_args()
    present = [m for m in ("myst_nb", "sphinx", "jupyter_book") if importlib.util.find_spec(m)]
    if present:
        print(f"not a student's environment: {', '.join(present)} installed", file=sys.stderr)
        return 2
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1; got {args.jobs}")
    if args.executed is not None:
        args.executed.mkdir(parents=True, exist_ok=True)
    with concurrent.futures.ProcessPoolExecutor(args.jobs) as pool:
        runs = {pool.submit(run_alone, path, args.executed): path for path in args.notebooks}
        for run in concurrent.futures.as_completed(runs):
            if run.exception() is not None:  # a cell's error: no more notebooks are started
                pool.shutdown(cancel_futures=True)
                print(f"failed: {runs[run].name}", file=sys.stderr)
                raise run.exception()
            print(f"ran alone: {runs[run].name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Run chapter notebooks the way a student elsewhere does: each copied alone to an empty
folder, executed top to bottom with nbclient, in an environment that has the book's
wheel with its `book` extra and a kernel, and none of the book's build tools (no
MyST-NB, no Sphinx). Fails on the first error a cell raises.

    python tools/run_alone.py book/*.ipynb      # run by `make standalone`
"""

from __future__ import annotations

import argparse
import importlib.util
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient


def run_alone(notebook: Path, timeout: int = 300) -> None:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / notebook.name
        shutil.copy(notebook, copy)
        nb = nbformat.read(copy, as_version=4)
        NotebookClient(nb, timeout=timeout, kernel_name="python3").execute(cwd=folder)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args()
    present = [m for m in ("myst_nb", "sphinx", "jupyter_book") if importlib.util.find_spec(m)]
    if present:
        print(f"not a student's environment: {', '.join(present)} installed", file=sys.stderr)
        return 2
    for path in args.notebooks:
        run_alone(path)
        print(f"ran alone: {path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

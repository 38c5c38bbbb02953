"""``jupyter-book build`` with Sphinx reading and writing pages in parallel.

    python tools/build_book.py [--jobs N] <jupyter-book build arguments>

Jupyter Book 1's command line has no ``-j``: its build always runs Sphinx with one
process, so the chapters' notebooks (executed while Sphinx reads them) run one after
another on a two-core machine. Its own ``build_sphinx`` takes ``jobs``; this passes it
and otherwise runs the unchanged command. ``--jobs`` defaults to the machine's cores
(at most 2: CI's machine; more processes than cores only slow the kernels down).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    known, rest = parser.parse_known_args(argv)
    if known.jobs < 1:
        raise SystemExit(f"--jobs must be at least 1; got {known.jobs}")

    from jupyter_book import sphinx as jb_sphinx
    from jupyter_book.cli.main import main as jupyter_book

    # The CLI imports build_sphinx from this module when it builds: patch it there.
    jb_sphinx.build_sphinx = functools.partial(jb_sphinx.build_sphinx, jobs=known.jobs)
    return jupyter_book(["build", *rest], standalone_mode=False) or 0


if __name__ == "__main__":
    sys.exit(main())

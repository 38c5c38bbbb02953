"""How long the book takes: each chapter notebook, the nbval suite, a cold book build.

    python benchmarks/bench_book.py     # writes the "book" section of benchmarks/RESULTS.md

Notebooks are executed with ``tools/execute_notebooks.py``'s function, without writing
them back; the nbval suite and the book
build run as ``make test`` runs them, the build into a temporary folder from scratch, so
every notebook is executed again. Wall-clock seconds on this machine: compare them with
the 10-second budget per notebook and CI's limits, not across machines.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import RESULTS, describe_machine, write_section

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from execute_notebooks import execute  # noqa: E402  (the tool that stores the outputs)

BIN = Path(sys.executable).parent


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main():
    rows = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        seconds = execute(path, timeout=600, write=False)
        rows.append(f"| `{path.name}` | {seconds:.1f} |")
        print(rows[-1], flush=True)
    nbval = timed(
        [
            sys.executable,
            "-m",
            "pytest",
            "book",
            "--nbval",
            "--nbval-sanitize-with",
            "book/sanitize.cfg",
            "-p",
            "no:cacheprovider",
            "-n",
            "2",
            "--dist",
            "loadfile",
            "-q",
        ]
    )
    with tempfile.TemporaryDirectory() as out:
        build = timed(
            [
                str(BIN / "jupyter-book"),
                "build",
                ".",
                "--path-output",
                out,
                "-W",
                "-n",
                "--keep-going",
            ]
        )
    lines = [
        "## The book: execution and build times",
        "",
        f"Machine: {describe_machine()}; one BLAS thread, as `make test` runs it.",
        "",
        "| notebook | seconds to execute (budget 10) |",
        "|---|---:|",
        *rows,
        "",
        f"- nbval over every notebook (`-n 2`, one kernel per notebook): {nbval:.1f} s",
        f"- cold book build (executes every notebook, `-W -n`): {build:.1f} s",
    ]
    write_section("book", lines)
    print(f"nbval {nbval:.1f} s, book build {build:.1f} s; wrote the book section of {RESULTS}")


if __name__ == "__main__":
    main()

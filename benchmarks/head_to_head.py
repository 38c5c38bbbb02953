"""Re-run chapter 9's sweep (:mod:`optimlib_book.head_to_head_sweep`) into its data file.

    python benchmarks/head_to_head.py [--processes N] [--out PATH]   # make data

The chapter reads the file optimlib ships (``head_to_head_sweep.DATA_FILE``);
tests/test_head_to_head_data.py checks it against a reduced sweep.
"""

from __future__ import annotations

import os

# One BLAS thread, before numpy is imported: the runs are tiny, and the numbers must
# be the same bit for bit on every machine that regenerates or checks the file.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import sys
import time
from pathlib import Path

from optimlib_book import head_to_head_sweep as study


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=study.DATA_FILE)
    args = parser.parse_args()
    start = time.perf_counter()
    data = study.sweep(study.CONFIG, args.processes)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(study.dumps(data))
    seconds = time.perf_counter() - start
    size = args.out.stat().st_size / 1e3
    print(f"{args.out}: {size:.0f} kB in {seconds:.0f} s ({args.processes} processes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Print the NPY_DISABLE_CPU_FEATURES value under which numpy rounds like another CPU.

    NPY_DISABLE_CPU_FEATURES=$(python tools/other_cpu.py) python -m pytest ...

numpy picks SIMD loops for exp, tanh, sums, ... at run time from the tiers its CPU has
(AVX2, AVX-512, ...); naming every tier found here turns them all off, so numpy runs its
baseline loops and rounds the way a CPU without those tiers does. Only numpy's dispatch
changes: OpenBLAS's kernel variables (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE) are set on
some of these machines so that OpenBLAS computes correctly, and are never touched here.
Prints nothing where numpy found no tier to turn off.
"""

from __future__ import annotations

try:
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
except ImportError:  # numpy < 2
    from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__


def found_tiers() -> list[str]:
    """The dispatch targets numpy found on this CPU, in numpy's order."""
    return [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]


if __name__ == "__main__":
    print(",".join(found_tiers()))

"""Print the NPY_DISABLE_CPU_FEATURES value under which numpy rounds like another CPU.

    NPY_DISABLE_CPU_FEATURES=$(python tools/other_cpu.py) python -m pytest ...
    NPY_DISABLE_CPU_FEATURES=$(python tools/other_cpu.py --lowest-tier) python -m pytest ...

numpy picks SIMD loops for exp, tanh, sums, ... at run time from the tiers its CPU has
(AVX2, AVX-512, ...); naming every tier found here turns them all off, so numpy runs its
baseline loops and rounds the way a CPU without those tiers does. Only numpy's dispatch
changes: OpenBLAS's kernel variables (OPENBLAS_CORETYPE, OPENBLAS_L2_SIZE) are set on
some of these machines so that OpenBLAS computes correctly, and are never touched here.
Prints nothing where numpy found no tier to turn off.

``--lowest-tier`` turns off every tier but the lowest found, so numpy rounds like the
commonest CPU of this one's family: AVX2 (X86_V3) on an AVX-512 machine, where the
native and baseline runs would otherwise leave the commonest laptop's rounding
unchecked (numpy 2.4 groups its x86 tiers by level; numpy 2.0 lists single
extensions, SSSE3 first, so there it keeps SSSE3). The tiers do round apart: CG's
last gradient on a logistic problem is 1.18e-8 with AVX-512 loops, 6.8e-9 with AVX2
loops and 7.4e-9 with none. It prints nothing where numpy found at most one tier: the
machine already rounds that way.
"""

from __future__ import annotations

try:
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
except ImportError:  # numpy < 2
    from numpy.core._multiarray_umath import __cpu_dispatch__, __cpu_features__


def found_tiers() -> list[str]:
    """The dispatch targets numpy found on this CPU, in numpy's order."""
    return [name for name in __cpu_dispatch__ if __cpu_features__.get(name)]


def tiers_to_disable(lowest_tier: bool = False) -> list[str]:
    """Every tier found, or (``lowest_tier``) every one above the lowest found."""
    tiers = found_tiers()
    return tiers[1:] if lowest_tier else tiers


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lowest-tier", action="store_true", help="keep the lowest tier found (e.g. AVX2)"
    )
    print(",".join(tiers_to_disable(parser.parse_args().lowest_tier)))

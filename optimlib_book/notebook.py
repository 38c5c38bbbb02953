"""What a chapter notebook needs beyond numpy and matplotlib: glue that works anywhere.

The book's prose quotes computed numbers with MyST-NB's ``{glue:text}`` role. MyST-NB
is part of the book's build, not of a student's Colab or JupyterHub session, so
:func:`glue` records a value when MyST-NB is installed and does nothing otherwise: the
chapter's experiments and checks run the same either way.

Recorded floats carry :data:`SIGNIFICANT` significant digits and no more. The prose
never quotes more (its widest format is ``.4f``/``.4g``), and the digits beyond them
are the ones another CPU, numpy or BLAS rounds differently, which the stored outputs
that nbval compares must not depend on.
"""

from __future__ import annotations

import numbers

import numpy as np

SIGNIFICANT = 6

try:  # the book's build (and `make test`) has MyST-NB; Colab, Binder and a hub need not
    from myst_nb import glue as _myst_glue
except ImportError:  # pragma: no cover - exercised in a venv without myst-nb
    _myst_glue = None


def rounded(value):
    """``value`` with every float rounded to :data:`SIGNIFICANT` significant digits.

    Integers, booleans and strings are kept as they are; numpy scalars become Python
    numbers, so the recorded text is ``0.960784``, not ``np.float64(0.960784...)``.
    """
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(f"{float(value):.{SIGNIFICANT}g}")
    return value


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def scientific(value, digits: int = 1) -> str:
    """``value`` as prose writes it: ``6.6 × 10⁻⁸`` rather than ``6.6e-08``.

    ``digits`` digits after the decimal point of the mantissa, as the format ``.{digits}e``
    would give them; a power of ten of 0 is left out (``3.2``). Glue the string and quote
    it with ``{glue:text}`key``` (no format spec): MyST-NB strips the quotes.
    """
    mantissa, exponent = f"{float(value):.{digits}e}".split("e")
    power = int(exponent)
    if power == 0:
        return mantissa
    return f"{mantissa} × 10{str(power).translate(_SUPERSCRIPT)}"


def glue(name: str, value, display: bool = False) -> None:
    """Record ``value`` under ``name`` for the page's ``{glue:text}`` roles.

    A no-op where MyST-NB is not installed. Floats are rounded to :data:`SIGNIFICANT`
    digits first (see the module's docstring). Returns None, as MyST-NB's glue does: a
    cell that ends with a glue call must not print the value (a second output beside a
    figure would give the figure's label twice).
    """
    if _myst_glue is not None:
        _myst_glue(name, rounded(value), display=display)

"""nbval compares numbers as numbers: to a tolerance, not to their last printed bits.

nbval re-executes each chapter and compares its outputs with the stored ones as text.
Another CPU, numpy or BLAS rounds the last bits differently, so a strict text match
fails on differences no reader could see. This plugin makes nbval compare every number
in a text output (printed lines, glue records, HTML tables) within a tolerance, and
everything else exactly:

* an integer (``391``, no point, no exponent) must be equal: step counts and indices
  are claims of their own;
* a decimal (``0.961``, ``1.0000e-04``) may differ by at most :data:`RTOL` relative, or
  by one unit in its last printed digit, whichever is larger: a value that sits on a
  rounding boundary prints one unit apart on two machines, and a change of two units
  is a change in what the page claims;
* two decimals both smaller than :data:`ATOL` in size agree: at that size a printed
  value (a residual, a gap at the minimum, a gradient check's error) is the rounding of
  the computation itself, which differs between machines. The chapters claim such
  values only as bounds, and assert the bounds.

Why :data:`RTOL` is 1e-6: the prose quotes at most five significant digits, and glue
records carry seven (``optimlib_book.notebook.SIGNIFICANT``), so a difference of 1e-6
is invisible on the page, while the runs of every chapter under two other roundings
(numpy's SIMD loops off; an older OpenBLAS kernel) differed from the stored outputs
only in digits the prose does not claim or in values that are chaotic, which the
chapters now claim as statistics: see ``book/AUTHORING.md``, "Numbers that hold on
every machine".

Loaded by ``book/conftest.py``; set ``NBVAL_NUMBERS_REPORT`` to a file name to record
the largest accepted difference of each cell there (how the numbers above were measured).
"""

from __future__ import annotations

import json
import math
import os
import re

RTOL = 1e-6
ATOL = 1e-12

NUMBER = re.compile(r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?!\w|\.\d)")


def last_digit_unit(token: str) -> float:
    """The value of one unit in the last printed digit: 1e-3 for '0.961', 1e-8 for '1.0e-7'."""
    mantissa, _, exponent = token.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def numbers_agree(ref: str, test: str) -> tuple[bool, float]:
    """Whether two number tokens agree, and their relative difference."""
    if "." not in ref + test and "e" not in (ref + test).lower():
        return ref == test, 0.0 if ref == test else math.inf
    a, b = float(ref), float(test)
    diff, scale = abs(a - b), max(abs(a), abs(b))
    relative = diff / scale if scale else 0.0
    if scale < ATOL:
        return True, relative
    unit = min(last_digit_unit(ref), last_digit_unit(test))  # the finer of the two prints
    allowed = max(RTOL * scale, unit)
    return diff <= allowed * (1 + 1e-9), relative  # the slack absorbs rounding in allowed


def reconcile(ref: str, test: str) -> tuple[str, float | None]:
    """``ref`` when ``test`` differs from it only in numbers that agree, else ``test``.

    Also returns the largest relative difference accepted (None when not reconciled).
    """
    if ref == test:
        return test, 0.0
    ref_parts, test_parts = NUMBER.split(ref), NUMBER.split(test)
    if ref_parts != test_parts:  # the words, spaces and punctuation must match exactly
        return test, None
    largest = 0.0
    for a, b in zip(NUMBER.findall(ref), NUMBER.findall(test), strict=True):
        agree, relative = numbers_agree(a, b)
        if not agree:
            return test, None
        largest = max(largest, relative)
    return ref, largest


def _text_fields(outputs) -> dict[str, list[tuple[dict, str]]]:
    """Each output's text fields, by the key nbval compares them under, in order."""
    fields: dict[str, list[tuple[dict, str]]] = {}
    for output in outputs:
        if output.get("output_type") == "stream":
            fields.setdefault(output["name"], []).append((output, "text"))
        for mime, value in output.get("data", {}).items():
            if isinstance(value, str):
                fields.setdefault(mime, []).append((output["data"], mime))
    return fields


def install(cell_class) -> None:
    """Wrap nbval's ``IPyNbCell.compare_outputs`` so that numbers agree to the tolerance."""
    original = cell_class.compare_outputs
    if getattr(original, "numbers_to_a_tolerance", False):
        return

    def compare_outputs(self, test, ref, skip_compare=None):
        accepted = 0.0
        ref_fields = _text_fields(ref)
        for key, pairs in _text_fields(test).items():
            for (container, field), (ref_container, ref_field) in zip(
                pairs, ref_fields.get(key, []), strict=False
            ):
                new, largest = reconcile(
                    self.sanitize(ref_container[ref_field]), self.sanitize(container[field])
                )
                container[field] = new
                if largest is not None:
                    accepted = max(accepted, largest)
        if report := os.environ.get("NBVAL_NUMBERS_REPORT"):
            with open(report, "a") as file:
                file.write(json.dumps({"cell": self.nodeid, "largest": accepted}) + "\n")
        return original(self, test, ref, skip_compare)

    compare_outputs.numbers_to_a_tolerance = True
    cell_class.compare_outputs = compare_outputs

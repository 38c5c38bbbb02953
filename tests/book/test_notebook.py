"""Tests of optimlib_book.notebook: the prose format of numbers glued as text."""

import pytest

from optimlib_book import scientific


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (6.6e-08, 1, "6.6 × 10⁻⁸"),
        (3.86013e-06, 1, "3.9 × 10⁻⁶"),
        (1e8, 6, "1.000000 × 10⁸"),
        (12345.0, 2, "1.23 × 10⁴"),
        (-2.5e-12, 0, "-2 × 10⁻¹²"),
        (3.2, 1, "3.2"),  # no "× 10⁰"
    ],
)
def test_scientific_writes_a_power_of_ten(value, digits, text):
    assert scientific(value, digits) == text


def test_scientific_rounds_as_the_e_format_does():
    # 9.96e-5 rounds up into the next decade: the mantissa and the power move together
    assert scientific(9.96e-5, 1) == "1.0 × 10⁻⁴" and f"{9.96e-5:.1e}" == "1.0e-04"

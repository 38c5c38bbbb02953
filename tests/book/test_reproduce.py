"""optimlib_book.reproduce: how closely a rerun of stored data must agree, and when it can't."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optimlib_book import reproduce


def test_relative_difference_of_curves_with_divergences():
    assert reproduce.relative_difference([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert reproduce.relative_difference([1.0, 2.0], [1.0, 2.2]) == pytest.approx(0.2 / 2.2)
    assert reproduce.relative_difference([1.0, None], [1.0, None]) == 0.0
    assert reproduce.relative_difference([1.0, None], [1.0, 3.0]) == math.inf
    assert reproduce.relative_difference([0.0], [0.0]) == 0.0


def test_a_contracting_run_must_agree_within_its_measured_amplification():
    stored = [1.0, 0.5, 0.25]
    effect = 1e-9  # what the nudge did to the rerun
    close = [v * (1 + 50 * effect) for v in stored]  # within SAFETY = 100 times
    far = [v * (1 + 500 * effect) for v in stored]
    assert reproduce.verdict(stored, close, [v * (1 + effect) for v in close], [stored])["ok"]
    found = reproduce.verdict(stored, far, [v * (1 + effect) for v in far], [stored])
    assert found["kind"] == "reproducible" and not found["ok"]
    assert found["tolerance"] == pytest.approx(reproduce.SAFETY * effect)


def test_the_tolerance_is_never_below_the_floor():
    stored = [1.0, 0.5]
    rerun = [1.0, 0.5 * (1 + 1e-10)]
    found = reproduce.verdict(stored, rerun, rerun, [stored])  # the nudge changed nothing
    assert found["tolerance"] == reproduce.FLOOR and found["ok"]


def test_a_gap_agrees_to_a_few_ulps_of_f_star_where_the_nudge_moves_nothing():
    """Adam on chapter 9's quadratic (f* = -2540.9): the stored final gap and an AVX2
    rerun's are one ulp of f* apart, 3e-6 relative, and the nudge changed nothing."""
    f_star, stored = -2540.8685108538057, [1.433800207450986e-07]
    rerun = [stored[0] - float(np.spacing(abs(f_star)))]
    assert not reproduce.verdict(stored, rerun, rerun, [stored])["ok"]  # FLOOR 1e-9 alone
    resolution = reproduce.gap_resolution(f_star)
    assert resolution == reproduce.RESOLUTION_ULPS * np.spacing(2540.8685108538057)
    assert reproduce.verdict(stored, rerun, rerun, [stored], resolution)["ok"]
    # a run that really moved, by more than the resolution, still fails
    moved = [stored[0] * (1 + 1e-3)]
    assert not reproduce.verdict(stored, moved, moved, [stored], resolution)["ok"]
    assert reproduce.gap_resolution(None) == 0.0  # the measure is the loss itself


def test_a_chaotic_run_is_judged_by_the_stored_seeds_spread():
    seeds = [[1.0, 0.1], [1.0, 0.2], [1.0, 0.4]]  # band 0.1..0.4 at the end: widened 1/160..6.4
    stored = seeds[0]
    nudged = [1.0, 0.3]  # the nudge moved it by 2/3: chaotic
    inside = reproduce.verdict(stored, [1.0, 1.2], nudged, seeds)
    assert inside["kind"] == "chaotic" and inside["ok"]
    assert reproduce.verdict(stored, [1.0, 6.0], nudged, seeds)["ok"]
    assert not reproduce.verdict(stored, [1.0, 7.0], nudged, seeds)["ok"]
    assert not reproduce.verdict(stored, [1.0, 0.005], nudged, seeds)["ok"]
    # a diverged rerun is inside only where a stored seed diverged too
    assert not reproduce.verdict(stored, [1.0, None], nudged, seeds)["ok"]
    with_divergence = [*seeds, [1.0, None]]
    assert reproduce.verdict(stored, [1.0, None], nudged, with_divergence)["ok"]


def test_nudged_moves_the_start_by_the_relative_size_and_nothing_else():
    x0 = np.array([1.0, -2.0, 3.0])

    def make(seed):
        return ("problem", seed), x0

    problem, start = reproduce.nudged(make, 1e-6)(7)
    assert problem == ("problem", 7)
    np.testing.assert_allclose(np.abs(start - x0) / np.abs(x0), 1e-6, rtol=1e-9)
    assert np.any(np.abs(start) > np.abs(x0)) and np.any(np.abs(start) < np.abs(x0))

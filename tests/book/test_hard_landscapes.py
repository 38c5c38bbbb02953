"""Tests of optimlib_book.hard_landscapes (chapter 2): the saddle's escape time,
the explorer panel, and the saturated-unit plateau."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

import optimlib as ol
from optimlib_book import hard_landscapes as hl
from optimlib_book import plot

OFFSETS = 10.0 ** -np.arange(1, 13, 2)  # 1e-1, 1e-3, ..., 1e-11


def escape_of(offset, eps, b=1.0):
    problem = ol.problems.Saddle(b=b)
    enough = 2 * math.log(1 / offset) / math.log1p(eps * b) + 20  # twice the linear estimate
    history = ol.minimize(problem, ol.SGD(lr=eps), steps=int(enough), x0=[1.0, offset])
    step = hl.escape_step(history)
    assert step is not None, (offset, eps, b)
    return step


@pytest.mark.parametrize("eps", [0.05, 0.1, 0.3])
def test_refined_prediction_is_within_one_step(eps):
    measured = np.array([escape_of(y0, eps) for y0 in OFFSETS])
    predicted = hl.predicted_escape(OFFSETS, eps)
    assert np.all(np.abs(measured - predicted) < 1), measured - predicted


def test_escape_time_is_linear_in_log_offset():
    eps, b = 0.1, 2.0
    measured = np.array([escape_of(y0, eps, b) for y0 in OFFSETS])
    slope = np.polyfit(np.log(1 / OFFSETS), measured, 1)[0]
    assert abs(slope * math.log1p(eps * b) - 1) < 0.01, slope
    linear = hl.predicted_escape(OFFSETS, eps, b=b, refined=False)
    assert np.allclose(np.diff(linear), math.log(100) / math.log1p(eps * b))  # two decades apart


def test_on_the_stable_axis_there_is_no_escape():
    problem = ol.problems.Saddle()
    history = ol.minimize(problem, ol.SGD(lr=0.1), steps=400, x0=[1.0, 0.0])
    assert hl.escape_step(history) is None
    assert np.linalg.norm(history.theta) < 1e-15  # converged to the saddle point


def test_prediction_rejects_bad_input():
    with pytest.raises(ValueError, match="offset"):
        hl.predicted_escape(0.0, 0.1)
    with pytest.raises(ValueError, match="threshold"):
        hl.predicted_escape(1e-3, 0.1, threshold=1.0)
    with pytest.raises(ValueError, match="eps"):
        hl.predicted_escape(1e-3, -0.1)


def test_saddle_panel_measures_what_it_draws():
    fig, axes = plot.figure(3, 1, width=9, height=3)
    results = [
        hl.saddle_panel(ax, offset=y0)
        for ax, y0 in zip(axes.flat, [1e-2, 1e-6, 1e-10], strict=True)
    ]
    plt.close(fig)
    for result in results:
        assert abs(result["escape_step"] - result["predicted"]) < 1
        assert result["loss_gap"] < 1e-6  # it went on to the minimum
        history = result["history"]
        assert history.steps == math.ceil(result["predicted"]) + 40
    lingering = [result["near_saddle"] for result in results]
    assert lingering[0] < lingering[1] < lingering[2], lingering


def test_saddle_panel_rejects_an_unstable_step(ax):
    with pytest.raises(ValueError, match="eps"):
        hl.saddle_panel(ax, offset=1e-3, eps=1.5)


def test_escape_step_needs_iterates():
    problem = ol.problems.Saddle()
    history = ol.minimize(problem, ol.SGD(lr=0.1), steps=5, record_iterates=False)
    with pytest.raises(ValueError, match="iterates"):
        hl.escape_step(history)

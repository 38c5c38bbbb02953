"""Tests of optimlib_book.hard_landscapes (chapter 2): each compute_* function against
the theory the chapter states, without matplotlib; the panels and draw_* functions on Axes."""

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


# --- compute_* without matplotlib: each against the theory the chapter states ----------


def test_float_limits_are_the_edges_of_exp():
    limits = hl.compute_float_limits()
    assert list(limits) == ["float16", "float32", "float64"]
    with np.errstate(over="ignore", under="ignore"):
        for name, dtype in hl.FORMATS.items():
            edge = limits[name]
            # 0.02 and 0.05 exceed the spacing of each format's numbers near these edges
            assert np.isfinite(np.exp(dtype(edge.ln_max - 0.02)))
            assert np.exp(dtype(edge.ln_max + 0.02)) == np.inf
            assert np.exp(dtype(edge.ln_zero + 0.05)) > 0
            assert np.exp(dtype(edge.ln_zero - 0.05)) == 0
    assert abs(limits["float64"].ln_max - math.log(np.finfo(np.float64).max)) < 1e-12
    assert "ln(largest)" in hl.format_float_limits(limits)


def test_softmax_failures_follow_the_largest_logit():
    limits = hl.compute_float_limits()
    rows = 400
    result = hl.compute_softmax_failures(limits, rows=rows, scales=[3.0, 10.0, 100.0, 1e3])
    for name in hl.FORMATS:
        theory = result.theory[name]
        # four binomial standard errors, plus 0.01 for rows the 0.01 test counts differently
        tolerance = 4 * np.sqrt(theory * (1 - theory) / rows) + 0.01
        assert np.all(np.abs(result.naive[name] - theory) <= tolerance), name
        assert result.stable[name].max() == 0, name
    # z_half solves Phi(z)^n = 1/2 (bisection to far below the check's 1e-9)
    assert abs(hl.normal_cdf(result.z_half) ** result.n_classes - 0.5) < 1e-9
    assert result.half_scale("float64", limits) > result.half_scale("float16", limits)


def test_amplification_attains_kappa_only_in_the_worst_directions():
    rng = np.random.default_rng(0)
    system = ol.problems.Quadratic.with_condition_number(1e3, dim=6, rng=rng)
    result = hl.compute_amplifications(system, pairs=200, rng=rng)
    # the worst case equals kappa up to the solves' rounding, amplified by kappa itself
    assert abs(result.worst / 1e3 - 1) < 1e-9
    assert abs(result.kappa / 1e3 - 1) < 1e-10
    assert np.all(result.random <= 1e3 * (1 + 1e-9))  # the bound holds for every pair
    assert np.median(result.random) < 1e3 / 10  # and random pairs are far from it


def test_solve_errors_stay_within_kappa_times_the_roundoff():
    u = np.finfo(np.float64).eps / 2
    kappas = np.array([1e2, 1e8, 1e12])
    errors = hl.compute_solve_errors(kappas, dim=8, rng=np.random.default_rng(1))
    # the rule of thumb: a backward-stable solve errs by about kappa u (a factor 10 of slack)
    assert np.all(errors < 10 * kappas * u), errors / (kappas * u)
    assert errors[-1] > errors[0]


def test_saddle_escapes_match_the_refined_prediction():
    result = hl.compute_saddle_escapes(eps=0.1, offsets=[1e-2, 1e-5, 1e-8])
    assert np.all(np.abs(result.escapes - result.refined) < 1)
    assert np.all(result.linear < result.refined + 1)  # the cubic term only slows the end
    # three points, 3 decades apart: the fitted slope is 1 / ln(1 + eps b) to 2%
    assert abs(result.slope / result.slope_theory - 1) < 0.02
    assert hl.escape_step(result.stuck) is None
    k, g, gap = hl.smallest_gradient_before_escape(result.runs[1e-8])
    assert g < 1e-4 and gap > 0.24 and 0 < k < result.escapes[-1]


def test_positive_definite_fractions_fall_faster_than_coin_flips():
    samples = 4000
    fractions = hl.compute_positive_definite_fractions(
        range(1, 4), samples=samples, rng=np.random.default_rng(2)
    )
    # n = 1: a single N(0, 1) entry is positive with probability 1/2 (four standard errors)
    assert abs(fractions[0] - 0.5) < 4 * np.sqrt(0.25 / samples)
    assert np.all(np.diff(fractions) < 0)
    assert np.all(fractions[1:] < 0.5 ** np.arange(2, 4))


def test_plateau_lasts_in_proportion_to_cosh_squared():
    result = hl.compute_plateau(betas=(2.0, 3.0, 4.0), eps=0.2, steps=2000)
    assert all(run.stop_reason == "tolerance" for run in result.runs)
    # T / cosh^2(beta) is the same constant to 5% (the chapter's claim, from beta = 2 on)
    assert result.ratios.max() / result.ratios.min() < 1.05
    assert abs(result.slope(first=0) - 1) < 0.05
    # on the longer plateau, the step is 2 eps |w2| sech^2(beta) to 5%
    assert abs(result.step_lengths[-1] / result.predicted_steps[-1] - 1) < 0.05
    assert "cosh^2" in result.table()


def test_cliff_throws_plain_descent_and_clipping_caps_the_step():
    result = hl.compute_cliff(eps=0.1, steps=60, max_norm=1.0)
    face = result.plain.thetas[result.k_face]
    assert abs(face[0] - result.cliff.position) < result.cliff.width / 2
    assert result.jump > result.plot_width and not result.plain.diverged
    assert result.g_face >= 100 * result.g_before
    assert result.longest_clipped <= 0.1 * 1.0 + 1e-12  # eps * max_norm, up to rounding
    assert result.clipped.loss_gaps()[-1] < result.plain.loss_gaps()[-1]
    assert f"step {result.k_face}" in result.report()


def test_gradient_cost_grows_with_N_for_full_batch_only():
    result = hl.compute_gradient_cost(Ns=(1_000, 10_000), seeds=3)
    gd, sgd = result.slopes
    assert abs(gd - 1) < 0.15 and abs(sgd) < 0.25  # two points: looser than the chapter's 3
    assert np.all(result.gd_cost == result.gd_steps * np.array(result.Ns))
    assert np.all(result.sgd_cost < result.gd_cost)
    assert "GD steps" in result.table()


def test_draw_functions_draw_what_they_were_given():
    limits = hl.compute_float_limits()
    failures = hl.compute_softmax_failures(limits, rows=50, scales=[1.0, 100.0])
    fig, axes = plot.figure(2, 4, width=8, height=8)
    hl.draw_softmax_failures(axes[0, 0], failures)
    assert len(axes[0, 0].lines) == 2 * 3 + 2  # measured and theory per format, stable, key
    escape = hl.compute_saddle_escapes(eps=0.1, offsets=[1e-2, 1e-6, 1e-10])
    hl.draw_saddle_escape(axes[0, 1], axes[1, 0], escape)
    assert len(axes[1, 0].lines) == 3
    plateau = hl.compute_plateau(betas=(1.0, 2.0), steps=200)
    hl.draw_plateau(axes[1, 1], axes[2, 0], plateau)
    hl.draw_cliff(axes[2, 1], axes[3, 0], hl.compute_cliff())
    cost = hl.GradientCost(
        [10, 100], 5, np.array([3, 3]), np.array([30, 300]), np.array([9.0, 9.0])
    )
    hl.draw_gradient_cost(axes[3, 1], cost)
    assert axes[3, 1].get_xscale() == "log" and len(axes[3, 1].lines) == 2
    plt.close(fig)


def test_offset_title_writes_the_power_of_ten_as_prose_does():
    assert hl.offset_title(1e-2) == "y₀ = 10⁻²"
    assert hl.offset_title(1e-10) == "y₀ = 10⁻¹⁰"

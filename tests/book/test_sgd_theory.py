"""Chapter 12's module: stacked seeds, slopes and intervals, the noise constants, the
convex bound, early stopping and the explorer's panel."""

from __future__ import annotations

import numpy as np
import pytest

import optimlib as ol
from optimlib_book import sgd_theory as ch


@pytest.fixture(scope="module")
def problem():
    return ol.problems.LinearRegression.synthetic(200, 4, np.random.default_rng(0), noise_std=0.5)


def power_law(exponent, runs=5, scale=None):
    steps = np.unique(np.geomspace(1, 1000, 30).round().astype(int))
    scale = np.linspace(1, 2, runs) if scale is None else scale
    gaps = scale[:, None] * steps[None, :] ** exponent
    return ch.SeedRuns(steps, gaps, gaps / 10, distance=1.0)


def test_slope_of_an_exact_power_law_is_its_exponent():
    """Every seed follows C_r k^-0.7: the slope and both ends of its interval are -0.7
    (to rounding of a 30-point least-squares fit of logs, ~1e-14)."""
    result = power_law(-0.7)
    for which in ("last", "averaged"):
        slope, low, high = result.slope(which, 1)
        assert slope == pytest.approx(-0.7, abs=1e-12)
        assert low == pytest.approx(-0.7, abs=1e-12) and high == pytest.approx(-0.7, abs=1e-12)
    assert np.allclose(result.slopes("last", 1), -0.7, atol=1e-12)
    assert np.allclose(result.ratios(10), 0.1, rtol=1e-12)


def test_slope_interval_widens_with_disagreeing_seeds():
    steps = np.unique(np.geomspace(1, 1000, 30).round().astype(int))
    gaps = np.array([steps**-0.5, steps**-1.5, steps**-1.0, steps**-0.8])
    result = ch.SeedRuns(steps, gaps, gaps, distance=1.0)
    slope, low, high = result.slope("last", 1)
    assert low < slope < high and high - low > 0.2


def test_summary_is_median_and_the_10_90_quantiles():
    median, low, high = ch.summary(np.arange(11.0))
    assert (median, low, high) == (5.0, 1.0, 9.0)


def test_noise_constants_match_the_problem_and_monte_carlo(problem):
    """tr Sigma_g with replacement is (N - 1)/(N - m) times the without-replacement
    variance optimlib computes (exact up to rounding); and 4000 draws of the stacked
    oracle at theta* have mean square norm within 5 standard errors (~2.5%) of it."""
    m = 5
    noise = ch.noise_constants(problem, m)
    distinct = problem.minibatch_variance(problem.x_star, m)
    N = problem.N
    assert noise["trace"] == pytest.approx(distinct * (N - 1) / (N - m), rel=1e-10)
    lam = np.linalg.eigvalsh(problem.hess(problem.x_star))
    assert noise["mu"] == lam[0] and noise["L"] == lam[-1]
    assert noise["mu"] * noise["trace"] / lam[-1] ** 2 <= noise["inverse_trace"] * noise["mu"]
    oracle = ch.stacked_oracle(problem, m, np.random.default_rng(1))
    draws = oracle(np.tile(problem.x_star, (4000, 1)))
    assert np.mean(np.sum(draws**2, axis=1)) == pytest.approx(noise["trace"], rel=0.05)


def test_stacked_oracle_rows_are_minibatch_gradients(problem):
    """Row r is (1/m) sum_i grad L_i(theta_r) over the indices the rng drew for it."""
    theta = np.random.default_rng(2).standard_normal((3, 4))
    g = ch.stacked_oracle(problem, 6, np.random.default_rng(5))(theta)
    idx = np.random.default_rng(5).integers(problem.N, size=(3, 6))
    for r in range(3):
        expected = problem.per_example_grads(theta[r], idx[r]).mean(axis=0)
        np.testing.assert_allclose(g[r], expected, rtol=1e-12, atol=1e-14)


def test_seed_runs_record_gaps_and_the_average(problem):
    result = ch.seed_runs(problem, 0.05, 200, 5, 4, seed=0, start=100, num_recorded=10)
    assert result.last.shape == result.averaged.shape == (4, len(result.steps))
    assert result.steps[-1] == 200 and np.all(result.last > 0)
    before = result.steps <= 100  # before averaging starts the average is the iterate
    assert np.array_equal(result.last[:, before], result.averaged[:, before])
    assert result.averaged[:, -1].mean() < result.last[:, -1].mean()
    assert result.distance > 0


def test_convex_bound_formula_and_gradient_bound():
    k = np.array([1, 4, 100])
    bound = ch.convex_bound(k, c=2.0, D=3.0, G=0.5)
    expected = (9 / 4 + 2 * 0.25) * np.sqrt(k + 1) / k
    np.testing.assert_allclose(bound, expected, rtol=1e-15)
    logistic = ol.problems.LogisticRegression.synthetic(300, 5, np.random.default_rng(0))
    G = ch.gradient_bound(logistic)
    oracle = ch.stacked_oracle(logistic, 3, np.random.default_rng(0))
    g = oracle(np.random.default_rng(1).standard_normal((500, 5)) * 10)
    assert np.max(np.linalg.norm(g, axis=1)) <= G


def test_early_stopping_has_a_best_step_before_the_end():
    early = ch.early_stopping(steps=400)
    assert np.all(np.diff(early.train) <= 0)
    assert 0 < early.best < 400 and early.risk[early.best] < early.risk[-1]
    problem = ol.problems.LinearRegression.synthetic(60, 40, np.random.default_rng(3))
    assert early.risk[0] == pytest.approx(problem.risk(np.zeros(40)) - problem.bayes_risk)


def test_panel_draws_and_returns_the_measured_numbers(ax):
    out = ch.panel(ax, eps=0.05, steps=400, runs=4)
    assert out["ratio_low"] <= out["ratio"] <= out["ratio_high"] < 1
    assert out["floor"] == pytest.approx(
        0.05 * ch.noise_constants(ch.default_problem(), 10)["trace"] / 4
    )
    assert len(ax.lines) >= 4 and ax.get_yscale() == "log"


def test_bad_input_raises():
    with pytest.raises(ValueError, match="rng"):
        ch.stacked_oracle(ch.default_problem(), 5, 0)
    with pytest.raises(ValueError, match="batch_size"):
        ch.stacked_oracle(ch.default_problem(), 0, np.random.default_rng(0))
    result = power_law(-1.0)
    with pytest.raises(ValueError, match="which"):
        result.slope("best", 1)
    with pytest.raises(ValueError, match="fewer than three"):
        result.slope("last", 999)
    with pytest.raises(ValueError, match="steps"):
        ch.seed_runs(ch.default_problem(), 0.1, 0, 5, 2, seed=0)


def test_draw_predictions_draws_the_lines_it_is_given():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    steps = np.arange(1, 301)
    floor = 0.5 / np.sqrt(steps)
    ch.draw_predictions(ax, steps, floor, inverse_trace=3.0, averaged_from=100)
    dashed, dotted = ax.get_lines()
    np.testing.assert_array_equal(dashed.get_xdata(), steps)
    np.testing.assert_array_equal(dashed.get_ydata(), floor)
    np.testing.assert_array_equal(dotted.get_xdata(), np.arange(101, 301))
    np.testing.assert_allclose(dotted.get_ydata(), 3.0 / (2 * np.arange(1, 201)), rtol=1e-15)
    assert (dashed.get_linestyle(), dotted.get_linestyle()) == ("--", ":")
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == [dashed.get_label(), dotted.get_label()]
    plt.close(fig)

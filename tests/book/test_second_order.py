"""Chapter 11's experiments: what they return is what the theory of each method says."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import optimlib as ol
from optimlib_book import second_order as ch


@pytest.mark.parametrize(
    ("damping", "factor"), [(0.0, 0.0), (0.5, -1.0), (2.0, 2.0), (0.25, -1 / 3), (1.0, math.inf)]
)
def test_saddle_factor_is_lambda_over_lambda_minus_b(damping, factor):
    assert ch.saddle_factor(damping) == pytest.approx(factor, rel=1e-15)


@pytest.mark.parametrize(("kw", "name"), [({"damping": -0.1}, "damping"), ({"b": 0.0}, "b")])
def test_saddle_factor_rejects_bad_input(kw, name):
    with pytest.raises(ValueError, match=name):
        ch.saddle_factor(**{"damping": 1.0, **kw})


@pytest.mark.parametrize("damping", [0.1, 0.3, 0.7, 1.5, 3.0])
def test_saddle_panel_measures_the_linear_factor_and_ends_where_it_predicts(ax, damping):
    """From y0 = 1e-4 the neglected y^3 terms are 3e-8 relative: the first step's factor
    matches lambda / (lambda - b) to 1e-6; the run ends at the saddle exactly when the
    factor is below 1 in size (lambda < b / 2), at a minimum otherwise."""
    result = ch.saddle_panel(ax, damping, steps=60, y0=1e-4)
    assert result["measured_factor"] == pytest.approx(result["predicted_factor"], rel=1e-6)
    assert result["where"] == ("saddle" if damping < 0.5 else "minimum")
    assert len(result["thetas"]) == 61 and not result["diverged"]
    assert ax.get_title().endswith(result["where"])


def test_evenly_spread_has_evenly_spread_eigenvalues_and_minimizer_ones():
    q = ch.evenly_spread(12, 40.0, np.random.default_rng(0))
    np.testing.assert_allclose(np.linalg.eigvalsh(q.A), np.linspace(1, 40, 12), rtol=1e-12)
    np.testing.assert_allclose(q.x_star, np.ones(12), rtol=1e-12)


def test_termination_cg_ends_at_step_n_on_evenly_spread_eigenvalues(ax):
    """Observed 1.5e-14 at k = n = 20 (bound 1e-12); gradient descent is far from it."""
    result = ch.compute_termination(n=12, kappa=100.0, seed=3)
    errors = result["errors"]
    assert len(errors["evenly spread"]) == 2 * 12 + 10 + 1
    assert errors["evenly spread"][12] < 1e-12 < errors["evenly spread"][11]
    assert errors["gradient descent"][12] > 0.1
    ch.draw_termination(ax, result)
    assert len(ax.get_lines()) == 4  # three runs and the line at k = n


def test_cg_rates_stay_below_the_bound_and_beat_gradient_descent(ax):
    result = ch.compute_cg_rates(kappas=(10.0, 100.0), n=120, target=1e-5)
    for kappa, error, rate, gd in zip(
        result["kappas"], result["errors"], result["rates"], result["gd"], strict=True
    ):
        assert np.all(error <= ch.chebyshev_bound(kappa, np.arange(len(error))) * (1 + 1e-9))
        assert rate < gd
    assert result["steps"][0] < result["steps"][1]
    assert ch.chebyshev_bound(9.0, 2) == pytest.approx(2 * 0.25, rel=1e-15)  # r = 1/2
    ch.draw_cg_rates(ax, result)


def test_memory_steps_fall_with_m_and_every_run_reaches_the_tolerance(ax):
    q = ol.problems.Quadratic.with_condition_number(300.0, dim=20, rng=np.random.default_rng(1))
    result = ch.compute_memory(q, memories=(1, 5, 20), rel_tol=1e-8)
    assert all(result["reached"])
    steps = result["steps"]
    assert steps[0] >= steps[1] >= steps[2]
    assert all(s < e for s, e in zip(steps, result["grad_evals"], strict=True))
    ch.draw_memory(ax, result)


def test_comparison_counts_each_oracle_and_tabulates_every_method(ax):
    q = ol.problems.Quadratic.with_condition_number(100.0, dim=10, rng=np.random.default_rng(0))
    result = ch.compute_comparison(q, rel_tol=1e-8)
    runs = result["runs"]
    assert all(h.stop_reason == "tolerance" for h in runs.values())
    assert (runs["Newton"].steps, runs["Newton"].hess_evals) == (1, 1)
    assert runs["CG (exact)"].hess_evals == runs["CG (exact)"].steps
    assert runs["gradient descent"].steps > runs["heavy ball"].steps
    table = ch.comparison_table(result).splitlines()
    assert len(table) == 1 + len(runs)
    assert table[-1].split()[-4:] == ["1", "1", "0", "1"]  # Newton: steps, g, f, H
    ch.draw_comparison(ax, result)
    assert ax.get_xscale() == "symlog"

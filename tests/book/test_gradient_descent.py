"""The chapter-1 explorer: what the panel returns is what the theory of gradient descent says.

On f(x) = 1/2 x^T A x - b^T x the error obeys e_{k+1} = (I - eps A) e_k, so ||e_k||
contracts (or grows) by max_i |1 - eps lambda_i| per step once the faster directions
have faded; the panel's measured rate must match it, and its run must end as the theory
says (converged, or diverged when eps > 2 / lambda_max = 2).
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

import optimlib as ol
from optimlib.problems import Quadratic
from optimlib_book import gradient_descent as gdx


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1000.0])
def test_quadratic_is_scaled_to_unit_curvature(kappa):
    problem = gdx.quadratic(kappa)
    assert abs(problem.L - 1.0) < 1e-12
    assert problem.kappa == pytest.approx(kappa)
    assert problem.gd_optimal_lr() == pytest.approx(2 * kappa / (kappa + 1))


@pytest.mark.parametrize(
    ("eps", "kappa"),
    [(0.3, 10.0), (2 * 10 / 11, 10.0), (1.97, 10.0), (1.0, 30.0), (1.9, 3.0)],
)
def test_panel_rate_matches_theory(ax, eps, kappa):
    result = gdx.panel(ax, eps=eps, kappa=kappa, steps=200)
    assert not result["diverged"]
    assert result["theory"] == pytest.approx(max(abs(1 - eps / kappa), abs(1 - eps)))
    assert result["rate"] == pytest.approx(result["theory"], rel=1e-3)


def test_panel_at_the_optimal_step_reaches_the_tolerance_when_theory_says(ax):
    kappa, tol = 10.0, 1e-3
    eps = 2 * kappa / (kappa + 1)
    result = gdx.panel(ax, eps=eps, kappa=kappa, tol=tol)
    rho = (kappa - 1) / (kappa + 1)
    # In 2-D at the optimal step both eigen-components shrink by exactly rho per step,
    # so ||e_k|| = rho^k ||e_0||: the first k with rho^k <= tol.
    assert result["steps_to_tol"] == math.ceil(math.log(tol) / math.log(rho))
    assert result["optimal_eps"] == pytest.approx(eps)


@pytest.mark.parametrize("eps", [2.05, 2.1, 2.5])
def test_panel_above_two_over_lambda_max_diverges_at_the_predicted_growth(ax, eps):
    result = gdx.panel(ax, eps=eps, kappa=10.0)
    assert result["diverged"]
    assert result["diverged_at"] is not None
    assert result["steps_to_tol"] is None
    assert result["theory"] == pytest.approx(eps - 1)
    assert result["rate"] == pytest.approx(eps - 1, rel=1e-3)
    assert "diverged at step" in " ".join(t.get_text() for t in ax.texts)


def test_panel_one_step_convergence_when_kappa_is_one(ax):
    result = gdx.panel(ax, eps=1.0, kappa=1.0)  # eps = 1 / lambda: x_1 = x*
    assert result["rate"] == pytest.approx(0.0, abs=1e-12)
    assert result["steps_to_tol"] == 1


def test_panel_draws_no_nan(ax):
    gdx.panel(ax, eps=2.5, kappa=100.0)
    for line in ax.get_lines():
        assert np.isfinite(np.asarray(line.get_xydata(), dtype=float)).all()


def test_directions_match_the_gradient():
    fig, (left, right) = plt.subplots(1, 2)
    try:
        problem = Quadratic.with_condition_number(5, lam_min=0.2, angle=np.pi / 6)
        angles = np.arange(-135, 181, 45)
        result = gdx.directions(left, right, problem, np.array([-1.6, 0.4]), angles)
    finally:
        plt.close(fig)
    g = result["grad"]
    np.testing.assert_allclose(result["difference"], result["exact"], atol=1e-6)
    np.testing.assert_allclose(
        result["exact"], np.linalg.norm(g) * np.cos(np.deg2rad(angles)), atol=1e-12
    )
    assert result["angles"][np.argmin(result["difference"])] == 180
    assert 0 < result["to_minimizer"] < 90


def test_panel_reports_slow_growth_that_has_not_reached_the_cap(ax):
    result = gdx.panel(ax, eps=2.01, kappa=10.0, steps=100)  # growth 1.01: 3 -> 8 in 100 steps
    assert not result["diverged"]
    assert result["rate"] == pytest.approx(1.01, rel=1e-3)
    assert "grows" in " ".join(t.get_text() for t in ax.texts)


def test_run_records_divergence_as_an_outcome():
    problem = gdx.quadratic(10.0)
    history = gdx.run(problem, 2.1, steps=200)
    assert history.diverged
    assert history.stop_reason == "max_loss"
    assert np.isfinite(history.losses).all()
    gap0 = problem.f(problem.x0) - problem.f_star
    assert history.loss_gaps()[-1] <= gdx.MAX_GROWTH * gap0


# --- compute_* of the chapter's figures: numbers checked against the theory -------------


def test_taylor_model_error_is_third_order():
    rosen = ol.problems.Rosenbrock()
    result = gdx.compute_taylor_model(rosen, [0.5, 0.5], span=2.3)
    assert result.eps[-1] == pytest.approx(2.3 * result.eps_star)
    # the quadratic model is exact to second order: halving a small step divides its
    # error by 2^3 (2% covers the fourth-order term at eps* / 100)
    small = result.eps_star / 100
    ratio = abs(result.change(small) - result.model(small)) / abs(
        result.change(small / 2) - result.model(small / 2)
    )
    assert abs(ratio / 8 - 1) < 0.02
    assert result.model(2 * result.eps_star) == pytest.approx(0.0, abs=1e-9)
    assert np.allclose(result.quadratic, result.model(result.eps))


def test_regimes_rates_are_the_largest_factor():
    problem = gdx.quadratic(10)
    steps = {"too small": 0.3, "optimal": problem.gd_optimal_lr(), "divergent": 2.1}
    result = gdx.compute_regimes(10, steps, num_steps=60)
    for name, eps in steps.items():
        assert result.rates[name] == pytest.approx(problem.gd_rate(eps), rel=1e-3)
    assert [h.diverged for h in result.runs.values()] == [False, False, True]


def test_rate_curve_follows_rho_of_eps():
    result = gdx.compute_rate_curve([10], np.linspace(0.1, 2.3, 5), steps=200)
    assert result.worst < 0.01  # the chapter's bound on |measured - theory|
    assert np.all(result.theory[10] == gdx.quadratic(10).gd_rate(result.grid))


def test_iterations_grow_linearly_in_kappa():
    result = gdx.compute_iterations([10, 100, 1000], tol=1e-6)
    assert np.all(result.counts <= result.bounds)  # the bound holds ...
    assert np.all(result.counts >= 0.85 * result.bounds)  # ... and is nearly reached
    assert abs(result.slope - 1) < 0.05
    rho = 99 / 101  # the rate over the second half is (kappa - 1) / (kappa + 1) within 1%
    assert result.rate(100) == pytest.approx(rho, rel=0.01)


def test_divergence_grows_by_one_minus_eps_lambda_max():
    result = gdx.compute_divergence(10, 2.1, steps=200)
    assert result.history.diverged
    assert result.growth == pytest.approx(1.1, rel=0.01)
    assert result.gap_growth == pytest.approx(1.21, rel=0.01)
    k = np.arange(len(result.coordinates))[:, None]
    predicted = result.factors**k * result.coordinates[0]
    # exact geometric sequences, up to rounding amplified by at most 1.1^k
    assert np.allclose(result.coordinates, predicted, rtol=1e-9, atol=1e-12)


def test_draw_functions_draw_their_results():
    fig, axes = plt.subplots(2, 3)
    steps = {"too small": 0.3, "divergent": 2.1}
    gdx.draw_regimes(axes[0, 0], axes[0, 1], gdx.compute_regimes(10, steps, 20))
    assert len(axes[0, 1].lines) >= 2
    assert axes[0, 0].get_title() == r"iterates on the quadratic, $\kappa = 10$"
    gdx.draw_rate_curve(axes[0, 2], gdx.compute_rate_curve([10], [0.5, 1.0], steps=50))
    gdx.draw_iterations(axes[1, 0], gdx.compute_iterations([10, 30], tol=1e-3))
    assert axes[1, 0].get_xscale() == "log"
    gdx.draw_divergence(axes[1, 1], gdx.compute_divergence(10, 2.1, steps=100))
    rosen = ol.problems.Rosenbrock()
    gdx.draw_taylor_model(axes[1, 2], gdx.compute_taylor_model(rosen, [0.5, 0.5]))
    assert len(axes[1, 2].lines) == 5  # three curves, eps* and 2 eps*
    plt.close(fig)

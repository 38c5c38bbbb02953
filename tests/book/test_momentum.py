"""Chapter 5's explorer module: the 2 x 2 theory against the real optimizers, and the panels.

The theory functions are checked three ways: against the eigenvalues of the iteration
matrix, against closed forms (sqrt(alpha) in the complex band, the optimal rates, the
stability limits), and against runs of ``ol.Momentum`` and ``ol.Nesterov``.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

import optimlib as ol
from optimlib_book import momentum as mx
from optimlib_book import widgets

METHODS = ["momentum", "nesterov"]


# --- the linear theory -----------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_roots_are_the_eigenvalues_of_the_iteration_matrix(method):
    rng = np.random.default_rng(0)
    for _ in range(50):
        eps, alpha = rng.uniform(0.01, 2.0), rng.uniform(0.0, 0.99)
        lam = rng.uniform(0.0, 3.0, size=4)
        T = mx.iteration_matrix(eps, alpha, lam, method)
        eig = np.sort_complex(np.linalg.eigvals(T))
        roots = np.sort_complex(mx.roots(eps, alpha, lam, method))
        assert np.allclose(eig, roots, atol=1e-7)  # a double root is only sqrt(eps) accurate
        b, c = mx.characteristic_coefficients(eps, alpha, lam, method)
        assert np.allclose(np.trace(T, axis1=-2, axis2=-1), b, atol=1e-14)
        assert np.allclose(np.linalg.det(T), c, atol=1e-14)
        assert np.allclose(
            mx.root_modulus(eps, alpha, lam, method), np.max(np.abs(eig), axis=-1), atol=1e-7
        )


@pytest.mark.parametrize("method", METHODS)
def test_iteration_matrix_reproduces_the_optimizer(method):
    """(e_k, v_k) of a real run along one eigenvector equals T^k (e_0, 0)."""
    eps, alpha, lam = 0.03, 0.8, 7.0
    line = ol.problems.Quadratic([[lam]], b=[lam], x0=[4.0])  # gradient lam (x - 1)
    run = ol.minimize(line, mx.METHODS[method](lr=eps, alpha=alpha), 30, record_state=("v",))
    thetas, vs = run.thetas, np.concatenate([[[0.0]], run.states["v"]])  # v_0 = 0
    state = np.array([3.0, 0.0])  # e_0 = theta_0 - theta*, v_0 = 0
    T = mx.iteration_matrix(eps, alpha, lam, method)
    for k in range(31):
        assert np.allclose([thetas[k, 0] - 1.0, vs[k, 0]], state, rtol=1e-12, atol=1e-14)
        state = T @ state


@pytest.mark.parametrize("method", METHODS)
def test_no_momentum_is_gradient_descent(method):
    h = np.geomspace(1e-3, 5, 200)
    assert np.allclose(mx.root_modulus(1.0, 0.0, h, method), np.abs(1 - h), atol=1e-15)
    assert mx.stability_limit(0.0, method) == 2.0


@pytest.mark.parametrize("alpha", [0.1, 0.5, 0.9, 0.99])
def test_complex_band_has_modulus_sqrt_alpha(alpha):
    low, high = mx.complex_band(alpha)
    h = np.linspace(low, high, 1001)[1:-1]
    assert np.allclose(mx.root_modulus(1.0, alpha, h), math.sqrt(alpha), rtol=0, atol=1e-12)
    outside = np.concatenate([np.linspace(low / 100, low * 0.99, 50), [high * 1.01, high * 1.3]])
    assert np.all(mx.root_modulus(1.0, alpha, outside) > math.sqrt(alpha))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.9, 0.99])
def test_stability_limit(method, alpha):
    limit = mx.stability_limit(alpha, method)
    expected = 2 * (1 + alpha) / (1 + 2 * alpha) if method == "nesterov" else 2 * (1 + alpha)
    assert limit == pytest.approx(expected, rel=1e-15)
    assert mx.root_modulus(1.0, alpha, limit * (1 - 1e-8), method) < 1
    assert mx.root_modulus(1.0, alpha, limit * (1 + 1e-8), method) > 1
    h = np.linspace(1e-6, limit * 0.999, 500)
    assert np.all(mx.root_modulus(1.0, alpha, h, method) < 1)


@pytest.mark.parametrize("kappa", [4.0, 10.0, 100.0, 1000.0])
def test_optimal_heavy_ball_rate(kappa):
    quad = ol.problems.Quadratic.with_condition_number(kappa)
    eps, alpha = quad.heavy_ball_optimal()
    rho = mx.asymptotic_rate(eps, alpha, quad.eigenvalues)
    assert rho == pytest.approx(quad.heavy_ball_rate(), abs=1e-7)
    # any other (eps, alpha) nearby is slower
    for d_eps, d_alpha in [(1.05, 1.0), (0.95, 1.0), (1.0, 1.02), (1.0, 0.98)]:
        assert mx.asymptotic_rate(eps * d_eps, alpha * d_alpha, quad.eigenvalues) > rho


@pytest.mark.parametrize("kappa", [10.0, 100.0, 1000.0])
def test_nesterov_standard_tuning_rate(kappa):
    quad = ol.problems.Quadratic.with_condition_number(kappa)
    root_kappa = math.sqrt(kappa)
    rho = mx.asymptotic_rate(
        1 / quad.L, (root_kappa - 1) / (root_kappa + 1), quad.eigenvalues, "nesterov"
    )
    assert rho == pytest.approx(1 - 1 / root_kappa, abs=1e-7)


def test_asymptotic_rate_matches_quadratic_gd_rate():
    quad = ol.problems.Quadratic.with_condition_number(30.0, dim=5)
    for eps in [0.01, 0.05, 0.066]:
        assert mx.asymptotic_rate(eps, 0.0, quad.eigenvalues) == pytest.approx(quad.gd_rate(eps))


def test_bad_arguments():
    with pytest.raises(ValueError, match="method"):
        mx.roots(0.1, 0.5, 1.0, method="adam")
    with pytest.raises(ValueError, match="alpha"):
        mx.roots(0.1, 1.0, 1.0)
    with pytest.raises(ValueError, match="eps"):
        mx.roots(0.0, 0.5, 1.0)


# --- measuring a rate ---------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
def test_measured_rate_of_runs_matches_theory(method):
    rng = np.random.default_rng(3)
    for _ in range(4):
        kappa = float(10 ** rng.uniform(1, 2))
        alpha = float(rng.uniform(0.0, 0.95))
        eps = float(rng.uniform(0.1, 0.9) * mx.stability_limit(alpha, method) / kappa)
        quad = ol.problems.Quadratic.with_condition_number(kappa)
        history = ol.minimize(quad, mx.METHODS[method](lr=eps, alpha=alpha), steps=1200)
        theory = mx.asymptotic_rate(eps, alpha, quad.eigenvalues, method)
        assert history.rate(**mx.ENVELOPE) == pytest.approx(theory, rel=0.03)


# --- velocities, steps and figures ---------------------------------------------------------------


def test_one_step_decomposes_the_real_step():
    problem = ol.problems.Rosenbrock()
    theta, v = np.array([0.5, 0.3]), np.array([0.02, -0.01])
    for method in METHODS:
        step = mx.one_step(problem, theta, v, 1e-3, 0.9, method)
        expected_point = theta if method == "momentum" else theta + 0.9 * v
        assert np.allclose(step["point"], expected_point, rtol=0, atol=1e-16)
        assert np.array_equal(step["g"], problem.grad(step["point"]))
        assert np.allclose(step["momentum_step"] + step["gradient_step"], step["new_v"], atol=1e-16)
        assert np.allclose(theta + step["new_v"], step["new_theta"], atol=1e-16)


def test_figure_one_draws_labelled_arrows():
    problem = ol.problems.Rosenbrock()
    fig, axes = plt.subplots(1, 2)
    steps = mx.figure_one(
        axes, problem, np.array([0.977, 1.015]), np.array([0.09, 0.04]), 2e-3, 0.95
    )
    assert set(steps) == {"momentum", "nesterov"}
    for ax in axes:
        texts = [t.get_text() for t in ax.texts]
        for word in ("previous step", "momentum", "gradient", "step $v'"):
            assert any(word in t for t in texts), (word, texts)
        arrows = [t for t in ax.texts if getattr(t, "arrow_patch", None) is not None]
        assert len(arrows) == 4
    assert any("look-ahead" in t.get_text() for t in axes[1].texts)
    plt.close(fig)


def test_panel_returns_what_it_shows(ax):
    result = mx.panel(ax, eps=0.015, alpha=0.8, kappa=100.0)
    assert not result["diverged"]
    assert result["theory"] == pytest.approx(math.sqrt(0.8), abs=1e-12)
    assert result["rate"] == pytest.approx(result["theory"], rel=0.01)
    assert any("measured rate" in t.get_text() for t in ax.texts)


def test_panel_diverging_run(ax):
    result = mx.panel(ax, eps=1.05 * 2 * 1.5 / 100, alpha=0.5, kappa=100.0)
    assert result["diverged"] and result["diverged_at"] is not None
    assert result["theory"] > 1
    assert result["rate"] == pytest.approx(result["theory"], rel=0.01)


def test_panel_nesterov_and_small_multiples():
    fig, results = widgets.small_multiples(
        mx.panel, "alpha", [0.0, 0.9], eps=0.01, kappa=50.0, method="nesterov"
    )
    plt.close(fig)
    for alpha, result in zip([0.0, 0.9], results, strict=True):
        theory = mx.asymptotic_rate(0.01, alpha, [1.0, 50.0], "nesterov")
        assert result["theory"] == pytest.approx(theory)
        assert result["rate"] == pytest.approx(theory, rel=0.01)


# --- tuning (eps, alpha) by steps to a tolerance --------------------------------------------


def test_compute_search_picks_the_fastest_setting_and_ranks_the_rest_by_final_loss():
    problem = ol.problems.Quadratic.with_condition_number(10.0)
    settings = [(0.01, 0.0), (0.1, 0.5), (0.15, 0.0), (0.5, 0.9)]  # the last one diverges
    runs = [
        ol.minimize(
            problem, ol.Momentum(lr=e, alpha=a), 40, tol=1e-6, max_loss=1e3 * problem.f(problem.x0)
        )
        for e, a in settings
    ]
    best = mx.compute_search(problem, {"hb": (ol.Momentum, settings)}, 40, tol=1e-6)["hb"]
    reached = [
        (r.steps, s) for r, s in zip(runs, settings, strict=True) if r.stop_reason == "tolerance"
    ]
    assert reached, "the test needs a setting that reaches the tolerance"
    assert (best.eps, best.alpha) == min(reached)[1] and best.reached
    assert best.outcome(1e-6) == f"f - f* <= 1e-06 at step {best.run.steps}"
    # nothing reaches the tolerance in 3 steps: the lowest final loss wins, never a divergence
    slow = mx.compute_search(problem, {"hb": (ol.Momentum, settings)}, 3, tol=1e-6)["hb"]
    finals = {s: r.final_loss for s, r in zip(settings, runs, strict=True) if not r.diverged}
    short = {
        s: ol.minimize(problem, ol.Momentum(lr=s[0], alpha=s[1]), 3).final_loss for s in finals
    }
    assert (slow.eps, slow.alpha) == min(short, key=short.get) and not slow.reached
    assert slow.outcome(1e-6).startswith("f - f* = ")
    assert runs[-1].diverged


def test_lookahead_residuals_vanish_for_nesterov_and_not_for_the_naive_form():
    problem = ol.problems.Rosenbrock()
    run = ol.minimize(problem, ol.Nesterov(lr=1e-3, alpha=0.9), 100, record_state=("v",))
    vs = np.concatenate([np.zeros((1, 2)), run.states["v"]])
    residuals = mx.lookahead_residuals(run.thetas, vs, problem.grad, 1e-3, 0.9)
    worst = {name: float(np.max(np.abs(r))) for name, r in residuals.items()}
    naive = worst.pop(mx.NAIVE)
    # float64 rounding of a few operations on numbers of size ~10 (the buffer is v / eps)
    assert max(worst.values()) < 1e-11, worst
    assert naive > 1e-3
    # a heavy-ball run breaks the look-ahead identities
    hb = ol.minimize(problem, ol.Momentum(lr=1e-3, alpha=0.9), 100, record_state=("v",))
    hb_vs = np.concatenate([np.zeros((1, 2)), hb.states["v"]])
    wrong = mx.lookahead_residuals(hb.thetas, hb_vs, problem.grad, 1e-3, 0.9)
    assert np.max(np.abs(next(iter(wrong.values())))) > 1e-6


@pytest.mark.parametrize(
    ("eps", "alpha", "lam"), [(0.01, 0.9, 1.0), (0.1, 0.0, 1.0), (0.3, 0.5, 2.0)]
)
def test_noise_floor_is_the_stationary_covariance_of_the_linear_recursion(eps, alpha, lam):
    """(e', v') = T (e, v) + w with w = -eps sigma z (1, 1): the stationary covariance P
    solves P = T P T' + Q, i.e. vec P = (I - T kron T)^-1 vec Q (an independent route)."""
    sigma = 0.7
    T = mx.iteration_matrix(eps, alpha, lam)
    Q = (eps * sigma) ** 2 * np.ones((2, 2))
    P = np.linalg.solve(np.eye(4) - np.kron(T, T), Q.ravel()).reshape(2, 2)
    assert mx.noise_floor(eps, alpha, lam, sigma) == pytest.approx(P[0, 0], rel=1e-12)


def test_run_chains_steps_every_chain_and_keeps_the_optimizer_state():
    opt = ol.Momentum(lr=0.1, alpha=0.5)
    theta = mx.run_chains(opt, lambda theta: np.ones_like(theta), np.zeros(3), 2)
    # v1 = -0.1, theta1 = -0.1; v2 = 0.5 v1 - 0.1 = -0.15, theta2 = -0.25
    np.testing.assert_allclose(theta, -0.25)
    np.testing.assert_allclose(opt.state["v"], -0.15)


def test_compute_iterations_match_the_rates_of_the_theory():
    """Steps to a reduction r of f - f* (a squared distance, dominated by the slowest
    direction): about ln(1/r) / (2 ln(1/rate)), for GD's (k-1)/(k+1) and the heavy ball's
    (sqrt k - 1)/(sqrt k + 1); the heavy ball's constant is larger (a double root), hence
    the loose upper margin."""
    kappas = [10.0, 100.0]
    iterations = mx.compute_iterations(kappas, reduction=1e-8)
    for kappa, n_gd, n_hb in zip(kappas, *iterations.values(), strict=True):
        gd = math.log(1e8) / (2 * math.log((kappa + 1) / (kappa - 1)))
        hb = math.log(1e8) / (2 * math.log((math.sqrt(kappa) + 1) / (math.sqrt(kappa) - 1)))
        assert 0.9 * gd <= n_gd <= 1.1 * gd + 2, (kappa, n_gd, gd)
        assert 0.9 * hb <= n_hb <= 2.0 * hb + 5, (kappa, n_hb, hb)
    assert mx.compute_iterations([1000.0], max_steps=10)["gradient descent"] == [None]


def test_velocity_variance_matches_the_stationary_variance():
    """Var(v) = eps^2 sigma^2 / (1 - alpha^2) at stationarity; with 20,000 chains the
    sample variance has relative standard error sqrt(2 / 20000) = 1%: 5 of them allowed."""
    alphas = np.array([0.0, 0.9])
    measured = mx.velocity_variance(alphas, 0.01, 2.0, 20_000, np.random.default_rng(0))
    theory = 0.01**2 * 2.0**2 / (1 - alphas**2)
    np.testing.assert_allclose(measured, theory, rtol=0.05)


def test_noise_floors_match_the_stationary_variance():
    """Var(theta) over 20,000 chains after 600 steps (both forget the start: alpha^600 and
    0.9^600 are below 1e-27): relative standard error sqrt(2 / 20000) = 1%, 5 allowed."""
    line = ol.problems.Quadratic(np.array([[1.0]]))
    methods = {"hb": ol.Momentum(lr=0.01, alpha=0.9), "sgd": ol.SGD(lr=0.1)}
    floors = mx.noise_floors(methods, line.grad, 1.0, 20_000, 600, np.random.default_rng(0))
    assert floors["hb"] == pytest.approx(mx.noise_floor(0.01, 0.9, 1.0, 1.0), rel=0.05)
    assert floors["sgd"] == pytest.approx(mx.noise_floor(0.1, 0.0, 1.0, 1.0), rel=0.05)


def test_chapter_figures_draw_their_results():
    """Each draw_* draws what it is given; log axes over more than three decades carry
    no minor ticks (they carry no labels there and were a third of the figure time)."""
    fig, axes = plt.subplots(2, 4)
    quad = ol.problems.Quadratic.with_condition_number(10.0)
    runs = {"gradient descent": ol.minimize(quad, ol.SGD(lr=0.1), 100)}
    errors = {"gradient descent": np.abs(runs["gradient descent"].thetas - quad.x_star)}
    mx.draw_ravine(axes[0, 0], axes[0, 1], quad, runs, errors, path_steps=10, error_steps=50)
    assert len(axes[0, 1].get_lines()[0].get_xdata()) == 51
    assert len(axes[0, 1].yaxis.get_minor_locator().tick_values(1e-12, 30)) == 0
    mx.draw_terminal(axes[0, 2], {0.5: 2 - 0.5 ** np.arange(1, 11)})
    assert axes[0, 2].get_yscale() == "log" and len(axes[0, 2].get_lines()) == 2
    mx.draw_noise(axes[0, 3], axes[1, 0], [0.5], 60, [0.0, 0.9], [1e-4, 5e-4], 0.01, 1.0, 1000)
    assert axes[1, 0].get_legend().get_texts()[1].get_text() == "measured (1,000 runs)"
    h = np.geomspace(1e-3, 5, 50)
    mx.draw_root_modulus(axes[1, 1], h, {a: mx.root_modulus(1.0, a, h) for a in (0.0, 0.9)})
    mx.draw_nesterov_modulus(axes[1, 2], h, 0.9)
    limits = [line.get_xdata()[0] for line in axes[1, 2].get_lines()[1:4:2]]
    assert limits == pytest.approx([3.8, 2 * 1.9 / 2.8])  # both stability limits
    iterations = mx.compute_iterations([10.0, 100.0])
    mx.draw_iterations(axes[1, 3], [10.0, 100.0], iterations, {n: 1.0 for n in iterations})
    assert len(axes[1, 3].get_lines()) == 4
    plt.close(fig)

    rosen = ol.problems.Rosenbrock()
    candidates = {"heavy ball": (ol.Momentum, [(1e-3, 0.9)]), "GD": (_sgd, [(1e-3, 0.0)])}
    best = mx.compute_search(rosen, candidates, 50, 1e-6)
    fig, (top, bottom) = plt.subplots(2, 1, layout="constrained")
    mx.draw_rosenbrock(fig, top, bottom, rosen, best, 1e-6)
    assert bottom.get_title() == r"$f - f^\star$; dashed: the tolerance $10^{-6}$"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        r"heavy ball ($\varepsilon$ = 0.001, $\alpha$ = 0.9)",
        r"GD ($\varepsilon$ = 0.001)",
    ]
    plt.close(fig)


def _sgd(eps, alpha):
    return ol.SGD(lr=eps)

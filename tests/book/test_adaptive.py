"""The chapter-6 explorer and helpers: what they measure is what the algebra of the methods says.

With a gradient stream the states of AdaGrad, RMSProp and Adam follow closed forms
(r_k = k g^2; r_n = g^2 + (r_0 - g^2) rho^n; s_t = (1 - rho1^t) g), so every number the
helpers return can be checked exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import optimlib as ol
from optimlib_book import adaptive as ad


def on_stream(optimizer, grads, names):
    """A run of ``optimizer`` on the gradients ``grads``, recording the states ``names``."""
    return ol.minimize(ad.Stream(grads), optimizer, len(grads), record_state=names)


def deltas(run):
    return np.diff(run.thetas, axis=0)


def test_stream_returns_the_gradients_in_order_and_refuses_to_run_past_the_end():
    grads = np.arange(6.0).reshape(3, 2)
    stream = ad.Stream(grads)
    assert stream.f(np.ones(2)) == 0.0 and stream.f(np.ones((4, 2))).shape == (4,)
    for row in grads:
        np.testing.assert_array_equal(stream.grad(np.zeros(2)), row)
    with pytest.raises(ValueError, match="only 3 gradients"):
        stream.grad(np.zeros(2))
    with pytest.raises(ValueError, match=r"shape \(steps, dim\)"):
        ad.Stream(np.zeros((0, 2)))


def test_a_run_on_a_stream_records_iterates_and_states():
    grads = np.array([[1.0, -2.0], [0.5, 4.0], [3.0, 0.0]])
    opt = ol.AdaGrad(lr=0.1)
    run = on_stream(opt, grads, ("r",))
    assert run.thetas.shape == (4, 2)
    np.testing.assert_array_equal(run.grad_norms, np.linalg.norm(grads, axis=1))
    np.testing.assert_allclose(run.states["r"], np.cumsum(grads**2, axis=0))
    expected = -0.1 * grads / (1e-7 + np.sqrt(run.states["r"]))
    np.testing.assert_allclose(deltas(run), expected, rtol=1e-12)


def test_effective_lr_of_adagrad_falls_like_one_over_root_k():
    opt = ol.AdaGrad(lr=0.5, delta=0.0)
    run = on_stream(opt, np.full((400, 1), 2.0), ("r",))
    lr = ad.effective_lr(opt, run.states["r"])[:, 0]
    k = np.arange(1, 401)
    np.testing.assert_allclose(lr, 0.5 / (2.0 * np.sqrt(k)), rtol=1e-12)
    slope = np.polyfit(np.log(k), np.log(lr), 1)[0]
    assert slope == pytest.approx(-0.5, abs=1e-9)


@pytest.mark.parametrize("inside", [True, False])
def test_effective_lr_times_the_gradient_is_the_step(inside):
    rng = np.random.default_rng(0)
    grads = rng.standard_normal((30, 3))
    rms = ol.RMSProp(lr=0.01, rho=0.8, delta=1e-3, delta_in_sqrt=inside)
    run = on_stream(rms, grads, ("r",))
    np.testing.assert_allclose(
        deltas(run), -ad.effective_lr(rms, run.states["r"]) * grads, rtol=1e-12
    )
    adam = ol.Adam(lr=0.01, delta=1e-3, delta_in_sqrt=inside)
    run = on_stream(adam, grads, ("s", "r", "t"))
    t = run.states["t"]
    s_hat = run.states["s"] / (1 - 0.9 ** t[:, None])
    np.testing.assert_allclose(
        deltas(run), -ad.effective_lr(adam, run.states["r"], t=t) * s_hat, rtol=1e-12
    )


def test_effective_lr_rejects_other_optimizers_and_adam_without_t():
    with pytest.raises(ValueError, match="AdaGrad, RMSProp or Adam"):
        ad.effective_lr(ol.SGD(lr=0.1), np.ones(2))
    with pytest.raises(ValueError, match="step count t"):
        ad.effective_lr(ol.Adam(), np.ones(2))


def test_uncorrected_first_step_of_adam_is_3_16_eps_with_the_defaults():
    opt = ol.Adam(lr=1e-3, delta=0.0, delta_in_sqrt=False)
    run = on_stream(opt, np.ones((50, 1)), ("s", "r"))
    uncorrected = np.abs(ad.uncorrected_adam_steps(opt, run)[:, 0]) / 1e-3
    t = np.arange(1, 51)
    np.testing.assert_allclose(uncorrected, (1 - 0.9**t) / np.sqrt(1 - 0.999**t), rtol=1e-12)
    assert uncorrected[0] == pytest.approx(0.1 / math.sqrt(0.001), rel=1e-12)
    np.testing.assert_allclose(np.abs(deltas(run)[:, 0]), 1e-3, rtol=1e-12)  # corrected: eps


@pytest.mark.parametrize("delta", [1e-8, 1e-6, 1e-2])
def test_stationary_step_has_its_crossovers_at_root_delta_and_delta(delta):
    assert ad.stationary_step(math.sqrt(delta), delta, True) == pytest.approx(1 / math.sqrt(2))
    assert ad.stationary_step(delta, delta, False) == pytest.approx(0.5)
    tiny = 1e-3 * delta
    assert ad.stationary_step(tiny, delta, True) == pytest.approx(tiny / math.sqrt(delta), 1e-6)
    assert ad.stationary_step(tiny, delta, False) == pytest.approx(tiny / delta, rel=1e-2)


def test_stationary_step_is_the_first_adam_step():
    g = np.geomspace(1e-9, 1e2, 12)
    for inside in (True, False):
        opt = ol.Adam(lr=1.0, delta=1e-6, delta_in_sqrt=inside)
        step = opt.step(np.zeros_like(g), lambda theta: g)
        np.testing.assert_allclose(-step, ad.stationary_step(g, 1e-6, inside), rtol=1e-12)


@pytest.mark.parametrize("rho", [0.5, 0.9, 0.95])
def test_panel_plateaus_and_settle_times_match_the_theory(ax, rho):
    result = ad.panel(ax, rho=rho, delta=1e-6, stage=600)
    for name in ("inside", "outside"):
        np.testing.assert_allclose(result[f"plateau_{name}"], result[f"theory_{name}"], rtol=1e-6)
    scales = result["scales"]
    for i in range(1, len(scales)):
        for inside, name in ((True, "inside"), (False, "outside")):
            theory = ad.settle_time(rho, scales[i - 1] ** 2, scales[i], 1e-6, inside)
            assert result[f"settle_{name}"][i] == theory
    assert result["settle_inside"][0] is None
    assert result["memory"] == pytest.approx(1 / (1 - rho))


def test_panel_delta_inside_floors_tiny_gradients(ax):
    result = ad.panel(ax, rho=0.9, delta=1e-6)
    # |g| = 1e-4 against sqrt(delta) = 1e-3: inside steps ~ |g| / sqrt(delta) = 0.1 eps
    assert result["plateau_inside"][2] == pytest.approx(1e-4 / math.sqrt(1e-4**2 + 1e-6))
    assert result["plateau_outside"][2] / result["plateau_inside"][2] > 9.9


def test_panel_long_memory_does_not_settle_within_a_short_stage(ax):
    result = ad.panel(ax, rho=0.99, stage=400)
    assert result["settle_outside"][1] is None  # needs about ln(4e4) / 0.01 ~ 1060 steps


def test_settle_time_grows_like_the_memory():
    for rho in (0.9, 0.99, 0.999):
        n = ad.settle_time(rho, 1.0, 0.01, 0.0, False)
        theory = math.log((1 - 0.01**2) / (0.01**2 * (1 / 0.81 - 1))) / -math.log(rho)
        assert n == math.ceil(theory)


def test_panel_draws_no_nan(ax):
    ad.panel(ax, rho=0.999, delta=1e-2, scales=(1.0, 1e-3), stage=50)
    for line in ax.get_lines():
        assert np.isfinite(np.asarray(line.get_xydata(), dtype=float)).all()


def test_bad_arguments_name_the_parameter(ax):
    with pytest.raises(ValueError, match="rho"):
        ad.panel(ax, rho=1.0)
    with pytest.raises(ValueError, match="scales"):
        ad.stages([1.0, -1.0], 10)
    with pytest.raises(ValueError, match="optimizer must be an Adam"):
        ad.uncorrected_adam_steps(ol.RMSProp(), None)


# --- the rotated valley, the sparse data, the tuned comparisons -----------------------------


def test_compute_rotation_gd_ignores_the_rotation_and_adagrad_is_blind_to_kappa_on_the_axes():
    lrs = [0.3, 1.0]
    valleys = ad.compute_rotation(100.0, [-3.0, 1.5], lrs, 500)
    aligned, rotated = valleys["axis-aligned"], valleys["rotated by 45°"]
    assert aligned["reached"][-1] == rotated["reached"][-1] is not None  # gradient descent
    assert len(aligned["sweep"]) == len(lrs) and aligned["sweep"][1].label == "AdaGrad, ε = 1"
    # on the axes AdaGrad's iterates are those of kappa = 1 (the curvature cancels)
    flat = ad.compute_rotation(1.0, [-3.0, 1.5], lrs, 500, angles={"flat": 0.0})["flat"]
    np.testing.assert_allclose(
        flat["sweep"][1].thetas[:25] - flat["problem"].x_star,
        aligned["sweep"][1].thetas[:25] - aligned["problem"].x_star,
        atol=1e-6,  # delta = 1e-7 breaks the cancellation only at that level
    )
    table = ad.rotation_table(valleys, lrs).splitlines()
    assert len(table) == len(lrs) + 2 and max(len(line) for line in table) <= 45
    assert table[-1].split()[-2:] == [str(n) for n in (aligned["reached"][-1],) * 2]


def test_sparse_logistic_draws_features_at_the_requested_frequencies():
    problem, frequency = ad.sparse_logistic(np.random.default_rng(0), N=4000, d=5, p_min=0.05)
    p = np.geomspace(0.5, 0.05, 5)
    # binomial frequencies: within 4 standard deviations sqrt(p (1 - p) / N)
    assert np.all(np.abs(frequency - p) < 4 * np.sqrt(p * (1 - p) / 4000))
    assert np.all((problem.X != 0).mean(axis=0) == frequency)


def test_compute_tuned_agrees_with_compare_tune_and_keeps_the_chosen_run():
    problem = ol.problems.LogisticRegression.synthetic(
        N=100, d=3, rng=np.random.default_rng(0), kappa=5
    )

    def task(seed):
        return problem, problem.x0

    lrs = [0.01, 0.1, 1.0]
    contenders = {"SGD": (ol.SGD, lrs), "Adam": (ol.Adam, lrs)}
    tuned = ad.compute_tuned(contenders, task, [0, 1, 2], 30, 5, batch_size=10)
    for name, (make, grid) in contenders.items():
        reference = ol.compare.tune(make, task, grid, [0, 1, 2], 30, 10, last=5)
        t = tuned[name]
        assert t.lr == reference["best_lr"] and t.at_edge == reference["at_edge"]
        assert t.scores == reference["scores"][reference["best"]]
        assert t.score == reference["median"][reference["best"]]
        # the kept run is the chosen rate on the first seed, with its iterates
        assert ol.compare.score(t.run, 30, 5) == t.scores[0] and t.run.thetas.shape == (31, 3)
        assert isinstance(t.optimizer, make) and t.optimizer.lr == t.lr
    table = ad.tuned_table(tuned, "task").splitlines()
    assert len(table) == 3 and table[1].split()[0] == "SGD"


def test_mean_relative_lr_is_the_geometric_mean_over_coordinates():
    opt = ol.AdaGrad(lr=0.5, delta=0.0)
    r = np.array([[1.0, 4.0], [4.0, 16.0]])  # eps_eff / eps = 1/sqrt(r): (1, 1/2), (1/2, 1/4)
    np.testing.assert_allclose(ad.mean_relative_lr(opt, r), [np.sqrt(0.5), np.sqrt(0.125)])


def test_compute_memory_half_way_times_follow_the_leaky_average():
    """A constant gradient per stage: E[r] is exact, and RMSProp's mean square is
    half-way to a new level after ln 2 / ln(1/rho) steps (rounded up)."""
    stage, rho = 200, 0.9
    scale = ad.stages([1.0, 10.0, 1.0], stage)
    grads = np.repeat(scale[:, None], 2, axis=1)
    methods = {"rms": ol.RMSProp(lr=1e-3, rho=rho), "ada": ol.AdaGrad(lr=1e-3)}
    out = ad.compute_memory(grads, methods, stage, [1.0, 100.0, 1.0])
    half = math.ceil(math.log(2) / math.log(1 / rho))
    assert out["rms"]["lags"] == [half, half]
    np.testing.assert_allclose(out["rms"]["ends"], [1, 10, 1], rtol=1e-6)
    assert out["rms"]["spread"] == pytest.approx(0.0, abs=1e-12)  # identical coordinates
    # AdaGrad's mean of all squares: (200 + 200 * 100) / 400 at the end of stage 2
    assert out["ada"]["ends"][1] == pytest.approx(math.sqrt(50.5), rel=1e-12)
    assert out["ada"]["lags"][1] is None  # it never comes half-way back down
    assert out["rms"]["step_rms"].shape == (3 * stage,)


def test_panel_keeps_one_scale_for_every_setting(ax):
    """Frames of the explorer compare at a glance, and a slider change keeps the layout."""
    for rho, delta in [(0.5, 1e-12), (0.999, 1e-2)]:
        ax.cla()
        ad.panel(ax, rho=rho, delta=delta)
        assert ax.get_ylim() == pytest.approx((1e-4, 4.0))
        assert len(ax.yaxis.get_minor_locator().tick_values(1e-4, 4.0)) == 0  # thinned


def _wide_log_axes_are_thinned(axes):
    """Every log axis over more than three decades carries no minor ticks (they were a
    third of the chapter's figure time and carry no labels there)."""
    for ax in axes:
        for axis, (low, high) in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
            if axis.get_scale() == "log" and abs(math.log10(high / low)) > 3:
                assert len(axis.get_minor_locator().tick_values(low, high)) == 0


def test_chapter_figures_draw_their_results():
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(0)
    fig, axes = plt.subplots(2, 4)
    k = np.arange(1, 101)
    ad.draw_effective_lr(axes[0, 0], k, {"g = 1": 1 / np.sqrt(k)})
    assert axes[0, 0].get_xscale() == "log" and len(axes[0, 0].get_lines()) == 2
    gradients = ad.stages([1.0, 10.0, 1.0], 20)[:, None] * rng.standard_normal((60, 4))
    jumps = ad.compute_memory(gradients, {"AdaGrad": ol.AdaGrad(lr=1e-3)}, 20, [1, 100, 1])
    ad.draw_memory(axes[0, 1:3], jumps, ad.stages([1.0, 10.0, 1.0], 20), 20)
    assert [len(ax.get_lines()) for ax in axes[0, 1:3]] == [2 + 2, 1 + 2]  # + stage edges
    size = {name: np.linspace(3, 1, 60) for name in ("a", "b", "c", "d")}  # as in the chapter
    ad.draw_bias_correction(axes[1, 0:2], size, early=10)
    assert len(axes[1, 0].get_lines()[0].get_xdata()) == 10 and axes[1, 1].get_xscale() == "log"
    g = np.geomspace(1e-10, 10, 23)
    measured = {(d, i): ad.stationary_step(g, d, i) for d in (1e-6, 1e-8) for i in (True, False)}
    runs = {"a": ol.minimize(ol.problems.Rosenbrock(), ol.Adam(lr=0.01), 20)}
    ad.draw_delta(axes[1, 2:4], g, measured, runs)
    assert axes[1, 2].get_ylim() == pytest.approx((1e-9, 3))
    _wide_log_axes_are_thinned(fig.axes)
    plt.close(fig)

    fig = plt.figure()
    axd = fig.subplot_mosaic([["aligned", "rotated"], ["curves", "curves"]])
    valleys = ad.compute_rotation(10.0, [-3.0, 1.5], [0.1, 1.0], 50)
    ad.draw_rotation(axd, valleys, 1)
    assert axd["rotated"].get_title() == "rotated by 45° valley, κ = 10"
    assert len(axd["curves"].get_lines()) == 4
    plt.close(fig)

    problem = ol.problems.Rosenbrock()
    tuned = ad.compute_tuned({"SGD": (ol.SGD, [1e-4, 1e-3])}, ad.task(problem), [0], 20, 5)
    fig = plt.figure()
    axd = fig.subplot_mosaic([["paths", "valley"], ["paths", "noisy"]])
    ad.draw_head_to_head(axd, problem, tuned, tuned)
    assert axd["valley"].get_title() == "Rosenbrock: 20 full-gradient steps"
    plt.close(fig)

    fig, axes = plt.subplots(1, 2)
    frequency = np.geomspace(0.5, 0.005, 5)
    ad.draw_sparse(axes, frequency, 0.1 / np.sqrt(frequency), (-0.5, np.log(0.1)), tuned, 20, 16)
    assert axes[0].get_lines()[1].get_ydata() == pytest.approx(0.1 / np.sqrt(frequency))
    _wide_log_axes_are_thinned(axes)
    plt.close(fig)

"""The chapter-10 explorer and drivers: what they measure is what the update rules say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import optimlib as ol
from optimlib_book import beyond as bd
from optimlib_book import plot


def test_noise_decay_with_sgd_and_no_noise_is_the_geometric_decay_of_l2():
    # With tiny noise, SGD on an L2 penalty multiplies theta by (1 - eps lam) per step.
    means = bd.noise_decay(ol.SGD(lr=0.1), [1e-12, 1e-12], 20, np.random.default_rng(0), l2=0.5)
    assert means.shape == (21, 1)
    np.testing.assert_allclose(means[:, 0], 0.95 ** np.arange(21), rtol=1e-9)


def test_noise_decay_averages_each_scale_in_increasing_order_of_scale():
    # SGD with an L2 term, replayed by hand with the same draws: column j must be the mean
    # over exactly the coordinates of the j-th smallest scale.
    sigmas, lr, l2, steps = np.array([2.0, 0.5, 2.0, 1.0, 0.5]), 0.3, 0.2, 4
    means = bd.noise_decay(ol.SGD(lr=lr), sigmas, steps, np.random.default_rng(7), l2=l2)
    rng, theta = np.random.default_rng(7), np.ones(5)
    expected = [[1.0, 1.0, 1.0]]
    for _ in range(steps):
        theta = theta - lr * (sigmas * rng.standard_normal(5) + l2 * theta)
        expected.append([(theta[1] + theta[4]) / 2, theta[3], (theta[0] + theta[2]) / 2])
    np.testing.assert_allclose(means, expected, rtol=1e-12)
    assert np.ptp(means[-1]) > 0.1  # the columns differ, so a mix-up would show


def test_online_run_projects_onto_the_interval_and_its_regret_is_zero_at_the_optimum():
    run = bd.online_run(ol.SGD(lr=10.0), 6)  # huge steps: every iterate hits a bound
    assert set(np.round(run.xs[1:], 12)) <= {-1.0, 1.0}
    at_optimum = bd.OnlineRun(np.full(7, -1.0), {}, 3.0)
    np.testing.assert_allclose(at_optimum.regret(), 0.0)
    assert bd.online_run(ol.SGD(lr=0.1), 0, x0=-1.0).xs.tolist() == [-1.0]  # bound allowed
    np.testing.assert_array_equal(bd.reddi_gradient(0), [3.0])
    np.testing.assert_array_equal(bd.reddi_gradient(4), [-1.0])


def test_online_run_scores_its_regret_with_the_c_it_was_run_with():
    C, steps = 5.0, 7
    run = bd.online_run(ol.SGD(lr=0.1), steps, C)
    assert run.C == C
    f = [(lambda x: C * x) if j % 3 == 0 else (lambda x: -x) for j in range(steps)]
    gaps = [f[j](run.xs[j]) - f[j](-1.0) for j in range(steps)]
    expected = np.cumsum(gaps) / np.arange(1, steps + 1)
    np.testing.assert_allclose(run.regret(), expected, rtol=1e-12)  # C = 3: starts at 3


def test_online_run_adam_fails_and_amsgrad_does_not_with_reddis_hyperparameters():
    lr = ol.schedules.inverse_sqrt(0.5)
    adam = bd.online_run(ol.Adam(lr=lr, rho1=0.0, rho2=0.1, delta_in_sqrt=False), 600)
    ams = bd.online_run(ol.AMSGrad(lr=lr, rho1=0.0, rho2=0.1), 600)
    assert adam.xs[-30:].mean() > 0.9 and ams.xs[-30:].mean() < -0.9
    assert ams.states["r_max"].shape == (600, 1)
    assert np.all(np.diff(ams.states["r_max"][:, 0]) >= 0)


def test_panel_decoupled_decay_is_uniform_and_l2_decay_depends_on_the_noise():
    _, axes = plot.figure()
    result = bd.panel(axes[0, 0], lam=0.1, eps=1e-2, steps=300, per_scale=100)
    target = 0.999**300
    assert result["target"] == pytest.approx(target)
    assert max(abs(m - target) for m in result["decoupled"]) < 0.08
    l2 = result["l2"]
    assert abs(l2[0]) < 0.02 and l2[-1] > 0.9  # small noise: decayed away; large: untouched
    with pytest.raises(ValueError, match="eps"):
        bd.panel(axes[0, 0], eps=0.0)


def test_panel_draws_its_legend_only_when_asked():
    _, axes = plot.figure(2)
    bd.panel(axes[0, 0], steps=5, per_scale=2)
    bd.panel(axes[0, 1], steps=5, per_scale=2, legend=None)
    assert axes[0, 0].get_legend() is not None
    assert axes[0, 1].get_legend() is None
    labels = axes[0, 1].get_legend_handles_labels()[1]
    assert labels == [r"$(1-\varepsilon\lambda)^{5}$", "AdamW (decoupled)", "Adam + L2 in the loss"]
    # The captions say "blue circles" and "vermillion squares": the palette's first two.
    _, adamw, adam = axes[0, 1].get_lines()
    assert (adamw.get_color(), adamw.get_marker()) == (plot.PALETTE[0], "o")
    assert (adam.get_color(), adam.get_marker()) == (plot.PALETTE[1], "s")


def _spirals(nudge=0.0):
    X, y = ol.problems.two_spirals(200, np.random.default_rng(0))
    mlp = ol.nn.MLP([2, 32, 32, 2])
    spirals = ol.problems.Network(mlp, X, y, np.random.default_rng(4))
    if nudge:
        signs = np.where(np.arange(spirals.x0.size) % 2, 1.0, -1.0)
        spirals = ol.problems.Network(mlp, X, y, x0=spirals.x0 * (1 + nudge * signs))
    return mlp, X, spirals


def test_train_takes_the_steps_of_minimize_and_records_the_loss_only_as_asked():
    _, _, spirals = _spirals()
    lr = ol.schedules.warmup_cosine(0.3, 5, 20)
    rng = np.random.default_rng(5)
    adam = ol.Adam(lr=lr, delta_in_sqrt=False)
    history = ol.minimize(spirals, adam, 20, batch_size=100, rng=rng)
    losses, theta = bd.train(spirals, lr, 20, 100, 5)
    np.testing.assert_array_equal(losses, history.losses)
    np.testing.assert_array_equal(theta, history.theta)
    short, theta_short = bd.train(spirals, lr, 20, 100, 5, record=3)
    np.testing.assert_array_equal(short, history.losses[:4])
    np.testing.assert_array_equal(theta_short, theta)


def test_compute_warmup_counts_units_and_samples_only_the_chaotic_run():
    mlp, X, spirals = _spirals()
    schedules = {"c": lambda p: ol.schedules.cosine_decay(p, 6)}
    result = bd.compute_warmup(
        spirals, mlp, X, schedules, [0.01, 1.0], 6, early=2, batch_size=50, seed=5,
        chaotic=[("c", 1.0)], seeds=[5, 6],
    )  # fmt: skip
    assert result["units"] == 64 and result["dead0"] == bd.dead_units(mlp, spirals.x0, X)
    losses, _ = bd.train(spirals, schedules["c"](1.0), 6, 50, 5)
    np.testing.assert_array_equal(result["curves"]["c"][1], losses)
    assert result["final"]["c"][1] == losses[-1]
    assert result["spike"]["c"][1] == losses[:3].max() / result["f0"]
    sample = result["sample"]["c", 1.0]
    assert sample["final"][0] == losses[-1]  # seed 5 reused
    _, theta6 = bd.train(spirals, schedules["c"](1.0), 6, 50, 6)
    assert sample["dead"][1] == bd.dead_units(mlp, theta6, X)
    table = bd.warmup_table(result, early=2).splitlines()
    assert table[3].split()[-2:] == [f"{result['final']['c'][0]:.3f}", "*"]
    assert table[-1].endswith("of 2")


def test_the_warmup_run_at_peak_one_is_chaotic_and_the_others_are_not():
    # What the chapter stars out: the start nudged by 1e-12 (larger than the last-bit
    # differences of two CPUs) moves the end of warm-up at peak 1 by percents, and the
    # runs whose numbers the chapter prints by less than 1e-7.
    _, _, spirals = _spirals()
    _, _, nudged = _spirals(nudge=1e-12)

    def change(lr):
        a, b = bd.train(spirals, lr, 200, 100, 5, 0), bd.train(nudged, lr, 200, 100, 5, 0)
        return abs(spirals.f(a[1]) - spirals.f(b[1])) / spirals.f(a[1])

    assert change(ol.schedules.warmup_cosine(1.0, 40, 200)) > 1e-3
    assert change(ol.schedules.warmup_cosine(0.3, 40, 200)) < 1e-7
    assert change(ol.schedules.cosine_decay(1.0, 200)) < 1e-7


# --- the measurements of the other sections ------------------------------------------------


def test_decoupled_gap_is_zero_for_sgd_on_an_l2_penalty_and_not_otherwise():
    quad = ol.problems.Quadratic.with_condition_number(10.0)
    lam, eps = 0.1, 0.05
    penalized = ol.minimize(quad, ol.SGD(lr=eps), 30, grad_fn=lambda t: quad.grad(t) + lam * t)
    # a few roundings of numbers of size ~5 per step: far below 1e-13
    assert bd.decoupled_gap(quad, penalized, eps, lam) < 1e-13
    plain = ol.minimize(quad, ol.SGD(lr=eps), 30)
    assert bd.decoupled_gap(quad, plain, eps, lam) > 1e-3


def test_overshoot_and_settle_on_a_one_dimensional_quadratic():
    # f = x^2 / 2 from x0: SGD with eps = 1.5 multiplies x - x* by -0.5 per step, so it
    # overshoots by half the initial distance and stays within 1% once 0.5^k < 0.01.
    quad = ol.problems.Quadratic(np.eye(1), x0=np.array([2.0]))
    run = ol.minimize(quad, ol.SGD(lr=1.5), 20)
    past, settle = bd.overshoot_and_settle(run)
    assert past == pytest.approx(0.5)
    assert settle == 7  # 0.5^6 = 0.0156 > 0.01 >= 0.5^7
    assert bd.overshoot_and_settle(ol.minimize(quad, ol.SGD(lr=1e-3), 5))[1] is None


def test_effective_step_is_eps_over_the_root_of_the_corrected_state():
    adam = ol.Adam(lr=0.1, rho1=0.0, rho2=0.5, delta_in_sqrt=False)
    run = bd.online_run(adam, 4)
    g = np.array([3.0, -1.0, -1.0, 3.0])
    r = np.zeros(1)
    expected = []
    for t, gt in enumerate(g, start=1):
        r = 0.5 * r + 0.5 * gt**2
        expected.append(0.1 / (np.sqrt(r[0] / (1 - 0.5**t)) + adam.delta))
    np.testing.assert_allclose(bd.effective_step(run, adam, 0.1), expected, rtol=1e-14)


def test_adadelta_steps_start_at_the_root_of_delta_over_one_minus_rho():
    sizes = bd.adadelta_steps([1e-6, 1e-4], 0.9, 3)
    for delta, size in sizes.items():
        assert size.shape == (3,)
        assert size[0] == pytest.approx(np.sqrt(delta / (0.1 + delta)), rel=1e-12)


def test_scaled_runs_adam_ignores_the_scale_of_the_loss_and_sgd_does_not():
    quad = ol.problems.Quadratic.with_condition_number(10.0)
    methods = {"sgd": lambda: ol.SGD(lr=0.05), "adam": lambda: ol.Adam(lr=0.1, delta=0.0)}
    runs = bd.scaled_runs(quad, methods, [1.0, 100.0], 20)
    # delta = 0: Adam's steps are exactly invariant up to rounding (20 steps, a few ulps each)
    np.testing.assert_allclose(runs["adam", 100.0].thetas, runs["adam", 1.0].thetas, rtol=1e-12)
    assert runs["sgd", 100.0].diverged and not runs["sgd", 1.0].diverged


def test_lion_vs_adam_uses_the_tuners_choice_and_reruns_it_with_iterates():
    logistic = ol.problems.LogisticRegression.synthetic(
        N=100, d=4, rng=np.random.default_rng(0), kappa=10
    )
    grid = [1e-3, 1e-2, 1e-1]
    tuned = bd.compute_lion_vs_adam(logistic, grid, 30, batch_size=10, seeds=[0], last=5)
    for name, t in tuned.items():
        assert t["best_lr"] == grid[t["best"]]
        run = t["best_run"]
        assert run.thetas.shape == (31, 4)
        # the rerun is the tuner's run: its score is the one the tuner ranked
        score = ol.compare.score(run, 30, last=5)
        assert score == pytest.approx(t["scores"][t["best"]][0], rel=1e-12), name
    lion = tuned["Lion"]["best_run"]
    # every coordinate of every Lion step moves by exactly eps
    np.testing.assert_allclose(np.abs(np.diff(lion.thetas, axis=0)), tuned["Lion"]["best_lr"])


def test_end_distance_says_where_a_run_ended():
    quad = ol.problems.Quadratic.with_condition_number(10.0)
    runs = bd.scaled_runs(quad, {"sgd": lambda: ol.SGD(lr=0.05)}, [1.0, 100.0], 20)
    assert bd.end_distance(runs["sgd", 1.0]) == f"{runs['sgd', 1.0].distances()[-1]:.2e}"
    assert bd.end_distance(runs["sgd", 100.0]) == f"div. at {runs['sgd', 100.0].diverged_at}"

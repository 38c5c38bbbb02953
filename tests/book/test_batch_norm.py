"""The chapter-8 explorer and helpers: what they return is what the algebra says.

The chain's gradient is a product of the other weights; one simultaneous step changes
the output by exactly y_hat * (prod_i (1 - r_i) - 1), which the terms of every order add
up to; the first-order prediction is exact for a single layer and bounded by
(1 - e^-s) / s <= ratio <= min(1, 1/s) while every r_i lies in [0, 1]. The training
helpers record divergence as an outcome and normalize test batches as documented.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

import optimlib as ol
from optimlib_book import batch_norm as bx

# --- the chain -------------------------------------------------------------------------------


def test_chain_weights_are_positive_prefixes_of_each_other():
    w30 = bx.chain_weights(30, scale=1.1, seed=3)
    np.testing.assert_array_equal(bx.chain_weights(7, scale=1.1, seed=3), w30[:7])
    assert np.all(w30 > 0)
    np.testing.assert_allclose(bx.chain_weights(4, scale=2.0, spread=0.0), 2.0)
    with pytest.raises(ValueError, match="scale"):
        bx.chain_weights(3, scale=-1.0)


def test_output_gradient_is_the_product_of_the_other_weights():
    w = np.array([1.5, -0.5, 2.0, 0.8])
    y, g = bx.output_gradient(w, x=3.0)
    assert y == pytest.approx(3.0 * np.prod(w))
    expected = [3.0 * np.prod(np.delete(w, i)) for i in range(4)]
    np.testing.assert_allclose(g, expected, rtol=1e-14)


def test_output_gradient_matches_central_differences():
    w = bx.chain_weights(6, scale=0.9)
    mlp = bx.chain(6)

    def f(theta):
        return float(mlp.forward(theta, np.array([[1.0]]))[0, 0])

    error = ol.nn.gradient_check(f, lambda th: bx.output_gradient(th)[1], w)
    assert error < 1e-8


def test_elementary_symmetric_polynomials():
    e = bx.elementary_symmetric([1.0, 2.0, 3.0])
    np.testing.assert_allclose(e, [1, 6, 11, 6])
    r = np.random.default_rng(0).uniform(-2, 2, size=9)
    e = bx.elementary_symmetric(r)
    signs = (-1.0) ** np.arange(10)
    assert np.sum(signs * e) == pytest.approx(np.prod(1 - r), rel=1e-12)


def test_one_step_terms_add_up_and_the_first_is_the_gradient_step():
    w = bx.chain_weights(12, scale=1.1)
    step = bx.one_step(w, 0.01)
    assert step["terms"][0] == pytest.approx(step["predicted"], rel=1e-12)
    assert np.sum(step["terms"]) == pytest.approx(step["realised"], rel=1e-10)
    assert step["s"] == pytest.approx(-step["predicted"] / step["y"], rel=1e-12)
    # the realised change is y_hat * (prod (1 - r_i) - 1)
    assert step["realised"] == pytest.approx(step["y"] * (np.prod(1 - step["r"]) - 1), rel=1e-12)


def test_one_layer_is_linear_so_first_order_is_exact():
    step = bx.one_step(np.array([1.7]), 0.3)
    assert step["rel_error"] < 1e-14
    assert not step["wrong_sign"]


def test_first_order_ratio_lies_between_the_bounds():
    for depth in (2, 5, 20):
        w = bx.chain_weights(depth, scale=1.0)
        for eps in (1e-3, 1e-2, 1e-1):
            step = bx.one_step(w, eps)
            if step["r"].max() > 1:
                continue
            ratio, s = step["realised"] / step["predicted"], step["s"]
            assert (1 - math.exp(-s)) / s - 1e-12 <= ratio <= min(1.0, 1.0 / s) + 1e-12


def test_one_step_rejects_a_zero_weight():
    with pytest.raises(ValueError, match="nonzero"):
        bx.one_step(np.array([1.0, 0.0]), 0.1)


def test_step_sizes_depth_one_is_exact_and_deep_chains_break_down():
    shallow = bx.compute_step_sizes(depth=1, scale=1.1)
    assert np.max(shallow["rel_error"]) < 1e-10  # rounding in y_new - y at eps = 1e-5
    assert shallow["wrong_sign_from"] is None
    assert shallow["eps_10"] == pytest.approx(1.0)
    deep = bx.compute_step_sizes(depth=30, scale=1.1)
    assert deep["eps_10"] < 0.3 * deep["eps_star"]  # the error reaches 10 % before s = 1
    assert deep["wrong_sign_from"] is not None and deep["wrong_sign_from"] > deep["eps_star"]
    np.testing.assert_allclose(deep["predicted"] / deep["eps"], deep["predicted"][0] / 1e-5)
    # the realised change is the exact product formula, step by step
    w = bx.chain_weights(30, scale=1.1)
    y, g = bx.output_gradient(w)
    for k in (0, 30, 60):
        eps = deep["eps"][k]
        assert deep["realised"][k] == pytest.approx(y * (np.prod(1 - eps * g / w) - 1), rel=1e-9)


def test_panel_draws_what_it_computes(ax):
    """The explorer's panel: the computed numbers, drawn (the static twin shows them)."""
    result = bx.panel(ax, depth=30, scale=1.1)
    expected = bx.compute_step_sizes(depth=30, scale=1.1)
    np.testing.assert_array_equal(result["realised"], expected["realised"])
    first_order = ax.get_lines()[0]
    np.testing.assert_array_equal(first_order.get_ydata(), np.abs(expected["predicted"]))
    assert ax.get_xscale() == ax.get_yscale() == "log"


def test_depth_growth_is_the_geometric_mean_of_the_weights():
    result = bx.compute_depth(scales=(0.8, 1.25), max_depth=20)
    for c in (0.8, 1.25):
        assert result["rates"][c] == pytest.approx(result["geo_means"][c], rel=1e-12)
        assert result["rates"][c] == pytest.approx(c, rel=0.05)
        assert result["grads"][c][0] == pytest.approx(1.0)  # depth 1: dy/dw_1 = x
        w = bx.chain_weights(20, scale=c)
        np.testing.assert_allclose(result["grads"][c], np.cumprod(np.r_[1.0, w[1:]]), rtol=1e-12)


def test_signals_forward_times_backward_is_the_gradient():
    w = bx.chain_weights(12, scale=1.2)
    result = bx.compute_signals(w)
    np.testing.assert_allclose(result["forward"] * result["backward"], result["grads"], rtol=1e-12)
    assert result["forward"][0] == 1.0 and result["backward"][-1] == 1.0
    np.testing.assert_allclose(result["forward"], np.cumprod(np.r_[1.0, w[:-1]]), rtol=1e-12)


def test_ratios_and_bounds():
    w = bx.chain_weights(30, scale=1.1)
    result = bx.compute_ratios(w, [1e-3, 0.3])
    assert result["ratio"][1e-3][0] == pytest.approx(1.0, abs=1e-9)  # one layer: exact
    assert np.all(result["ratio"][1e-3] > 0)
    assert np.any(result["ratio"][0.3] < 0)  # a wrong sign at depth 30
    bounds = bx.compute_bounds(result["steps"])
    assert np.all(bounds["ratio"] >= bounds["lower"] - 1e-12)
    assert np.all(bounds["ratio"] <= bounds["upper"] + 1e-12)
    assert bounds["s"].size > 30
    kept = [st for st in result["steps"][0.3] if st["r"].min() >= 0 and st["r"].max() <= 1]
    assert bounds["groups"][0.3][0].size == len(kept) < 30  # the deep ones are left out


def test_chain_figures_draw(ax):
    """Each draw_* draws on the Axes it is given, with the scales the chapter's text names."""
    w = bx.chain_weights(30, scale=1.1)
    bx.draw_depth(ax, bx.compute_depth(max_depth=10))
    assert ax.get_yscale() == "log" and len(ax.get_lines()) == 3
    plt.cla()
    bx.draw_signals(ax, bx.compute_signals(w))
    assert len(ax.get_lines()) == 3
    plt.cla()
    ratios = bx.compute_ratios(w, [1e-3, 0.3])
    bx.draw_ratios(ax, ratios)
    assert ax.get_ylim()[1] == pytest.approx(2.5 * 1.6)
    plt.cla()
    bx.draw_bounds(ax, bx.compute_bounds(ratios["steps"]))
    assert ax.get_xscale() == "log"


# --- the layer ---------------------------------------------------------------------------------


def test_gradient_checks_pass_and_catch_the_missing_sigma_path():
    checks = bx.compute_gradient_checks(seed=8)
    assert set(checks["errors"]) == {"dL/dH", "dL/d(gamma,beta)", "MLP with BN"}
    assert max(checks["errors"].values()) < 1e-7  # central differences, h = 1e-6
    assert checks["err_wrong"] > 1e-2
    assert checks["along_1"] < 1e-12
    np.testing.assert_allclose(checks["along_h_cols"], checks["along_h_expected"], rtol=1e-3)


def test_scale_invariance_of_a_normalized_network():
    X, y = ol.problems.two_spirals(64, np.random.default_rng(0))
    inv = bx.compute_scale_invariance(X, y, depth=3, width=8, layer=1, unit=2, factor=5.0)
    assert inv["change_out"] < 1e-7 and inv["change_grad"] < 1e-7
    # orthogonal up to terms of relative size delta / v (delta = 1e-8; a unit of this
    # small network can have a batch variance v near 1e-3): not a structural cosine
    assert inv["cos_hidden"] < 1e-4 and inv["cos_out"] > 1e-2


def test_chain_steps_with_batch_norm_do_not_depend_on_depth():
    w = bx.chain_weights(12, scale=1.1)
    out = bx.compute_chain_steps(w, eps_list=(0.01,), depths=(2, 12))
    (p2, b2, h2), (p12, b12, h12) = out["ratios"][0.01, 2], out["ratios"][0.01, 12]
    assert p12 < p2  # the plain chain's prediction degrades with depth
    assert abs(b12 - b2) < 0.01 and max(h2, h12) < 1e-5  # normalized: hidden weights idle
    assert out["stretch_gap"] < 1e-9
    net = bx.chain(3, batch_norm=True)
    theta = bx.bn_chain_theta(net, [2.0, 3.0, 4.0])
    params = net.unflatten(theta)
    assert [float(p["W"][0, 0]) for p in params] == [2.0, 3.0, 4.0]
    assert all(p["gamma"][0] == 1 and p["beta"][0] == 0 for p in params[:-1])


# --- training ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spirals():
    return ol.problems.two_spirals(128, np.random.default_rng(0))


def test_spiral_problem_loss_and_oracle(spirals):
    X, y = spirals
    mlp = ol.nn.MLP([2, 8, 8, 2], batch_norm=True)
    theta = mlp.init_params(0)
    problem = bx.SpiralClassification(mlp, X, y, theta)
    assert problem.f(theta) == pytest.approx(mlp.loss(theta, X, y))
    np.testing.assert_allclose(problem.grad(theta), mlp.loss_and_grad(theta, X, y)[1])
    oracle = problem.oracle(16, np.random.default_rng(1))
    idx = np.random.default_rng(1).choice(128, 16, replace=False)
    expected = ol.nn.MLP([2, 8, 8, 2], batch_norm=True).grad(theta, X[idx], y[idx])
    np.testing.assert_allclose(oracle(theta), expected)
    assert not np.allclose(mlp.bn_layers[0].running_mean, 0)  # the training step counted


def test_train_is_deterministic_and_records_divergence(spirals):
    X, y = spirals
    _, a = bx.train(X, y, 0.1, True, depth=3, width=8, steps=20)
    _, b = bx.train(X, y, 0.1, True, depth=3, width=8, steps=20)
    np.testing.assert_array_equal(a.losses, b.losses)
    assert not a.diverged and a.losses[-1] < a.losses[0]
    _, blowup = bx.train(X, y, 50.0, False, depth=6, width=8, steps=50)
    assert blowup.diverged
    assert np.all(np.isfinite(blowup.losses))


def test_outcomes_endings_and_growth_of_a_sweep(ax, spirals):
    X, y = spirals
    sweep = bx.lr_sweep(X, y, [0.1, 50.0], depth=6, width=8, steps=30)
    result = bx.compute_outcomes(sweep)
    assert list(result["plain"]["diverged"]) == [False, True]
    assert math.isnan(result["plain"]["final"][1])
    assert result["bn"]["final"][0] == sweep["bn"][0][1].final_loss
    threshold_met = result["bn"]["final"][0] < result["threshold"]
    assert (result["bn"]["largest_learned"] == 0.1) == threshold_met
    table = bx.endings_table(sweep, chaotic=[0.1]).splitlines()
    assert table[1].startswith("0.1") and "see below" in table[1]
    assert f"diverged at step {sweep['plain'][1][1].diverged_at}" in table[2]
    growth = bx.compute_growth(sweep)
    assert set(growth["growth"]) | set(growth["gamma"]) == {0.1, 50.0}
    assert growth["growth"][0.1] >= 1.0 and growth["least_change"][0.1] > -1e-8
    bx.draw_outcomes(ax, sweep, result)
    assert ax.get_xscale() == "log"
    fig, axes = plt.subplots(1, 2)
    bx.draw_curves(axes, sweep, [0.1, 50.0])
    assert axes[1].get_legend() is None
    plt.close(fig)


def test_batch_norm_columns_never_shrink_under_sgd(spirals):
    X, y = spirals
    mlp, history = bx.train(X, y, 1.0, True, depth=3, width=8, steps=30)
    norms = bx.column_norms(mlp, history.thetas)
    assert norms.shape == (31, 3, 8)
    assert np.all(np.diff(norms, axis=0) >= -1e-9 * norms[:-1])


def test_dead_fraction_and_own_batch_accuracy(spirals):
    X, y = spirals
    mlp, history = bx.train(X, y, 0.3, True, depth=3, width=8, steps=60)
    theta = history.theta
    assert np.all(bx.dead_fraction(mlp, theta, X) == 0)  # batch norm centres every unit
    full = bx.own_batch_accuracy(mlp, theta, X, y, 128)
    logits = mlp.forward(theta, X, training=True)
    assert full == pytest.approx(np.mean(np.argmax(logits, axis=1) == y))
    with pytest.raises(ValueError, match="divide"):
        bx.own_batch_accuracy(mlp, theta, X, y, 3)
    with pytest.raises(ValueError, match=">= 2"):
        bx.own_batch_accuracy(mlp, theta, X, y, 1)
    plain = ol.nn.MLP([2, 4, 2])
    theta = plain.init_params(0)
    theta[plain._layout[0]["b"][0] : plain._layout[0]["b"][0] + 4] = -100.0  # kill layer 1
    assert bx.dead_fraction(plain, theta, X)[0] == 1.0


def test_batch_sizes_full_batch_is_training_mode(ax, spirals):
    X, y = spirals
    mlp, history = bx.train(X, y, 0.3, True, depth=3, width=8, steps=40)
    result = bx.compute_batch_sizes(mlp, history.theta, X, y, [4, 128])
    logits = mlp.forward(history.theta, X, training=True)
    assert result["own"][1] == pytest.approx(np.mean(np.argmax(logits, axis=1) == y))
    assert result["eval"] == mlp.accuracy(history.theta, X, y)
    bx.draw_batch_sizes(ax, result)
    assert ax.get_xscale() == "log"


def test_batch_mates_change_training_mode_only(spirals):
    X, y = spirals
    mlp, history = bx.train(X, y, 0.3, True, depth=3, width=8, steps=40)
    mates = bx.compute_batch_mates(mlp, history.theta, X, index=5, draws=20, mates=3)
    assert np.all(mates["eval"] == mates["eval"][0])  # one example's prediction, alone
    assert np.ptp(mates["train"]) > 0  # depends on the batch-mates
    alone = ol.nn.softmax(mlp.forward(history.theta, X[5:6], training=False)[0])[1]
    assert mates["eval"][0] == pytest.approx(alone, rel=1e-12)


def test_degenerate_columns():
    cols = bx.compute_degenerate_columns(seed=3)
    assert np.all(np.isnan(cols["out_0"][:, 1]))  # 0 / 0
    assert np.all(cols["out_8"][:, 1] == 0)
    G = cols["G"]
    np.testing.assert_allclose(cols["dH"][:, 1], (G[:, 1] - G[:, 1].mean()) / 1e-4, rtol=1e-12)
    assert 0 <= cols["mean_error"] < 1e-15


def test_delta_spread_and_change_match_the_formula(ax):
    result = bx.compute_delta_spread(deltas=(1e-6,), stds=[1e-5, 1e-3, 1.0])
    np.testing.assert_allclose(result["measured"][1e-6], result["theory"][1e-6], rtol=1e-8)
    assert result["theory"][1e-6][-1] == pytest.approx(1 - 0.5e-6, rel=1e-9)
    bx.draw_delta_spread(ax, result)
    assert len(ax.get_lines()) == 3
    change = bx.compute_delta_change(deltas=(1e-6,), std=0.5)
    # 1 - (1 + delta / v)^(-1/2) = delta / (2 v) (1 - 3 delta / (4 v) + ...)
    assert change["measured"][1e-6] == pytest.approx(change["predicted"][1e-6], rel=1e-5)


def test_seed_spread_takes_the_steps_of_train(spirals):
    X, y = spirals
    spread = bx.compute_seed_spread(X, y, 1.0, [3, 4], depth=3, width=8, steps=25)
    for i, seed in enumerate([3, 4]):
        mlp, history = bx.train(X, y, 1.0, True, depth=3, width=8, steps=25, seed=seed)
        assert spread["final"][i] == history.final_loss  # the same run, bit for bit
        norms = bx.column_norms(mlp, history.thetas)
        assert spread["growth"][i] == pytest.approx(np.mean(norms[-1] / norms[0]), rel=1e-14)
    assert spread["final_median"] == pytest.approx(np.mean(spread["final"]))  # two seeds
    assert spread["growth_range"] == (spread["growth"].min(), spread["growth"].max())
    assert spread["growth_range"][0] >= 1.0  # normalized columns only grow
    reused = bx.compute_seed_spread(
        X, y, 1.0, [3, 4], depth=3, width=8, steps=25, runs={3: (mlp, history)}
    )  # history is seed 4's run, stored under 3: used as given
    np.testing.assert_array_equal(reused["final"], spread["final"][[1, 1]])


def test_seed_spread_records_divergence_and_plain_networks(spirals):
    X, y = spirals
    blowup = bx.compute_seed_spread(X, y, 50.0, [0], batch_norm=False, depth=6, width=8, steps=50)
    assert blowup["diverged"][0] and math.isnan(blowup["final"][0])
    assert math.isnan(blowup["final_median"]) and math.isnan(blowup["growth_range"][0])
    plain = bx.compute_seed_spread(X, y, 0.1, [0, 1], batch_norm=False, depth=3, width=8, steps=10)
    assert not plain["diverged"].any() and np.all(np.isnan(plain["growth"]))

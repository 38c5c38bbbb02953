"""Chapter 13's module: the variance recursions, their measurement in optimlib's MLP,
symmetric training, the training runs, hidden-unit permutations and the panel."""

from __future__ import annotations

import math

import numpy as np
import pytest

import optimlib as ol
from optimlib_book import initialization as ch


def test_gaussian_mean_is_exact_for_polynomials_and_agrees_with_monte_carlo():
    """Gauss-Hermite with 80 nodes integrates u^2 and u^4 exactly (to rounding); tanh^2
    matches 10^6 Monte Carlo draws within 5 standard errors."""
    assert ch.gaussian_mean(lambda u: u**2, 2.5) == pytest.approx(2.5, rel=1e-12)
    assert ch.gaussian_mean(lambda u: u**4, 2.5) == pytest.approx(3 * 2.5**2, rel=1e-12)
    draws = np.tanh(np.sqrt(0.7) * np.random.default_rng(0).standard_normal(10**6)) ** 2
    se = draws.std() / math.sqrt(draws.size)
    assert abs(ch.gaussian_mean(lambda u: np.tanh(u) ** 2, 0.7) - draws.mean()) < 5 * se


def test_recursions_in_closed_form_for_linear_and_relu():
    """Linear: q_l = c^l and r_l = c^(L - l). Relu: hidden q_l = c (c/2)^(l-1) / 2,
    the linear output q_L = c q_(L-1), and r_l = (c/2)^(L - l)."""
    depth, c = 6, 1.7
    layers = np.arange(1, depth + 1)
    q, r = ch.predicted_variances("linear", c, depth)
    np.testing.assert_allclose(q, c**layers, rtol=1e-12)
    np.testing.assert_allclose(r, c ** (depth - layers), rtol=1e-12)
    q, r = ch.predicted_variances("relu", c, depth)
    hidden = c * (c / 2) ** (layers[:-1] - 1) / 2
    np.testing.assert_allclose(q[:-1], hidden, rtol=1e-12)
    assert q[-1] == pytest.approx(c * hidden[-1], rel=1e-12)
    np.testing.assert_allclose(r, (c / 2) ** (depth - layers), rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"activation": "gelu"}, "activation"),
        ({"scale": 0.0}, "scale"),
        ({"depth": 0}, "depth"),
        ({"q0": -1.0}, "q0"),
    ],
)
def test_predicted_variances_rejects_bad_input(kwargs, match):
    args = {"activation": "relu", "scale": 2.0, "depth": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        ch.predicted_variances(**args)


@pytest.mark.parametrize("activation", ["relu", "linear"])
def test_measured_means_over_many_narrow_networks_match_the_recursion(activation):
    """For relu and linear layers with zero biases the forward recursion is exact in
    expectation, and so is the backward one for linear layers (for relu it assumes
    W_(l+1) independent of phi'(u_l)). Over 300 networks of width 16 the mean of
    measured / predicted is within 4 standard errors of 1 at every layer (or within 0.02,
    should a standard error come out tiny by chance)."""
    res = ch.measure_variances(activation, 2.0, width=16, depth=4, batch=16, seeds=300)
    for which in ("forward", "backward"):
        ratios = res.ratios(which)
        mean = ratios.mean(axis=0)
        se = ratios.std(axis=0, ddof=1) / math.sqrt(len(ratios))
        assert np.all(np.abs(mean - 1) < np.maximum(4 * se, 0.02)), (which, mean, se)


def test_measured_ratios_of_relu_do_not_depend_on_the_scale():
    """relu is positively homogeneous and the biases are 0: scaling W scales every h."""
    small = ch.measure_variances("relu", 0.5, width=16, depth=5, batch=8, seeds=3)
    large = ch.measure_variances("relu", 4.0, width=16, depth=5, batch=8, seeds=3)
    for which in ("forward", "backward"):
        np.testing.assert_allclose(small.ratios(which), large.ratios(which), rtol=1e-10)
    assert small.median_ratios("forward").shape == (5,)
    with pytest.raises(ValueError, match="which"):
        small.ratios("sideways")


def test_scaled_params_have_zero_biases_and_the_asked_variance():
    mlp = ol.nn.MLP([200, 300, 300], "tanh")
    theta = ch.scaled_params(mlp, 3.0, np.random.default_rng(0))
    for params in mlp.unflatten(theta):
        n_in = params["W"].shape[0]
        assert np.all(params["b"] == 0)
        n = params["W"].size
        assert np.mean(params["W"] ** 2) == pytest.approx(3.0 / n_in, rel=5 * math.sqrt(2 / n))
    with pytest.raises(ValueError, match="scale"):
        ch.scaled_params(mlp, -1.0, 0)


def test_unit_spread_is_zero_only_for_identical_units():
    mlp = ol.nn.MLP([2, 3, 2], "tanh")
    theta = np.zeros(mlp.num_params)
    for params in mlp.unflatten(theta):
        params["W"][...] = 0.5
    assert ch.unit_spread(mlp, theta) == 0.0
    mlp.unflatten(theta)[1]["W"][2, 0] = 0.7  # unit 2's outgoing weight differs
    assert ch.unit_spread(mlp, theta) > 0.1


def test_identical_units_stay_identical_and_random_ones_stay_apart():
    result = ch.symmetric_training(width=4, steps=40, lr=0.1, N=40)
    assert result.spreads["same"].max() < 1e-12
    assert result.spreads["random"].min() > 0.1
    paths = result.paths["same"]
    assert paths.shape == (40, 4) and np.ptp(paths[-1]) < 1e-12
    assert np.ptp(paths[:, 0]) > 0  # the shared weight does move


def test_permuting_hidden_units_keeps_the_function_and_moves_theta():
    for activation in ("tanh", "relu"):
        mlp = ol.nn.MLP([3, 5, 4, 2], activation)
        theta = mlp.init_params(np.random.default_rng(1))
        theta[mlp.num_params - 2 :] = 0.3  # a nonzero output bias, not permuted
        before = theta.copy()
        X = np.random.default_rng(2).standard_normal((7, 3))
        perm = ch.permute_hidden(mlp, theta, np.random.default_rng(3))
        np.testing.assert_array_equal(theta, before)  # input not mutated
        np.testing.assert_allclose(mlp.forward(perm, X), mlp.forward(theta, X), rtol=1e-12)
        assert not np.array_equal(perm, theta)
        np.testing.assert_array_equal(np.sort(perm), np.sort(theta))  # same numbers, moved


def test_segment_losses_end_at_the_two_losses():
    mlp = ol.nn.MLP([2, 4, 2], "relu")
    a, b = (mlp.init_params(np.random.default_rng(s)) for s in (0, 1))
    X, y = ol.problems.two_spirals(20, np.random.default_rng(0))
    path = ch.segment_losses(mlp, a, b, X, y, points=5)
    assert path.shape == (5,)
    assert path[0] == mlp.loss(a, X, y) and path[-1] == pytest.approx(mlp.loss(b, X, y))


def test_training_runs_record_losses_and_count_divergences():
    ok = ch.training_runs(scales=(2.0,), depth=2, width=4, steps=5, seeds=2, N=20)
    assert ok.losses[2.0].shape == (2, 6) and np.all(np.isfinite(ok.losses[2.0]))
    assert ok.diverged[2.0] == 0 and ok.median_final(2.0) > 0
    # a step of 1e200 overflows: the optimizer refuses it, or the next loss is not finite
    bad = ch.training_runs(scales=(2.0,), depth=2, width=4, steps=5, seeds=2, lr=1e200, N=20)
    assert bad.diverged[2.0] == 2
    row = bad.losses[2.0][0]
    assert np.isnan(row[-1]) and np.isfinite(row[0])  # NaN after the divergence, not before
    assert bad.median_final(2.0) == math.inf


def test_panel_returns_the_measured_and_predicted_ends(ax):
    out = ch.panel(ax, scale=2.0, depth=5, activation="relu")
    q, r = ch.predicted_variances("relu", 2.0, 5)
    assert out["predicted_activations_last"] == q[-1]
    assert out["predicted_gradients_first"] == r[0]
    assert 0.3 < out["activations_last"] / q[-1] < 3
    assert len(ax.lines) >= 4 and ax.get_yscale() == "log"


def test_draw_functions_draw(ax):
    res = [ch.measure_variances("tanh", c, width=8, depth=3, batch=4, seeds=2) for c in (1, 2)]
    ch.draw_variances(ax, res, "backward")
    assert len(ax.lines) == 4 and "gradients" in ax.get_ylabel()
    train = ch.training_runs(scales=(1.0, 2.0), depth=2, width=4, steps=3, seeds=2, N=20)
    ch.draw_training(ax, train)
    assert ax.get_legend() is not None

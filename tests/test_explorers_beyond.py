"""The chapter-10 explorer and drivers: what they measure is what the update rules say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

import optimlib as ol
from optimlib.explorers import beyond as bd


def test_noise_decay_with_sgd_and_no_noise_is_the_geometric_decay_of_l2():
    # With tiny noise, SGD on an L2 penalty multiplies theta by (1 - eps lam) per step.
    means = bd.noise_decay(ol.SGD(lr=0.1), [1e-12, 1e-12], 20, np.random.default_rng(0), l2=0.5)
    assert means.shape == (21, 1)
    np.testing.assert_allclose(means[:, 0], 0.95 ** np.arange(21), rtol=1e-9)


def test_noise_decay_groups_coordinates_by_scale_in_increasing_order():
    rng = np.random.default_rng(1)
    means = bd.noise_decay(ol.AdamW(lr=1e-2, weight_decay=0.0), [2.0, 1.0, 2.0], 3, rng)
    assert means.shape == (4, 2)
    np.testing.assert_array_equal(means[0], [1.0, 1.0])
    with pytest.raises(ValueError, match="sigmas"):
        bd.noise_decay(ol.SGD(lr=0.1), [1.0, -1.0], 3, rng)
    with pytest.raises(ValueError, match="rng"):
        bd.noise_decay(ol.SGD(lr=0.1), [1.0], 3, 0)


def test_online_run_projects_onto_the_interval_and_its_regret_is_zero_at_the_optimum():
    run = bd.online_run(ol.SGD(lr=10.0), 6)  # huge steps: every iterate hits a bound
    assert set(np.round(run.xs[1:], 12)) <= {-1.0, 1.0}
    at_optimum = bd.OnlineRun(np.full(7, -1.0), {})
    np.testing.assert_allclose(at_optimum.regret(), 0.0)
    np.testing.assert_array_equal(bd.reddi_gradient(0), [3.0])
    np.testing.assert_array_equal(bd.reddi_gradient(4), [-1.0])


def test_online_run_adam_fails_and_amsgrad_does_not_with_reddis_hyperparameters():
    lr = ol.schedules.inverse_sqrt(0.5)
    adam = bd.online_run(ol.Adam(lr=lr, rho1=0.0, rho2=0.1, delta_in_sqrt=False), 600)
    ams = bd.online_run(ol.AMSGrad(lr=lr, rho1=0.0, rho2=0.1), 600)
    assert adam.xs[-30:].mean() > 0.9 and ams.xs[-30:].mean() < -0.9
    assert ams.states["r_max"].shape == (600, 1)
    assert np.all(np.diff(ams.states["r_max"][:, 0]) >= 0)


def test_panel_decoupled_decay_is_uniform_and_l2_decay_depends_on_the_noise():
    _, axes = ol.plot.figure()
    result = bd.panel(axes[0, 0], lam=0.1, eps=1e-2, steps=300, per_scale=100)
    target = 0.999**300
    assert result["target"] == pytest.approx(target)
    assert max(abs(m - target) for m in result["decoupled"]) < 0.08
    l2 = result["l2"]
    assert abs(l2[0]) < 0.02 and l2[-1] > 0.9  # small noise: decayed away; large: untouched
    with pytest.raises(ValueError, match="eps"):
        bd.panel(axes[0, 0], eps=0.0)


def test_panel_draws_its_legend_only_when_asked():
    _, axes = ol.plot.figure(2)
    bd.panel(axes[0, 0], steps=5, per_scale=2)
    bd.panel(axes[0, 1], steps=5, per_scale=2, legend=None)
    assert axes[0, 0].get_legend() is not None
    assert axes[0, 1].get_legend() is None
    labels = axes[0, 1].get_legend_handles_labels()[1]
    assert labels == [r"$(1-\varepsilon\lambda)^{5}$", "AdamW (decoupled)", "Adam + L2 in the loss"]

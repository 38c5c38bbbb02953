"""The chapter-3 capacity explorer: what the panel returns is what least squares must do.

Nested least-squares fits can only lower the training risk as features are added, and
reach zero once they interpolate (p >= N); the true risk comes from the problem's exact
formula, so its bias-variance shape, with the spike at p = N, is checked without noise
from a test set.
"""

from __future__ import annotations

import numpy as np
import pytest

from optimlib.problems import LinearRegression
from optimlib_book import learning


def test_w_true_decays():
    w = learning.w_true(4)
    np.testing.assert_allclose(w, [1.0, 1 / 2, 1 / 3, 1 / 4])
    with pytest.raises(ValueError, match="d"):
        learning.w_true(0)


def test_curves_match_a_direct_fit():
    curves = learning.capacity_curves(N=8, noise_std=0.3, d=12, seeds=2, seed=5)
    assert curves["train"].shape == curves["risk"].shape == (2, 12)
    assert curves["bayes_risk"] == pytest.approx(0.3**2 / 2)
    # Seed s of the curves is the data set drawn with default_rng([seed, s]).
    full = LinearRegression.synthetic(
        8, 12, np.random.default_rng([5, 1]), noise_std=0.3, w_true=learning.w_true(12)
    )
    p = 3
    w_p = np.linalg.lstsq(full.X[:, :p], full.y, rcond=None)[0]
    w = np.concatenate([w_p, np.zeros(12 - p)])
    assert curves["risk"][1, p - 1] == pytest.approx(full.risk(w), rel=1e-10)
    residual = full.X[:, :p] @ w_p - full.y
    assert curves["train"][1, p - 1] == pytest.approx(np.mean(residual**2) / 2, rel=1e-10)


@pytest.mark.parametrize("N", [6, 12])
def test_panel_shapes(ax, N):
    result = learning.panel(ax, N=N, noise_std=0.5, d=20, seeds=10)
    p, train_all = result["p"], result["train_all"]
    np.testing.assert_array_equal(p, np.arange(1, 21))
    # Nested models: the training risk never rises with p, and is 0 once p >= N.
    assert np.all(np.diff(train_all[:, p <= N], axis=1) <= 1e-12)
    assert np.all(train_all[:, p >= N] < 1e-20)
    # The true risk: a minimum below the threshold, a spike at p = N, a second descent.
    assert 1 <= result["best_p"] < N
    assert result["peak_p"] == N
    assert result["risk"][N - 1] > 3 * result["risk_best"]
    assert result["risk"][-1] < result["risk"][N - 1]
    assert result["risk_best"] > result["bayes_risk"]
    assert ax.get_yscale() == "log"
    assert ax.get_legend() is not None


def test_panel_without_noise_or_threshold(ax):
    # noise_std = 0 has no Bayes-risk line; N > d has no interpolation threshold to mark.
    result = learning.panel(ax, N=30, noise_std=0.0, d=10, seeds=3)
    assert result["bayes_risk"] == 0.0
    assert result["peak_p"] != 30
    assert np.all(np.isfinite(result["risk"]))

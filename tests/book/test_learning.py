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


@pytest.mark.parametrize(("N", "d"), [(6, 10), (10, 4), (5, 5)])
def test_nested_fits_are_lstsq_on_every_prefix(N, d):
    """Every row of nested_least_squares is np.linalg.lstsq's solution (the least-norm
    one for p > N) on the first p columns. Each has a forward error of about
    eps * cond(X_p) relative (the rows for p <= N come from R's inverse, whose leading
    blocks are those of the triangular solves); the Gaussian blocks here have
    cond(X_p) < 1e3 (asserted), hence the 1e-10."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(3, N, d)), rng.normal(size=(3, N))
    fits = learning.nested_least_squares(X, y)
    assert fits.shape == (3, d, d)
    for s in range(3):
        for p in range(1, d + 1):
            assert np.linalg.cond(X[s, :, :p]) < 1e3
            expected = np.linalg.lstsq(X[s, :, :p], y[s], rcond=None)[0]
            np.testing.assert_allclose(fits[s, p - 1, :p], expected, rtol=1e-10, atol=1e-12)
            assert np.all(fits[s, p - 1, p:] == 0)


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


@pytest.mark.parametrize("N", [5, 20, 35, 36, 40])
def test_the_threshold_note_stays_inside_the_explorers_frame(N):
    # Reaching past the frame, the note at N = 40 made the explorer lay the figure out
    # again (and the plot shrink) whenever N got there.
    from optimlib_book import plot, widgets

    with plot.style():
        canvas = widgets.Canvas(learning.panel, width=7.0, height=4.2, seeds=4)
        canvas(N=N, noise_std=0.5)
    ax = canvas.figure.axes[0]
    (note,) = ax.texts
    renderer = canvas.figure.canvas.get_renderer()
    frame, box = ax.get_window_extent(renderer), note.get_window_extent(renderer)
    assert frame.x0 <= box.x0 and box.x1 <= frame.x1
    line = ax.transData.transform((N, 1))[0]
    assert box.x0 > line if N <= 35 else box.x1 < line  # right of the line where it fits


def test_excess_risk_matches_direct_fits_and_the_exact_expectation():
    study = learning.compute_excess_risk([12, 40], d=3, sigma=0.5, seeds=30, seed=4)
    assert study.excess.shape == study.gap.shape == (2, 30) and study.seeds == 30
    # data set s of size index a is the one drawn with default_rng([seed, a, s]) and fitted
    # by the problem itself. The study solves by QR, the problem by lstsq (SVD): on these
    # Gaussian X (cond < 10) both fits agree within a few eps, excess and gap (all above
    # 1e-3 here) within 5e-16 as measured; 1e-14 leaves room for another CPU's rounding.
    for a, N in enumerate([12, 40]):
        for s in range(30):
            rng = np.random.default_rng([4, a, s])
            problem = LinearRegression.synthetic(N, 3, rng, noise_std=0.5)
            true_risk = problem.risk(problem.x_star)
            assert study.excess[a, s] == pytest.approx(true_risk - problem.bayes_risk, abs=1e-14)
            assert study.gap[a, s] == pytest.approx(true_risk - problem.f_star, abs=1e-14)
    np.testing.assert_allclose(study.exact_excess, 0.25 / 2 * 3 / (np.array([12, 40]) - 4))
    mean, se = study.mean_and_se(study.excess)
    assert np.all(np.abs(mean - study.exact_excess) < 4 * se)  # eq-ch03-excess
    mean_gap, se_gap = study.mean_and_se(study.gap)
    assert np.all(np.abs(mean_gap - study.exact_gap) < 4 * se_gap)  # eq-ch03-gap


def test_minibatch_variance_measured_against_the_formula():
    from optimlib.problems import LogisticRegression

    problem = LogisticRegression.synthetic(200, 3, np.random.default_rng(2))
    w = np.zeros(3)
    sizes = np.array([1, 10, 100, 200])
    out = learning.compute_minibatch_variance(problem, w, sizes, 400, np.random.default_rng(5))
    assert out["exact"][-1] == 0.0  # m = N: the full gradient, no variance
    assert out["measured"][-1] < 1e-24  # the full batch: rounding only
    keep = sizes < 200
    z = (out["measured"][keep] - out["exact"][keep]) / out["se"][keep]
    assert np.all(np.abs(z) < 4)


def test_angle_degrees():
    assert learning.angle_degrees(np.array([1.0, 0.0]), np.array([0.0, 2.0])) == pytest.approx(90)
    assert learning.angle_degrees(np.array([1.0, 1.0]), np.array([3.0, 3.0])) == pytest.approx(
        0.0, abs=1e-6
    )  # arccos near 1 loses half the digits: 1e-6 degrees, not machine precision


def test_risk_landscape_differs_from_the_risk_by_a_constant():
    problem = LinearRegression.synthetic(30, 2, np.random.default_rng(1), kappa=4.0)
    W = np.random.default_rng(0).normal(size=(20, 2))
    offset = learning.risk_landscape(problem).f(W) - problem.risk(W)
    assert np.ptp(offset) < 1e-12


def test_chapter_quotes_the_lecture_update_once_without_a_sum():
    """Issue 13: the lecture's minibatch update is quoted as the lecture prints it, with
    no sum over the minibatch (that is the erratum), in exactly one place."""
    import re
    from pathlib import Path

    import nbformat

    book = Path(__file__).resolve().parents[2] / "book"
    notebook = nbformat.read(book / "03-learning-vs-optimization.ipynb", as_version=4)
    text = "\n".join(c.source for c in notebook.cells if c.cell_type == "markdown")
    block = r"\$\$\n((?:(?!\$\$).)*)\n\$\$ \(eq-ch03-lecture-update\)"
    quoted = re.findall(block, text, re.S)  # the display math labelled as the quote
    assert quoted == [
        r"\theta' = \theta - \frac{N \eps}{m} \grad_\theta "
        r"\log p_\text{model}(x^{(i)}, y^{(i)}; \theta)."
    ]
    # the lecture's form (one example, N/m factor, minus sign) appears nowhere else
    one_example = r"\frac{N \eps}{m} \grad_\theta \log p_\text{model}"
    assert text.count(one_example) == 1


def test_surrogate_losses_bound_the_zero_one_loss(ax):
    from optimlib.problems import LogisticRegression

    problem = LogisticRegression.synthetic(20, 2, np.random.default_rng(0))
    losses = learning.surrogate_losses(problem, np.linspace(-3, 3, 61))
    t, zero_one = losses["t"], losses["zero_one"]
    np.testing.assert_array_equal(zero_one, t <= 0)
    # log2(1 + e^-t) and max(0, 1 - t) lie above the 0-1 loss; ln(1 + e^-t) does not at 0
    assert np.all(losses["logistic_bits"] >= zero_one) and np.all(losses["hinge"] >= zero_one)
    zero = np.argmin(np.abs(t))
    assert losses["logistic_bits"][zero] == pytest.approx(1.0, rel=1e-15)
    assert losses["logistic_nats"][zero] == pytest.approx(np.log(2), rel=1e-15)
    learning.draw_surrogates(ax, losses)
    assert len(ax.lines) == 4 and ax.get_legend() is not None

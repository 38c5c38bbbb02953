"""The chapter-7 explorers: clipping on the cliff, and the exploding linear recurrence.

What the panels return must be what the theory says: a clipped step is never longer than
eps * max_norm; a threshold above the largest gradient changes nothing; the gradient of
the recurrence is the exact derivative of its loss (central differences); the signal
backpropagated d steps grows like rho(W)^d; gradient descent from a scaled rotation
stays among scaled rotations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import optimlib as ol
from optimlib_book import clipping as cx

# --- the cliff ------------------------------------------------------------------------------


def test_panel_clipped_steps_are_bounded_and_the_run_converges(ax):
    result = cx.panel(ax, max_norm=1.0, lr=0.1)
    assert result["max_step"] <= result["bound"] * (1 + 1e-12)
    assert result["bound"] == pytest.approx(0.1)
    assert not result["left_frame"]
    assert result["steps_to_tol"] is not None
    assert result["final_gap"] < cx.TOL
    # the unclipped run lands on the face and is thrown about eps * 200 = 20 away
    assert result["plain_max_step"] == pytest.approx(20.05, abs=0.01)
    assert result["plain_farthest"] > 6 * (1.5 - (-1.5))  # six plot widths


def test_panel_above_the_largest_gradient_is_the_unclipped_run(ax):
    result = cx.panel(ax, max_norm=1000.0, lr=0.1)
    assert result["clipped_steps"] == 0
    assert result["max_step"] == result["plain_max_step"]
    assert result["farthest"] == result["plain_farthest"]


def test_panel_with_a_loose_threshold_leaves_the_frame_by_exactly_eps_c(ax):
    result = cx.panel(ax, max_norm=30.0, lr=0.1)
    assert result["clipped_steps"] == 1  # only the step on the face is clipped
    assert result["max_step"] == pytest.approx(3.0)
    assert result["left_frame"]
    assert 2.9 < result["farthest"] < 3.0


def test_max_norm_sweep_finds_the_two_thresholds(ax):
    cs = [0.5, 1.0, 10.0, 14.0, 16.0, 100.0, 300.0]
    result = cx.max_norm_sweep(ax, cs, steps=300)
    assert result["never_clips"] == pytest.approx(200.52, abs=0.01)
    # the step from the face at theta_1 = -0.023 leaves the box (right edge 1.5) when
    # eps * c > 1.52, i.e. c > 15.2
    assert list(result["left_frame"]) == [False, False, False, False, True, True, True]
    assert result["leaves_above"] == pytest.approx(15.23, abs=0.01)
    assert all(r is not None for r in result["steps_to_tol"])
    assert result["steps_to_tol"][-1] == result["plain_steps_to_tol"]


def test_step_lengths_needs_iterates():
    history = ol.minimize(ol.problems.Cliff(), ol.SGD(lr=0.1), 5, record_iterates=False)
    with pytest.raises(ValueError, match="iterates"):
        cx.step_lengths(history)


# --- by norm and by value -------------------------------------------------------------------


def test_clipping_arrows_angles(ax):
    result = cx.clipping_arrows(ax, [3.0, 1.0], max_norm=1.0, clip_value=1.0)
    assert result["angle_norm"] == pytest.approx(0.0, abs=1e-6)
    assert result["angle_value"] == pytest.approx(45 - math.degrees(math.atan(1 / 3)))
    assert np.linalg.norm(result["by_norm"]) == pytest.approx(1.0)
    np.testing.assert_allclose(result["by_value"], [1.0, 1.0])


# --- the linear recurrence ------------------------------------------------------------------


def test_quarter_turn_minima_and_curvature():
    q = cx.quarter_turn(T=20)
    assert len(q.roots) == 20
    for a, b in q.roots:
        theta = cx.scaled_rotation(a, b)
        assert q.f(theta) < 1e-26
        assert np.linalg.norm(q.grad(theta)) < 1e-12
    # at a minimum, f = 1/2 |z^T - i|^2 on the plane has curvature T^2 in (a, b), which
    # is T^2 / 2 per unit of theta = (a, -b, b, a): the largest Hessian eigenvalue
    eigenvalues = np.linalg.eigvalsh(q.hess(cx.scaled_rotation(*q.roots[0])))
    assert eigenvalues[-1] == pytest.approx(20**2 / 2, rel=1e-6)
    assert eigenvalues[0] > 0
    np.testing.assert_allclose(q.x0.reshape(2, 2), 1.1 * np.eye(2))


def test_gradient_of_a_scaled_rotation_is_a_scaled_rotation():
    q = cx.quarter_turn()
    theta = cx.scaled_rotation(0.93, 0.21)
    _, _, off = cx.plane_coordinates(q.grad(theta))
    assert off < 1e-12 * np.linalg.norm(q.grad(theta))


def test_gradient_depth_measures_the_spectral_radius(ax):
    M = np.array([[1.0, 1.5], [0.0, 0.6]])
    results = cx.gradient_depth(
        ax, {"up": 1.1 * M, "edge": M, "down": 0.9 * M}, np.array([1.0, 0.0]), 50
    )
    for rho, label in [(1.1, "up"), (1.0, "edge"), (0.9, "down")]:
        assert results[label]["rho"] == pytest.approx(rho)
        assert results[label]["rate"] == pytest.approx(rho, rel=1e-3)
    # non-normal: ||W||_2 > 1 lets the signal grow at first even when rho < 1
    assert results["down"]["sigma"] > 1
    assert results["down"]["norms"].max() > 2
    assert results["down"]["norms"][-1] < 0.05


def test_unclipped_runs_fail_and_clipped_runs_train():
    q = cx.quarter_turn()
    stalled = ol.minimize(q, ol.SGD(lr=0.002), 100, max_loss=1e6)
    diverged = ol.minimize(q, ol.SGD(lr=0.007), 100, max_loss=1e6)
    assert cx.outcome(stalled) == "stalled"
    assert stalled.final_loss == pytest.approx(0.5, abs=1e-9)
    assert cx.outcome(diverged) == "diverged" and diverged.diverged_at == 0
    for lr in (0.002, 0.007):
        clipped = ol.minimize(q, ol.SGD(lr=lr), 300, max_norm=5.0, tol=cx.TOL)
        assert cx.outcome(clipped) == "converged"
        assert cx.step_lengths(clipped).max() <= lr * 5.0 * (1 + 1e-12)


def test_plane_panel_keeps_runs_on_the_plane_and_reports_the_attempted_jump(ax):
    q = cx.quarter_turn()
    runs = [
        ol.minimize(q, ol.SGD(lr=0.007), 50, max_loss=1e6),
        ol.minimize(q, ol.SGD(lr=0.002), 50, max_norm=5.0),
    ]
    result = cx.plane_panel(ax, q, runs, lrs=[0.007, None], resolution=61)
    assert result["off"] < 1e-12
    a, b, _ = cx.plane_coordinates(q.x0 - 0.007 * q.grad(q.x0))
    assert result["jumps"][0] == pytest.approx((a, b))
    assert result["jumps"][1] is None


def test_sweep_panel_outcomes(ax):
    q = cx.quarter_turn()
    result = cx.sweep_panel(ax, q, [0.002, 0.007], max_norm=5.0, steps=300)
    assert result["plain"]["outcomes"] == ["stalled", "diverged"]
    assert result["clipped"]["outcomes"] == ["converged", "converged"]
    assert all(r is not None for r in result["clipped"]["steps_to_tol"])

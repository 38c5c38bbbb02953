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


def test_max_norm_sweep_finds_the_two_thresholds():
    cs = [0.5, 1.0, 10.0, 14.0, 16.0, 100.0, 300.0]
    result = cx.compute_max_norm_sweep(cs, steps=300)
    assert result["never_clips"] == pytest.approx(200.52, abs=0.01)
    # the step from the face at theta_1 = -0.023 leaves the box (right edge 1.5) when
    # eps * c > 1.52, i.e. c > 15.2
    assert list(result["left_frame"]) == [False, False, False, False, True, True, True]
    assert result["leaves_above"] == pytest.approx(15.23, abs=0.01)
    assert all(r is not None for r in result["steps_to_tol"])
    assert result["steps_to_tol"][-1] == result["plain_steps_to_tol"]


def test_cliff_step_measures_the_jump_from_the_face():
    cliff = ol.problems.Cliff()
    face = cx.compute_cliff_step(cliff, 0.1, 1.0, 60)
    assert face.k == 10 and face.on_face
    # on the face the step is eps times the face's slope H / w = 200
    assert face.g_face == pytest.approx(cliff.max_gradient_norm, rel=0.01)
    assert face.jump == pytest.approx(0.1 * face.g_face, rel=1e-6)
    assert face.x_far == pytest.approx(face.plain.thetas[11, 0])
    # the first-order model promised a decrease of eps ||g||^2; f rose instead
    assert face.predicted == pytest.approx(0.1 * face.g_face**2, rel=1e-9)
    assert face.actual > 0
    assert face.clipped_steps.max() <= 0.1 * (1 + 1e-12)
    assert face.gap_far > face.gap_face


def test_step_lengths_are_the_distances_between_iterates():
    history = ol.minimize(ol.problems.Cliff(), ol.SGD(lr=0.1), 5)
    pairs = zip(history.thetas[:-1], history.thetas[1:], strict=True)
    expected = [np.linalg.norm(b - a) for a, b in pairs]
    np.testing.assert_allclose(cx.step_lengths(history), expected, rtol=1e-15)


def test_the_drawings_draw_what_was_computed(ax):
    import matplotlib.pyplot as plt

    face = cx.compute_cliff_step(ol.problems.Cliff(), 0.1, 1.0, 30)
    fig, axes = plt.subplots(3, 1)
    cx.draw_cliff_steps(axes, face)
    assert len(axes[1].lines) == 3  # two runs and the bound
    plt.close(fig)
    cx.draw_max_norm_sweep(ax, cx.compute_max_norm_sweep([1.0, 300.0], steps=200))
    assert ax.get_xscale() == "log" and len(ax.lines) >= 2


# --- by norm and by value -------------------------------------------------------------------


def test_clipping_arrows_angles(ax):
    result = cx.compute_clipping_arrows([3.0, 1.0], max_norm=1.0, clip_value=1.0)
    cx.draw_clipping_arrows(ax, result)
    assert result["angle_norm"] == pytest.approx(0.0, abs=1e-6)
    assert result["angle_value"] == pytest.approx(45 - math.degrees(math.atan(1 / 3)))
    assert np.linalg.norm(result["by_norm"]) == pytest.approx(1.0)
    np.testing.assert_allclose(result["by_value"], [1.0, 1.0])


def test_clipping_by_value_turns_the_gradient_at_most_to_the_bound():
    rng = np.random.default_rng(3)
    G = rng.standard_t(df=2, size=(200, 8)) * 3
    angles = cx.compute_clip_angles(G, 1.0)
    # by norm: one positive factor, no turn (rounding of a dot product of 8 terms)
    assert np.max(1 - angles["cos_norm"]) < 1e-14
    assert np.all(angles["cos_value"] >= angles["bound"] - 1e-12)
    assert np.all(angles["bound"] >= 1 / np.sqrt(8) - 1e-12)
    # the extremal family approaches arccos(1 / sqrt(n)) from below
    for n in (2, 100):
        angle, limit = cx.extremal_angle(n)
        assert limit == pytest.approx(math.degrees(math.acos(1 / math.sqrt(n))))
        assert 0 <= limit - angle < 1e-3


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
    results = cx.compute_gradient_depth(
        {"up": 1.1 * M, "edge": M, "down": 0.9 * M}, np.array([1.0, 0.0]), 50
    )
    cx.draw_gradient_depth(ax, results)
    assert len(ax.lines) == 6  # each curve with its line rho^d
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


def test_plane_keeps_runs_on_the_plane_and_reports_the_attempted_jump(ax):
    q = cx.quarter_turn()
    runs = cx.quarter_runs(q, [(0.007, None), (0.002, 5.0)], 50)
    box = ((0.9, 1.1), (-0.1, 0.1))
    plane = cx.compute_plane(q, runs, lrs=[0.007, None], resolution=61, inset=box)
    assert plane.off < 1e-12
    a, b, _ = cx.plane_coordinates(q.x0 - 0.007 * q.grad(q.x0))
    assert plane.jumps[0] == pytest.approx((a, b))
    assert plane.jumps[1] is None
    assert plane.levels[0] == pytest.approx(1e-3)
    np.testing.assert_allclose(plane.paths[1][0], [1.1, 0.0])  # W_0 = 1.1 I
    cx.draw_plane(ax, plane)
    assert len(ax.child_axes) == 1  # the inset


def test_lr_sweeps_outcomes(ax):
    q = cx.quarter_turn()
    result = cx.compute_lr_sweeps(q, [0.002, 0.007], max_norm=5.0, steps=300)
    cx.draw_lr_sweeps(ax, result)
    assert result["plain"]["outcomes"] == ["stalled", "diverged"]
    assert result["clipped"]["outcomes"] == ["converged", "converged"]
    assert all(r is not None for r in result["clipped"]["steps_to_tol"])


def test_curvature_grows_with_the_gradient_along_the_gain():
    q = cx.quarter_turn()
    along = cx.compute_curvature_along_gain(q, [1.05, 1.5])
    # on the plane f = 1/2 |s^20 - i|^2 along W = s I: the gradient grows like s^39
    assert along["grad_norms"][1] / along["grad_norms"][0] > 1e5
    assert along["ratio"].max() / along["ratio"].min() < 1.5
    np.testing.assert_allclose(along["ratio"], along["curvatures"] / along["grad_norms"])

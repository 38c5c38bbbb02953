"""The problems that came from the chapters: the cycling example (chapter 5), the
saturated unit (chapter 2), the linear recurrence (chapter 7), the linear slope, and the
quadratic's amplification of a perturbed right-hand side.

Gradients against central finite differences and torch's autograd (float64), the
behaviour each chapter relies on against theory, and the contract at the edges: bad
arguments are a ValueError naming the parameter, the problem's data are read-only.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import optimlib as ol
from optimlib import problems as P
from optimlib.problems import networks


def test_cycling_example():
    problem = P.CyclingExample()
    eps, alpha = problem.heavy_ball_optimal()
    assert (eps, alpha) == (pytest.approx(1 / 9), pytest.approx(4 / 9))
    x = np.array([-3.0, -0.5, 0.0, 0.7, 1.3, 1.9, 2.4, 4.0])[:, None]  # away from the kinks
    h = 1e-6
    slope = (problem.f(x + h) - problem.f(x - h)) / (2 * h)
    assert np.allclose(slope, problem.grad(x)[:, 0], rtol=1e-7, atol=1e-7)
    for kink in (1.0, 2.0):  # f is continuous where the pieces meet
        assert problem.f(np.array([kink - 1e-12])) == pytest.approx(problem.f(np.array([kink])))
    history = ol.minimize(problem, ol.Momentum(lr=eps, alpha=alpha), steps=150)
    tail = history.thetas[-7:, 0]
    assert np.allclose(tail[3:], tail[:-3], atol=1e-12) and np.min(np.abs(tail)) > 0.5
    root_kappa = 5.0
    nesterov = ol.Nesterov(lr=1 / 25, alpha=(root_kappa - 1) / (root_kappa + 1))
    assert ol.minimize(problem, nesterov, steps=150).distances()[-1] < 1e-10


@pytest.mark.parametrize("beta", [0.5, 2.0, 4.0])
def test_saturated_unit_loss_and_gradient(beta):
    problem = P.SaturatedUnit(beta)
    t = math.tanh(beta)
    assert problem.f(problem.x0) == pytest.approx(1 + t * t, rel=1e-14)
    rng = np.random.default_rng(0)
    theta = problem.x0 + 0.3 * rng.standard_normal(4)
    h = 1e-6
    numeric = [(problem.f(theta + h * e) - problem.f(theta - h * e)) / (2 * h) for e in np.eye(4)]
    assert np.allclose(problem.grad(theta), numeric, rtol=1e-6, atol=1e-9)
    stack = np.stack([theta, problem.x0])
    assert np.allclose(problem.f(stack), [problem.f(theta), problem.f(problem.x0)])


def test_plateau_gradient_is_exact():
    problem = P.SaturatedUnit(3.0)
    point = problem.plateau_point(w2=0.7)
    assert problem.f(point) == pytest.approx(1.0, rel=1e-14)
    g = problem.grad(point)
    assert g[0] == pytest.approx(-problem.plateau_gradient(w2=0.7), rel=1e-12)
    assert np.allclose(g[1:], 0, atol=1e-15)
    assert problem.plateau_gradient() == pytest.approx(2 / math.cosh(3.0) ** 2)


def test_plateau_lasts_like_cosh_squared():
    durations = []
    for beta in (2.0, 3.0):
        problem = P.SaturatedUnit(beta)
        history = ol.minimize(problem, ol.SGD(lr=0.2), steps=2000, tol=0.5)
        assert history.stop_reason == "tolerance"
        durations.append(history.steps)
    ratio = durations[1] / durations[0]
    expected = (math.cosh(3.0) / math.cosh(2.0)) ** 2
    assert abs(ratio / expected - 1) < 0.1, (durations, expected)


def test_recurrence_gradient_matches_central_differences():
    rng = np.random.default_rng(0)
    problem = P.LinearRecurrence(
        rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), 7, 0.5 * rng.standard_normal(9)
    )
    assert ol.nn.gradient_check(problem.f, problem.grad, problem.x0) < 1e-7
    q = quarter_turn(20)
    assert ol.nn.gradient_check(q.f, q.grad, q.x0) < 1e-7


def test_recurrence_accepts_a_stack_of_parameters():
    q = quarter_turn(5)
    thetas = np.random.default_rng(1).standard_normal((3, 2, 4))
    values = q.f(thetas)
    grads = q.grad(thetas)
    assert values.shape == (3, 2) and grads.shape == (3, 2, 4)
    assert values[1, 0] == pytest.approx(q.f(thetas[1, 0]), rel=1e-14)
    np.testing.assert_allclose(grads[2, 1], q.grad(thetas[2, 1]), rtol=1e-13)


def test_backward_signals_are_powers_of_w_transposed():
    rng = np.random.default_rng(2)
    W, delta, T = rng.standard_normal((3, 3)), rng.standard_normal((3, 1)), 6
    states = networks.unroll(W, rng.standard_normal((3, 1)), T)
    _, signals = networks.backward(W, states, delta)
    for t in range(T + 1):
        expected = np.linalg.matrix_power(W.T, T - t) @ delta
        np.testing.assert_allclose(signals[t], expected, rtol=1e-12)


def quarter_turn(T=5):
    """The chapter's instance: W^T should turn the plane by a quarter, start 1.1 I."""
    return P.LinearRecurrence(np.eye(2), [[0.0, -1.0], [1.0, 0.0]], T, 1.1 * np.eye(2), 0.0)


def test_recurrence_gradient_matches_torch_autograd():
    """float64 autograd of the same loss; both are sums of ~T n^3 products of size ~1,
    so they agree to a few hundred eps."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    problem = P.LinearRecurrence(
        rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), 6, 0.4 * rng.standard_normal(9)
    )
    W = torch.tensor(problem.x0.reshape(3, 3), requires_grad=True)
    X, Y = torch.tensor(problem.X), torch.tensor(problem.Y)
    loss = ((torch.linalg.matrix_power(W, 6) @ X - Y) ** 2).sum() / (2 * 4)
    loss.backward()
    assert problem.f(problem.x0) == pytest.approx(loss.item(), rel=1e-13)
    np.testing.assert_allclose(
        problem.grad(problem.x0), W.grad.numpy().ravel(), rtol=1e-12, atol=1e-14
    )


def test_recurrence_hessian_matches_differences_of_its_gradient():
    q = quarter_turn()
    H = q.hess(q.x0)
    assert np.allclose(H, H.T) and H.shape == (4, 4)
    e = np.eye(4)[0] * 1e-5
    np.testing.assert_allclose(
        H @ (e / 1e-5), (q.grad(q.x0 + e) - q.grad(q.x0 - e)) / 2e-5, rtol=1e-6
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"X": np.ones((2, 3)), "Y": np.ones((3, 2))}, "X and Y must both have shape"),
        ({"X": np.ones(3), "Y": np.ones(3)}, "X and Y must both have shape"),
        ({"X": [[np.nan, 1.0], [0.0, 1.0]]}, "X must be finite"),
        ({"T": 0}, "T must be"),
        ({"x0": np.ones(3)}, r"x0 must have shape \(4,\)"),
        ({"f_star": np.nan}, "f_star must be a finite number"),
    ],
)
def test_bad_recurrence_arguments_are_rejected(kwargs, match):
    args = {"X": np.eye(2), "Y": np.eye(2), "T": 3, "x0": np.eye(2), "f_star": None, **kwargs}
    with pytest.raises(ValueError, match=match):
        P.LinearRecurrence(**args)


def test_bad_saturated_unit_and_cycling_arguments_are_rejected():
    with pytest.raises(ValueError, match="beta must be a finite number"):
        P.SaturatedUnit(math.inf)
    with pytest.raises(ValueError, match="w2 must be a finite number"):
        P.SaturatedUnit().plateau_point(w2=np.nan)
    with pytest.raises(ValueError, match=r"x must have shape \(1,\)"):
        P.CyclingExample().f(np.zeros(2))


@pytest.mark.parametrize(
    "problem", [P.CyclingExample(), P.SaturatedUnit(2.0), quarter_turn(), P.Linear([0.6, -0.8])]
)
def test_problem_data_are_read_only(problem):
    for name in ("x0", "x_star", "X", "Y", "y", "g"):
        value = getattr(problem, name, None)
        if isinstance(value, np.ndarray):
            with pytest.raises(ValueError, match="read-only"):
                value[...] = 0


def test_linear_slope_has_a_constant_gradient_and_builds_terminal_velocity():
    slope = P.Linear([0.6, -0.8])
    points = np.random.default_rng(0).standard_normal((5, 2))
    np.testing.assert_array_equal(slope.grad(points), np.tile([0.6, -0.8], (5, 1)))
    np.testing.assert_allclose(slope.f(points), points @ [0.6, -0.8], rtol=1e-15)
    run = ol.minimize(slope, ol.Momentum(lr=0.01, alpha=0.9), 400, record_state=("v",))
    # v_k = -eps g (1 - alpha^k) / (1 - alpha): at k = 400, alpha^k ~ 5e-19
    np.testing.assert_allclose(run.states["v"][-1], -0.1 * np.array([0.6, -0.8]), rtol=1e-12)
    with pytest.raises(ValueError, match="g must be a finite vector"):
        P.Linear([[1.0]])


def test_amplification_is_at_most_kappa_and_attained():
    quad = P.Quadratic.with_condition_number(1e4, dim=4, rng=np.random.default_rng(2))
    V = quad.eigenvectors
    worst = quad.amplification(V[:, -1], 1e-6 * V[:, 0])
    # both solves are backward stable: each relative error is ~kappa eps = 2e-12
    assert isinstance(worst, float) and worst == pytest.approx(1e4, rel=1e-8)
    rng = np.random.default_rng(3)
    B, dB = rng.standard_normal((2, 300, 4))
    pairs = quad.amplification(B, 1e-6 * dB)
    assert pairs.shape == (300,) and np.all(pairs <= 1e4 * (1 + 1e-8)) and np.all(pairs > 0)
    one = quad.amplification(B[7], 1e-6 * dB[7])
    assert one == pytest.approx(pairs[7], rel=1e-9)
    with pytest.raises(ValueError, match=r"db must have shape \(4,\)"):
        quad.amplification(B[0], np.ones(3))

"""Tests of optimlib.problems.

Gradients and Hessians against central finite differences and PyTorch's autograd
(float64); minimizers, condition numbers and convergence rates against theory;
minibatch estimates, their variance and the true risks against Monte Carlo.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from optimlib import problems as P
from optimlib.optimizers import SGD, Momentum
from optimlib.problems import _base

# the independent reference: installed with the test tools, but not on every Python
torch = pytest.importorskip("torch")

torch.set_num_threads(1)  # tiny tensors: threads only add overhead


def t64(a) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64))


def softplus_t(z: torch.Tensor) -> torch.Tensor:
    """log(1 + e^z); linear beyond z = 50, where the two differ by e^-50 (torch's
    logaddexp would do, but its second derivative is NaN far out)."""
    return torch.nn.functional.softplus(z, threshold=50.0)


def spd_matrix(rng, n: int) -> np.ndarray:
    M = rng.standard_normal((n, n))
    return M @ M.T + n * np.eye(n)


def make_problems() -> dict:
    rng = np.random.default_rng(20240611)
    return {
        "quadratic-2d-turned": P.Quadratic.with_condition_number(50, angle=0.3),
        "quadratic-5d-random": P.Quadratic.with_condition_number(
            1e3, dim=5, rng=np.random.default_rng(1)
        ),
        "quadratic-from-A-b": P.Quadratic(spd_matrix(rng, 4), b=rng.standard_normal(4)),
        "rosenbrock": P.Rosenbrock(),
        "rosenbrock-a-b": P.Rosenbrock(a=0.5, b=10.0),
        "saddle": P.Saddle(),
        "saddle-a-b": P.Saddle(a=2.0, b=0.5),
        "cliff": P.Cliff(),
        "linear-regression": P.LinearRegression.synthetic(50, 3, rng, kappa=10.0),
        "logistic-regression": P.LogisticRegression.synthetic(80, 3, rng, kappa=10.0),
        "logistic-regression-l2": P.LogisticRegression.synthetic(30, 3, rng, l2=0.1),
    }


PROBLEMS = make_problems()
NAMES = list(PROBLEMS)


def torch_f(problem, x: torch.Tensor) -> torch.Tensor:
    """The same objective written independently in torch (autograd supplies derivatives)."""
    if isinstance(problem, P.Quadratic):
        return 0.5 * x @ t64(problem.A) @ x - t64(problem.b) @ x
    if isinstance(problem, P.Rosenbrock):
        return (problem.a - x[0]) ** 2 + problem.b * (x[1] - x[0] ** 2) ** 2
    if isinstance(problem, P.Saddle):
        return problem.a / 2 * x[0] ** 2 - problem.b / 2 * x[1] ** 2 + problem.b / 4 * x[1] ** 4
    if isinstance(problem, P.Cliff):
        s, width = problem.softness, problem.width
        bottom = (problem.position + width / 2 - x[0]) / s
        top = (problem.position - width / 2 - x[0]) / s
        step = s / width * (softplus_t(bottom) - softplus_t(top))
        bowl = problem.curvature / 2 * torch.sum((x - t64(problem.center)) ** 2)
        return bowl + problem.height * step
    z = t64(problem.X) @ x
    y = t64(problem.y)
    if isinstance(problem, P.LinearRegression):
        return torch.mean((z - y) ** 2) / 2
    if isinstance(problem, P.LogisticRegression):
        return torch.mean(softplus_t(z) - y * z) + problem.l2 / 2 * x @ x
    raise TypeError(problem)


def sample_points(problem, rng, n: int = 12) -> np.ndarray:
    """Random points where the problem is interesting: its plotting box, or around x*."""
    if problem.bounds is not None and not isinstance(problem, P.FiniteSum):
        (x_lo, x_hi), (y_lo, y_hi) = problem.bounds
        return np.stack([rng.uniform(x_lo, x_hi, n), rng.uniform(y_lo, y_hi, n)], axis=1)
    return problem.x_star + rng.standard_normal((n, problem.dim))


def away_from_cliff_edges(problem, points: np.ndarray) -> np.ndarray:
    """Finite differences cannot follow the Cliff's rounded edges (curvature ~ 1e6)."""
    if not isinstance(problem, P.Cliff):
        return points
    edges = problem.position + np.array([-1, 1]) * problem.width / 2
    far = np.min(np.abs(points[:, :1] - edges), axis=1) > 50 * problem.softness
    face = np.array([[problem.position - 0.02, 0.3], [problem.position + 0.03, -0.2]])
    return np.concatenate([points[far], face])


def central_difference(fun, x: np.ndarray, h: float) -> np.ndarray:
    """d fun / dx by (fun(x + h e_j) - fun(x - h e_j)) / 2h, stacked along the last axis."""
    columns = []
    for j in range(len(x)):
        e = np.zeros_like(x)
        e[j] = h
        columns.append((np.asarray(fun(x + e)) - np.asarray(fun(x - e))) / (2 * h))
    return np.stack(columns, axis=-1)


# --- derivatives ----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_gradient_and_hessian_match_torch_autograd(name):
    problem = PROBLEMS[name]
    points = sample_points(problem, np.random.default_rng(0))
    if isinstance(problem, P.Cliff):  # on the face and at its edges too
        edges = problem.position + np.array([-0.5, -0.4999, 0.0, 0.4999, 0.5]) * problem.width
        points = np.concatenate([points, np.stack([edges, np.full(5, 0.1)], axis=1)])
    for x in points:
        x_t = t64(x).requires_grad_(True)
        value = torch_f(problem, x_t)
        (g_t,) = torch.autograd.grad(value, x_t)
        H_t = torch.autograd.functional.hessian(lambda v: torch_f(problem, v), t64(x))
        assert problem.f(x) == pytest.approx(value.item(), rel=1e-12, abs=1e-12)
        scale = 1 + np.abs(g_t.numpy()).max()
        np.testing.assert_allclose(problem.grad(x), g_t.numpy(), rtol=1e-10, atol=1e-12 * scale)
        H = problem.hess(x)
        scale = 1 + np.abs(H_t.numpy()).max()
        np.testing.assert_allclose(H, H_t.numpy(), rtol=1e-9, atol=1e-11 * scale)


@pytest.mark.parametrize("name", NAMES)
def test_gradient_and_hessian_match_finite_differences(name):
    problem = PROBLEMS[name]
    points = away_from_cliff_edges(problem, sample_points(problem, np.random.default_rng(1)))
    for x in points:
        h = 1e-6 * max(1.0, np.abs(x).max())
        g = problem.grad(x)
        np.testing.assert_allclose(
            central_difference(problem.f, x, h), g, rtol=1e-6, atol=1e-6 * (1 + np.abs(g).max())
        )
        H = problem.hess(x)
        np.testing.assert_allclose(
            central_difference(problem.grad, x, h), H, rtol=1e-6, atol=1e-6 * (1 + np.abs(H).max())
        )


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["rosenbrock", "saddle", "cliff"]),
    st.floats(-3, 3),
    st.floats(-3, 3),
)
def test_two_dimensional_gradients_match_torch_anywhere(name, u, v):
    problem = PROBLEMS[name]
    x_t = t64([u, v]).requires_grad_(True)
    (g_t,) = torch.autograd.grad(torch_f(problem, x_t), x_t)
    np.testing.assert_allclose(problem.grad([u, v]), g_t.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", [n for n in NAMES if isinstance(PROBLEMS[n], P.FiniteSum)])
def test_per_example_gradients_match_torch(name):
    problem = PROBLEMS[name]
    w = problem.x_star + np.random.default_rng(2).standard_normal(problem.dim)
    X, y = t64(problem.X), t64(problem.y)

    def per_example_losses(v):
        z = X @ v
        if isinstance(problem, P.LinearRegression):
            return (z - y) ** 2 / 2
        return softplus_t(z) - y * z + problem.l2 / 2 * v @ v

    jacobian = torch.autograd.functional.jacobian(per_example_losses, t64(w)).numpy()
    np.testing.assert_allclose(problem.per_example_grads(w), jacobian, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(
        problem.per_example_losses(w), per_example_losses(t64(w)).numpy(), rtol=1e-12
    )
    idx = np.array([3, 0, 7])
    np.testing.assert_array_equal(
        problem.per_example_grads(w, idx), problem.per_example_grads(w)[idx]
    )
    np.testing.assert_allclose(problem.grad(w), jacobian.mean(axis=0), rtol=1e-10, atol=1e-14)
    assert problem.f_sum(w) == pytest.approx(problem.N * problem.f(w), rel=1e-15)
    np.testing.assert_allclose(problem.grad_sum(w), problem.N * problem.grad(w), rtol=1e-15)


# --- minimizers -----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_x_star_is_a_minimizer_with_value_f_star(name):
    problem = PROBLEMS[name]
    x_star = problem.x_star
    assert problem.f(x_star) == problem.f_star
    scale = 1 + np.abs(problem.hess(x_star)).max() * (1 + np.abs(x_star).max())
    np.testing.assert_allclose(problem.grad(x_star), 0, atol=1e-12 * scale)
    assert np.linalg.eigvalsh(problem.hess(x_star))[0] > 0
    # nothing nearby is lower
    nearby = x_star + 1e-3 * np.random.default_rng(3).standard_normal((50, problem.dim))
    assert np.all(problem.f(nearby) >= problem.f_star)


def test_closed_form_minimizers():
    assert PROBLEMS["rosenbrock-a-b"].x_star.tolist() == [0.5, 0.25]
    assert PROBLEMS["rosenbrock"].f_star == 0.0
    saddle = PROBLEMS["saddle-a-b"]
    assert saddle.f_star == -saddle.b / 4
    for minimum in saddle.minima:
        np.testing.assert_array_equal(saddle.grad(minimum), [0.0, 0.0])
    np.testing.assert_allclose(PROBLEMS["quadratic-2d-turned"].x_star, [1.0, 1.0], rtol=1e-12)
    linear = PROBLEMS["linear-regression"]
    np.testing.assert_allclose(
        linear.x_star, np.linalg.solve(linear.X.T @ linear.X, linear.X.T @ linear.y), rtol=1e-10
    )


def test_saddle_point_is_stationary_with_an_indefinite_hessian():
    saddle = P.Saddle(a=1.5, b=0.7)
    np.testing.assert_array_equal(saddle.grad(saddle.saddle_point), [0.0, 0.0])
    eigenvalues = np.linalg.eigvalsh(saddle.hess(saddle.saddle_point))
    np.testing.assert_allclose(eigenvalues, [-0.7, 1.5])


def test_logistic_regression_on_separable_data_has_no_minimizer():
    X = np.random.default_rng(4).standard_normal((30, 2))
    y = (X @ np.array([1.0, -2.0]) > 0).astype(float)
    separable = P.LogisticRegression(X, y)
    assert separable.x_star is None and separable.f_star == 0.0
    regularized = P.LogisticRegression(X, y, l2=0.01)
    np.testing.assert_allclose(regularized.grad(regularized.x_star), 0, atol=1e-12)


# --- vectorization --------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(NAMES), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_f_and_grad_vectorize_over_a_grid(name, n, seed):
    problem = PROBLEMS[name]
    grid = sample_points(problem, np.random.default_rng(seed), n * n).reshape(n, n, problem.dim)
    values, grads = problem.f(grid), problem.grad(grid)
    assert values.shape == (n, n) and grads.shape == (n, n, problem.dim)
    for i in range(n):
        for j in range(n):
            value = problem.f(grid[i, j])
            assert isinstance(value, float)
            assert values[i, j] == pytest.approx(value, rel=1e-13, abs=1e-13)
            np.testing.assert_allclose(
                grads[i, j], problem.grad(grid[i, j]), rtol=1e-13, atol=1e-13
            )


@pytest.mark.parametrize("name", ["rosenbrock", "saddle", "cliff", "quadratic-2d-turned"])
def test_hessian_vectorizes_too(name):
    problem = PROBLEMS[name]
    points = sample_points(problem, np.random.default_rng(5), 6).reshape(2, 3, 2)
    H = problem.hess(points)
    assert H.shape == (2, 3, 2, 2)
    np.testing.assert_array_equal(H[1, 2], problem.hess(points[1, 2]))


def test_large_grid_of_a_large_data_set_is_evaluated_in_blocks():
    problem = P.LogisticRegression.synthetic(3000, 2, np.random.default_rng(6))
    grid = np.stack(np.meshgrid(np.linspace(-2, 2, 60), np.linspace(-2, 2, 50)), axis=-1)
    values = problem.f(grid)
    assert values.shape == (50, 60)
    assert values[7, 11] == pytest.approx(problem.f(grid[7, 11]), rel=1e-14)


# --- the quadratic: condition number, rotation, rates ----------------------------------


@pytest.mark.parametrize("kappa", [1.0, 10.0, 1e3, 1e6])
@pytest.mark.parametrize(
    "dim, angle, seed", [(2, 0.0, None), (2, 0.7, None), (2, 0.0, 8), (3, 0.0, 9), (10, 0.0, 10)]
)
def test_with_condition_number(kappa, dim, angle, seed):
    rng = None if seed is None else np.random.default_rng(seed)
    q = P.Quadratic.with_condition_number(kappa, dim=dim, lam_min=0.5, angle=angle, rng=rng)
    assert q.kappa == pytest.approx(kappa, rel=1e-12)
    assert q.mu == 0.5
    largest = q.L
    assert largest == pytest.approx(0.5 * kappa, rel=1e-15)
    assert np.all(np.diff(q.eigenvalues) >= 0)
    Q = q.eigenvectors
    np.testing.assert_allclose(Q.T @ Q, np.eye(dim), atol=1e-13)
    np.testing.assert_allclose(q.A @ Q, Q * q.eigenvalues, atol=1e-12 * q.L)
    np.testing.assert_allclose(np.linalg.eigvalsh(q.A), q.eigenvalues, atol=1e-12 * q.L)
    if dim > 2:  # log-spaced between the ends
        np.testing.assert_allclose(np.diff(np.log(q.eigenvalues)), np.log(kappa) / (dim - 1))
    np.testing.assert_allclose(q.x_star, np.ones(dim), rtol=1e-8)


def test_with_condition_number_spaces_eigenvalues_linearly_on_request():
    """spacing="linear": lam_min + j (kappa - 1) lam_min / (dim - 1); the rotation drawn
    from rng is the same matrix as with the default log spacing."""
    linear = P.Quadratic.with_condition_number(
        40.0, dim=12, lam_min=0.5, rng=np.random.default_rng(0), spacing="linear"
    )
    logs = P.Quadratic.with_condition_number(
        40.0, dim=12, lam_min=0.5, rng=np.random.default_rng(0)
    )
    np.testing.assert_array_equal(linear.eigenvalues, np.linspace(0.5, 20.0, 12))
    np.testing.assert_allclose(np.linalg.eigvalsh(linear.A), linear.eigenvalues, rtol=1e-12)
    np.testing.assert_array_equal(linear.eigenvectors, logs.eigenvectors)
    np.testing.assert_allclose(linear.x_star, np.ones(12), rtol=1e-12)


def test_angle_turns_the_valley():
    flat = P.Quadratic.with_condition_number(100)
    np.testing.assert_array_equal(flat.A, np.diag([1.0, 100.0]))  # smallest curvature along x
    turned = P.Quadratic.with_condition_number(100, angle=np.pi / 2)
    np.testing.assert_allclose(turned.A, np.diag([100.0, 1.0]), atol=1e-12)


def test_default_start_and_bounds_of_the_quadratic():
    q = P.Quadratic.with_condition_number(100)
    np.testing.assert_allclose(q.x0, [-2.0, 4.0])  # x* + 3 (-v1 + v2)
    (x_lo, x_hi), (y_lo, y_hi) = q.bounds
    for point in (q.x0, q.x_star):
        assert x_lo < point[0] < x_hi and y_lo < point[1] < y_hi
    assert P.Quadratic.with_condition_number(10, dim=3).bounds is None
    assert P.Quadratic(np.eye(2)).x_star.tolist() == [0.0, 0.0]


def gd_errors(q, opt, steps):
    x, errors = q.x0, [np.linalg.norm(q.x0 - q.x_star)]
    for _ in range(steps):
        x = opt.step(x, q.grad)
        errors.append(np.linalg.norm(x - q.x_star))
    return np.array(errors)


@pytest.mark.parametrize("kappa", [4.0, 25.0])
def test_gradient_descent_contracts_at_gd_rate(kappa):
    q = P.Quadratic.with_condition_number(kappa, angle=0.4)
    for eps in [0.3 / q.L, q.gd_optimal_lr(), 1.9 / q.L]:
        rate = q.gd_rate(eps)
        steps = int(np.log(1e-6) / np.log(rate))  # stop well above rounding error
        errors = gd_errors(q, SGD(lr=eps), steps)
        ratios = errors[1:] / errors[:-1]
        assert np.all(ratios <= rate * (1 + 1e-9))
        assert ratios[-1] == pytest.approx(rate, rel=0.01)  # the slowest direction remains
    # at the optimal step both extreme directions contract alike: every ratio is the rate
    rate = q.gd_rate(q.gd_optimal_lr())
    assert rate == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-12)
    ratios = np.diff(np.log(gd_errors(q, SGD(lr=q.gd_optimal_lr()), 20)))
    np.testing.assert_allclose(np.exp(ratios), rate, rtol=1e-9)
    np.testing.assert_allclose(q.gd_rate(np.array([1 / q.L, 2 / q.L])), [1 - 1 / kappa, 1.0])


def test_heavy_ball_converges_at_heavy_ball_rate():
    q = P.Quadratic.with_condition_number(100, angle=0.2)
    eps, alpha = q.heavy_ball_optimal()
    assert np.sqrt(alpha) == pytest.approx(q.heavy_ball_rate(), rel=1e-12)
    assert q.heavy_ball_rate() == pytest.approx(9 / 11, rel=1e-12)
    errors = gd_errors(q, Momentum(lr=eps, alpha=alpha), 100)
    # the error behaves like k rate^k (a repeated eigenvalue): divide out the k
    k1, k2 = 40, 100
    measured = (errors[k2] / errors[k1] * k1 / k2) ** (1 / (k2 - k1))
    assert measured == pytest.approx(q.heavy_ball_rate(), rel=0.01)
    assert q.heavy_ball_rate() < q.gd_rate(q.gd_optimal_lr()) == pytest.approx(99 / 101)


@pytest.mark.parametrize(
    "A, message",
    [
        ([[2.0, 1.0], [0.0, 2.0]], "symmetric"),
        ([[1.0, 0.0], [0.0, -1.0]], "positive definite"),
        ([[1.0, 1.0], [1.0, 1.0]], "positive definite"),
        ([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], "square"),
        ([1.0, 2.0], "square"),
        ([[1.0, np.nan], [np.nan, 1.0]], "finite"),
    ],
)
def test_bad_matrices_are_rejected_naming_A(A, message):
    with pytest.raises(ValueError, match=rf"^A .*{message}"):
        P.Quadratic(A)


def test_bad_quadratic_arguments_are_rejected():
    with pytest.raises(ValueError, match=r"^b "):
        P.Quadratic(np.eye(2), b=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^x0 "):
        P.Quadratic(np.eye(2), x0=[1.0])
    for kappa in [0.5, 0.0, -3.0, np.nan, np.inf, "10"]:
        with pytest.raises(ValueError, match=r"^kappa "):
            P.Quadratic.with_condition_number(kappa)
    with pytest.raises(ValueError, match=r"^dim "):
        P.Quadratic.with_condition_number(10, dim=0)
    with pytest.raises(ValueError, match=r"^kappa "):
        P.Quadratic.with_condition_number(10, dim=1)
    with pytest.raises(ValueError, match=r"^lam_min "):
        P.Quadratic.with_condition_number(10, lam_min=0.0)
    with pytest.raises(ValueError, match=r"^angle "):
        P.Quadratic.with_condition_number(10, dim=3, angle=0.5)
    with pytest.raises(ValueError, match=r"^angle "):
        P.Quadratic.with_condition_number(10, angle=0.5, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"^rng "):
        P.Quadratic.with_condition_number(10, rng=0)
    with pytest.raises(ValueError, match=r"^spacing must be one of 'log', 'linear'"):
        P.Quadratic.with_condition_number(10, spacing="even")
    with pytest.raises(ValueError, match=r"^eps "):
        P.Quadratic(np.eye(2)).gd_rate(0.0)


@pytest.mark.parametrize("name", NAMES)
def test_points_of_the_wrong_shape_are_rejected(name):
    problem = PROBLEMS[name]
    variable = "w" if isinstance(problem, P.FiniteSum) else "x"
    for bad in [np.zeros(problem.dim + 1), np.zeros((3, problem.dim - 1)), 1.0]:
        with pytest.raises(ValueError, match=rf"^{variable} must have shape"):
            problem.f(bad)
        with pytest.raises(ValueError, match=rf"^{variable} must have shape"):
            problem.grad(bad)


# --- the cliff ------------------------------------------------------------------------


def clip_by_norm(g: np.ndarray, max_norm: float) -> np.ndarray:
    norm = np.linalg.norm(g)
    return g * (max_norm / norm) if norm > max_norm else g


def descend(problem, lr, steps, max_norm=None):
    """Gradient descent with SGD(lr); returns the iterates and the raw gradient norms."""
    opt, x = SGD(lr=lr), problem.x0
    xs, norms = [x], []

    def grad_fn(theta):
        g = problem.grad(theta)
        norms.append(np.linalg.norm(g))
        return g if max_norm is None else clip_by_norm(g, max_norm)

    for _ in range(steps):
        x = opt.step(x, grad_fn)
        xs.append(x)
    return np.array(xs), np.array(norms)


def test_cliff_flings_a_plain_step_and_clipping_tames_it():
    cliff = P.Cliff()
    (x_lo, x_hi), (y_lo, y_hi) = cliff.bounds
    plot_width = x_hi - x_lo
    assert cliff.max_gradient_norm == pytest.approx(cliff.height / cliff.width, rel=1e-12)

    # plain gradient descent, eps = 0.1: stable on the bowl (eps * curvature = 0.1)
    xs, norms = descend(cliff, lr=0.1, steps=300)
    jumps = np.linalg.norm(np.diff(xs, axis=0), axis=1)
    k = int(np.argmax(jumps))
    assert abs(xs[k, 0] - cliff.position) < cliff.width / 2  # the iterate landed on the face
    assert norms[k] >= 0.99 * cliff.max_gradient_norm
    assert cliff.max_gradient_norm >= 100 * norms[:k].max()  # the way there was gentle
    assert jumps[k] > 5 * plot_width  # flung several plot widths away
    assert not x_lo < xs[k + 1, 0] < x_hi

    # the same step with the gradient clipped to norm 1 walks down the cliff
    xs, norms = descend(cliff, lr=0.1, steps=300, max_norm=1.0)
    assert np.all((x_lo < xs[:, 0]) & (xs[:, 0] < x_hi) & (y_lo < xs[:, 1]) & (xs[:, 1] < y_hi))
    assert np.linalg.norm(np.diff(xs, axis=0), axis=1).max() <= 0.1 + 1e-12
    # "on the face": within its rounded edges
    on_face = np.abs(xs[:-1, 0] - cliff.position) <= cliff.width / 2 + 20 * cliff.softness
    assert on_face.any() and norms[on_face].max() >= 0.9 * cliff.max_gradient_norm
    assert cliff.max_gradient_norm >= 100 * norms[~on_face].max()
    np.testing.assert_allclose(xs[-1], cliff.x_star, atol=1e-10)


@pytest.mark.parametrize("lr", np.linspace(0.04, 0.2, 17))
def test_cliff_flings_for_a_range_of_step_sizes(lr):
    cliff = P.Cliff()
    plot_width = cliff.bounds[0][1] - cliff.bounds[0][0]
    xs, _ = descend(cliff, lr=lr, steps=60)
    assert np.linalg.norm(np.diff(xs, axis=0), axis=1).max() > plot_width


def test_logistic_functions_never_overflow():
    z = np.array([-np.inf, -1e308, -1000.0, -30.0, 0.0, 30.0, 1000.0, 1e308, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            sigmoid = _base._sigmoid(z)
            slope = _base._sigmoid_slope(z)
            cliff = P.Cliff()
            far = np.array([[-1e6, 0.0], [1e6, 0.0], [cliff.position, 0.0]])
            values, grads = cliff.f(far), cliff.grad(far)
            logistic = PROBLEMS["logistic-regression"]
            big = 1e50 * np.ones(logistic.dim)
            value, grad = logistic.f(big), logistic.grad(big)
    np.testing.assert_array_equal(sigmoid[[0, 1, 2, 4, 6, 7, 8]], [0, 0, 0, 0.5, 1, 1, 1])
    assert sigmoid[3] == pytest.approx(1 / (1 + np.exp(30.0)), rel=1e-15)
    assert slope[4] == 0.25 and slope[0] == slope[-1] == 0.0
    assert np.isfinite(values).all() and np.isfinite(grads).all()
    assert np.isfinite(value) and np.isfinite(grad).all()


# --- finite sums: minibatches ---------------------------------------------------------


def draws(problem, w, m, rng, reduction, count):
    return np.array([problem.minibatch_grad(w, m, rng, reduction) for _ in range(count)])


@pytest.mark.parametrize("name", ["linear-regression", "logistic-regression"])
@pytest.mark.parametrize("m", [1, 7, 40])
def test_minibatch_gradient_is_unbiased(name, m):
    problem = PROBLEMS[name]
    w = problem.x_star + 0.5
    count = 3000
    mean_draws = draws(problem, w, m, np.random.default_rng(m), "mean", count)
    standard_error = mean_draws.std(axis=0, ddof=1) / np.sqrt(count)
    assert np.all(np.abs(mean_draws.mean(axis=0) - problem.grad(w)) < 4 * standard_error + 1e-15)

    # "sum" rescales the same minibatch sum by N/m: an estimate of grad_sum
    sum_draws = draws(problem, w, m, np.random.default_rng(m), "sum", count)
    np.testing.assert_allclose(sum_draws, problem.N * mean_draws, rtol=1e-12, atol=1e-12)
    standard_error = sum_draws.std(axis=0, ddof=1) / np.sqrt(count)
    assert np.all(np.abs(sum_draws.mean(axis=0) - problem.grad_sum(w)) < 4 * standard_error + 1e-12)


def test_full_batch_is_the_full_gradient():
    problem = PROBLEMS["logistic-regression"]
    w = np.array([0.3, -0.2, 0.1])
    g = problem.minibatch_grad(w, problem.N, np.random.default_rng(0))
    np.testing.assert_allclose(g, problem.grad(w), rtol=1e-12)
    assert problem.minibatch_variance(w, problem.N) == 0.0


def test_minibatch_variance_falls_as_one_over_m():
    problem = P.LinearRegression.synthetic(200, 3, np.random.default_rng(11), kappa=4.0)
    w = np.zeros(3)
    sizes = np.array([1, 4, 16, 64])
    count = 4000
    measured = []
    for m in sizes:
        g = draws(problem, w, int(m), np.random.default_rng(int(m)), "mean", count)
        measured.append(np.mean(np.sum((g - problem.grad(w)) ** 2, axis=1)))
        exact = problem.minibatch_variance(w, int(m))
        assert measured[-1] == pytest.approx(exact, rel=0.12)
        # exactly the finite-population factor (N - m) / (m (N - 1)) times one example's
        one = problem.minibatch_variance(w, 1)
        assert exact == pytest.approx(one * (200 - m) / (m * 199), rel=1e-12)
        assert problem.minibatch_variance(w, int(m), "sum") == pytest.approx(200**2 * exact)
    slope = np.polyfit(np.log(sizes), np.log(measured), 1)[0]
    assert -1.2 < slope < -0.9  # about -1 (a little steeper: the (N - m) factor)


def test_oracle_drives_an_optimizer():
    problem = P.LinearRegression.synthetic(500, 2, np.random.default_rng(12))
    oracle = problem.oracle(10, np.random.default_rng(13))
    opt, w = SGD(lr=0.05), problem.x0
    for _ in range(400):
        w = opt.step(w, oracle)
    assert problem.f(w) - problem.f_star < 0.05
    # the same seed gives the same minibatches
    a = problem.oracle(5, np.random.default_rng(1))(w)
    b = problem.minibatch_grad(w, 5, np.random.default_rng(1))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("m", [0, -1, 81, 2.0, True, "4", None])
def test_bad_batch_sizes_are_rejected(m):
    problem = PROBLEMS["logistic-regression"]  # N = 80
    with pytest.raises(ValueError, match=r"^m must be an integer in 1\.\.80"):
        problem.minibatch_grad(problem.x0, m, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"^m "):
        problem.oracle(m, np.random.default_rng(0))


def test_bad_minibatch_arguments_are_rejected():
    problem = PROBLEMS["linear-regression"]
    with pytest.raises(ValueError, match=r"^reduction "):
        problem.minibatch_grad(problem.x0, 2, np.random.default_rng(0), reduction="avg")
    with pytest.raises(ValueError, match=r"^rng "):
        problem.oracle(2, 42)
    with pytest.raises(ValueError, match=r"^rng "):
        problem.sample_indices(2, None)
    with pytest.raises(ValueError, match=r"^w must have shape"):
        problem.minibatch_grad(np.zeros((2, 3)), 2, np.random.default_rng(0))


def test_sample_indices_are_distinct():
    problem = PROBLEMS["linear-regression"]
    idx = problem.sample_indices(problem.N, np.random.default_rng(0))
    assert sorted(idx.tolist()) == list(range(problem.N))


def test_bad_data_sets_are_rejected():
    X = np.ones((5, 2))
    with pytest.raises(ValueError, match=r"^X "):
        P.LinearRegression(np.ones(5), np.ones(5))
    with pytest.raises(ValueError, match=r"^y "):
        P.LinearRegression(X, np.ones(4))
    with pytest.raises(ValueError, match=r"^y "):
        P.LogisticRegression(X, np.array([0, 1, 2, 0, 1]))
    with pytest.raises(ValueError, match=r"^l2 "):
        P.LogisticRegression(X, np.array([0, 1, 1, 0, 1]), l2=-1.0)
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"^kappa "):
        P.LinearRegression.synthetic(10, 2, rng, kappa=0.5)
    with pytest.raises(ValueError, match=r"^w_true "):
        P.LogisticRegression.synthetic(10, 2, rng, w_true=[1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match=r"^noise_std "):
        P.LinearRegression.synthetic(10, 2, rng, noise_std=-1.0)
    with pytest.raises(ValueError, match=r"^N "):
        P.LinearRegression.synthetic(0, 2, rng)
    with pytest.raises(ValueError, match=r"^rng "):
        P.LinearRegression.synthetic(10, 2, rng=1)


# --- the true risk --------------------------------------------------------------------


def test_risk_is_unknown_for_a_problem_built_from_data():
    problem = P.LinearRegression(np.eye(3), np.ones(3))
    with pytest.raises(ValueError, match=r"^risk: .*built from data"):
        problem.risk(np.zeros(3))
    logistic = P.LogisticRegression(np.eye(3), np.array([0.0, 1.0, 0.0]), l2=0.1)
    with pytest.raises(ValueError, match=r"^risk: "):
        logistic.zero_one_risk(np.zeros(3))


def fresh_samples(problem, count, seed):
    """New examples from the problem's recorded distribution."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((count, problem.dim)) * np.sqrt(np.diag(problem.Sigma))
    return X, rng


def test_linear_regression_risk_matches_monte_carlo():
    problem = P.LinearRegression.synthetic(100, 3, np.random.default_rng(14), kappa=10.0)
    X, rng = fresh_samples(problem, 10**6, 15)
    y = X @ problem.w_true + problem.noise_std * rng.standard_normal(len(X))
    assert problem.risk(problem.w_true) == problem.bayes_risk == 0.125
    for w in [problem.w_true, problem.x_star, np.zeros(3), np.array([2.0, -1.0, 0.5])]:
        losses = (X @ w - y) ** 2 / 2
        standard_error = losses.std() / np.sqrt(len(losses))
        assert abs(problem.risk(w) - losses.mean()) < 4 * standard_error
    assert problem.risk(problem.x_star) > problem.bayes_risk


def test_logistic_risks_match_monte_carlo():
    problem = P.LogisticRegression.synthetic(400, 3, np.random.default_rng(16), kappa=5.0)
    X, rng = fresh_samples(problem, 10**6, 17)
    y = (rng.random(len(X)) < 1 / (1 + np.exp(-(X @ problem.w_true)))).astype(float)
    candidates = [problem.w_true, problem.x_star, -problem.w_true, np.array([1.0, -2.0, 0.5])]
    for w in candidates:
        z = X @ w
        log_losses = np.logaddexp(0, z) - y * z
        errors = (z > 0) != (y > 0)
        for exact, sample in [(problem.risk(w), log_losses), (problem.zero_one_risk(w), errors)]:
            standard_error = sample.std() / np.sqrt(len(sample))
            assert abs(exact - sample.mean()) < 4 * standard_error
    w = np.zeros(3)
    assert problem.risk(w) == pytest.approx(np.log(2), rel=1e-13)
    assert problem.zero_one_risk(w) == pytest.approx(0.5, abs=1e-13)
    assert problem.bayes_risk == problem.risk(problem.w_true) < problem.risk(problem.x_star)
    # the best rule errs on about 16% (the default logit has standard deviation 3)
    assert 0.15 < problem.zero_one_risk(problem.w_true) < 0.17


def test_logistic_risk_quadrature_against_a_brute_force_integral():
    """Accurate far beyond Monte Carlo: a fine 2-D grid over the two logits, no Stein."""
    problem = P.LogisticRegression.synthetic(200, 2, np.random.default_rng(18), kappa=3.0)
    sd_s = np.sqrt(problem.w_true @ problem.Sigma @ problem.w_true)
    u = np.linspace(-9, 9, 1801)  # standard normal coordinates, step 0.01
    weight = np.exp(-(u**2) / 2) * (u[1] - u[0]) / np.sqrt(2 * np.pi)
    U, T = np.meshgrid(u, u, indexing="ij")
    Wgt = np.outer(weight, weight)
    for w in [np.array([0.4, -1.3]), problem.w_true + np.array([0.2, 0.0]), np.array([-3.0, 1.0])]:
        sd_z = np.sqrt(w @ problem.Sigma @ w)
        cosine = (w @ problem.Sigma @ problem.w_true) / (sd_z * sd_s)
        z = sd_z * U
        s = sd_s * (cosine * U + np.sqrt(1 - cosine**2) * T)
        p = 1 / (1 + np.exp(-s))
        expected = np.sum(Wgt * (np.logaddexp(0, z) - p * z))
        assert problem.risk(w) == pytest.approx(expected, abs=1e-9)
        # misclassification: P(u <= 0 | v) in closed form via torch's normal CDF
        v = u
        cut = torch.special.ndtr(t64(-v * cosine / np.sqrt(1 - cosine**2))).numpy()
        p = 1 / (1 + np.exp(-sd_s * v))
        expected = np.sum(weight * (p * cut + (1 - p) * (1 - cut)))
        assert problem.zero_one_risk(w) == pytest.approx(expected, abs=1e-9)


# --- two spirals ----------------------------------------------------------------------


def test_two_spirals():
    X, y = P.two_spirals(301, np.random.default_rng(19))
    assert X.shape == (301, 2) and y.shape == (301,)
    assert set(np.unique(y).tolist()) == {0, 1} and abs(int(y.sum()) - 150) <= 1
    X2, y2 = P.two_spirals(301, np.random.default_rng(19))
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    # without noise, every point lies on its class's spiral: angle = 2 pi r + pi y (mod 2 pi)
    X, y = P.two_spirals(200, np.random.default_rng(20), noise=0.0, turns=2.0)
    radius = np.linalg.norm(X, axis=1)
    assert radius.max() <= 2.0
    angle = np.arctan2(X[:, 1], X[:, 0])
    offset = np.angle(np.exp(1j * (angle - 2 * np.pi * radius / 2.0 * 2.0 - np.pi * y)))
    np.testing.assert_allclose(offset, 0, atol=1e-9)
    # no line through the origin separates them: logistic regression stays near chance
    X, y = P.two_spirals(400, np.random.default_rng(21))
    linear = P.LogisticRegression(X, y)
    assert linear.zero_one_loss(linear.x_star) > 0.3
    for bad in [{"N": 0}, {"noise": -0.1}, {"turns": 0.0}]:
        args = {"N": 10, "rng": np.random.default_rng(0), **bad}
        with pytest.raises(ValueError, match=rf"^{next(iter(bad))} "):
            P.two_spirals(**args)


# --- the base class and read-only data ---------------------------------------------------


def test_base_class_has_no_hessian_and_problem_data_are_read_only():
    with pytest.raises(NotImplementedError, match="Hessian"):
        P.Problem().hess(np.zeros(2))
    q = P.Quadratic.with_condition_number(10)
    with pytest.raises(ValueError, match="read-only"):
        q.x0[0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        PROBLEMS["linear-regression"].X[0, 0] = 1.0
    assert "kappa=10" in q.name and repr(q).startswith("<Quadratic")


# --- the limit of with_condition_number is float64's, not positive definiteness ------------


@pytest.mark.parametrize("dim", [2, 3, 10, 50])
@pytest.mark.parametrize("kappa", [1e16, 1e300, "limit * 1.01"])
def test_a_condition_number_float64_cannot_hold_names_kappa_and_its_range(dim, kappa):
    """kappa = 1e16 used to report "A must be positive definite"."""
    limit = 1 / (10 * dim * np.finfo(np.float64).eps)
    kappa = limit * 1.01 if isinstance(kappa, str) else kappa
    message = rf"^kappa must be a finite number in \[1, .*\] = \[1, {re.escape(f'{limit:.3g}')}\]"
    with pytest.raises(ValueError, match=message):
        P.Quadratic.with_condition_number(kappa, dim=dim)


@settings(max_examples=40, deadline=None)
@given(dim=st.integers(2, 40), seed=st.integers(0, 2**32 - 1), fraction=st.floats(0.0, 1.0))
def test_every_condition_number_up_to_the_limit_is_built(dim, seed, fraction):
    """Up to 1 / (10 dim eps), any rotation gives a positive definite A with that kappa."""
    limit = 1 / (10 * dim * np.finfo(np.float64).eps)
    kappa = limit**fraction
    problem = P.Quadratic.with_condition_number(kappa, dim=dim, rng=np.random.default_rng(seed))
    assert problem.kappa == pytest.approx(kappa, rel=1e-12)
    assert np.linalg.eigvalsh(problem.A)[0] > 0


@pytest.mark.parametrize(
    ("A", "match"),
    [
        (np.diag([1.0, -1.0]), r"^A must be positive definite; its smallest eigenvalue is -1"),
        (np.diag([1.0, 0.0]), r"^A must be positive definite; its smallest eigenvalue is 0"),
        (np.diag([1.0, 1e-17]), r"^A must be well enough conditioned for float64.*1e\+17"),
    ],
)
def test_a_matrix_that_is_not_positive_definite_or_too_ill_conditioned(A, match):
    with pytest.raises(ValueError, match=match):
        P.Quadratic(A)

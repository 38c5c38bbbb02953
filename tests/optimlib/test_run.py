"""The run loop: what ``minimize`` records in a History, and how runs stop.

The problems are defined here (a rotated 2-D quadratic, a small least-squares finite sum)
so that these tests depend on nothing but the loop, the optimizers and the clipping.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import optimlib as ol
from optimlib import schedules as sch
from optimlib.clipping import clipped, norm


class Quadratic:
    """f(x) = 1/2 (x - x*)^T A (x - x*) + f*, A with eigenvalues mu and L, rotated by angle."""

    def __init__(self, mu=1.0, L=10.0, angle=0.3, x_star=(1.0, -2.0), f_star=0.5, x0=(4.0, 3.0)):
        c, s = math.cos(angle), math.sin(angle)
        rotation = np.array([[c, -s], [s, c]])
        self.A = rotation @ np.diag([mu, L]) @ rotation.T
        self.mu, self.L = mu, L
        self.x_star = np.array(x_star, dtype=float)
        self.f_star = f_star
        self.x0 = np.array(x0, dtype=float)

    def f(self, x):
        d = np.asarray(x, dtype=float) - self.x_star
        with np.errstate(over="ignore", invalid="ignore"):  # warnings here are not optimlib's
            return 0.5 * float(d @ self.A @ d) + self.f_star

    def grad(self, x):
        with np.errstate(over="ignore", invalid="ignore"):
            return self.A @ (np.asarray(x) - self.x_star)


class Unknown:
    """A problem whose minimizer and optimal value are not known: only f, grad and x0."""

    x0 = np.array([1.0, -1.0])

    def f(self, x):
        return float(np.sum(np.cosh(x)))

    def grad(self, x):
        return np.sinh(x)


class LeastSquares:
    """f(w) = 1/(2N) ||X w - y||^2, a finite sum of N terms; minibatches from oracle(m, rng)."""

    def __init__(self, N=64, d=3, seed=0):
        rng = np.random.default_rng(seed)
        self.N = N
        self.X = rng.normal(size=(N, d))
        self.y = self.X @ rng.normal(size=d) + 0.1 * rng.normal(size=N)
        self.x0 = np.zeros(d)
        self.x_star = np.linalg.lstsq(self.X, self.y, rcond=None)[0]
        self.f_star = self.f(self.x_star)
        self.oracle_calls = 0

    def f(self, w):
        r = self.X @ w - self.y
        return 0.5 * float(r @ r) / self.N

    def grad(self, w):
        return self.X.T @ (self.X @ w - self.y) / self.N

    def oracle(self, m, rng):
        def minibatch_grad(w):
            self.oracle_calls += 1
            rows = rng.choice(self.N, size=m, replace=False)
            Xb, yb = self.X[rows], self.y[rows]
            return Xb.T @ (Xb @ w - yb) / m

        return minibatch_grad


def by_hand(optimizer, grad_fn, x0, steps):
    """The iterates of ``optimizer`` stepped directly, without the run loop."""
    theta = np.array(x0, dtype=float)
    thetas = [theta]
    for _ in range(steps):
        theta = optimizer.step(theta, grad_fn)
        thetas.append(theta)
    return np.array(thetas)


OPTIMIZERS = {
    "sgd": lambda: ol.SGD(lr=0.05),
    "sgd-schedule": lambda: ol.SGD(lr=sch.linear_decay(0.1, 0.01, 10)),
    "momentum": lambda: ol.Momentum(lr=0.02, alpha=0.8),
    "nesterov": lambda: ol.Nesterov(lr=sch.inverse_time(0.05, k0=5.0), alpha=0.7),
    "adagrad": lambda: ol.AdaGrad(lr=0.5),
    "rmsprop": lambda: ol.RMSProp(lr=0.05),
    "adam": lambda: ol.Adam(lr=0.1, delta_in_sqrt=False),
}


# --- a converging run --------------------------------------------------------------------


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_converging_run_records_the_trajectory_bit_for_bit(name):
    problem, steps = Quadratic(), 25
    x0_before = problem.x0.copy()
    opt = OPTIMIZERS[name]()
    h = ol.minimize(problem, opt, steps)

    assert h.stop_reason == "max_steps"
    assert h.diverged_at is None and not h.diverged
    assert h.steps == steps
    assert len(h.losses) == steps + 1
    assert len(h.grad_norms) == len(h.lrs) == steps
    assert h.thetas.shape == (steps + 1, 2)
    assert h.label == repr(opt)
    assert h.summary() == f"{opt!r}: {steps} steps, final loss {h.final_loss:.6g}"

    expected = by_hand(OPTIMIZERS[name](), problem.grad, problem.x0, steps)
    np.testing.assert_array_equal(h.thetas, expected)
    np.testing.assert_array_equal(h.theta, expected[-1])
    np.testing.assert_array_equal(h.losses, [problem.f(t) for t in expected])
    assert h.losses[0] == problem.f(problem.x0)
    assert h.final_loss == h.losses[-1]

    # the optimizer was left where the run ended
    assert opt.k == steps

    # the loop never writes into the problem's x0, and thetas[0] is a copy
    np.testing.assert_array_equal(problem.x0, x0_before)
    assert not np.shares_memory(h.thetas, problem.x0)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_grad_norms_and_lrs_belong_to_each_step(name):
    problem, steps = Quadratic(), 20
    opt = OPTIMIZERS[name]()
    h = ol.minimize(problem, opt, steps)
    fresh = OPTIMIZERS[name]()
    np.testing.assert_array_equal(h.lrs, [fresh.lr_at(k) for k in range(steps)])
    if name in ("sgd", "sgd-schedule", "adagrad", "rmsprop", "adam"):
        # gradients taken at theta_k itself (Nesterov looks ahead, Momentum is checked below);
        # the loop's overflow-safe norm may differ from np.linalg.norm in the last ulp
        gradients = [problem.grad(t) for t in h.thetas[:-1]]
        np.testing.assert_array_equal(h.grad_norms, [norm(g) for g in gradients])
        np.testing.assert_allclose(
            h.grad_norms, [np.linalg.norm(g) for g in gradients], rtol=1e-15, atol=0
        )
    assert np.all(h.grad_norms > 0)


def test_lrs_follow_a_schedule_through_tau_and_beyond():
    schedule = sch.linear_decay(0.08, 0.008, 12)
    h = ol.minimize(Quadratic(), ol.Momentum(lr=schedule, alpha=0.5), 30)
    np.testing.assert_array_equal(h.lrs, schedule(np.arange(30)))
    assert h.lrs[0] == 0.08
    assert np.all(h.lrs[12:] == 0.008)


def test_grad_evals_count_the_oracle_calls():
    problem = Quadratic()
    calls = []

    def grad_fn(theta):
        calls.append(1)
        return problem.grad(theta)

    for opt in (ol.SGD(lr=0.05), ol.Nesterov(lr=0.02, alpha=0.9), ol.Adam(lr=0.1)):
        calls.clear()
        h = ol.minimize(problem, opt, 17, grad_fn=grad_fn)
        assert len(calls) == 17
        assert h.grad_evals == 17
        assert h.examples == 17  # a problem without N counts one example per call


def test_examples_of_full_gradients_on_a_finite_sum():
    problem = LeastSquares(N=64)
    h = ol.minimize(problem, ol.SGD(lr=0.1), 12)
    assert h.grad_evals == 12
    assert h.examples == 12 * 64
    assert problem.oracle_calls == 0  # no batch_size: the full gradient


def test_float32_x0_gives_a_float32_run():
    problem = Quadratic()
    h = ol.minimize(problem, ol.SGD(lr=0.05), 10, x0=problem.x0.astype(np.float32))
    assert h.thetas.dtype == np.float32
    assert h.losses.dtype == np.float64
    np.testing.assert_allclose(h.losses, ol.minimize(problem, ol.SGD(lr=0.05), 10).losses, 1e-5)


def test_integer_x0_and_explicit_x0():
    problem = Quadratic()
    h = ol.minimize(problem, ol.SGD(lr=0.05), 3, x0=[2, 1])
    assert h.thetas.dtype == np.float64
    np.testing.assert_array_equal(h.thetas[0], [2.0, 1.0])
    assert h.losses[0] == problem.f(np.array([2.0, 1.0]))


def test_zero_steps_and_bad_steps():
    problem = Quadratic()
    h = ol.minimize(problem, ol.SGD(lr=0.1), 0)
    assert h.steps == 0 and h.grad_evals == 0 and h.examples == 0
    assert h.losses.tolist() == [problem.f(problem.x0)]
    assert h.grad_norms.shape == h.lrs.shape == (0,)
    assert h.stop_reason == "max_steps"
    for steps in (-1, 2.5, None):
        with pytest.raises(ValueError, match=r"^steps must be"):
            ol.minimize(problem, ol.SGD(lr=0.1), steps)


def test_iterates_are_not_recorded_for_large_problems_or_on_request():
    class Big:
        x0 = np.ones(ol.run.RECORD_ITERATES_UP_TO + 1)

        def f(self, x):
            return 0.5 * float(x @ x)

        def grad(self, x):
            return x

    h = ol.minimize(Big(), ol.SGD(lr=0.5), 3)
    assert h.thetas is None and h.theta is None
    assert h.losses.tolist() == pytest.approx([0.5 * Big.x0.size * 0.25**k for k in range(4)])

    h = ol.minimize(Quadratic(), ol.SGD(lr=0.05), 3, record_iterates=False)
    assert h.thetas is None
    with pytest.raises(ValueError, match="recorded iterates"):
        h.distances()
    h.loss_gaps()  # f_star is still known


# --- stopping on a tolerance -------------------------------------------------------------


def test_tolerance_stops_early_and_steps_to_agrees():
    problem, tol = Quadratic(), 1e-8
    h = ol.minimize(problem, ol.SGD(lr=1 / problem.L), 10_000, tol=tol)
    gaps = h.loss_gaps()
    assert h.stop_reason == "tolerance"
    assert not h.diverged
    assert 0 < h.steps < 10_000
    assert gaps[-1] <= tol < gaps[-2]
    assert h.steps_to(tol) == h.steps
    assert h.grad_evals == h.steps  # no gradient is spent after reaching the tolerance
    np.testing.assert_array_equal(gaps, h.losses - problem.f_star)

    # steps_to finds the first crossing for any other tolerance, and None if never
    for other in (1e-1, 1e-3, 1e-6):
        k = h.steps_to(other)
        assert gaps[k] <= other
        assert np.all(gaps[:k] > other)
    assert h.steps_to(1e-30) is None
    k = h.steps_to(1e-3, measure="distance")
    assert h.distances()[k] <= 1e-3 < h.distances()[k - 1]
    assert h.steps_to(problem.f_star + 1e-4, measure="loss") == h.steps_to(1e-4)

    # the same run with exactly that budget ends on the tolerance, not on max_steps
    exact = ol.minimize(problem, ol.SGD(lr=1 / problem.L), h.steps, tol=tol)
    assert exact.stop_reason == "tolerance"
    np.testing.assert_array_equal(exact.losses, h.losses)
    shorter = ol.minimize(problem, ol.SGD(lr=1 / problem.L), h.steps - 1, tol=tol)
    assert shorter.stop_reason == "max_steps"


def test_tolerance_already_met_at_x0():
    problem = Quadratic()
    h = ol.minimize(problem, ol.SGD(lr=0.1), 50, x0=problem.x_star, tol=1e-12)
    assert h.stop_reason == "tolerance"
    assert h.steps == 0 and h.grad_evals == 0


def test_tolerance_needs_f_star_and_a_positive_value():
    with pytest.raises(ValueError, match="tol"):
        ol.minimize(Unknown(), ol.SGD(lr=0.1), 5, tol=1e-6)
    for tol in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match=r"^tol must be"):
            ol.minimize(Quadratic(), ol.SGD(lr=0.1), 5, tol=tol)


# --- divergence is recorded, not raised --------------------------------------------------


def diverging_sgd_run(steps=5000):
    problem = Quadratic(mu=1.0, L=10.0)
    lr = 2.5 / problem.L  # |1 - lr L| = 1.5 > 1 along the steep direction
    return problem, lr, ol.minimize(problem, ol.SGD(lr=lr), steps)


def test_sgd_beyond_two_over_L_diverges_and_is_recorded():
    problem, lr, h = diverging_sgd_run()

    assert h.diverged
    assert h.stop_reason == "diverged"
    assert isinstance(h.diverged_at, int)
    assert 100 < h.steps < 5000
    assert h.diverged_at == h.steps  # step k = steps, from the last recorded theta, failed
    assert np.all(np.isfinite(h.losses))
    assert np.all(np.isfinite(h.thetas))
    assert len(h.grad_norms) == len(h.lrs) == h.steps
    assert len(h.thetas) == len(h.losses)
    assert h.summary() == f"{h.label}: diverged at step {h.diverged_at}"
    # the recorded part is the trajectory of SGD, and it blows up at the predicted rate
    expected = by_hand(ol.SGD(lr=lr), problem.grad, problem.x0, h.steps)
    np.testing.assert_array_equal(h.thetas, expected)
    assert h.losses[-1] > 1e250
    assert h.rate(start=h.steps // 2, measure="loss_gap") == pytest.approx(1.5**2, rel=1e-9)
    assert h.rate(start=h.steps // 2) == pytest.approx(1.5, rel=1e-9)


def robust_norm(g):
    """||g|| without overflow: scale by the largest entry first."""
    scale = np.max(np.abs(g))
    return 0.0 if scale == 0 else float(scale * np.linalg.norm(g / scale))


def test_recorded_grad_norms_are_finite_when_the_gradients_are():
    """||g|| beyond ~1.3e154 overflows a plain sum of squares, but not the recorded norm."""
    problem, _, h = diverging_sgd_run()
    true_norms = [robust_norm(problem.grad(t)) for t in h.thetas[:-1]]
    assert np.all(np.isfinite(true_norms))
    # the diverging run does reach the range where the sum of squares overflows
    assert max(true_norms) > math.sqrt(np.finfo(np.float64).max)
    np.testing.assert_allclose(h.grad_norms, true_norms, rtol=1e-12)


def test_max_loss_stops_the_run():
    problem = Quadratic(mu=1.0, L=10.0)
    lr = 2.5 / problem.L
    max_loss = 1e3 * problem.f(problem.x0)
    h = ol.minimize(problem, ol.SGD(lr=lr), 5000, max_loss=max_loss)
    assert h.stop_reason == "max_loss"  # told apart from a non-finite divergence
    assert h.diverged
    assert 0 < h.steps < 100
    assert h.diverged_at == h.steps  # step k = steps, from the last recorded theta, failed
    assert len(h.grad_norms) == len(h.lrs) == h.steps
    assert h.grad_evals == h.steps + 1  # the refused step did evaluate its gradient
    assert np.all(h.losses <= max_loss)
    assert h.summary() == f"{h.label}: diverged at step {h.diverged_at}"
    # the next iterate, the one refused, is above max_loss (and finite)
    opt = ol.SGD(lr=lr)
    refused = problem.f(opt.step(h.theta, problem.grad))
    assert max_loss < refused < math.inf
    # the recorded part is the same as that of the run without max_loss
    _, _, unbounded = diverging_sgd_run()
    np.testing.assert_array_equal(h.thetas, unbounded.thetas[: h.steps + 1])

    # a converging run never triggers it
    ok = ol.minimize(problem, ol.SGD(lr=0.05), 50, max_loss=max_loss)
    assert ok.stop_reason == "max_steps"
    assert not ok.diverged


def test_x0_above_max_loss_stops_before_any_step():
    """x0 itself above max_loss: nothing is evaluated (no gradient, no step)."""
    problem = Quadratic(mu=1.0, L=10.0)
    calls = []
    h0 = ol.minimize(
        problem,
        ol.SGD(lr=0.05),
        10,
        max_loss=problem.f(problem.x0) / 2,
        grad_fn=lambda t: calls.append(1) or problem.grad(t),
    )
    assert h0.diverged_at == 0 and h0.steps == 0
    assert h0.grad_evals == 0 and calls == []


@pytest.mark.parametrize("max_loss", [math.nan, math.inf, "big"])
def test_bad_max_loss(max_loss):
    with pytest.raises(ValueError, match=r"^max_loss must be"):
        ol.minimize(Quadratic(), ol.SGD(lr=0.1), 5, max_loss=max_loss)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_a_non_finite_gradient_is_divergence_at_that_step(bad):
    problem = Quadratic()
    calls = []

    def grad_fn(theta):
        calls.append(1)
        g = problem.grad(theta)
        if len(calls) == 4:  # the gradient of step 3, at theta_3
            g[1] = bad
        return g

    opt = ol.Momentum(lr=0.02, alpha=0.9)
    h = ol.minimize(problem, opt, 10, grad_fn=grad_fn)
    assert h.diverged_at == 3
    assert h.stop_reason == "diverged"
    assert h.steps == 3
    assert len(h.losses) == 4 and np.all(np.isfinite(h.losses))
    assert len(h.grad_norms) == len(h.lrs) == 3
    assert h.grad_evals == 4  # the bad gradient was evaluated
    # the optimizer's state is the one after three good steps
    reference = ol.Momentum(lr=0.02, alpha=0.9)
    np.testing.assert_array_equal(h.thetas, by_hand(reference, problem.grad, problem.x0, 3))
    assert opt.k == 3
    np.testing.assert_array_equal(opt.state["v"], reference.state["v"])


class Scalar:
    """f(x) = x^2 / 2 in one dimension: easy to drive to overflow."""

    f_star = 0.0
    x_star = np.zeros(1)

    def __init__(self, x0):
        self.x0 = np.array([x0])

    def f(self, x):
        with np.errstate(over="ignore"):
            return 0.5 * float(x @ x)

    def grad(self, x):
        return np.array(x, dtype=float)


def test_diverged_at_is_the_same_whether_theta_or_its_loss_overflows():
    """Step 0 fails either way: theta_1 = 1 - 1e200 is finite but f(theta_1) overflows;
    theta_1 = 1e150 - 1e350 overflows itself (a DivergenceError inside the loop)."""
    loss_overflow = ol.minimize(Scalar(1.0), ol.SGD(lr=1e200), 5)
    theta_overflow = ol.minimize(Scalar(1e150), ol.SGD(lr=1e200), 5)
    for h in (loss_overflow, theta_overflow):
        assert h.diverged
        assert h.diverged_at == 0
        assert h.stop_reason == "diverged"
        assert len(h.losses) == len(h.thetas) == 1
        assert h.grad_norms.shape == h.lrs.shape == (0,)
        assert h.grad_evals == 1


@pytest.mark.parametrize("loss_at_x0", [math.nan, math.inf, -math.inf])
def test_a_non_finite_loss_at_x0_is_an_error_naming_x0(loss_at_x0):
    class Broken(Scalar):
        def f(self, x):
            return loss_at_x0

    calls = []
    with pytest.raises(ValueError, match=r"^x0"):
        ol.minimize(Broken(1.0), ol.SGD(lr=0.1), 5, grad_fn=lambda t: calls.append(1) or t)
    assert calls == []


@pytest.mark.parametrize("case", ["gradient norm overflows", "theta overflows"])
def test_a_diverging_run_does_not_warn(case):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the problems here never warn themselves
        if case == "theta overflows":
            h = ol.minimize(Scalar(1e150), ol.SGD(lr=1e200), 5)
        else:
            _, _, h = diverging_sgd_run()
    assert h.diverged


# --- clipping on a cliff -----------------------------------------------------------------


def test_clipping_by_norm_bounds_the_step_on_a_cliff():
    cliff = Quadratic(mu=1.0, L=1e4, x0=(3.0, 2.0))  # gradients up to ~2e4 at x0
    lr, max_norm, steps = 0.1, 1.0, 200

    plain = ol.minimize(cliff, ol.SGD(lr=lr), steps)
    assert plain.diverged  # lr L = 1000: flung away without clipping

    h = ol.minimize(cliff, ol.SGD(lr=lr), steps, max_norm=max_norm)
    assert not h.diverged and h.steps == steps
    step_lengths = np.linalg.norm(np.diff(h.thetas, axis=0), axis=1)
    assert np.all(step_lengths <= lr * max_norm * (1 + 1e-12))
    # the recorded norms are the raw ones, before clipping
    raw = [cliff.grad(t) for t in h.thetas[:-1]]
    np.testing.assert_array_equal(h.grad_norms, [norm(g) for g in raw])
    np.testing.assert_allclose(h.grad_norms, [np.linalg.norm(g) for g in raw], rtol=1e-15, atol=0)
    assert h.grad_norms[0] > 1e3 * max_norm
    # steps where the raw gradient was above the threshold have length exactly lr max_norm
    above = h.grad_norms > max_norm
    np.testing.assert_allclose(step_lengths[above], lr * max_norm, rtol=1e-12)
    # and the run is SGD on the clipped gradient
    expected = by_hand(ol.SGD(lr=lr), clipped(cliff.grad, max_norm=max_norm), cliff.x0, steps)
    np.testing.assert_array_equal(h.thetas, expected)
    assert h.final_loss < h.losses[0]


def test_clipping_by_value_bounds_each_coordinate_of_the_step():
    cliff = Quadratic(mu=1.0, L=1e4, x0=(3.0, 2.0))
    lr, clip_value = 0.1, 0.5
    h = ol.minimize(cliff, ol.SGD(lr=lr), 50, clip_value=clip_value)
    assert not h.diverged
    assert np.all(np.abs(np.diff(h.thetas, axis=0)) <= lr * clip_value * (1 + 1e-12))
    expected = by_hand(ol.SGD(lr=lr), clipped(cliff.grad, clip_value=clip_value), cliff.x0, 50)
    np.testing.assert_array_equal(h.thetas, expected)


@pytest.mark.parametrize("name", ["max_norm", "clip_value"])
@pytest.mark.parametrize("value", [0.0, -1.0, math.nan, math.inf])
def test_bad_clipping_thresholds_fail_before_the_run(name, value):
    calls = []
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        ol.minimize(
            Quadratic(),
            ol.SGD(lr=0.1),
            5,
            grad_fn=lambda t: calls.append(1) or t,
            **{name: value},
        )
    assert calls == []


# --- measured rates ----------------------------------------------------------------------


def test_gradient_descent_rate_matches_theory():
    problem = Quadratic(mu=1.0, L=10.0, angle=0.7)
    kappa = problem.L / problem.mu
    rho = (kappa - 1) / (kappa + 1)
    eps = 2 / (problem.mu + problem.L)
    h = ol.minimize(problem, ol.SGD(lr=eps), 40)

    # with eps = 2/(mu + L) both eigen-directions contract by exactly rho in size
    assert h.rate() == pytest.approx(rho, abs=1e-9)
    assert h.rate(start=10, stop=30) == pytest.approx(rho, abs=1e-9)
    ratios = h.distances()[1:] / h.distances()[:-1]
    np.testing.assert_allclose(ratios, rho, rtol=1e-9)
    # the loss gap contracts by rho^2
    assert h.rate(stop=30, measure="loss_gap") == pytest.approx(rho**2, abs=1e-9)
    np.testing.assert_allclose(
        h.distances(), np.linalg.norm(h.thetas - problem.x_star, axis=1), rtol=1e-15
    )

    # any other step size is slower
    for other in (0.8 * eps, 1.1 * eps):
        assert ol.minimize(problem, ol.SGD(lr=other), 40).rate() > rho + 1e-3


def test_rate_rejects_bad_ranges_and_measures():
    h = ol.minimize(Quadratic(), ol.SGD(lr=0.1), 10)
    for start, stop in ((5, 5), (6, 2), (-1, 4), (0, 11)):
        with pytest.raises(ValueError, match="rate"):
            h.rate(start, stop)
    with pytest.raises(ValueError, match="measure"):
        h.rate(measure="gradient")
    with pytest.raises(ValueError, match="measure"):
        h.steps_to(1e-3, measure="gap")


def test_distances_and_loss_gaps_need_x_star_and_f_star():
    h = ol.minimize(Unknown(), ol.SGD(lr=0.1), 10)
    assert h.f_star is None and h.x_star is None
    with pytest.raises(ValueError, match="f_star"):
        h.loss_gaps()
    with pytest.raises(ValueError, match="x_star"):
        h.distances()
    with pytest.raises(ValueError, match="f_star"):
        h.steps_to(1e-3)  # the default measure is the loss gap
    with pytest.raises(ValueError, match="x_star"):
        h.rate()  # the default measure is the distance
    # the loss itself is always available
    assert h.steps_to(h.losses[3], measure="loss") <= 3
    assert 0 < h.rate(measure="loss") < 1


# --- continuing a run --------------------------------------------------------------------


def test_reset_false_continues_a_run():
    def make():
        return ol.Momentum(lr=sch.linear_decay(0.05, 0.01, 8), alpha=0.8)

    problem = Quadratic()
    whole = ol.minimize(problem, make(), 14)

    opt = make()
    first = ol.minimize(problem, opt, 5)
    second = ol.minimize(problem, opt, 9, x0=first.theta, reset=False)
    np.testing.assert_array_equal(np.concatenate([first.thetas, second.thetas[1:]]), whole.thetas)
    np.testing.assert_array_equal(np.concatenate([first.losses, second.losses[1:]]), whole.losses)
    np.testing.assert_array_equal(np.concatenate([first.lrs, second.lrs]), whole.lrs)
    assert opt.k == 14

    # the default resets: velocity and schedule start again
    opt = make()
    first = ol.minimize(problem, opt, 5)
    restarted = ol.minimize(problem, opt, 9, x0=first.theta)
    assert restarted.lrs[0] == 0.05
    assert not np.array_equal(restarted.thetas[1:], whole.thetas[6:])


# --- minibatches -------------------------------------------------------------------------


def test_minibatch_run_uses_the_oracle_and_counts_examples():
    problem, steps, m = LeastSquares(N=64), 30, 8
    h = ol.minimize(problem, ol.SGD(lr=0.05), steps, batch_size=m, rng=np.random.default_rng(7))
    assert problem.oracle_calls == steps
    assert h.grad_evals == steps
    assert h.examples == steps * m
    # the losses are of the full objective, at the recorded iterates
    np.testing.assert_array_equal(h.losses, [problem.f(t) for t in h.thetas])
    # the iterates are SGD's with the same minibatches, drawn in the same order
    oracle = LeastSquares(N=64).oracle(m, np.random.default_rng(7))
    np.testing.assert_array_equal(h.thetas, by_hand(ol.SGD(lr=0.05), oracle, problem.x0, steps))
    assert h.final_loss < h.losses[0]


def test_minibatch_runs_are_reproducible_given_the_seed():
    problem = LeastSquares(N=64)

    def run(seed):
        return ol.minimize(
            problem, ol.Adam(lr=0.05), 25, batch_size=4, rng=np.random.default_rng(seed)
        )

    a, b, c = run(3), run(3), run(4)
    np.testing.assert_array_equal(a.thetas, b.thetas)
    np.testing.assert_array_equal(a.losses, b.losses)
    np.testing.assert_array_equal(a.grad_norms, b.grad_norms)
    assert not np.array_equal(a.thetas, c.thetas)


def test_minibatch_argument_errors():
    problem = LeastSquares(N=16)
    with pytest.raises(ValueError, match=r"^rng"):
        ol.minimize(problem, ol.SGD(lr=0.1), 5, batch_size=4)
    with pytest.raises(ValueError, match=r"^rng"):
        ol.minimize(problem, ol.SGD(lr=0.1), 5, batch_size=4, rng=123)
    with pytest.raises(ValueError, match=r"^batch_size"):
        ol.minimize(Quadratic(), ol.SGD(lr=0.1), 5, batch_size=4, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"^batch_size"):
        ol.minimize(
            problem,
            ol.SGD(lr=0.1),
            5,
            batch_size=4,
            rng=np.random.default_rng(0),
            grad_fn=problem.grad,
        )
    assert problem.oracle_calls == 0


# --- the edges of minimize and History ---------------------------------------------------


@pytest.mark.parametrize("x0", [np.ones(3), np.ones((4, 2)), np.ones((2, 1)), np.float64(1.0)])
def test_x0_of_the_wrong_shape_is_a_value_error_naming_x0(x0):
    """A stack of points (4, 2) made f return 4 losses and float() raise TypeError."""
    with pytest.raises(ValueError, match=r"^x0 must have shape \(2,\)"):
        ol.minimize(Quadratic(), ol.SGD(lr=0.1), 5, x0=x0)


def test_x0_of_a_problem_without_a_default_must_give_one_loss():
    class Bowl:
        def f(self, x):
            return np.sum(x**2, axis=-1)

        def grad(self, x):
            return 2 * x

    assert ol.minimize(Bowl(), ol.SGD(lr=0.1), 3, x0=np.ones(2)).steps == 3
    with pytest.raises(ValueError, match=r"^x0: the loss at x0 must be one number"):
        ol.minimize(Bowl(), ol.SGD(lr=0.1), 3, x0=np.ones((4, 2)))


@pytest.mark.parametrize("dtype", [np.float16, np.complex128])
def test_x0_of_an_unsupported_dtype_is_a_value_error_naming_x0(dtype):
    with pytest.raises(ValueError, match=r"^x0"):
        ol.minimize(Quadratic(), ol.SGD(lr=0.1), 5, x0=np.ones(2, dtype))


@pytest.mark.parametrize("optimizer", ["SGD", ol.SGD, None, lambda theta, g: theta])
def test_an_optimizer_that_is_not_one_is_a_value_error(optimizer):
    with pytest.raises(ValueError, match=r"^optimizer must be an optimlib optimizer"):
        ol.minimize(Quadratic(), optimizer, 5)


@pytest.mark.parametrize(
    ("name", "value"),
    [("record_iterates", "no"), ("record_iterates", 0), ("reset", "no"), ("reset", 1)],
)
def test_flags_must_be_true_or_false(name, value):
    """record_iterates="no" used to be taken as true."""
    opt = ol.SGD(lr=0.1)
    with pytest.raises(ValueError, match=rf"^{name} must be True or False"):
        ol.minimize(Quadratic(), opt, 5, **{name: value})
    assert opt.k == 0


def test_grad_fn_that_is_not_callable():
    with pytest.raises(ValueError, match=r"^grad_fn must be a callable"):
        ol.minimize(Quadratic(), ol.SGD(lr=0.1), 5, grad_fn=np.ones(2))


@pytest.mark.parametrize("tol", [math.nan, math.inf, None, "1e-3", 10**400])
def test_steps_to_needs_a_finite_tolerance(tol):
    """steps_to(nan) returned None: a tolerance that can never be met, silently."""
    h = ol.minimize(Quadratic(), ol.SGD(lr=0.1), 10)
    with pytest.raises(ValueError, match=r"^tol must be a finite number"):
        h.steps_to(tol)


def test_rate_of_a_run_started_at_its_minimizer_is_a_value_error_saying_so():
    """Every ratio e_(k+1)/e_k is 0/0: no rate, and no NaN with a RuntimeWarning."""
    problem = Quadratic()
    h = ol.minimize(problem, ol.SGD(lr=0.1), 10, x0=problem.x_star)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for measure in ("distance", "loss_gap"):
            with pytest.raises(ValueError, match=rf"^rate: the {measure} is 0 at step 0.*minimum"):
                h.rate(measure=measure)


def test_rate_of_a_run_that_reaches_its_minimizer_exactly_is_0():
    problem = ol.problems.Quadratic(np.eye(2), x0=[3.0, -1.0])
    h = ol.minimize(problem, ol.SGD(lr=1.0), 3)  # x_1 = x_0 - (I x_0 - 0) = 0 = x*, exactly
    assert h.distances()[1] == 0
    assert h.rate() == 0.0
    assert h.rate(0, 1) == 0.0


def test_rate_of_a_negative_error_is_a_value_error():
    """A loss gap below 0 (rounding, or a wrong f_star) would give NaN ** (1/n)."""
    h = ol.minimize(Quadratic(), ol.SGD(lr=0.1), 10)
    h.f_star = h.losses[5]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"^rate: the loss_gap must be >= 0"):
            h.rate(measure="loss_gap")


@pytest.mark.parametrize(("start", "stop"), [(1.5, 4), (0, 2.0), (True, 4), ("0", 4)])
def test_rate_needs_integer_steps(start, stop):
    h = ol.minimize(Quadratic(), ol.SGD(lr=0.1), 10)
    with pytest.raises(ValueError, match=r"^rate: st"):
        h.rate(start, stop)


# --- the rate estimator's options ------------------------------------------------------------


def test_rate_is_exact_on_exponentials_with_every_option():
    k = np.arange(300)
    for errors, rho in [(0.9**k, 0.9), (3 * 1.05 ** k[:100], 1.05)]:
        for options in [{}, {"skip": 0.5}, {"floor": 1e-10, "skip": 0.25, "envelope": True}]:
            assert ol.rate(errors, **options) == pytest.approx(rho, rel=1e-12), options


def test_rate_floor_ends_the_span_before_rounding_takes_over():
    """0.5^k falls below 1e-10 of its start at k = 34; after that the 'errors' are a
    constant 1e-13 of rounding, which would drag an unfloored rate towards 1."""
    errors = np.maximum(0.5 ** np.arange(200), 1e-13)
    assert ol.rate(errors, floor=1e-10) == pytest.approx(0.5, rel=1e-12)
    assert ol.rate(errors) > 0.85


def test_rate_envelope_is_robust_to_oscillation():
    """|cos| dips to 1e-3 of its size now and then; the envelope ignores the dips (the
    bound 2e-3 is the wobble of the window maxima of |cos(0.3 k + 0.4)|)."""
    k = np.arange(600)
    errors = 0.97**k * np.abs(np.cos(0.3 * k + 0.4))
    assert ol.rate(errors, floor=1e-10, skip=0.25, envelope=True) == pytest.approx(0.97, rel=2e-3)
    # the endpoints alone, ending in a dip (|cos| = 0.03 at k = 538), are off by 1%
    assert abs(ol.rate(errors, start=100, stop=538) / 0.97 - 1) > 5e-3


@pytest.mark.parametrize(
    ("errors", "options", "match"),
    [
        ([1.0], {}, "at least 2 finite values"),
        ([1.0, np.nan, 0.5], {}, "at least 2 finite values"),
        ([[1.0, 0.5]], {}, "1-D array"),
        ([1.0, 0.5, 0.25], {"skip": 1.0}, r"skip must be a fraction in \[0, 1\)"),
        ([1.0, 0.5, 0.25], {"floor": -1.0}, "floor must be"),
        ([1.0, 0.5, 0.25], {"envelope": True}, "too short for an envelope"),
        ([1.0, 0.5, 0.25], {"envelope": "yes"}, "envelope must be True or False"),
    ],
)
def test_bad_rate_arguments_are_value_errors(errors, options, match):
    with pytest.raises(ValueError, match=match):
        ol.rate(errors, **options)


def test_history_rate_passes_its_options_on():
    problem = Quadratic()
    h = ol.minimize(problem, ol.Momentum(lr=0.1, alpha=0.6), steps=300)
    assert h.rate(floor=1e-10, envelope=True) == ol.rate(h.distances(), floor=1e-10, envelope=True)


# --- recording the optimizer's state ---------------------------------------------------------


def test_record_state_keeps_the_state_after_every_step():
    problem = Quadratic()
    opt = ol.Adam(lr=0.05)
    h = ol.minimize(problem, opt, steps=25, record_state=("s", "r", "t"))
    assert set(h.states) == {"s", "r", "t"}
    assert h.states["s"].shape == h.states["r"].shape == (25, 2)
    np.testing.assert_array_equal(h.states["t"], np.arange(1, 26))
    for name in ("s", "r"):  # the last entry is the optimizer's state now, bit for bit
        np.testing.assert_array_equal(h.states[name][-1], opt.state[name])
    # and step k's state is the one a fresh optimizer holds after k + 1 steps
    again = ol.Adam(lr=0.05)
    theta = problem.x0
    for k in range(3):
        theta = again.step(theta, problem.grad)
        np.testing.assert_array_equal(h.states["r"][k], again.state["r"])
    assert ol.minimize(problem, ol.Adam(lr=0.05), steps=5).states == {}


def test_record_state_of_a_diverging_run_stops_with_the_iterates():
    h = ol.minimize(Quadratic(), ol.Momentum(lr=0.5, alpha=0.9), steps=500, record_state=("v",))
    assert h.diverged and len(h.states["v"]) == h.steps == len(h.lrs)
    assert np.isfinite(h.states["v"]).all()
    np.testing.assert_allclose(np.diff(h.thetas, axis=0), h.states["v"], rtol=1e-12)


@pytest.mark.parametrize(
    ("record_state", "match"),
    [("v", "tuple of state names"), ((1,), "tuple of state names"), (("r",), r"holds \['v'\]")],
)
def test_bad_record_state_is_a_value_error_and_changes_nothing(record_state, match):
    opt = ol.Momentum(lr=0.1, alpha=0.5)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        ol.minimize(Quadratic(), opt, steps=3, record_state=record_state)
    assert opt.state_dict() == before

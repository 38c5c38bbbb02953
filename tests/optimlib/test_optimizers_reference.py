"""float64 agreement of optimlib's optimizers with two independent references.

1. torch.optim. Both libraries take 300 steps on the same non-quadratic function

       f(x) = logsumexp(A x + b) + 1/4 sum (x - c)^4 + mu/2 ||x - c||^2

   from the same start. optimlib gets the gradient written out below in numpy; torch
   computes its own gradient by autograd at its own iterate. The two trajectories share
   nothing but the starting point.
2. The lecture's algorithm boxes for RMSProp (Goodfellow et al.'s Algorithm 8.5, delta
   inside the square root) and Adam (their Algorithm 8.7, which has delta outside, as the
   lecture writes it: inside, sqrt(r_hat + delta)), transcribed line by line in Python
   floats.

Then the two places of delta are compared: very different when r is small compared to
delta, the same to O(delta / sqrt(r)) when r is large.

Agreement to rounding is meaningful only where the iteration does not amplify rounding
errors. RMSProp and Adam with a constant step do not settle at the minimum: where r
forgets quickly (rho or rho2 = 0.9) and delta is small, r tracks g * g, a coordinate near
its optimum moves by about +-eps each step, and that hopping is chaotic (e.g. RMSProp with
rho = 0.9, delta = 1e-6, lr = 0.01 on this function amplifies a relative nudge of 1e-12
by ~1e10, so rounding differences of 1e-16 grow to 1e-2 between any two correct
implementations; with rho = 0.5, delta = 0.01 a transient period-2 oscillation amplifies
them ~100 times for a few dozen steps). Every comparison below therefore first measures
that amplification for its parameters (``assert_well_conditioned``), and the parameters
are chosen where it is at most ~3: a longer memory (rho >= 0.99) or a larger delta (0.1).
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest

from optimlib.optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSProp

# the independent reference: installed with the test tools, but not on every Python
torch = pytest.importorskip("torch")

STEPS = 300
DIM = 6
# Each step rounds a few times; on a well-conditioned run the trajectories stay within a
# few ulps of each other (observed: <= 1e-15), so 1e-13 leaves room for another BLAS.
RTOL = 1e-13
MAX_AMPLIFICATION = 10


# No test here may leave torch's global default dtype changed (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("torch_default_dtype_unchanged")


class LogSumExpQuartic:
    """f(x) = logsumexp(A x + b) + 1/4 sum (x - c)^4 + mu/2 ||x - c||^2, in two libraries."""

    def __init__(self, dim: int = DIM, terms: int = 9, mu: float = 0.5, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.A = rng.normal(scale=0.7, size=(terms, dim))
        self.b = rng.normal(size=terms)
        self.c = rng.uniform(0.5, 2.0, size=dim)  # the minimizer is well away from 0
        self.mu = mu
        self.x0 = self.c + rng.uniform(-1.5, 1.5, size=dim)

    def grad(self, x: np.ndarray) -> np.ndarray:
        """By hand: A^T softmax(A x + b) + (x - c)^3 + mu (x - c)."""
        z = self.A @ x + self.b
        p = np.exp(z - z.max())
        p /= p.sum()
        d = x - self.c
        return self.A.T @ p + d**3 + self.mu * d

    def torch_value(self, x: torch.Tensor) -> torch.Tensor:
        A, b, c = (torch.tensor(a, dtype=torch.float64) for a in (self.A, self.b, self.c))
        d = x - c
        return (
            torch.logsumexp(A @ x + b, dim=0) + 0.25 * (d**4).sum() + 0.5 * self.mu * (d**2).sum()
        )


PROBLEM = LogSumExpQuartic()


def inverse_time(k: int) -> float:
    """A schedule: eps_k = 0.08 / (1 + k / 50)."""
    return 0.08 / (1 + k / 50)


# --- running the two sides ---------------------------------------------------------------


def torch_trajectory(make_optimizer, lr_lambda=None) -> np.ndarray:
    """x_0, ..., x_STEPS of ``make_optimizer([x])``, with autograd's gradient at its own x."""
    x = torch.tensor(PROBLEM.x0, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([x])
    schedule = None if lr_lambda is None else torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    iterates = [x.detach().numpy().copy()]
    for _ in range(STEPS):
        opt.zero_grad()
        PROBLEM.torch_value(x).backward()
        opt.step()
        if schedule is not None:
            schedule.step()
        iterates.append(x.detach().numpy().copy())
    assert x.dtype == torch.float64
    return np.array(iterates)


def trajectory(make, grad_fn=PROBLEM.grad, x0=PROBLEM.x0, steps=STEPS, observe=None):
    """``observe(theta, opt)`` (default theta) at theta_0, ..., theta_steps of ``make()``."""
    observe = observe or (lambda theta, opt: theta)
    opt = make()
    theta = np.array(x0, dtype=np.float64)
    observed = [observe(theta, opt)]
    for _ in range(steps):
        theta = opt.step(theta, grad_fn)
        observed.append(observe(theta, opt))
    return np.array(observed)


def relative_difference(ours: np.ndarray, reference: np.ndarray) -> float:
    """max over k of ||ours_k - reference_k||_inf / ||reference_k||_inf."""
    assert ours.shape == reference.shape
    return float((np.abs(ours - reference).max(axis=1) / np.abs(reference).max(axis=1)).max())


def assert_well_conditioned(make, grad_fn=PROBLEM.grad, x0=PROBLEM.x0, steps=STEPS) -> None:
    """Rounding errors made at any step stay at rounding level (within a factor 10).

    Every 25 steps, a copy of the run (resumed through state_dict) is nudged by a relative
    1e-12 and run to the end; the largest relative difference it makes downstream, per
    1e-12, is the amplification. A chaotic stretch, even a transient one, shows up here.
    """
    opt, theta = make(), np.array(x0, dtype=np.float64)
    thetas, saved = [theta], {}
    for k in range(steps):
        if k % 25 == 0:
            saved[k] = opt.state_dict()
        theta = opt.step(theta, grad_fn)
        thetas.append(theta)
    thetas = np.array(thetas)

    def resumed(state):
        opt = make()
        opt.load_state_dict(state)
        return opt

    signs = np.random.default_rng(0).choice([-1.0, 1.0], size=thetas.shape[1])
    amplification = 0.0
    for k, state in saved.items():
        nudged_start = thetas[k] * (1 + 1e-12 * signs)
        nudged = trajectory(partial(resumed, state), grad_fn, nudged_start, steps - k)
        amplification = max(amplification, relative_difference(nudged, thetas[k:]) / 1e-12)
    assert amplification < MAX_AMPLIFICATION, (
        f"{make()} amplifies rounding errors by {amplification:.1e} on this problem: "
        f"no two implementations can agree to rounding here; choose other parameters"
    )


def assert_agree(ours: np.ndarray, reference: np.ndarray, rtol: float = RTOL) -> None:
    assert np.isfinite(reference).all()
    # the run must go somewhere, or agreement would be trivial
    assert np.abs(reference[-1] - reference[0]).max() > 0.5
    assert relative_difference(ours, reference) < rtol


# --- 1. against torch.optim --------------------------------------------------------------


def test_problem_gradient_is_autograd_gradient():
    rng = np.random.default_rng(1)
    for _ in range(5):
        x = PROBLEM.c + rng.normal(size=DIM)
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        PROBLEM.torch_value(xt).backward()
        np.testing.assert_allclose(PROBLEM.grad(x), xt.grad.numpy(), rtol=1e-13, atol=1e-14)


def test_sgd_constant_lr():
    make = partial(SGD, lr=0.05)
    assert_well_conditioned(make)
    reference = torch_trajectory(lambda p: torch.optim.SGD(p, lr=0.05, foreach=False))
    assert_agree(trajectory(make), reference)


def test_sgd_schedule_is_lambda_lr():
    """A schedule k -> eps_k is torch's LambdaLR with base lr 1: eps_k = 1 * lambda(k)."""
    make = partial(SGD, lr=inverse_time)
    assert_well_conditioned(make)
    reference = torch_trajectory(
        lambda p: torch.optim.SGD(p, lr=1.0, foreach=False), lr_lambda=inverse_time
    )
    assert_agree(trajectory(make), reference)
    # the schedule mattered: the constant eps_0 takes another path
    assert relative_difference(trajectory(partial(SGD, lr=inverse_time(0))), reference) > 1e-3


def test_momentum_is_torch_heavy_ball():
    """Heavy ball v <- alpha v - eps g; theta <- theta + v is torch's SGD(momentum=alpha).

    torch keeps a buffer b <- alpha b + g and updates p <- p - eps b (dampening 0). For a
    constant eps put v = -eps b: then v <- -eps (alpha b + g) = alpha v - eps g and
    p <- p + v, the heavy ball line for line from the same start (b = v = 0). The two
    differ only in where eps multiplies, that is in rounding. (With a schedule they are
    not the same method: torch's b does not carry the earlier eps_k.)
    """
    make = partial(Momentum, lr=0.02, alpha=0.9)
    assert_well_conditioned(make)
    reference = torch_trajectory(
        lambda p: torch.optim.SGD(p, lr=0.02, momentum=0.9, dampening=0, foreach=False)
    )
    assert_agree(trajectory(make), reference)


def test_nesterov_lookahead_is_torch_iterate():
    """torch's nesterov=True iterates the look-ahead point phi = theta + alpha v.

    With v = -eps b: phi' = theta' + alpha v' = phi - alpha v + (1 + alpha) v'
    = phi - eps (g(phi) + alpha b'), which is torch's p <- p - eps (g + alpha b').
    """
    alpha = 0.9
    make = partial(Nesterov, lr=0.02, alpha=alpha)
    assert_well_conditioned(make)
    reference = torch_trajectory(
        lambda p: torch.optim.SGD(
            p, lr=0.02, momentum=alpha, dampening=0, nesterov=True, foreach=False
        )
    )
    lookahead = trajectory(make, observe=lambda theta, opt: theta + alpha * opt.state.get("v", 0))
    assert_agree(lookahead, reference)
    # theta itself lags torch's iterate by alpha v, and the heavy ball is another method
    assert relative_difference(trajectory(make), reference) > 1e-4
    heavy_ball = trajectory(partial(Momentum, lr=0.02, alpha=alpha))
    assert relative_difference(heavy_ball, reference) > 1e-3


@pytest.mark.parametrize("delta", [1e-10, 1e-7, 0.1])
def test_adagrad(delta):
    """Algorithm 8.4 puts delta outside the root, where torch puts its eps."""
    make = partial(AdaGrad, lr=0.1, delta=delta)
    assert_well_conditioned(make)
    reference = torch_trajectory(
        lambda p: torch.optim.Adagrad(
            p, lr=0.1, lr_decay=0, initial_accumulator_value=0, eps=delta, foreach=False
        )
    )
    assert_agree(trajectory(make), reference)


@pytest.mark.parametrize(("rho", "delta"), [(0.99, 1e-8), (0.9, 0.1), (0.5, 0.1)])
def test_rmsprop_delta_outside_sqrt(rho, delta):
    make = partial(RMSProp, lr=0.01, rho=rho, delta=delta, delta_in_sqrt=False)
    assert_well_conditioned(make)
    reference = torch_trajectory(
        lambda p: torch.optim.RMSprop(
            p, lr=0.01, alpha=rho, eps=delta, centered=False, momentum=0, foreach=False
        )
    )
    assert_agree(trajectory(make), reference)


@pytest.mark.parametrize(
    ("rho1", "rho2", "delta"), [(0.9, 0.999, 1e-8), (0.0, 0.99, 1e-6), (0.5, 0.0, 0.1)]
)
def test_adam_delta_outside_sqrt(rho1, rho2, delta):
    make = partial(Adam, lr=0.01, rho1=rho1, rho2=rho2, delta=delta, delta_in_sqrt=False)
    assert_well_conditioned(make)
    reference = torch_trajectory(
        lambda p: torch.optim.Adam(p, lr=0.01, betas=(rho1, rho2), eps=delta, foreach=False)
    )
    assert_agree(trajectory(make), reference)


def test_adam_default_is_torchs():
    """Adam() is Kingma & Ba's, Algorithm 8.7's and torch.optim.Adam's form: delta outside
    the root (the lecture's sqrt(r_hat + delta) is delta_in_sqrt=True); the defaults
    rho1, rho2, delta are torch's betas and eps."""
    assert Adam().delta_in_sqrt is False
    make = partial(Adam, lr=0.01)
    reference = torch_trajectory(lambda p: torch.optim.Adam(p, lr=0.01, foreach=False))
    assert_agree(trajectory(make), reference)


# --- 2. against the lecture's algorithm boxes --------------------------------------------


def lecture_rmsprop(theta0, grad_fn, eps, rho, delta, steps):
    """Algorithm 8.5 as printed, one coordinate at a time: the iterates and the final r."""
    theta = [float(x) for x in theta0]
    r = [0.0] * len(theta)  # Initialize accumulation variables r = 0
    iterates = [list(theta)]
    for _ in range(steps):
        g = [float(gi) for gi in grad_fn(np.array(theta))]  # Compute gradient
        for i in range(len(theta)):
            r[i] = rho * r[i] + (1 - rho) * g[i] * g[i]  # Accumulate squared gradient
            delta_theta = -eps / math.sqrt(delta + r[i]) * g[i]  # Compute parameter update
            theta[i] = theta[i] + delta_theta  # Apply update
        iterates.append(list(theta))
    return np.array(iterates), np.array(r)


def lecture_adam(theta0, grad_fn, eps, rho1, rho2, delta, steps):
    """The lecture's Adam box, one coordinate at a time: the iterates and (s, r, t).

    Algorithm 8.7 with the lecture's sqrt(r_hat + delta) (Goodfellow et al. print
    sqrt(r_hat) + delta)."""
    theta = [float(x) for x in theta0]
    s = [0.0] * len(theta)  # Initialize 1st and 2nd moment variables s = 0, r = 0
    r = [0.0] * len(theta)
    t = 0  # Initialize time step t = 0
    iterates = [list(theta)]
    for _ in range(steps):
        g = [float(gi) for gi in grad_fn(np.array(theta))]  # Compute gradient
        t = t + 1
        for i in range(len(theta)):
            s[i] = rho1 * s[i] + (1 - rho1) * g[i]  # Update biased first moment estimate
            r[i] = rho2 * r[i] + (1 - rho2) * g[i] * g[i]  # Update biased second moment
            s_hat = s[i] / (1 - rho1**t)  # Correct bias in first moment
            r_hat = r[i] / (1 - rho2**t)  # Correct bias in second moment
            delta_theta = -eps * s_hat / math.sqrt(r_hat + delta)  # Compute update
            theta[i] = theta[i] + delta_theta  # Apply update
        iterates.append(list(theta))
    return np.array(iterates), (np.array(s), np.array(r), t)


def assert_state_agrees(ours: np.ndarray, reference: np.ndarray) -> None:
    """Relative to the largest entry, like the iterates (relative_difference), not entry by
    entry: near the minimizer a gradient entry is a difference of O(1) terms, so its
    rounding error is absolute (~eps), and r_i ~ g_i^2 of a converged coordinate can be
    1e-3 of the largest r with a relative error far above RTOL. Observed on one CPU:
    1e-13 at r_i = 1.5e-7 next to max r = 2.5e-4 (the two sides round in another order,
    -eps / sqrt(.) * g against -eps * g / sqrt(.), and np.exp rounds differently across
    CPUs), while relative to max r the difference is 2e-16, one rounding."""
    assert relative_difference(ours[None], reference[None]) < RTOL


def final_state(make):
    opt = make()
    theta = PROBLEM.x0.copy()
    for _ in range(STEPS):
        theta = opt.step(theta, PROBLEM.grad)
    return opt.state


@pytest.mark.parametrize(
    ("eps", "rho", "delta"), [(0.01, 0.99, 1e-6), (0.01, 0.9, 0.1), (0.003, 0.999, 1e-8)]
)
def test_rmsprop_is_algorithm_8_5(eps, rho, delta):
    make = partial(RMSProp, lr=eps, rho=rho, delta=delta, delta_in_sqrt=True)
    assert_well_conditioned(make)
    lecture, r = lecture_rmsprop(PROBLEM.x0, PROBLEM.grad, eps, rho, delta, STEPS)
    assert_agree(trajectory(make), lecture)
    assert_state_agrees(final_state(make)["r"], r)


@pytest.mark.parametrize(
    ("eps", "rho1", "rho2", "delta"),
    [(0.01, 0.9, 0.999, 1e-8), (0.01, 0.0, 0.99, 1e-6), (0.02, 0.5, 0.0, 0.01)],
)
def test_adam_is_algorithm_8_7(eps, rho1, rho2, delta):
    make = partial(Adam, lr=eps, rho1=rho1, rho2=rho2, delta=delta, delta_in_sqrt=True)
    assert_well_conditioned(make)
    lecture, (s, r, t) = lecture_adam(PROBLEM.x0, PROBLEM.grad, eps, rho1, rho2, delta, STEPS)
    assert_agree(trajectory(make), lecture)
    state = final_state(make)
    assert_state_agrees(state["s"], s)
    assert_state_agrees(state["r"], r)
    assert state["t"] == t == STEPS


# --- 3. where delta goes -----------------------------------------------------------------


def scaled(factor):
    """The problem's gradient multiplied by ``factor`` (so r by factor^2)."""
    return lambda x: factor * PROBLEM.grad(x)


# For each: a factory taking delta_in_sqrt, and a gradient scale with delta^2 << r << delta.
PLACEMENTS = {
    "RMSProp": (partial(RMSProp, lr=0.01, rho=0.99, delta=1e-6), 3e-5),
    "Adam": (partial(Adam, lr=0.01, rho1=0.9, rho2=0.999, delta=1e-8), 1e-6),
}


def both_placements(name, grad_fn, steps):
    make, _ = PLACEMENTS[name]
    inside = trajectory(partial(make, delta_in_sqrt=True), grad_fn, steps=steps)
    outside = trajectory(partial(make, delta_in_sqrt=False), grad_fn, steps=steps)
    return inside, outside


@pytest.mark.parametrize("name", sorted(PLACEMENTS))
def test_delta_placement_matters_when_r_is_small_compared_to_delta(name):
    """With r << delta, sqrt(delta + r) ~ sqrt(delta) while sqrt(r) + delta ~ sqrt(r).

    The lecture's form then takes steps ~sqrt(delta / r) times shorter: it is gradient
    descent with step eps / sqrt(delta), while the other form moves ~eps a step whatever
    the scale of the gradient.
    """
    make, scale = PLACEMENTS[name]
    steps = 50
    inside, outside = both_placements(name, scaled(scale), steps)
    moved_inside = np.linalg.norm(inside[-1] - PROBLEM.x0)
    moved_outside = np.linalg.norm(outside[-1] - PROBLEM.x0)
    assert moved_outside > 10 * moved_inside
    # the lecture's form is (almost) gradient descent with step eps / sqrt(delta)
    gd = trajectory(partial(SGD, lr=0.01 / math.sqrt(make().delta)), scaled(scale), steps=steps)
    assert np.linalg.norm(inside[-1] - gd[-1]) < 0.01 * moved_inside
    # the other form hardly notices the scale of the gradient
    _, outside_10 = both_placements(name, scaled(10 * scale), steps)
    assert np.linalg.norm(outside_10[-1] - outside[-1]) < 0.05 * moved_outside


@pytest.mark.parametrize("name", sorted(PLACEMENTS))
def test_delta_placement_is_negligible_when_r_is_large(name):
    """With r >> delta both roots are sqrt(r) (1 + O(delta / sqrt(r))): the forms agree."""
    make, _ = PLACEMENTS[name]
    differences = {}
    for scale in (100, 10_000):  # r grows like scale^2, delta / sqrt(r) falls like 1 / scale
        assert_well_conditioned(partial(make, delta_in_sqrt=False), scaled(scale))
        inside, outside = both_placements(name, scaled(scale), STEPS)
        differences[scale] = relative_difference(inside, outside)
    assert differences[100] < 1e-6
    assert 0 < differences[10_000] < differences[100] / 20


def test_one_step_ratio_of_the_two_placements():
    """One RMSProp step from r = 0: the two step lengths are in the ratio of the two roots."""
    rho, delta = 0.9, 1e-6
    g = np.array([1e-5, 1e-3, 1.0, 1e3])
    r = (1 - rho) * g * g
    step = {
        inside: RMSProp(lr=0.1, rho=rho, delta=delta, delta_in_sqrt=inside).step(
            np.zeros(4), lambda x: g
        )
        for inside in (True, False)
    }
    ratio = step[False] / step[True]
    np.testing.assert_allclose(ratio, np.sqrt(delta + r) / (np.sqrt(r) + delta), rtol=1e-14)
    assert ratio[0] > 20  # r = 1e-11 << delta: very different steps
    np.testing.assert_allclose(ratio[-1], 1, rtol=1e-8)  # r = 1e5 >> delta: the same

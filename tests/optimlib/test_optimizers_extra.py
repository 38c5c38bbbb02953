"""AdamW, Nadam, AMSGrad, Adadelta and Lion: references, properties and errors.

1. float64 agreement with torch.optim (AdamW, NAdam, Adam(amsgrad=True), Adadelta) on the
   non-quadratic function of test_optimizers_reference.py, with its guard against
   parameters that amplify rounding errors (``assert_well_conditioned``).
2. Lion, which torch.optim lacks, against Algorithm 2 of Chen et al. (2023) transcribed
   line by line in Python floats.
3. The properties every optimizer keeps (no mutation, dtype, bit-identical resume),
   with the strategies and helpers of test_optimizers_properties.py.
4. Bad hyperparameters raise ValueError naming the parameter.
"""

from __future__ import annotations

import contextlib
import math
from functools import partial

import numpy as np
import pytest

import optimlib as ol
from optimlib.optimizers import Adam
from optimlib.optimizers_extra import Adadelta, AdamW, AMSGrad, Lion, Nadam

from .test_optimizers_properties import (
    InverseTime,
    assert_same_states,
    gradient,
)
from .test_optimizers_reference import (
    PROBLEM,
    STEPS,
    assert_agree,
    assert_well_conditioned,
    relative_difference,
    torch_trajectory,
    trajectory,
)

# the independent reference: installed with the test tools, but not on every Python
torch = pytest.importorskip("torch")

RTOL = 1e-12


# No test here may leave torch's global default dtype changed (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("torch_default_dtype_unchanged")


@contextlib.contextmanager
def torch_default_dtype(dtype):
    before = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


# --- 1. against torch.optim --------------------------------------------------------------


@pytest.mark.parametrize(
    ("lr", "rho1", "rho2", "delta", "weight_decay"),
    [(0.01, 0.9, 0.999, 1e-8, 1e-2), (0.01, 0.9, 0.999, 1e-8, 0.5), (0.02, 0.5, 0.99, 1e-6, 0.1)],
)
def test_adamw_is_torch_adamw(lr, rho1, rho2, delta, weight_decay):
    make = partial(AdamW, lr=lr, rho1=rho1, rho2=rho2, delta=delta, weight_decay=weight_decay)
    assert_well_conditioned(make)
    reference = torch_trajectory(
        lambda p: torch.optim.AdamW(
            p, lr=lr, betas=(rho1, rho2), eps=delta, weight_decay=weight_decay, foreach=False
        )
    )
    assert_agree(trajectory(make), reference, RTOL)
    # the decay mattered: Adam (no decay) takes another path
    adam = trajectory(partial(Adam, lr=lr, rho1=rho1, rho2=rho2, delta=delta, delta_in_sqrt=False))
    assert relative_difference(adam, reference) > 1e-4


def test_adamw_with_a_schedule_is_lambda_lr():
    """The decay is scaled by eps_k: torch's lr * weight_decay with LambdaLR."""
    schedule = InverseTime(0.02, 50.0)
    make = partial(AdamW, lr=schedule, weight_decay=0.3)
    assert_well_conditioned(make)
    reference = torch_trajectory(
        lambda p: torch.optim.AdamW(p, lr=1.0, weight_decay=0.3, foreach=False),
        lr_lambda=schedule,
    )
    assert_agree(trajectory(make), reference, RTOL)


def test_adamw_without_decay_is_adam_bit_for_bit():
    make_adam = partial(Adam, lr=0.01, delta_in_sqrt=False)
    adamw = trajectory(partial(AdamW, lr=0.01, weight_decay=0.0))
    np.testing.assert_array_equal(adamw, trajectory(make_adam))


@pytest.mark.parametrize(
    ("lr", "rho1", "rho2", "delta", "momentum_decay"),
    [(0.01, 0.9, 0.999, 1e-8, 4e-3), (0.01, 0.9, 0.999, 1e-8, 0.1), (0.02, 0.5, 0.99, 1e-6, 0.0)],
)
def test_nadam_is_torch_nadam(lr, rho1, rho2, delta, momentum_decay):
    """torch keeps mu_product in its scalar dtype: float64 only with that default dtype."""
    make = partial(Nadam, lr=lr, rho1=rho1, rho2=rho2, delta=delta, momentum_decay=momentum_decay)
    assert_well_conditioned(make)
    with torch_default_dtype(torch.float64):
        reference = torch_trajectory(
            lambda p: torch.optim.NAdam(
                p,
                lr=lr,
                betas=(rho1, rho2),
                eps=delta,
                momentum_decay=momentum_decay,
                foreach=False,
            )
        )
    assert_agree(trajectory(make), reference, RTOL)
    # Nesterov's look-ahead mattered: Adam takes another path
    adam = trajectory(partial(Adam, lr=lr, rho1=rho1, rho2=rho2, delta=delta, delta_in_sqrt=False))
    assert relative_difference(adam, reference) > 1e-4


def test_nadam_against_torch_with_float32_mu_product_agrees_only_to_float32_rounding():
    """Why the test above sets torch's default dtype: otherwise torch rounds mu_product
    to float32 at every step, and the trajectories differ by far more than float64 rounding."""
    reference = torch_trajectory(lambda p: torch.optim.NAdam(p, lr=0.01, foreach=False))
    difference = relative_difference(trajectory(partial(Nadam, lr=0.01)), reference)
    assert RTOL < difference < 1e-8


def test_nadam_mu_product_is_the_product_of_the_momentum_schedule():
    rho1, psi = 0.9, 4e-3
    opt = Nadam(lr=0.01, rho1=rho1, momentum_decay=psi)
    theta = PROBLEM.x0.copy()
    for _ in range(10):
        theta = opt.step(theta, PROBLEM.grad)
    mu = [rho1 * (1 - 0.5 * 0.96 ** (t * psi)) for t in range(1, 11)]
    assert opt.state["t"] == 10
    assert opt.state["mu_product"] == pytest.approx(math.prod(mu), rel=1e-15)


@pytest.mark.parametrize(
    ("lr", "rho1", "rho2", "delta"),
    [(0.01, 0.9, 0.999, 1e-8), (0.01, 0.0, 0.99, 1e-6), (0.02, 0.5, 0.9, 0.1)],
)
def test_amsgrad_is_torch_adam_amsgrad(lr, rho1, rho2, delta):
    make = partial(AMSGrad, lr=lr, rho1=rho1, rho2=rho2, delta=delta)
    assert_well_conditioned(make)
    reference = torch_trajectory(
        lambda p: torch.optim.Adam(
            p, lr=lr, betas=(rho1, rho2), eps=delta, amsgrad=True, foreach=False
        )
    )
    assert_agree(trajectory(make), reference, RTOL)
    # the maximum mattered: plain Adam takes another path
    adam = trajectory(partial(Adam, lr=lr, rho1=rho1, rho2=rho2, delta=delta, delta_in_sqrt=False))
    assert relative_difference(adam, reference) > 1e-6


def test_amsgrad_r_max_is_the_running_maximum_of_r():
    opt = AMSGrad(lr=0.01, rho2=0.9)
    theta, largest = PROBLEM.x0.copy(), np.zeros_like(PROBLEM.x0)
    for _ in range(50):
        theta = opt.step(theta, PROBLEM.grad)
        largest = np.maximum(largest, opt.state["r"])
        np.testing.assert_array_equal(opt.state["r_max"], largest)
    assert np.any(opt.state["r_max"] > opt.state["r"])  # r did fall somewhere


@pytest.mark.parametrize(
    ("lr", "rho", "delta"), [(1.0, 0.99, 1e-6), (1.0, 0.99, 1e-4), (0.5, 0.95, 1e-3)]
)
def test_adadelta_is_torch_adadelta(lr, rho, delta):
    """A short memory (rho = 0.9) with delta <= 1e-3 hops chaotically on this function
    (amplification ~1e4 to 1e11): no two implementations agree there, so rho >= 0.95."""
    make = partial(Adadelta, lr=lr, rho=rho, delta=delta)
    assert_well_conditioned(make)
    reference = torch_trajectory(
        lambda p: torch.optim.Adadelta(p, lr=lr, rho=rho, eps=delta, foreach=False)
    )
    assert_agree(trajectory(make), reference, RTOL)


# --- 2. Lion against the paper's algorithm -----------------------------------------------


def paper_lion(theta0, grad_fn, eta, beta1, beta2, lam, steps):
    """Algorithm 2 of Chen et al. (2023) as printed, one coordinate at a time."""

    def sign(x):
        return 0.0 if x == 0 else math.copysign(1.0, x)

    theta = [float(x) for x in theta0]
    m = [0.0] * len(theta)  # initialize m_0 <- 0
    iterates = [list(theta)]
    for _ in range(steps):
        g = [float(gi) for gi in grad_fn(np.array(theta))]  # g_t <- grad f(theta_{t-1})
        for i in range(len(theta)):
            c = beta1 * m[i] + (1 - beta1) * g[i]  # update model parameters
            theta[i] = theta[i] - eta * (sign(c) + lam * theta[i])
            m[i] = beta2 * m[i] + (1 - beta2) * g[i]  # update EMA of g_t
        iterates.append(list(theta))
    return np.array(iterates), np.array(m)


@pytest.mark.parametrize(
    ("eta", "beta1", "beta2", "lam"),
    [(0.01, 0.9, 0.99, 0.0), (0.01, 0.9, 0.99, 0.1), (0.005, 0.95, 0.98, 1.0)],
)
def test_lion_is_the_papers_algorithm(eta, beta1, beta2, lam):
    """Signs are discontinuous, so no amplification guard: the two agree to the bit."""
    make = partial(Lion, lr=eta, rho1=beta1, rho2=beta2, weight_decay=lam)
    paper, m = paper_lion(PROBLEM.x0, PROBLEM.grad, eta, beta1, beta2, lam, STEPS)
    assert_agree(trajectory(make), paper, RTOL)
    opt = make()
    theta = PROBLEM.x0.copy()
    for _ in range(STEPS):
        theta = opt.step(theta, PROBLEM.grad)
    np.testing.assert_allclose(opt.state["s"], m, rtol=RTOL)


def test_lion_moves_every_coordinate_by_exactly_eps():
    eps = 2.0**-7  # a power of 2: theta +- eps is exact for these theta
    opt = Lion(lr=eps)
    theta = np.array([0.5, -0.25, 1.0, 3.0])
    for _ in range(20):
        new_theta = opt.step(theta, gradient)
        np.testing.assert_array_equal(np.abs(new_theta - theta), eps)
        theta = new_theta


def test_lion_is_not_in_torch_optim():
    """If torch gains Lion, the Lion test should compare with it too."""
    assert not hasattr(torch.optim, "Lion")


# --- 3. properties -----------------------------------------------------------------------

# The contract's properties (no mutation, dtype and shape, zero gradient, resume, reset,
# read-only gradient argument) are checked for these optimizers too, in
# test_optimizers_properties.py, whose strategies draw from every optimizer.
EXTRA = [AdamW, Nadam, AMSGrad, Adadelta, Lion]


@pytest.mark.parametrize("cls", EXTRA, ids=lambda cls: cls.__name__)
def test_state_names(cls):
    names = {
        AdamW: {"s", "r", "t"},
        Nadam: {"s", "r", "t", "mu_product"},
        AMSGrad: {"s", "r", "r_max", "t"},
        Adadelta: {"r", "u"},
        Lion: {"s"},
    }[cls]
    opt = cls(lr=0.01)
    opt.step(np.ones(3), gradient)
    assert set(opt.state) == names


@pytest.mark.parametrize("cls", EXTRA, ids=lambda cls: cls.__name__)
def test_exported_and_nonfinite_gradient_is_a_divergence_error(cls):
    assert getattr(ol, cls.__name__) is cls
    opt = cls(lr=0.01)
    opt.step(np.ones(3), gradient)
    before = opt.state_dict()
    with pytest.raises(ol.DivergenceError):
        opt.step(np.ones(3), lambda x: np.array([1.0, np.nan, 1.0]))
    assert opt.k == 1
    assert_same_states(opt.state, before["state"])


# --- 4. bad hyperparameters --------------------------------------------------------------

BAD = [
    (AdamW, "weight_decay", -1e-3),
    (AdamW, "weight_decay", float("inf")),
    (AdamW, "rho1", 1.0),
    (AdamW, "rho2", -0.1),
    (AdamW, "delta", -1e-8),
    (AdamW, "lr", 0.0),
    (Nadam, "momentum_decay", -4e-3),
    (Nadam, "rho1", 1.5),
    (Nadam, "delta", float("nan")),
    (AMSGrad, "rho2", 1.0),
    (AMSGrad, "delta", -1.0),
    (AMSGrad, "lr", -0.1),
    (Adadelta, "rho", 1.0),
    (Adadelta, "delta", -1e-6),
    (Adadelta, "lr", "1"),
    (Lion, "rho1", 1.0),
    (Lion, "rho2", -0.5),
    (Lion, "weight_decay", -0.1),
    (Lion, "lr", True),
]


@pytest.mark.parametrize(("cls", "name", "value"), BAD, ids=repr)
def test_bad_hyperparameter_raises_value_error_naming_it(cls, name, value):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        cls(**{name: value})
    opt = cls()
    good = getattr(opt, name)
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        setattr(opt, name, value)
    assert getattr(opt, name) == good  # the old value stays

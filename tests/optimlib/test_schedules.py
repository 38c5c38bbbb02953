"""Learning-rate schedules: their formulas, what they claim about Robbins-Monro, and use as lr.

The Robbins-Monro conditions are sum_k eps_k = inf and sum_k eps_k^2 < inf. Each schedule
states from its formula whether it meets them; here the claims are checked against the
partial sums with known closed forms (harmonic numbers, zeta(2), zeta(4), geometric series).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optimlib as ol
from optimlib import schedules as sch

# the independent reference: installed with the test tools, but not on every Python
torch = pytest.importorskip("torch")

EULER_GAMMA = 0.5772156649015329
FAST = settings(max_examples=60, deadline=None)

positive_eps = st.floats(min_value=1e-4, max_value=10.0, allow_nan=False)


# --- linear decay: the lecture's schedule ------------------------------------------------


def linear_formula(eps0, eps_tau, tau, k):
    """The contract's formula, written out independently of optimlib."""
    if k >= tau:
        return eps_tau
    return (1 - k / tau) * eps0 + (k / tau) * eps_tau


@FAST
@given(
    eps0=positive_eps,
    eps_tau=st.floats(min_value=0.0, max_value=10.0),
    tau=st.integers(min_value=1, max_value=1000),
    k=st.integers(min_value=0, max_value=3000),
)
def test_linear_decay_matches_the_contract_formula(eps0, eps_tau, tau, k):
    schedule = sch.linear_decay(eps0, eps_tau, tau)
    value = schedule(k)
    assert isinstance(value, float)
    assert value == pytest.approx(linear_formula(eps0, eps_tau, tau, k), rel=1e-12, abs=1e-300)
    if k >= tau:
        assert value == eps_tau  # held exactly constant after tau
    # always between the two end points
    low, high = min(eps0, eps_tau), max(eps0, eps_tau)
    assert low * (1 - 1e-12) <= value <= high * (1 + 1e-12)


def test_linear_decay_end_points_and_shape_of_array_k():
    schedule = sch.linear_decay(0.5, 0.05, 10)
    assert schedule(0) == 0.5
    assert schedule(10) == 0.05
    assert schedule(5) == pytest.approx(0.275, rel=1e-15)
    assert schedule(10_000) == 0.05

    k = np.arange(30).reshape(5, 6)
    values = schedule(k)
    assert isinstance(values, np.ndarray)
    assert values.shape == (5, 6)
    assert values.dtype == np.float64
    expected = [[linear_formula(0.5, 0.05, 10, int(j)) for j in row] for row in k]
    np.testing.assert_allclose(values, expected, rtol=1e-14)
    # the array form agrees with the scalar form entry by entry
    assert [schedule(int(j)) for j in k.ravel()] == list(values.ravel())
    # numpy integer scalars and lists are fine too
    assert schedule(np.int64(3)) == schedule(3)
    np.testing.assert_array_equal(schedule([0, 10, 20]), [0.5, 0.05, 0.05])


@settings(max_examples=25, deadline=None)
@given(
    eps0=positive_eps,
    end_factor=st.floats(min_value=0.0, max_value=1.0),
    tau=st.integers(min_value=1, max_value=60),
)
def test_linear_decay_agrees_with_torch_linear_lr(eps0, end_factor, tau):
    eps_tau = eps0 * end_factor
    schedule = sch.linear_decay(eps0, eps_tau, tau)
    param = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=eps0)
    scheduler = torch.optim.lr_scheduler.LinearLR(
        optimizer, start_factor=1.0, end_factor=eps_tau / eps0, total_iters=tau
    )
    torch_lrs = []
    for _ in range(tau + 5):
        torch_lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    ours = schedule(np.arange(tau + 5))
    # torch multiplies factors step by step; the closed form agrees up to rounding
    np.testing.assert_allclose(ours, torch_lrs, rtol=1e-9, atol=1e-12 * eps0)


# --- the other formulas ------------------------------------------------------------------


@FAST
@given(
    eps0=positive_eps,
    k0=st.floats(min_value=0.1, max_value=100.0),
    p=st.floats(min_value=0.05, max_value=3.0),
    k=st.integers(min_value=0, max_value=10**6),
)
def test_power_decay_formula(eps0, k0, p, k):
    assert sch.power_decay(eps0, k0, p)(k) == pytest.approx(eps0 / (1 + k / k0) ** p, rel=1e-12)
    assert sch.inverse_time(eps0, k0)(k) == pytest.approx(eps0 / (1 + k / k0), rel=1e-12)
    assert sch.inverse_sqrt(eps0, k0)(k) == pytest.approx(eps0 / math.sqrt(1 + k / k0), rel=1e-12)


def test_power_decay_defaults_are_one_over_k_plus_one():
    k = np.arange(1000)
    np.testing.assert_allclose(sch.inverse_time(2.0)(k), 2.0 / (k + 1), rtol=1e-15)
    np.testing.assert_allclose(sch.inverse_sqrt(2.0)(k), 2.0 / np.sqrt(k + 1), rtol=1e-15)
    np.testing.assert_allclose(sch.power_decay(2.0, p=2.0)(k), 2.0 / (k + 1) ** 2, rtol=1e-15)
    # power decay is non-increasing and positive
    values = sch.power_decay(1.0, k0=3.0, p=0.7)(k)
    assert np.all(np.diff(values) < 0)
    assert np.all(values > 0)


@pytest.mark.parametrize(
    ("schedule", "label"),
    [
        (sch.inverse_time(0.1, k0=10), "0.1/(1 + k/10)"),
        (sch.inverse_sqrt(0.1), "0.1/(1 + k/1)^0.5"),
        (sch.inverse_time(0.3, k0=2.0), "0.3/(1 + k/2)"),
        (sch.power_decay(2.0, k0=0.5, p=0.75), "2/(1 + k/0.5)^0.75"),
    ],
)
def test_power_decay_label_is_its_formula(schedule, label):
    """The label (a plot legend) states eps0, k0 and p, so that two decays can be told apart."""
    assert schedule.label == label


@FAST
@given(
    eps0=positive_eps,
    factor=st.floats(min_value=0.01, max_value=0.99),
    every=st.integers(min_value=1, max_value=50),
    k=st.integers(min_value=0, max_value=2000),
)
def test_step_decay_formula(eps0, factor, every, k):
    value = sch.step_decay(eps0, factor, every)(k)
    assert value == pytest.approx(eps0 * factor ** (k // every), rel=1e-12, abs=1e-300)


def test_step_decay_is_piecewise_constant():
    values = sch.step_decay(1.0, factor=0.5, every=3)(np.arange(9))
    np.testing.assert_array_equal(values, [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25])


@FAST
@given(eps=positive_eps, k=st.integers(min_value=0, max_value=10**9))
def test_constant_formula(eps, k):
    schedule = sch.constant(eps)
    assert schedule(k) == eps
    np.testing.assert_array_equal(schedule(np.array([0, k])), [eps, eps])


# --- Robbins-Monro: the claims, then the numbers -----------------------------------------

# (schedule, sum eps diverges, sum eps^2 converges)
ROBBINS_MONRO = {
    "constant": (sch.constant(0.1), True, False),
    # erratum 3 of the lecture: eps_tau > 0 is held forever, so sum eps^2 diverges
    "linear decay, eps_tau > 0": (sch.linear_decay(0.1, 0.001, 100), True, False),
    "linear decay, eps_tau = 0": (sch.linear_decay(0.1, 0.0, 100), False, True),
    "1/k": (sch.inverse_time(0.1), True, True),
    "1/sqrt(k)": (sch.inverse_sqrt(0.1), True, False),
    "1/k^0.75": (sch.power_decay(0.1, p=0.75), True, True),
    "1/k^2": (sch.power_decay(0.1, p=2.0), False, True),
    "step decay": (sch.step_decay(0.1, 0.5, 10), False, True),
}


@pytest.mark.parametrize("name", list(ROBBINS_MONRO))
def test_meets_robbins_monro_claims(name):
    schedule, sum_diverges, squares_converge = ROBBINS_MONRO[name]
    assert schedule.sum_diverges is sum_diverges
    assert schedule.sum_of_squares_converges is squares_converge
    assert schedule.meets_robbins_monro is (sum_diverges and squares_converge)


def test_only_the_decays_between_one_half_and_one_meet_robbins_monro():
    meets = {name: value[0].meets_robbins_monro for name, value in ROBBINS_MONRO.items()}
    assert {name for name, ok in meets.items() if ok} == {"1/k", "1/k^0.75"}
    # the boundary of the power family: p in (1/2, 1]
    assert not sch.power_decay(1.0, p=0.5).meets_robbins_monro
    assert sch.power_decay(1.0, p=0.5 + 1e-9).meets_robbins_monro
    assert sch.power_decay(1.0, p=1.0).meets_robbins_monro
    assert not sch.power_decay(1.0, p=1.0 + 1e-9).meets_robbins_monro


N = 100_000


def test_partial_sums_of_one_over_k():
    # eps_k = 1/(k+1): S1[n-1] = H_n ~ log n + gamma diverges, S2 -> zeta(2) = pi^2/6
    s1, s2 = sch.partial_sums(sch.inverse_time(1.0), N)
    assert s1.shape == s2.shape == (N,)
    assert abs(s1[-1] - (math.log(N) + EULER_GAMMA)) < 1.0 / N  # |H_n - log n - gamma| < 1/2n
    # S1 doubles its count, gains log 2: no limit
    n = N // 2
    assert s1[2 * n - 1] - s1[n - 1] == pytest.approx(math.log(2), abs=1.0 / n)
    # S2 levels off: the tail sum_{j > N} 1/j^2 lies between 1/(N+1) and 1/N
    tail = math.pi**2 / 6 - s2[-1]
    assert 1.0 / (N + 1) - 1e-12 < tail < 1.0 / N + 1e-12
    assert 0 < s2[2 * n - 1] - s2[n - 1] < 1.0 / n  # S2[2n] - S2[n] -> 0


def test_partial_sums_of_a_constant_grow_linearly():
    eps = 0.1
    s1, s2 = sch.partial_sums(sch.constant(eps), 10_000)
    n = np.arange(1, 10_001)
    np.testing.assert_allclose(s1, eps * n, rtol=1e-12)
    np.testing.assert_allclose(s2, eps**2 * n, rtol=1e-12)
    # every increment of S2 is eps^2: it never levels off
    np.testing.assert_allclose(np.diff(s2), eps**2, rtol=1e-9)


def test_partial_sums_of_one_over_sqrt_k():
    # eps_k = 1/sqrt(k+1): S1 ~ 2 sqrt(n) diverges, S2 = H_n diverges too
    s1, s2 = sch.partial_sums(sch.inverse_sqrt(1.0), N)
    assert s1[-1] == pytest.approx(2 * math.sqrt(N), rel=1e-2)
    assert abs(s2[-1] - (math.log(N) + EULER_GAMMA)) < 1.0 / N
    n = N // 2
    assert s2[2 * n - 1] - s2[n - 1] == pytest.approx(math.log(2), abs=1.0 / n)


def test_partial_sums_of_one_over_k_squared_converge():
    # eps_k = 1/(k+1)^2: S1 -> zeta(2), S2 -> zeta(4); the first condition fails
    s1, s2 = sch.partial_sums(sch.power_decay(1.0, p=2.0), N)
    tail = math.pi**2 / 6 - s1[-1]
    assert 1.0 / (N + 1) - 1e-12 < tail < 1.0 / N + 1e-12
    assert s2[-1] == pytest.approx(math.pi**4 / 90, abs=1e-12)


def test_partial_sums_of_linear_decay_grow_like_eps_tau_squared_after_tau():
    eps0, eps_tau, tau = 0.1, 0.01, 100
    s1, s2 = sch.partial_sums(sch.linear_decay(eps0, eps_tau, tau), 5000)
    # up to tau the sum is a trapezoid; after it every step adds eps_tau (and eps_tau^2)
    assert s1[tau] == pytest.approx((tau + 1) * (eps0 + eps_tau) / 2, rel=1e-12)
    np.testing.assert_allclose(np.diff(s1[tau:]), eps_tau, rtol=1e-9)
    np.testing.assert_allclose(np.diff(s2[tau:]), eps_tau**2, rtol=1e-9)
    assert s2[4000] - s2[2000] == pytest.approx(2000 * eps_tau**2, rel=1e-9)


def test_partial_sums_of_step_decay_are_geometric():
    eps0, factor, every = 1.0, 0.5, 10
    s1, s2 = sch.partial_sums(sch.step_decay(eps0, factor, every), 1000)
    assert s1[-1] == pytest.approx(eps0 * every / (1 - factor), rel=1e-12)
    assert s2[-1] == pytest.approx(eps0**2 * every / (1 - factor**2), rel=1e-12)


def test_partial_sums_accept_a_plain_callable():
    calls = []

    def one_over_k(k):
        calls.append(k)
        return 1 / (k + 1)

    s1, s2 = sch.partial_sums(one_over_k, 500)
    assert calls == list(range(500))
    assert all(type(k) is int for k in calls)
    ref1, ref2 = sch.partial_sums(sch.inverse_time(1.0), 500)
    np.testing.assert_allclose(s1, ref1, rtol=1e-15)
    np.testing.assert_allclose(s2, ref2, rtol=1e-15)
    # a lambda returning numpy scalars works as well
    t1, _ = sch.partial_sums(lambda k: np.float32(0.5), 4)
    np.testing.assert_allclose(t1, [0.5, 1.0, 1.5, 2.0])


@pytest.mark.parametrize("num_steps", [0, -3, 2.5, True])
def test_partial_sums_rejects_bad_num_steps(num_steps):
    with pytest.raises(ValueError, match="num_steps"):
        sch.partial_sums(sch.constant(0.1), num_steps)


# --- bad arguments -----------------------------------------------------------------------

BAD = [
    (sch.constant, (0.0,), "eps"),
    (sch.constant, (-1.0,), "eps"),
    (sch.constant, (math.nan,), "eps"),
    (sch.linear_decay, (0.0, 0.01, 10), "eps0"),
    (sch.linear_decay, (-0.1, 0.01, 10), "eps0"),
    (sch.linear_decay, (math.inf, 0.01, 10), "eps0"),
    (sch.linear_decay, (math.nan, 0.01, 10), "eps0"),
    (sch.linear_decay, (0.1, -0.01, 10), "eps_tau"),
    (sch.linear_decay, (0.1, 0.01, 0), "tau"),
    (sch.linear_decay, (0.1, 0.01, -5), "tau"),
    (sch.linear_decay, (0.1, 0.01, 2.5), "tau"),
    (sch.linear_decay, (0.1, 0.01, 10.0), "tau"),
    (sch.linear_decay, (0.1, 0.01, True), "tau"),
    (sch.power_decay, (0.0,), "eps0"),
    (sch.power_decay, (0.1, 0.0), "k0"),
    (sch.power_decay, (0.1, 1.0, 0.0), "p"),
    (sch.power_decay, (0.1, 1.0, -1.0), "p"),
    (sch.power_decay, (0.1, 1.0, math.nan), "p"),
    (sch.inverse_time, (-1.0,), "eps0"),
    (sch.inverse_sqrt, (0.0,), "eps0"),
    (sch.step_decay, (0.0,), "eps0"),
    (sch.step_decay, (0.1, 0.0), "factor"),
    (sch.step_decay, (0.1, 1.0), "factor"),
    (sch.step_decay, (0.1, 1.5), "factor"),
    (sch.step_decay, (0.1, -0.5), "factor"),
    (sch.step_decay, (0.1, 0.5, 0), "every"),
    (sch.step_decay, (0.1, 0.5, 1.5), "every"),
]


@pytest.mark.parametrize(("make", "args", "name"), BAD)
def test_bad_arguments_raise_value_error_naming_the_parameter(make, args, name):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        make(*args)


@pytest.mark.parametrize(
    "schedule",
    [
        sch.constant(0.1),
        sch.linear_decay(0.1, 0.01, 10),
        sch.inverse_time(0.1),
        sch.step_decay(0.1),
    ],
)
@pytest.mark.parametrize("k", [-1, 0.5, np.array([0, 1, -2]), np.array([0.0, 1.5]), True, "3"])
def test_bad_k_raises_value_error_naming_k(schedule, k):
    with pytest.raises(ValueError, match=r"^k must be an integer >= 0"):
        schedule(k)


@pytest.mark.parametrize(
    "schedule",
    [
        sch.constant(0.1),
        sch.linear_decay(0.1, 0.01, 10),
        sch.inverse_time(0.1),
        sch.step_decay(0.1),
    ],
)
def test_whole_floats_are_accepted_as_k(schedule):
    # Plots often build k with np.linspace or float arithmetic: 3.0 means step 3.
    assert schedule(3.0) == schedule(3)
    np.testing.assert_array_equal(schedule(np.array([0.0, 7.0])), schedule(np.array([0, 7])))


# --- a schedule as an optimizer's lr -----------------------------------------------------


@pytest.mark.parametrize(
    "schedule",
    [
        sch.linear_decay(0.5, 0.05, 7),
        sch.inverse_time(0.3, k0=2.0),
        sch.step_decay(0.4, 0.5, 3),
        lambda k: 0.1 / (k + 1),
    ],
)
def test_sgd_with_a_schedule_uses_eps_k_in_order(schedule):
    opt = ol.SGD(lr=schedule)
    assert opt.lr is schedule
    g = np.array([1.0, -2.0, 0.5])
    theta = np.array([3.0, 1.0, -1.0])
    for k in range(15):
        eps_k = float(schedule(k))
        assert opt.lr_at(k) == eps_k
        assert opt.k == k
        new_theta = opt.step(theta, lambda _theta: g)
        # the step actually taken is -eps_k g, bit for bit
        np.testing.assert_array_equal(new_theta, theta - eps_k * g)
        np.testing.assert_allclose(
            np.linalg.norm(new_theta - theta), eps_k * np.linalg.norm(g), rtol=1e-12
        )
        theta = new_theta
    # reset starts the schedule again from eps_0
    opt.reset()
    np.testing.assert_array_equal(opt.step(theta, lambda _theta: g), theta - schedule(0) * g)


def test_linear_decay_to_zero_freezes_sgd_after_tau():
    opt = ol.SGD(lr=sch.linear_decay(0.2, 0.0, 4))
    theta = np.ones(2)
    for _ in range(4):
        theta = opt.step(theta, lambda t: t)
    frozen = theta.copy()
    for _ in range(3):
        theta = opt.step(theta, lambda t: t)
    np.testing.assert_array_equal(theta, frozen)


def test_schedule_returning_a_bad_value_is_a_clear_error():
    opt = ol.SGD(lr=lambda k: -0.1)
    with pytest.raises(ValueError, match="lr"):
        opt.step(np.ones(2), lambda t: t)
    assert opt.k == 0


# --- changing a schedule after construction ----------------------------------------------

SCHEDULES = {
    "constant": lambda: sch.constant(0.1),
    "linear": lambda: sch.linear_decay(0.1, 0.01, 10),
    "power": lambda: sch.power_decay(0.1, 2.0, 0.75),
    "step": lambda: sch.step_decay(0.1, 0.5, 10),
    "warmup_cosine": lambda: sch.warmup_cosine(0.1, 5, 50, 0.01),
    "cosine": lambda: sch.cosine_decay(0.1, 50, 0.01),
}
# each parameter's allowed range as the error states it, and values outside it
RANGES = {
    "eps0": ("> 0", [0.0, -5, math.nan, math.inf, "0.1", None, 10**400]),
    "eps_max": ("> 0", [0.0, -5, math.nan, math.inf, None]),
    "eps_tau": (">= 0", [-0.01, math.nan, math.inf, None, 10**400]),
    "eps_min": (">= 0", [-0.01, math.nan, None]),
    "k0": ("> 0", [0.0, -1.0, math.inf]),
    "p": ("> 0", [0.0, -1.0, math.nan]),
    "factor": ("(0, 1)", [0.0, 1.0, 1.5, -0.5]),
    "tau": (">= 1", [0, -5, 2.5, True, 10.0, 10**400]),
    "every": (">= 1", [0, 1.5, 10**400]),
    "total": (">= 1", [0, -1, 2.5]),
    "warmup": (">= 0", [-1, 2.5]),
}
BAD_CHANGES = [
    pytest.param(kind, name, value, id=f"{kind}.{name}={value!r:.20}")
    for kind, make in SCHEDULES.items()
    for name in make()._parameters
    for value in RANGES[name][1]
]


@pytest.mark.parametrize(("kind", "name", "value"), BAD_CHANGES)
def test_a_bad_change_after_construction_raises_and_changes_nothing(kind, name, value):
    """s.eps0 = -5 made the schedule return negative rates; now it is refused like the
    constructor's argument, and the schedule keeps every value it had."""
    schedule = SCHEDULES[kind]()
    before, k = dict(vars(schedule)), np.arange(100)
    with pytest.raises(ValueError, match=rf"^{name} must be .*{re.escape(RANGES[name][0])}"):
        setattr(schedule, name, value)
    assert vars(schedule) == before
    np.testing.assert_array_equal(schedule(k), SCHEDULES[kind]()(k))


@pytest.mark.parametrize(
    ("make", "name", "value", "match"),
    [
        (
            lambda: sch.warmup_cosine(0.1, 5, 50),
            "warmup",
            50,
            r"^warmup must be an integer < total = 50",
        ),
        (
            lambda: sch.warmup_cosine(0.1, 5, 50),
            "total",
            5,
            r"^total must be an integer > warmup = 5",
        ),
        (
            lambda: sch.warmup_cosine(0.1, 5, 50, 0.05),
            "eps_max",
            0.01,
            r"^eps_max must be .*>= eps_min = 0.05",
        ),
        (
            lambda: sch.warmup_cosine(0.1, 5, 50),
            "eps_min",
            0.2,
            r"^eps_min must be .*\[0, eps_max = 0.1\]",
        ),
        (
            lambda: sch.cosine_decay(0.1, 50, 0.05),
            "eps_max",
            0.01,
            r"^eps_max must be .*>= eps_min",
        ),
    ],
)
def test_a_change_that_breaks_a_condition_between_parameters(make, name, value, match):
    schedule = make()
    before = dict(vars(schedule))
    with pytest.raises(ValueError, match=match):
        setattr(schedule, name, value)
    assert vars(schedule) == before


REBUILD = {  # a new schedule with the changed one's parameters
    "constant": lambda s: sch.constant(s.eps0),
    "linear": lambda s: sch.linear_decay(s.eps0, s.eps_tau, s.tau),
    "power": lambda s: sch.power_decay(s.eps0, s.k0, s.p),
    "step": lambda s: sch.step_decay(s.eps0, s.factor, s.every),
    "warmup_cosine": lambda s: sch.warmup_cosine(s.eps_max, s.warmup, s.total, s.eps_min),
    "cosine": lambda s: sch.cosine_decay(s.eps_max, s.total, s.eps_min),
}


@FAST
@given(kind=st.sampled_from(sorted(SCHEDULES)), scale=st.floats(0.1, 10.0))
def test_a_valid_change_is_used_and_equals_a_new_schedule(kind, scale):
    schedule = SCHEDULES[kind]()
    first = "eps_max" if "eps_max" in schedule._parameters else "eps0"
    setattr(schedule, first, getattr(schedule, first) * scale)
    if "eps_min" in schedule._parameters:
        schedule.eps_min = min(schedule.eps_min, schedule.eps_max)
    k = np.arange(120)
    rates = schedule(k)
    assert np.all(rates >= 0) and np.all(np.isfinite(rates))
    np.testing.assert_array_equal(rates, REBUILD[kind](schedule)(k))


def test_a_value_that_is_not_a_parameter_cannot_be_changed():
    schedule = sch.cosine_decay(0.1, 50)
    with pytest.raises(AttributeError, match="warmup"):
        schedule.warmup = 10
    assert schedule.warmup == 0


@pytest.mark.parametrize(
    "k", [math.inf, -math.inf, math.nan, np.array([0.0, math.inf]), np.float64(math.inf), 10**400]
)
def test_k_must_be_finite(k):
    with pytest.raises(ValueError, match=r"^k must be an integer >= 0"):
        sch.linear_decay(0.1, 0.01, 10)(k)


def test_k_beyond_int64_is_still_an_integer():
    assert sch.linear_decay(0.1, 0.01, 10)(2**70) == 0.01
    assert sch.power_decay(1.0, 1.0, 1.0)(2**70) == pytest.approx(2.0**-70)


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: sch.linear_decay(0.1, 0.01, 10**400), "tau"),
        (lambda: sch.step_decay(0.1, 0.5, 10**400), "every"),
        (lambda: sch.warmup_cosine(0.1, 10**400, 10**401), "warmup"),
        (lambda: sch.linear_decay(10**400, 0.01, 10), "eps0"),
        (lambda: sch.power_decay(0.1, 10**400), "k0"),
    ],
)
def test_integers_beyond_floats_range_are_value_errors_naming_the_parameter(make, name):
    """They used to pass the checks and raise OverflowError at the first eps_k."""
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        make()


@pytest.mark.parametrize("kind", list(SCHEDULES))
def test_a_step_counter_gets_what_the_checked_path_gives(kind):
    # An optimizer's k, a Python int >= 0, skips the checks of k; numpy integers and
    # whole floats take the checked path. Both must give the same float, bit for bit.
    schedule = SCHEDULES[kind]()
    for k in [0, 1, 4, 5, 6, 9, 10, 11, 49, 50, 51, 1000, 2**53 + 1]:
        value = schedule(k)
        assert type(value) is float
        assert value == schedule(np.int64(k)) == schedule(float(k)), (k, value)
    assert schedule(10**300) == schedule(1e300)
    for bad in (-1, True, 10**400):
        with pytest.raises(ValueError, match=r"^k must be an integer >= 0"):
            schedule(bad)

"""Polyak-Ruppert averaging (optimlib.averaging): against torch's AveragedModel and a
direct transcription, its properties, its saved state, its errors, and a measured
variance against the theory of averaged SGD."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import optimlib as ol
from optimlib.averaging import average_update

FAST = settings(max_examples=60, deadline=None)
EPS64 = np.finfo(np.float64).eps


def noisy_quadratic(dim=4, sigma=0.5, seed=0, table=400):
    """grad(theta) = A (theta - 1) + noise, the noise looked up by the step counter.

    The noise of step k is row k of a fixed table, so a resumed run sees the same
    noise as an uninterrupted one.
    """
    rng = np.random.default_rng(seed)
    A = np.diag(np.linspace(0.5, 2.0, dim))
    noise = sigma * rng.standard_normal((table, dim))
    counter = {"k": 0}

    def grad_fn(theta):
        g = A @ (theta - 1.0) + noise[counter["k"] % table]
        counter["k"] += 1
        return g

    return grad_fn


def iterates(opt, steps, dim=4, seed=0):
    """Run ``opt`` from 0 for ``steps`` steps; returns the iterates theta_1..theta_steps."""
    grad_fn = noisy_quadratic(dim, seed=seed)
    theta, out = np.zeros(dim), []
    for _ in range(steps):
        theta = opt.step(theta, grad_fn)
        out.append(theta)
    return np.array(out)


# --- independent references -------------------------------------------------------


@pytest.mark.usefixtures("torch_default_dtype_unchanged")
@pytest.mark.parametrize(("start", "decay"), [(0, None), (30, None), (0, 0.9), (25, 0.99)])
def test_matches_torch_averaged_model(start, decay):
    """torch.optim.swa_utils.AveragedModel, fed the same iterates after each step from
    ``start`` on, holds the same average. Each update rounds 3 times; the running mean
    and torch's lerp round differently, and the differences do not grow (the average is
    a contraction of past errors), so 1e-13 relative to max |theta| leaves ~100x room."""
    torch = pytest.importorskip("torch")
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    steps = 200
    opt = ol.Averaged(ol.SGD(lr=0.1), start=start, decay=decay)
    thetas = iterates(opt, steps)
    model = torch.nn.Linear(4, 1, bias=False).double()
    kwargs = {} if decay is None else {"multi_avg_fn": get_ema_multi_avg_fn(decay)}
    averaged = AveragedModel(model, **kwargs)
    with torch.no_grad():
        for k, theta in enumerate(thetas, start=1):
            model.weight.copy_(torch.from_numpy(theta).reshape(1, 4))
            if k > start:
                averaged.update_parameters(model)
    reference = averaged.module.weight.detach().numpy().reshape(4)
    scale = np.max(np.abs(thetas))
    np.testing.assert_allclose(opt.average, reference, rtol=0, atol=1e-13 * scale)
    assert opt.state["n"] == int(averaged.n_averaged) == steps - start


@pytest.mark.parametrize("start", [0, 1, 17, 99])
def test_uniform_average_is_the_mean_of_the_iterates(start):
    """The running mean equals np.mean over theta_(start+1)..theta_k; each of the n
    updates rounds ~3 times, so the two agree within 3 n eps max |theta|."""
    steps = 120
    opt = ol.Averaged(ol.SGD(lr=0.05), start=start)
    grad_fn = noisy_quadratic()
    theta = np.zeros(4)
    seen = []
    for k in range(1, steps + 1):
        theta = opt.step(theta, grad_fn)
        seen.append(theta)
        window = np.array(seen[start:]) if k > start else np.array([theta])
        n = len(window)
        bound = 3 * n * EPS64 * np.max(np.abs(window))
        np.testing.assert_allclose(opt.average, window.mean(axis=0), rtol=0, atol=bound)
        assert opt.state["n"] == max(k - start, 0)


def test_ema_is_the_transcribed_recursion():
    """EMA: theta_bar_1 = theta_1, then theta_bar <- rho theta_bar + (1 - rho) theta in
    Python floats; the two forms differ by a few roundings a step, bounded (contraction)."""
    rho = 0.8
    opt = ol.Averaged(ol.SGD(lr=0.05), decay=rho)
    thetas = iterates(opt, 150, dim=1)
    bar = float(thetas[0, 0])
    for theta in thetas[1:, 0]:
        bar = rho * bar + (1 - rho) * float(theta)
    assert abs(opt.average[0] - bar) <= 20 * EPS64 * np.max(np.abs(thetas))


@pytest.mark.parametrize(("start", "decay"), [(0, None), (40, None), (10, 0.95)])
def test_averaged_history_is_the_wrapper_bit_for_bit(start, decay):
    """Both use average_update in the same order: identical numbers, not merely close."""
    problem = ol.problems.LinearRegression.synthetic(200, 3, np.random.default_rng(1))
    history = ol.minimize(problem, ol.SGD(lr=0.05), 100, batch_size=5, rng=np.random.default_rng(2))
    wrapped = ol.Averaged(ol.SGD(lr=0.05), start=start, decay=decay)
    ol.minimize(problem, wrapped, 100, batch_size=5, rng=np.random.default_rng(2))
    averaged = ol.averaged_history(history, problem, start=start, decay=decay)
    assert np.array_equal(averaged.thetas[-1], wrapped.average)
    assert np.array_equal(averaged.thetas[: start + 1], history.thetas[: start + 1])
    assert averaged.losses[-1] == problem.f(wrapped.average)
    assert averaged.loss_gaps().shape == history.loss_gaps().shape
    assert averaged.distances()[-1] == pytest.approx(
        np.linalg.norm(wrapped.average - problem.x_star)
    )
    assert averaged.label.endswith("(averaged)")


def test_minimize_records_the_plain_iterates_with_the_wrapper():
    """The wrapper changes nothing about the run itself: same iterates as plain SGD."""
    problem = ol.problems.Quadratic.with_condition_number(10, dim=3)
    plain = ol.minimize(problem, ol.SGD(lr=0.05), 50)
    wrapped = ol.minimize(problem, ol.Averaged(ol.SGD(lr=0.05), start=5), 50)
    assert np.array_equal(plain.thetas, wrapped.thetas)
    assert np.array_equal(plain.lrs, wrapped.lrs)


# --- properties --------------------------------------------------------------------

arrays = hnp.arrays(
    dtype=st.sampled_from([np.float32, np.float64]),
    shape=hnp.array_shapes(min_dims=0, max_dims=3, max_side=4),
    elements=st.floats(-1e3, 1e3, width=32),
)


@FAST
@given(constant=arrays, n=st.integers(1, 50), decay=st.one_of(st.none(), st.floats(0, 0.999)))
def test_average_of_constant_iterates_is_that_constant(constant, n, decay):
    """Exactly: theta_bar + w (c - theta_bar) with theta_bar == c is c, in any dtype."""
    bar = constant.copy()
    for i in range(1, n + 1):
        bar = average_update(bar, constant, i, decay)
    assert bar.dtype == constant.dtype
    assert np.array_equal(bar, constant)


@FAST
@given(
    data=hnp.arrays(
        np.float64, st.tuples(st.integers(1, 30), st.integers(1, 3)), elements=st.floats(-1e3, 1e3)
    ),
    decay=st.one_of(st.none(), st.floats(0, 0.999)),
)
def test_average_lies_between_the_smallest_and_largest_iterate(data, decay):
    """A convex combination of the iterates, coordinate by coordinate (to rounding:
    each update may step outside by an ulp of the values)."""
    bar = data[0]
    for i, theta in enumerate(data[1:], start=2):
        bar = average_update(bar, theta, i, decay)
    slack = 4 * len(data) * EPS64 * np.max(np.abs(data))
    assert np.all(bar >= data.min(axis=0) - slack)
    assert np.all(bar <= data.max(axis=0) + slack)


@FAST
@given(theta=arrays, start=st.integers(0, 3))
def test_step_never_mutates_and_keeps_dtype(theta, start):
    opt = ol.Averaged(ol.Momentum(lr=0.1, alpha=0.5), start=start)
    before = theta.copy()
    x = theta
    handed_out = []

    def grad_fn(t):
        g = np.ones_like(t)
        handed_out.append(g)
        return g

    for _ in range(5):
        x_before = x.copy()
        new = opt.step(x, grad_fn)
        assert np.array_equal(x, x_before)
        assert all(np.array_equal(g, np.ones_like(g)) for g in handed_out)
        assert new.dtype == theta.dtype and opt.average.dtype == theta.dtype
        x = new
    average = opt.average.copy()
    x[...] = 12345  # writing into what step returned does not reach the average
    assert np.array_equal(opt.average, average)
    assert np.array_equal(theta, before)


def test_before_averaging_starts_the_average_is_the_iterate():
    opt = ol.Averaged(ol.SGD(lr=0.1), start=10)
    thetas = iterates(opt, 10)
    assert np.array_equal(opt.average, thetas[-1]) and opt.state["n"] == 0
    assert opt.average is not None
    assert ol.Averaged(ol.SGD(lr=0.1)).average is None


# --- saving and resuming -------------------------------------------------------------


@pytest.mark.parametrize("inner", [ol.SGD(lr=0.05), ol.Adam(lr=0.05), ol.Momentum(lr=0.05)])
@pytest.mark.parametrize("decay", [None, 0.9])
def test_resume_is_bit_identical(inner, decay, tmp_path):
    """Save after 40 steps (through np.save / np.load, which returns numpy scalars), load
    into a fresh wrapper, continue: the same iterates and average as one run of 100."""
    grad_fn = noisy_quadratic()
    whole = ol.Averaged(copy.deepcopy(inner), start=20, decay=decay)
    theta = np.zeros(4)
    for _ in range(100):
        theta = whole.step(theta, grad_fn)

    grad_fn = noisy_quadratic()
    first = ol.Averaged(copy.deepcopy(inner), start=20, decay=decay)
    resumed_theta = np.zeros(4)
    for _ in range(40):
        resumed_theta = first.step(resumed_theta, grad_fn)
    path = tmp_path / "state.npy"
    np.save(path, np.array(first.state_dict(), dtype=object), allow_pickle=True)
    saved = np.load(path, allow_pickle=True).item()
    second = ol.Averaged(copy.deepcopy(inner).__class__(lr=1.0), start=0)
    second.load_state_dict(saved)
    assert second.start == 20 and second.decay == decay and second.k == 40
    for _ in range(60):
        resumed_theta = second.step(resumed_theta, grad_fn)
    assert np.array_equal(resumed_theta, theta)
    assert np.array_equal(second.average, whole.average)


def test_reset_forgets_the_average_and_the_wrapped_state():
    opt = ol.Averaged(ol.Momentum(lr=0.1))
    iterates(opt, 5)
    opt.reset()
    assert opt.k == 0 and opt.state == {} and opt.optimizer.state == {}


def test_lr_is_the_wrapped_optimizers():
    inner = ol.SGD(lr=0.1)
    opt = ol.Averaged(inner)
    opt.lr = 0.2
    assert inner.lr == 0.2 and opt.lr_at(0) == 0.2
    assert repr(opt) == "Averaged(SGD(lr=0.2), start=0, decay=None)"


# --- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"optimizer": "sgd"}, "optimizer must be an optimlib optimizer"),
        ({"optimizer": ol.Averaged(ol.SGD(lr=0.1))}, "not an Averaged"),
        ({"start": -1}, r"start must be an integer >= 0"),
        ({"start": 1.5}, r"start must be an integer >= 0"),
        ({"decay": 1.0}, r"decay must be a number in \[0, 1\)"),
        ({"decay": -0.1}, r"decay must be a number in \[0, 1\)"),
        ({"decay": float("nan")}, r"decay must be a number in \[0, 1\)"),
    ],
)
def test_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ol.Averaged(**{"optimizer": ol.SGD(lr=0.1), **kwargs})


def test_bad_assignment_leaves_the_old_value():
    opt = ol.Averaged(ol.SGD(lr=0.1), start=3, decay=0.5)
    with pytest.raises(ValueError, match="start"):
        opt.start = -2
    with pytest.raises(ValueError, match="decay"):
        opt.decay = 2
    assert opt.start == 3 and opt.decay == 0.5


def test_average_update_checks_its_arguments():
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        average_update(np.zeros(2), np.ones(2), 0)
    with pytest.raises(ValueError, match="theta_bar has shape"):
        average_update(np.zeros(3), np.ones(2), 2)


def test_a_new_shape_without_reset_raises_and_changes_nothing():
    opt = ol.Averaged(ol.SGD(lr=0.1))
    iterates(opt, 3)
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(ValueError, match="call reset"):
        opt.step(np.zeros(5), lambda t: t)
    after = opt.state_dict()
    assert after["k"] == before["k"] == 3
    assert np.array_equal(after["state"]["theta_bar"], before["state"]["theta_bar"])


def test_divergence_leaves_everything_as_it_was():
    opt = ol.Averaged(ol.Momentum(lr=0.1))
    thetas = iterates(opt, 3)
    before = copy.deepcopy(opt.state_dict())
    with pytest.raises(ol.DivergenceError):
        opt.step(thetas[-1], lambda t: np.full_like(t, np.nan))
    after = opt.state_dict()
    assert after["k"] == 3
    assert np.array_equal(after["state"]["theta_bar"], before["state"]["theta_bar"])
    assert np.array_equal(after["wrapped"]["state"]["v"], before["wrapped"]["state"]["v"])


def saved_after(steps=5, start=2):
    opt = ol.Averaged(ol.SGD(lr=0.1), start=start)
    iterates(opt, steps)
    return opt.state_dict()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.update(optimizer="SGD"), "saved by 'SGD'"),
        (lambda d: d.pop("wrapped"), r"missing \['wrapped'\]"),
        (lambda d: d.update(k=4), "must equal the wrapped optimizer's k"),
        (lambda d: d["state"].update(n=2), r"n'\] must be max\(k - start, 0\) = 3"),
        (lambda d: d["state"].pop("n"), r"must hold \['n', 'theta_bar'\]"),
        (lambda d: d["state"].update(theta_bar=np.full(4, np.nan)), "must be finite"),
        (lambda d: d["state"].update(theta_bar=[0.0] * 4), "float32 or float64 numpy array"),
        (lambda d: d["hyperparameters"].update(decay=3.0), r"decay'\] must be a number"),
        (lambda d: d["hyperparameters"].pop("start"), "must name"),
        (lambda d: d["wrapped"].update(optimizer="Adam"), "saved by 'Adam'"),
    ],
)
def test_bad_state_dict_raises_and_changes_nothing(change, match):
    opt = ol.Averaged(ol.SGD(lr=0.3), start=7, decay=0.5)
    iterates(opt, 2)
    before = copy.deepcopy(opt.state_dict())
    bad = saved_after()
    change(bad)
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(bad)
    after = opt.state_dict()
    assert after["hyperparameters"] == before["hyperparameters"] and opt.lr == 0.3
    assert after["k"] == 2
    assert np.array_equal(after["state"]["theta_bar"], before["state"]["theta_bar"])


def test_averaged_history_needs_recorded_iterates():
    problem = ol.problems.Quadratic.with_condition_number(4, dim=2)
    history = ol.minimize(problem, ol.SGD(lr=0.1), 5, record_iterates=False)
    with pytest.raises(ValueError, match="record_iterates=True"):
        ol.averaged_history(history, problem)
    with pytest.raises(ValueError, match="history must be an optimlib History"):
        ol.averaged_history({"thetas": None}, problem)
    recorded = ol.minimize(problem, ol.SGD(lr=0.1), 5)
    with pytest.raises(ValueError, match="start must be an integer >= 0"):
        ol.averaged_history(recorded, problem, start=-1)


# --- theory: the variance of the average ---------------------------------------------


def test_averaged_constant_step_sgd_has_the_asymptotic_variance_of_theory():
    """1-D quadratic f = lam/2 theta^2, gradient lam theta + sigma xi, constant eps.

    The last iterate is an AR(1) process with stationary variance
    eps sigma^2 / (lam (2 - eps lam)) (the noise floor, which no k reduces); the mean of
    k iterates has variance sigma^2 / (lam^2 k) (1 + O(1 / (eps lam k))), independent of
    eps (Polyak & Juditsky 1992). 2000 independent runs, stacked as one array, started
    at the minimizer: the sample variance is within 3.5 standard errors
    (sqrt(2/2000) = 3.2% each) of theory, so 12% (plus 1/(eps lam k) = 0.5%) holds.
    """
    lam, sigma, eps, k, runs = 1.0, 1.0, 0.1, 2000, 2000
    rng = np.random.default_rng(0)
    opt = ol.Averaged(ol.SGD(lr=eps))
    theta = np.zeros(runs)
    for _ in range(k):
        theta = opt.step(theta, lambda t: lam * t + sigma * rng.standard_normal(runs))
    last = np.mean(theta**2)
    averaged = np.mean(opt.average**2)
    assert last == pytest.approx(eps * sigma**2 / (lam * (2 - eps * lam)), rel=0.12)
    assert averaged * k == pytest.approx(sigma**2 / lam**2, rel=0.125)

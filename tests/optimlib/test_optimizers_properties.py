"""Properties every optimizer keeps, checked with hypothesis over random shapes and dtypes.

An optimizer is drawn as a ``Spec`` (its class and valid hyperparameters, the learning
rate a constant or a schedule), so that several identical instances can be built: for
resuming from a saved state and for reset().
"""

from __future__ import annotations

import copy
import io
import warnings
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from optimlib.optimizers import SGD, AdaGrad, Adam, DivergenceError, Momentum, Nesterov, RMSProp
from optimlib.optimizers_extra import Adadelta, AdamW, AMSGrad, Lion, Nadam

SETTINGS = settings(max_examples=50, deadline=None)


@dataclass(frozen=True)
class InverseTime:
    """The schedule eps_k = eps0 / (1 + k / tau)."""

    eps0: float
    tau: float

    def __call__(self, k: int) -> float:
        return self.eps0 / (1 + k / self.tau)


@dataclass(frozen=True)
class Spec:
    cls: type
    hyperparameters: dict

    def build(self):
        return self.cls(**self.hyperparameters)

    def __repr__(self):
        return f"{self.cls.__name__}(**{self.hyperparameters})"


unit = st.floats(0.0, 0.99)
learning_rates = st.floats(1e-4, 0.5) | st.builds(
    InverseTime, eps0=st.floats(1e-4, 0.5), tau=st.floats(1.0, 100.0)
)
EXTRA = {
    SGD: {},
    Momentum: {"alpha": unit},
    Nesterov: {"alpha": unit},
    AdaGrad: {"delta": st.floats(1e-8, 1e-2)},
    RMSProp: {"rho": unit, "delta": st.floats(1e-8, 1e-2), "delta_in_sqrt": st.booleans()},
    Adam: {
        "rho1": unit,
        "rho2": unit,
        "delta": st.floats(1e-8, 1e-2),
        "delta_in_sqrt": st.booleans(),
    },
    # The optimizers beyond the lecture (optimlib.optimizers_extra) keep the same contract.
    AdamW: {
        "rho1": unit,
        "rho2": unit,
        "delta": st.floats(1e-8, 1e-2),
        "weight_decay": st.floats(0.0, 1.0),
    },
    Nadam: {
        "rho1": unit,
        "rho2": unit,
        "delta": st.floats(1e-8, 1e-2),
        "momentum_decay": st.floats(0.0, 0.1),
    },
    AMSGrad: {"rho1": unit, "rho2": unit, "delta": st.floats(1e-8, 1e-2)},
    Adadelta: {"rho": unit, "delta": st.floats(1e-8, 1e-2)},
    Lion: {"rho1": unit, "rho2": unit, "weight_decay": st.floats(0.0, 1.0)},
}
ALL = list(EXTRA)


def specs(classes=ALL) -> st.SearchStrategy[Spec]:
    return st.sampled_from(classes).flatmap(
        lambda cls: st.fixed_dictionaries({"lr": learning_rates, **EXTRA[cls]}).map(
            lambda hyperparameters: Spec(cls, hyperparameters)
        )
    )


@st.composite
def thetas(draw, dtypes=(np.float32, np.float64)) -> np.ndarray:
    """A 1-d to 3-d float array with moderate entries."""
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=5))
    width = np.finfo(dtype).bits
    elements = st.floats(-4, 4, width=width, allow_subnormal=False)
    return draw(hnp.arrays(dtype, shape, elements=elements))


def gradient(x: np.ndarray) -> np.ndarray:
    """A nonlinear gradient field, returned as a new array in x's dtype."""
    return np.sin(3 * x) + 0.5 * x


def run(opt, theta, steps, grad_fn=gradient) -> list[np.ndarray]:
    """theta_1, ..., theta_steps."""
    out = []
    for _ in range(steps):
        theta = opt.step(theta, grad_fn)
        out.append(theta)
    return out


def state_arrays(opt) -> dict:
    return {name: value for name, value in opt.state.items() if isinstance(value, np.ndarray)}


def assert_same_states(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        if isinstance(a[name], np.ndarray):
            assert a[name].dtype == b[name].dtype
            assert np.array_equal(a[name], b[name]), name
        else:
            assert a[name] == b[name], name


@SETTINGS
@given(spec=specs(), theta=thetas(), steps=st.integers(1, 6))
def test_step_mutates_nothing(spec, theta, steps):
    """Not theta, not the gradient, not any array handed out before (state included)."""
    opt = spec.build()
    handed_out = []  # (array, a copy of it taken when it was handed out)
    gradients = []

    def grad_fn(x):
        g = gradient(x)
        gradients.append((g, g.copy()))
        return g

    for _ in range(steps):
        handed_out.append((theta, theta.copy()))
        new_theta = opt.step(theta, grad_fn)
        assert new_theta is not theta
        assert not np.shares_memory(new_theta, theta)
        assert not np.shares_memory(new_theta, gradients[-1][0])
        handed_out += [(value, value.copy()) for value in state_arrays(opt).values()]
        theta = new_theta
    for array, original in handed_out + gradients:
        assert np.array_equal(array, original)


@SETTINGS
@given(spec=specs(), theta=thetas(), steps=st.integers(1, 6), gradient_in_float64=st.booleans())
def test_dtype_and_shape_are_theta_s(spec, theta, steps, gradient_in_float64):
    """float32 in, float32 out and float32 state, even from a float64 gradient."""

    def grad_fn(x):
        g = gradient(x)
        return g.astype(np.float64) if gradient_in_float64 else g

    opt = spec.build()
    for new_theta in run(opt, theta, steps, grad_fn):
        assert isinstance(new_theta, np.ndarray)
        assert new_theta.dtype == theta.dtype
        assert new_theta.shape == theta.shape
        for value in state_arrays(opt).values():
            assert value.dtype == theta.dtype
            assert value.shape == theta.shape
    assert opt.k == steps
    if "t" in opt.state:
        assert opt.state["t"] == steps


def without_weight_decay(spec: Spec) -> Spec:
    """The same optimizer with weight_decay = 0 (decay moves theta even when g = 0)."""
    if "weight_decay" not in spec.hyperparameters:
        return spec
    return Spec(spec.cls, {**spec.hyperparameters, "weight_decay": 0.0})


@SETTINGS
@given(spec=specs().map(without_weight_decay), theta=thetas(), steps=st.integers(1, 4))
def test_zero_gradient_from_fresh_state_leaves_theta_unchanged(spec, theta, steps):
    opt = spec.build()
    for new_theta in run(opt, theta, steps, np.zeros_like):
        assert np.array_equal(new_theta, theta)
    for value in state_arrays(opt).values():
        assert not value.any()  # the state stays zero too


@pytest.mark.parametrize(
    "spec",
    [
        Spec(AdaGrad, {"lr": 0.1, "delta": 0.0}),
        Spec(RMSProp, {"lr": 0.1, "delta": 0.0, "delta_in_sqrt": True}),
        Spec(RMSProp, {"lr": 0.1, "delta": 0.0, "delta_in_sqrt": False}),
        Spec(Adam, {"lr": 0.1, "delta": 0.0, "delta_in_sqrt": True}),
        Spec(Adam, {"lr": 0.1, "delta": 0.0, "delta_in_sqrt": False}),
    ],
    ids=repr,
)
def test_zero_gradient_with_delta_0_is_a_divergence_error(spec):
    """delta = 0 is allowed (the book shows why delta exists): a zero gradient entry then
    computes 0 / 0, which is reported as a DivergenceError naming delta, without a
    RuntimeWarning, and the optimizer is left as it was."""
    opt = spec.build()
    theta = np.ones(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DivergenceError, match="delta = 0") as info:
            opt.step(theta, np.zeros_like)
    assert info.value.step == 0
    assert opt.k == 0
    assert opt.state == {}
    np.testing.assert_array_equal(theta, np.ones(3))
    # a gradient without zero entries divides by sqrt(r) > 0: the optimizer steps
    new_theta = opt.step(theta, lambda x: x)
    assert np.all(np.isfinite(new_theta)) and np.all(new_theta < theta)
    assert opt.k == 1


@SETTINGS
@given(
    spec=specs([AdaGrad]), theta=thetas(), steps=st.integers(2, 8), seed=st.integers(0, 2**32 - 1)
)
def test_adagrad_accumulator_never_decreases(spec, theta, steps, seed):
    rng = np.random.default_rng(seed)

    def noisy(x):  # random signs and scales, as minibatch gradients have
        return (rng.normal(size=x.shape) * 10.0 ** rng.uniform(-3, 3)).astype(x.dtype)

    opt = spec.build()
    previous = np.zeros_like(theta)
    for _ in range(steps):
        theta = opt.step(theta, noisy)
        assert np.all(opt.state["r"] >= previous)
        previous = opt.state["r"]


@SETTINGS
@given(spec=specs(), theta=thetas(), saved_after=st.integers(0, 5), continued=st.integers(1, 5))
def test_resume_from_state_dict_is_bit_identical(spec, theta, saved_after, continued):
    """Save after k steps, load into a new optimizer, continue: the same bits."""
    opt = spec.build()
    theta_k = [theta, *run(opt, theta, saved_after)][-1]
    saved = opt.state_dict()
    uninterrupted = run(opt, theta_k, continued)

    resumed = spec.cls(lr=0.123)  # other hyperparameters: load_state_dict restores them
    resumed.load_state_dict(saved)
    assert resumed.hyperparameters() == spec.hyperparameters
    assert resumed.k == saved_after
    for a, b in zip(run(resumed, theta_k, continued), uninterrupted, strict=True):
        assert a.dtype == b.dtype
        assert np.array_equal(a, b)
    assert_same_states(resumed.state, opt.state)

    # the saved dict is a snapshot: neither run changed it, so it resumes once more
    again = spec.cls(lr=0.123)
    again.load_state_dict(saved)
    assert np.array_equal(run(again, theta_k, continued)[-1], uninterrupted[-1])


def savez_round_trip(saved: dict, numpy_scalars: bool) -> dict:
    """``saved`` written with np.savez and read back with np.load, as a user would.

    Every number comes back as a 0-d array, or (``numpy_scalars``, reading it with
    ``[()]``) as a numpy scalar: np.int64 for t and k, np.float64 for Nadam's mu_product.
    """
    buffer = io.BytesIO()
    np.savez(
        buffer,
        optimizer=saved["optimizer"],
        k=saved["k"],
        **{f"hyperparameters/{n}": v for n, v in saved["hyperparameters"].items()},
        **{f"state/{n}": v for n, v in saved["state"].items()},
    )
    buffer.seek(0)
    loaded: dict = {"hyperparameters": {}, "state": {}}
    with np.load(buffer) as data:
        for key in data.files:
            value = data[key][()] if numpy_scalars and data[key].ndim == 0 else data[key]
            part, _, name = key.rpartition("/")
            (loaded[part] if part else loaded)[name or part] = value
    return loaded


@SETTINGS
@given(
    spec=specs(),
    theta=thetas() | thetas().map(lambda t: t.reshape(-1)[0].copy().reshape(())),
    saved_after=st.integers(0, 5),
    continued=st.integers(1, 5),
    numpy_scalars=st.booleans(),
)
def test_resume_after_np_savez_is_bit_identical(spec, theta, saved_after, continued, numpy_scalars):
    """Numbers read back by np.load (0-d arrays, numpy scalars) resume the same bits.

    A numpy scalar t would make Adam's 1 - rho1**t a float64 scalar and turn a float32
    run into float64; a 0-d mu_product would be taken for a state array by Nadam.
    """
    if callable(spec.hyperparameters["lr"]):
        spec = Spec(spec.cls, {**spec.hyperparameters, "lr": spec.hyperparameters["lr"].eps0})
    opt = spec.build()
    theta_k = [theta, *run(opt, theta, saved_after)][-1]
    loaded = savez_round_trip(opt.state_dict(), numpy_scalars)
    uninterrupted = run(opt, theta_k, continued)

    resumed = spec.cls(lr=0.123)
    resumed.load_state_dict(loaded)
    assert resumed.hyperparameters() == spec.hyperparameters
    for name, value in resumed.hyperparameters().items():
        assert type(value) is type(spec.hyperparameters[name]), name  # Python numbers again
    for a, b in zip(run(resumed, theta_k, continued), uninterrupted, strict=True):
        assert a.dtype == b.dtype == theta.dtype
        assert np.array_equal(a, b)
    assert_same_states(resumed.state, opt.state)
    for name, value in resumed.state.items():
        assert type(value) is type(opt.state[name]), name


@SETTINGS
@given(spec=specs(), theta=thetas(), before=st.integers(1, 5), steps=st.integers(1, 5))
def test_reset_gives_the_trajectory_of_a_fresh_optimizer(spec, theta, before, steps):
    opt = spec.build()
    run(opt, theta + 1, before)
    hyperparameters = opt.hyperparameters()
    opt.reset()
    assert opt.k == 0
    assert opt.hyperparameters() == hyperparameters
    for a, b in zip(run(opt, theta, steps), run(spec.build(), theta, steps), strict=True):
        assert np.array_equal(a, b)


@SETTINGS
@given(spec=specs(), theta=thetas(), steps=st.integers(0, 3))
def test_grad_fn_receives_a_read_only_array(spec, theta, steps):
    """A grad_fn that writes into its argument fails, and corrupts neither theta nor state."""
    opt = spec.build()
    theta = [theta, *run(opt, theta, steps)][-1]
    theta_before, state_before = theta.copy(), copy.deepcopy(opt.state)

    def writes_into_theta(x):
        x[...] = 0
        return gradient(x)

    def writes_in_place(x):
        x += 1
        return gradient(x)

    for grad_fn in (writes_into_theta, writes_in_place):
        with pytest.raises(ValueError, match="read-only"):
            opt.step(theta, grad_fn)
    assert np.array_equal(theta, theta_before)
    assert opt.k == steps
    assert_same_states(opt.state, state_before)


@SETTINGS
@given(spec=specs(), theta=thetas(dtypes=(np.float64,)))
def test_k_counts_steps_and_lr_at_is_the_schedule(spec, theta):
    opt = spec.build()
    run(opt, theta, 3)
    assert opt.k == 3
    lr = spec.hyperparameters["lr"]
    for k in range(5):
        assert opt.lr_at(k) == (lr(k) if callable(lr) else lr)


# --- 0-d arrays ---------------------------------------------------------------------------
# The contract says "any array shape"; a 0-d theta is the scalar parameter of the book's
# one-dimensional examples.

SPECS_0D = [
    Spec(SGD, {"lr": 0.1}),
    Spec(Momentum, {"lr": 0.1, "alpha": 0.9}),
    Spec(Nesterov, {"lr": 0.1, "alpha": 0.9}),
    Spec(AdaGrad, {"lr": 0.1, "delta": 1e-7}),
    Spec(RMSProp, {"lr": 0.1}),
    Spec(Adam, {"lr": 0.1}),
]


@pytest.mark.parametrize("spec", SPECS_0D, ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_0d_theta_steps_to_0d_arrays(spec, dtype):
    """theta, and every state array, stay 0-d arrays of theta's dtype."""
    opt = spec.build()
    theta = np.array(1.0, dtype=dtype)
    for new_theta in run(opt, theta, 3):
        assert isinstance(new_theta, np.ndarray)
        assert new_theta.shape == ()
        assert new_theta.dtype == dtype
        for value in state_arrays(opt).values():
            assert isinstance(value, np.ndarray)
            assert value.shape == ()
            assert value.dtype == dtype
    assert opt.k == 3
    # the same numbers as a 1-element theta
    as_1d = run(spec.build(), theta.reshape(1), 3)
    np.testing.assert_array_equal(run(spec.build(), theta, 3), [t[0] for t in as_1d])


@pytest.mark.parametrize("spec", SPECS_0D, ids=repr)
def test_0d_overflow_raises_divergence_error(spec):
    """Reported as a DivergenceError only (no RuntimeWarning); the optimizer is unchanged."""
    opt = spec.build()
    opt.lr = 1e200
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DivergenceError):
            opt.step(np.array(1.0), lambda x: np.array(1e200))
    assert opt.k == 0
    assert opt.state == {}


@pytest.mark.parametrize("spec", [s for s in SPECS_0D if s.cls is not SGD], ids=repr)
def test_0d_state_then_1d_theta_asks_for_reset(spec):
    """The 0-d state must not broadcast against a (3,) theta: reset() first."""
    opt = spec.build()
    opt.step(np.array(1.0), lambda x: 2 * x)
    before = copy.deepcopy(opt.state)
    with pytest.raises(ValueError, match=r"reset\(\)"):
        opt.step(np.ones(3), lambda x: 2 * x)
    assert opt.k == 1
    assert_same_states(opt.state, before)
    opt.reset()
    assert opt.step(np.ones(3), lambda x: 2 * x).shape == (3,)

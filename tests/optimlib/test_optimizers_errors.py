"""Bad input gets a clear error and changes nothing.

A bad hyperparameter, a gradient of the wrong shape, a bad schedule value, a bad saved
state or a theta that does not fit the state: ``ValueError`` naming the parameter (and
for hyperparameters the allowed range). A gradient or a result that is not finite:
``DivergenceError`` (a ``FloatingPointError``) with ``err.step == k``. In every case the
optimizer's k, state and hyperparameters are exactly those from before the call.
"""

from __future__ import annotations

import copy
import re
import warnings

import numpy as np
import pytest

import optimlib
from optimlib.optimizers import SGD, AdaGrad, Adam, DivergenceError, Momentum, Nesterov, RMSProp

VALID = {
    SGD: {"lr": 0.1},
    Momentum: {"lr": 0.1, "alpha": 0.9},
    Nesterov: {"lr": 0.1, "alpha": 0.9},
    AdaGrad: {"lr": 0.1, "delta": 1e-7},
    RMSProp: {"lr": 0.01, "rho": 0.9, "delta": 1e-6, "delta_in_sqrt": True},
    Adam: {"lr": 1e-3, "rho1": 0.9, "rho2": 0.999, "delta": 1e-8, "delta_in_sqrt": True},
}
ALL = list(VALID)

# The allowed range each error message must state, and values outside it.
ALLOWED = {
    "lr": "> 0",
    "alpha": "[0, 1)",
    "rho": "[0, 1)",
    "rho1": "[0, 1)",
    "rho2": "[0, 1)",
    "delta": ">= 0",
    "delta_in_sqrt": "True or False",
}
NOT_REAL_NUMBERS = ["0.1", None, [0.1], 1j, True, False]  # a bool is not taken as a number
INVALID = {
    "lr": [0, 0.0, -0.1, -1e-300, float("nan"), float("inf"), -float("inf"), *NOT_REAL_NUMBERS],
    "alpha": [1.0, 1, -0.1, 1.5, float("nan"), float("inf"), *NOT_REAL_NUMBERS],
    "delta": [-1e-8, -1.0, float("nan"), float("inf"), *NOT_REAL_NUMBERS],
    "delta_in_sqrt": [1, 0, 1.0, "True", None, "yes"],
}
for _name in ("rho", "rho1", "rho2"):
    INVALID[_name] = INVALID["alpha"]
EDGES = {"lr": [1e-300, 1, 1e6], "alpha": [0, 0.0, 0.999999], "delta": [0, 0.0, 1e3]}
EDGES.update({"rho": EDGES["alpha"], "rho1": EDGES["alpha"], "rho2": EDGES["alpha"]})
EDGES["delta_in_sqrt"] = [True, False, np.True_, np.False_]

BAD_HYPERPARAMETERS = [
    pytest.param(cls, name, value, id=f"{cls.__name__}-{name}={value!r}")
    for cls in ALL
    for name in VALID[cls]
    for value in INVALID[name]
]


def gradient(x):
    return np.sin(x) + 0.5 * x


def stepped(cls, steps=3):
    """An optimizer of ``cls`` after a few steps (so its state is not the initial one)."""
    opt = cls(**VALID[cls])
    theta = np.linspace(-1.0, 2.0, 6)
    for _ in range(steps):
        theta = opt.step(theta, gradient)
    return opt, theta


def assert_unchanged(opt, before: dict) -> None:
    """``opt.state_dict()`` equals ``before`` exactly: k, hyperparameters, state arrays."""
    after = opt.state_dict()
    assert after["optimizer"] == before["optimizer"]
    assert after["k"] == before["k"]
    assert after["hyperparameters"] == before["hyperparameters"]
    assert after["state"].keys() == before["state"].keys()
    for name, value in before["state"].items():
        if isinstance(value, np.ndarray):
            assert after["state"][name].dtype == value.dtype
            assert np.array_equal(after["state"][name], value), name
        else:
            assert after["state"][name] == value, name


def names_parameter_and_range(name: str) -> str:
    return rf"\b{name}\b.*{re.escape(ALLOWED[name])}"


# --- hyperparameters ---------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "name", "value"), BAD_HYPERPARAMETERS)
def test_bad_hyperparameter_in_constructor(cls, name, value):
    with pytest.raises(ValueError, match=names_parameter_and_range(name)):
        cls(**{**VALID[cls], name: value})


@pytest.mark.parametrize(("cls", "name", "value"), BAD_HYPERPARAMETERS)
def test_bad_hyperparameter_on_assignment_keeps_the_old_value(cls, name, value):
    opt, theta = stepped(cls)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=names_parameter_and_range(name)):
        setattr(opt, name, value)
    assert getattr(opt, name) == VALID[cls][name]
    assert_unchanged(opt, before)
    opt.step(theta, gradient)  # and it still works


@pytest.mark.parametrize("cls", ALL)
def test_edges_of_the_allowed_ranges_are_accepted(cls):
    for name in VALID[cls]:
        for value in EDGES[name]:
            opt = cls(**{**VALID[cls], name: value})
            assert getattr(opt, name) == value
            setattr(opt, name, value)


def test_a_callable_lr_is_a_schedule_and_numpy_numbers_are_numbers():
    assert SGD(lr=np.float32(0.5)).lr_at(7) == 0.5
    assert Adam(rho1=np.float64(0.5)).rho1 == 0.5
    assert SGD(lr=lambda k: 1 / (k + 1)).lr_at(3) == 0.25


# --- gradients ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("shape", [(5,), (6, 1), (1, 6), (), (7,)])
def test_wrong_shaped_gradient(cls, shape):
    opt, theta = stepped(cls)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=r"gradient.*shape"):
        opt.step(theta, lambda x: np.ones(shape))
    assert_unchanged(opt, before)


@pytest.mark.parametrize("cls", ALL)
def test_complex_or_non_numeric_gradient(cls):
    opt, theta = stepped(cls)
    before = opt.state_dict()
    for bad in (theta + 1j, np.array(["a"] * theta.size)):
        with pytest.raises(ValueError, match="gradient"):
            opt.step(theta, lambda x, bad=bad: bad)
    assert_unchanged(opt, before)


@pytest.mark.parametrize("cls", ALL)
def test_bool_gradient(cls):
    """True and False are not the numbers 1 and 0 here: a bool gradient is a bug upstream."""
    opt, theta = stepped(cls)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=r"^gradient: .*must be real numbers"):
        opt.step(theta, lambda x: x > 0)
    assert_unchanged(opt, before)


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", [0, -1])
def test_non_finite_gradient(cls, bad, where):
    opt, theta = stepped(cls)
    before = opt.state_dict()

    def grad_fn(x):
        g = gradient(x)
        g[where] = bad
        return g

    with pytest.raises(DivergenceError) as info:
        opt.step(theta, grad_fn)
    assert isinstance(info.value, FloatingPointError)
    assert info.value.step == 3
    assert_unchanged(opt, before)


@pytest.mark.parametrize("cls", [SGD, Momentum, Nesterov])
def test_huge_finite_gradient_is_not_mistaken_for_inf(cls):
    """Its entries sum to inf, but each is finite: that is a valid gradient.

    (AdaGrad, RMSProp and Adam square it: r = inf is a true overflow for them.)
    """
    opt = cls(lr=1e-300)
    theta = opt.step(np.zeros(4), lambda x: np.full(4, 1.5e308))
    assert np.isfinite(theta).all()
    assert opt.k == 1


@pytest.mark.parametrize("cls", ALL)
def test_overflowing_step(cls):
    """A huge step times a huge gradient overflows theta (or r): DivergenceError at step k.

    The overflow is reported by the DivergenceError alone, not also by a RuntimeWarning,
    and the message names the usual cause.
    """
    opt, theta = stepped(cls)
    opt.lr = 1e200
    before = opt.state_dict()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DivergenceError) as info:
            opt.step(theta, lambda x: np.full(x.shape, 1e200))
    assert info.value.step == opt.k == 3
    assert "step 3" in str(info.value)
    assert "learning rate" in str(info.value)
    assert_unchanged(opt, before)


def test_divergence_error_is_exported():
    assert optimlib.DivergenceError is DivergenceError
    assert issubclass(DivergenceError, FloatingPointError)
    for cls in ALL:
        assert getattr(optimlib, cls.__name__) is cls


# --- schedules ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls", ALL)
@pytest.mark.parametrize(
    "value",
    # a string or a bool is not a number, although float() would take it
    [-0.1, -1e-300, float("nan"), float("inf"), None, [0.1, 0.2], "0.1", True, False, 1j],
)
def test_schedule_returning_a_bad_value(cls, value):
    opt, theta = stepped(cls)
    opt.lr = lambda k: 0.01 if k < 3 else value
    before = opt.state_dict()
    with pytest.raises(ValueError, match=r"\blr\b"):
        opt.step(theta, gradient)
    assert_unchanged(opt, before)


def test_schedule_may_reach_zero():
    """eps_k = 0 is allowed for a schedule (e.g. linear decay to 0): theta stays."""
    opt = SGD(lr=lambda k: 0.0)
    theta = np.ones(3)
    assert np.array_equal(opt.step(theta, gradient), theta)


# --- saved state -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "target"), [(Momentum, Nesterov), (Nesterov, Momentum), (Adam, RMSProp), (SGD, Adam)]
)
def test_load_state_dict_of_another_optimizer(source, target):
    saved = stepped(source)[0].state_dict()
    opt, _ = stepped(target, steps=2)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=source.__name__):
        opt.load_state_dict(saved)
    assert_unchanged(opt, before)


def without(d: dict, key: str) -> dict:
    d = copy.deepcopy(d)
    del d[key]
    return d


@pytest.mark.parametrize("cls", [SGD, Momentum, AdaGrad, Adam])
@pytest.mark.parametrize("key", ["optimizer", "k", "state", "hyperparameters"])
def test_load_state_dict_with_a_missing_key(cls, key):
    saved = without(stepped(cls)[0].state_dict(), key)
    opt = cls(lr=0.5)
    before = opt.state_dict()
    with pytest.raises(ValueError):
        opt.load_state_dict(saved)
    assert_unchanged(opt, before)


@pytest.mark.parametrize(
    ("cls", "entry"),
    [
        (Adam, "t"),
        (Adam, "s"),
        (Adam, "r"),
        # the only entry: what is left is an empty state, which is only valid for k = 0
        (Momentum, "v"),
        (Nesterov, "v"),
        (AdaGrad, "r"),
        (RMSProp, "r"),
    ],
)
def test_load_state_dict_with_a_missing_state_entry(cls, entry):
    saved = stepped(cls)[0].state_dict()
    del saved["state"][entry]
    opt, _ = stepped(cls, steps=1)
    before = opt.state_dict()
    with pytest.raises(ValueError, match="state"):
        opt.load_state_dict(saved)
    assert_unchanged(opt, before)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"k": -1}, "k"),
        ({"k": 2.5}, "k"),
        ({"k": True}, "k"),
        ({"hyperparameters": {"lr": 0.5, "alpha": 1.5}}, "alpha"),
        ({"hyperparameters": {"lr": 0.5, "beta": 0.5}}, "beta"),
        # the hyperparameters must be exactly the optimizer's: none missing, none extra
        ({"hyperparameters": {"lr": 0.5}}, "alpha"),
        ({"hyperparameters": {"lr": 0.5, "alpha": 0.5, "beta": 0.5}}, "beta"),
        # before the first step the state is empty; after it, it holds every variable
        ({"k": 0}, "state"),
        ({"state": {}}, "state"),
        ({"state": {"v": np.zeros(6), "w": np.zeros(6)}}, "state"),
    ],
)
def test_load_state_dict_with_bad_values_changes_nothing(change, match):
    """A valid lr before an invalid alpha in the same dict must not be applied either."""
    saved = {**stepped(Momentum)[0].state_dict(), **change}
    opt, _ = stepped(Momentum, steps=1)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict(saved)
    assert_unchanged(opt, before)
    assert opt.lr == 0.1


def test_saved_and_loaded_states_are_copies():
    """Writing into a saved dict reaches neither the optimizer that saved nor the one loaded."""
    source, _ = stepped(Adam)
    saved = source.state_dict()
    opt = Adam()
    opt.load_state_dict(saved)
    before_source, before = source.state_dict(), opt.state_dict()
    saved["state"]["r"][...] = -1.0
    saved["state"]["s"] += 1.0
    assert_unchanged(source, before_source)
    assert_unchanged(opt, before)


# --- theta -------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [Momentum, Nesterov, AdaGrad, RMSProp, Adam])
@pytest.mark.parametrize("shape", [(5,), (6, 1), (2, 3)])
def test_theta_that_does_not_fit_the_state_asks_for_reset(cls, shape):
    opt, _ = stepped(cls)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=r"reset\(\)"):
        opt.step(np.ones(shape), gradient)
    assert_unchanged(opt, before)
    opt.reset()
    assert opt.step(np.ones(shape), gradient).shape == shape


@pytest.mark.parametrize("cls", ALL)
def test_bad_theta_or_grad_fn(cls):
    opt, theta = stepped(cls)
    before = opt.state_dict()
    with pytest.raises(ValueError, match="theta"):
        opt.step(theta + 1j, gradient)
    with pytest.raises(ValueError, match="theta"):
        opt.step(np.array(["1.0", "2.0"]), gradient)
    with pytest.raises(ValueError, match="grad_fn"):
        opt.step(theta, gradient(theta))
    assert_unchanged(opt, before)


# --- every optimizer, the lecture's and the extra ones -----------------------------------

EVERY = [*ALL, optimlib.AdamW, optimlib.AMSGrad, optimlib.Nadam, optimlib.Adadelta, optimlib.Lion]


def make(cls, **changes):
    return cls(**{**VALID.get(cls, {"lr": 0.01}), **changes})


def stepped_any(cls, steps=3, dtype=np.float64):
    opt = make(cls)
    theta = np.linspace(-1.0, 2.0, 6).astype(dtype)
    for _ in range(steps):
        theta = opt.step(theta, gradient)
    return opt, theta


# --- numbers beyond float's range --------------------------------------------------------


@pytest.mark.parametrize("cls", EVERY)
def test_an_integer_beyond_floats_range_is_a_value_error_naming_the_parameter(cls):
    """float(10**400) raises OverflowError; every hyperparameter reports it as its own error."""
    opt, theta = stepped_any(cls)
    before = opt.state_dict()
    for name in opt.hyperparameters():
        if name == "delta_in_sqrt":
            continue
        with pytest.raises(ValueError, match=rf"^{name} must be a .*number"):
            make(cls, **{name: 10**400})
        with pytest.raises(ValueError, match=rf"^{name} must be"):
            setattr(opt, name, -(10**400))
    opt.lr = lambda k: 10**400
    with pytest.raises(ValueError, match=r"^lr: the schedule's eps_3 must be a finite number >= 0"):
        opt.step(theta, gradient)
    opt.lr = before["hyperparameters"]["lr"]
    assert_unchanged(opt, before)


# --- dtypes: float32 and float64 ---------------------------------------------------------


@pytest.mark.parametrize("cls", EVERY)
@pytest.mark.parametrize("dtype", [np.float16, np.longdouble])
def test_theta_of_another_float_dtype_is_refused(cls, dtype):
    """Optimizers compute in theta's dtype and support float32 and float64 (the contract).

    float16 would fail at step 0: with g_i = 0, g * g = 0 and delta = 1e-8 rounds to 0,
    so s_hat / sqrt(r_hat) is 0 / 0. Rather than compute in another dtype, it is refused.
    """
    if np.dtype(dtype) == np.float64:  # longdouble is float64 on some platforms
        pytest.skip("longdouble is float64 here")
    opt, theta = stepped_any(cls)
    before = opt.state_dict()
    message = rf"^theta has dtype {np.dtype(dtype)}.*float32 and float64"
    with pytest.raises(ValueError, match=message):
        opt.step(theta.astype(dtype), gradient)
    assert_unchanged(opt, before)
    fresh = make(cls)
    with pytest.raises(ValueError, match="theta"):
        fresh.step(np.array([0.0, 1.0], dtype=dtype), lambda x: x)
    assert fresh.k == 0 and fresh.state == {}


@pytest.mark.parametrize("cls", EVERY)
def test_a_float16_gradient_is_computed_in_thetas_dtype(cls):
    opt = make(cls)
    theta = opt.step(np.ones(3, np.float32), lambda x: np.array([0.0, 1.0, -2.0], np.float16))
    assert theta.dtype == np.float32


# --- saved state: what load_state_dict accepts -------------------------------------------


@pytest.mark.parametrize("bad", [None, [], "Adam", 3, np.zeros(2)])
def test_load_state_dict_of_a_non_dict(bad):
    opt, _ = stepped(Adam)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=r"^state_dict must be a dict"):
        opt.load_state_dict(bad)
    assert_unchanged(opt, before)


@pytest.mark.parametrize("key", ["state", "hyperparameters"])
@pytest.mark.parametrize("bad", [None, [], "x", np.zeros(3)])
def test_load_state_dict_whose_parts_are_not_dicts(key, bad):
    saved = {**stepped(Adam)[0].state_dict(), key: bad}
    opt, _ = stepped(Adam, steps=1)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=rf"state_dict\['{key}'\] must be a dict"):
        opt.load_state_dict(saved)
    assert_unchanged(opt, before)


NOT_STATE_ARRAYS = [
    [0.0] * 6,
    None,
    "abc",
    0.5,
    np.zeros(6, complex),
    np.zeros(6, object),
    np.zeros(6, int),
    np.zeros(6, bool),
    np.array(["a"] * 6),
    np.zeros(6, np.float16),
    np.full(6, np.nan),
    np.full(6, np.inf),
]


@pytest.mark.parametrize("cls", [Momentum, AdaGrad, Adam, optimlib.AMSGrad, optimlib.Adadelta])
@pytest.mark.parametrize("bad", NOT_STATE_ARRAYS, ids=repr)
def test_load_state_dict_with_a_state_array_that_is_not_one(cls, bad):
    """The next step would fail with a TypeError (or a DivergenceError): refuse it on loading."""
    saved = stepped_any(cls)[0].state_dict()
    key = next(k for k, v in saved["state"].items() if isinstance(v, np.ndarray))
    saved["state"][key] = bad
    opt, _ = stepped_any(cls, steps=1)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=rf"^state_dict\['state'\]\['{key}'\] must be"):
        opt.load_state_dict(saved)
    assert_unchanged(opt, before)


@pytest.mark.parametrize(
    ("cls", "key", "bad"),
    [(Adam, "t", bad) for bad in [-1, 2.5, "3", None, True, [3], np.array([3]), 1j, np.array(2.5)]]
    + [
        (optimlib.Nadam, "mu_product", bad)
        for bad in [None, "0.5", np.nan, [0.5], 1j, True, 10**400]
    ],
    ids=repr,
)
def test_load_state_dict_with_a_bad_state_number(cls, key, bad):
    saved = stepped_any(cls)[0].state_dict()
    saved["state"][key] = bad
    opt, _ = stepped_any(cls, steps=1)
    before = opt.state_dict()
    with pytest.raises(ValueError, match=rf"^state_dict\['state'\]\['{key}'\] must be"):
        opt.load_state_dict(saved)
    assert_unchanged(opt, before)


def test_saved_hyperparameters_do_not_follow_a_schedule_changed_later():
    schedule = optimlib.schedules.linear_decay(0.1, 0.01, 10)
    opt = SGD(lr=schedule)
    opt.step(np.ones(2), gradient)
    saved = opt.state_dict()
    schedule.eps0 = 0.5
    assert saved["hyperparameters"]["lr"].eps0 == 0.1
    loaded = SGD(lr=1.0)
    loaded.load_state_dict(saved)
    saved["hyperparameters"]["lr"].eps0 = 0.7  # nor does the loaded optimizer follow the dict
    assert loaded.lr.eps0 == 0.1 and loaded.lr_at(0) == 0.1

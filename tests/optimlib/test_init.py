"""optimlib.init: fans, gains and the Glorot and He scales, against PyTorch's torch.nn.init."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import optimlib as ol

torch = pytest.importorskip("torch")
torch.set_num_threads(1)

# The sample variance of N independent normal draws has relative standard deviation
# sqrt(2 / (N - 1)); 5 of them (a 1 in 1.7 million false alarm) is the tolerance.
N_SAMPLES = 400 * 500
SAMPLE_RTOL = 5 * math.sqrt(2 / (N_SAMPLES - 1))  # 1.6%


@pytest.mark.parametrize(
    "nonlinearity, slope",
    [
        ("linear", None),
        ("sigmoid", None),
        ("tanh", None),
        ("relu", None),
        ("leaky_relu", None),
        ("leaky_relu", 0.2),
        ("leaky_relu", 0.0),
    ],
)
def test_gain_matches_torch(nonlinearity, slope):
    ours = ol.init.gain(nonlinearity) if slope is None else ol.init.gain(nonlinearity, slope)
    theirs = torch.nn.init.calculate_gain(nonlinearity, slope)
    assert ours == pytest.approx(theirs, rel=1e-15)


@settings(max_examples=40, deadline=None)
@given(n_in=st.integers(1, 600), n_out=st.integers(1, 600))
def test_fans_match_torch_for_the_transposed_layout(n_in, n_out):
    """optimlib's W is (n_in, n_out); torch's Linear weight is (n_out, n_in)."""
    expected = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(n_out, n_in))
    assert ol.init.fans((n_in, n_out)) == expected


@settings(max_examples=40, deadline=None)
@given(n_in=st.integers(1, 10_000), n_out=st.integers(1, 10_000), gain=st.floats(0.1, 3.0))
def test_stds_are_the_formulas_torch_documents(n_in, n_out, gain):
    assert ol.init.glorot_std(n_in, n_out, gain) == pytest.approx(
        gain * math.sqrt(2 / (n_in + n_out)), rel=1e-15
    )
    assert ol.init.he_std(n_in, gain) == pytest.approx(gain / math.sqrt(n_in), rel=1e-15)


def sample_variance(a) -> float:
    a = np.asarray(a, dtype=np.float64)
    return float(np.mean(a**2))  # the mean is 0 by construction


@pytest.mark.parametrize("nonlinearity", ["linear", "tanh", "relu"])
def test_glorot_normal_variance_matches_torch_xavier_normal(nonlinearity):
    n_in, n_out = 400, 500
    g = ol.init.gain(nonlinearity)
    expected = ol.init.glorot_std(n_in, n_out, g) ** 2
    ours = ol.init.glorot_normal((n_in, n_out), np.random.default_rng(0), gain=g)
    torch.manual_seed(0)
    theirs = torch.nn.init.xavier_normal_(torch.empty(n_out, n_in, dtype=torch.float64), gain=g)
    assert ours.shape == (n_in, n_out)
    assert sample_variance(ours) == pytest.approx(expected, rel=SAMPLE_RTOL)
    assert sample_variance(theirs) == pytest.approx(expected, rel=SAMPLE_RTOL)


@pytest.mark.parametrize("nonlinearity, slope", [("relu", 0.0), ("leaky_relu", 0.2)])
def test_he_normal_variance_matches_torch_kaiming_normal(nonlinearity, slope):
    n_in, n_out = 400, 500
    g = ol.init.gain(nonlinearity, slope)
    expected = ol.init.he_std(n_in, g) ** 2
    ours = ol.init.he_normal((n_in, n_out), np.random.default_rng(1), gain=g)
    torch.manual_seed(1)
    theirs = torch.nn.init.kaiming_normal_(
        torch.empty(n_out, n_in, dtype=torch.float64), a=slope, nonlinearity=nonlinearity
    )
    assert sample_variance(ours) == pytest.approx(expected, rel=SAMPLE_RTOL)
    assert sample_variance(theirs) == pytest.approx(expected, rel=SAMPLE_RTOL)


def test_mlp_init_params_uses_these_scales():
    """MLP.init_params keeps its own formulas (its results must not move); they are He's
    before a relu and Glorot's elsewhere, which the sample variances confirm."""
    mlp = ol.nn.MLP([300, 400, 500, 10], "relu")
    layers = mlp.unflatten(mlp.init_params(np.random.default_rng(2)))
    stds = [ol.init.he_std(300), ol.init.he_std(400), ol.init.glorot_std(500, 10)]
    for params, std in zip(layers, stds, strict=True):
        n = params["W"].size
        assert sample_variance(params["W"]) == pytest.approx(std**2, rel=5 * math.sqrt(2 / (n - 1)))


def test_draws_are_seeded_and_keep_the_dtype():
    a = ol.init.he_normal((3, 4), np.random.default_rng(5), dtype=np.float32)
    b = ol.init.he_normal((3, 4), np.random.default_rng(5), dtype=np.float32)
    assert a.dtype == np.float32 and np.array_equal(a, b)
    c = ol.init.glorot_normal((3, 4), np.random.default_rng(5), gain=2.0)
    d = ol.init.glorot_normal((3, 4), np.random.default_rng(5))
    np.testing.assert_allclose(c, 2 * d, rtol=1e-15)  # the gain scales the same draws


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: ol.init.fans((3,)), "shape"),
        (lambda: ol.init.fans((2, 3, 4)), "shape"),
        (lambda: ol.init.fans("ab"), "shape"),
        (lambda: ol.init.fans((0, 3)), "n_in"),
        (lambda: ol.init.fans((3, 2.5)), "n_out"),
        (lambda: ol.init.gain("swish"), "nonlinearity"),
        (lambda: ol.init.gain("leaky_relu", float("nan")), "negative_slope"),
        (lambda: ol.init.glorot_std(0, 3), "fan_in"),
        (lambda: ol.init.glorot_std(3, -1), "fan_out"),
        (lambda: ol.init.glorot_std(3, 4, gain=0.0), "gain"),
        (lambda: ol.init.he_std(2.5), "fan_in"),
        (lambda: ol.init.he_std(4, gain=float("inf")), "gain"),
        (lambda: ol.init.he_normal((3, 4), 0, dtype=np.float16), "dtype"),
    ],
)
def test_bad_input_raises_a_value_error_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_mlp_init_params_draws_are_these_scales_to_rounding():
    """The same generator, drawn layer by layer with these stds, gives init_params's W
    to rounding (sqrt(2 / n) against sqrt(2) / sqrt(n): a few ulps)."""
    mlp = ol.nn.MLP([5, 7, 3], "relu")
    theta = mlp.init_params(np.random.default_rng(4))
    rng = np.random.default_rng(4)
    expected = [
        ol.init.he_normal((5, 7), rng),
        ol.init.glorot_normal((7, 3), rng),
    ]
    for params, W in zip(mlp.unflatten(theta), expected, strict=True):
        np.testing.assert_allclose(params["W"], W, rtol=1e-15, atol=0)

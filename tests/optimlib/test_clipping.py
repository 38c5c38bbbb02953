"""Gradient clipping: by norm keeps the direction, by value clamps coordinates.

Properties over shapes and dtypes (hypothesis), float64 agreement with PyTorch's
``clip_grad_norm_`` / ``clip_grad_value_``, the ``clipped`` wrapper, and argument checks.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import optimlib as ol
from optimlib.clipping import clip, clipped, norm

# the independent reference: installed with the test tools, but not on every Python
torch = pytest.importorskip("torch")

FAST = settings(max_examples=80, deadline=None)
DTYPES = (np.float32, np.float64)
RTOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float64): 1e-12}


@st.composite
def gradients(draw, dtypes=DTYPES, min_side=0):
    dtype = draw(st.sampled_from(dtypes))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=min_side, max_side=5))
    width = 32 if dtype == np.float32 else 64
    elements = st.floats(-1e3, 1e3, allow_nan=False, width=width)
    return draw(hnp.arrays(dtype, shape, elements=elements))


thresholds = st.floats(min_value=1e-3, max_value=1e3)


def norm64(a):
    return float(np.linalg.norm(np.asarray(a, dtype=np.float64).ravel()))


def cosine(a, b):
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def frozen(g):
    """A read-only copy: writing into it raises, so mutation cannot go unnoticed."""
    g = g.copy()
    g.flags.writeable = False
    return g


# --- clip_by_norm ------------------------------------------------------------------------


@FAST
@given(g=gradients(), max_norm=thresholds)
def test_clip_by_norm_properties(g, max_norm):
    before = g.copy()
    out = ol.clip_by_norm(frozen(g), max_norm)
    rtol = RTOL[g.dtype]

    assert isinstance(out, np.ndarray)  # a 0-d input gives a 0-d array, not a numpy scalar
    assert out.dtype == g.dtype
    assert np.shape(out) == g.shape
    np.testing.assert_array_equal(g, before)  # the input is untouched

    norm_in, norm_out = norm64(g), norm64(out)
    assert norm_out <= norm_in * (1 + rtol)  # never increases the norm
    assert norm_out <= max_norm * (1 + rtol)
    if norm_in <= max_norm * (1 - rtol):
        np.testing.assert_array_equal(out, g)  # small gradients pass unchanged
    elif norm_in > max_norm * (1 + rtol):
        assert norm_out == pytest.approx(max_norm, rel=rtol)
    if norm_in > 0:
        assert cosine(out, g) == pytest.approx(1.0, abs=10 * rtol)  # same direction
        # a positive multiple of g, coordinate by coordinate
        tiny = np.finfo(g.dtype).smallest_normal  # subnormal coordinates lose digits
        np.testing.assert_allclose(out, g * (norm_out / norm_in), rtol=rtol, atol=tiny)


@FAST
@given(g=gradients(dtypes=(np.float64,), min_side=1), max_norm=thresholds)
def test_clip_by_norm_is_exact_in_float64(g, max_norm):
    out = ol.clip_by_norm(g, max_norm)
    if np.linalg.norm(g) > max_norm:
        assert np.linalg.norm(out) == pytest.approx(max_norm, rel=1e-12)
    else:
        np.testing.assert_array_equal(out, g)


def test_clip_by_norm_returns_a_copy_even_when_nothing_changes():
    g = np.array([0.3, -0.4])
    out = ol.clip_by_norm(g, 1.0)
    np.testing.assert_array_equal(out, g)
    assert not np.shares_memory(out, g)
    out[0] = 99.0
    assert g[0] == 0.3


def test_clip_by_norm_examples():
    np.testing.assert_allclose(ol.clip_by_norm(np.array([3.0, 4.0]), 1.0), [0.6, 0.8])
    np.testing.assert_allclose(ol.clip_by_norm(np.array([3.0, 4.0]), 5.0), [3.0, 4.0])
    np.testing.assert_array_equal(ol.clip_by_norm(np.zeros(3), 1.0), np.zeros(3))
    # integer and list input become float64
    out = ol.clip_by_norm([[3, 0], [0, 4]], 2.5)
    assert out.dtype == np.float64
    np.testing.assert_allclose(out, [[1.5, 0.0], [0.0, 2.0]])


@pytest.mark.parametrize(
    "g",
    [
        np.array([1e20, 0.0], dtype=np.float32),  # ||g||^2 overflows float32
        np.array([1e200, -1e200]),  # ||g||^2 overflows float64
        np.array([[3e300, 0.0], [-4e300, 1.0]]),
    ],
)
def test_clip_by_norm_of_a_huge_finite_gradient_keeps_norm_and_direction(g):
    """Exploding gradients are what clipping is for: no overflow to inf, no zeros, no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ol.clip_by_norm(g, 1.0)
    assert out.dtype == g.dtype
    assert norm64(out) == pytest.approx(1.0, rel=1e-5)
    direction = g.astype(np.float64) / np.max(np.abs(g))  # cosine's own norms would overflow
    assert cosine(out, direction) == pytest.approx(1.0, abs=1e-6)


# The result's norm is max_norm, and its entries c g_i (c = max_norm / ||g||), up to a few
# roundings of g's dtype: ||g|| in float64 (pairwise sum, at most ~log2(n) + 3 roundings for
# the n <= 1000 entries here), the factor, and one rounding of each product to g's dtype.
# 32 units of g's dtype (eps) covers that with room to spare, on any CPU's summation order.
ULPS = 32


@st.composite
def wide_gradients(draw):
    """Finite gradients whose entries span the dtype's range, up to its largest numbers."""
    dtype = draw(st.sampled_from(DTYPES))
    info = np.finfo(dtype)
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=6))
    scale = draw(st.sampled_from([float(info.max) / 2, float(info.max) ** 0.75, 1.0, 1e-10]))
    unit = st.floats(-1, 1, width=info.bits, allow_subnormal=False)
    g = draw(hnp.arrays(dtype, shape, elements=unit)) * dtype(scale)
    return g.astype(dtype)


@FAST
@given(g=wide_gradients(), exponent=st.floats(-0.9, 0.9))
def test_clip_by_norm_is_correct_across_the_dtypes_range(g, exponent):
    """No overflow to zeros, no underflow of the factor, no warning: norm and direction kept.

    max_norm runs from the dtype's smallest normal numbers (times 1e4, so that the
    result's largest entries are normal) to its largest (``exponent`` of the range).
    """
    info = np.finfo(g.dtype)
    max_norm = float(info.max) ** exponent if exponent > 0 else float(info.tiny) ** -exponent
    max_norm = max(max_norm, 1e4 * g.size * float(info.tiny))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ol.clip_by_norm(g, max_norm)
        length = norm(g)
    assert out.dtype == g.dtype and out.shape == g.shape
    rtol = ULPS * float(info.eps)
    if length <= max_norm:
        np.testing.assert_array_equal(out, g)
        return
    assert norm(out) == pytest.approx(max_norm, rel=rtol)
    # the direction: both scaled so their largest entry is +-1 (in float64, no overflow)
    big = float(np.max(np.abs(out)))
    np.testing.assert_allclose(
        out.astype(np.float64) / big,
        g.astype(np.float64) / float(np.max(np.abs(g))),
        rtol=rtol,
        atol=float(info.tiny) / big,  # entries below the smallest normal lose digits
    )


@pytest.mark.parametrize(
    ("g", "max_norm"),
    [
        (np.full(1000, 1e38, np.float32), 1e-6),  # the factor 3e-46 is 0 in float32
        (np.array([1.5e308, 1.5e308]), 1.0),  # ||g|| = 2.1e308 is beyond float64's range
        (np.array([1e300, -1e300, 0.0]), 1e-100),  # the factor 7e-401 is 0 in float64
    ],
)
def test_clip_by_norm_where_it_used_to_return_zeros(g, max_norm):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ol.clip_by_norm(g, max_norm)
    assert out.dtype == g.dtype
    assert norm(out) == pytest.approx(max_norm, rel=ULPS * float(np.finfo(g.dtype).eps))
    expected = np.sign(g) * (g != 0) * (max_norm / math.sqrt(np.count_nonzero(g)))
    np.testing.assert_allclose(out, expected, rtol=ULPS * float(np.finfo(g.dtype).eps))


def test_norm_beyond_float64s_range_is_inf_without_a_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert norm(np.array([1.5e308, 1.5e308])) == math.inf


def test_huge_integer_thresholds_are_value_errors_naming_them():
    for name in ("max_norm", "clip_value"):
        with pytest.raises(ValueError, match=rf"^{name} must be a finite number > 0"):
            clip(np.ones(2), **{name: 10**400})
        with pytest.raises(ValueError, match=rf"^{name} must be a finite number > 0"):
            clipped(lambda x: x, **{name: 10**400})


def test_clipping_a_0d_gradient_gives_a_0d_array():
    for dtype in (np.float32, np.float64):
        for clip_fn in (ol.clip_by_norm, ol.clip_by_value):
            for g, expected in ((-3.0, -1.0), (0.5, 0.5), (0.0, 0.0)):
                out = clip_fn(np.array(g, dtype=dtype), 1.0)
                assert isinstance(out, np.ndarray)
                assert out.shape == ()
                assert out.dtype == dtype
                assert out == expected


# --- norm --------------------------------------------------------------------------------


def reference_norm(g) -> float:
    """np.linalg.norm in float64; tiny vectors scaled by 2^1000 first (exact), so that the
    sum of squares does not underflow."""
    g = np.asarray(g, dtype=np.float64).ravel()
    if np.max(np.abs(g), initial=0.0) < 1e-150:
        return float(np.linalg.norm(g * 2.0**1000)) / 2.0**1000
    return float(np.linalg.norm(g))


def test_norm_examples():
    assert norm(np.array([3.0, 4.0])) == 5.0
    assert norm([[3, 0], [0, -4]]) == 5.0  # any shape, lists and integers too
    assert norm(np.array(-2.5)) == 2.5  # 0-d
    assert norm(np.array([0.1, 0.2, 0.3], dtype=np.float32)) == pytest.approx(
        np.linalg.norm(np.array([0.1, 0.2, 0.3], dtype=np.float32).astype(np.float64)),
        rel=1e-15,
    )
    assert isinstance(norm(np.ones(3)), float)
    rng = np.random.default_rng(0)
    for g in (rng.normal(size=10), rng.normal(size=(7, 11)) * 1e5, rng.uniform(-1, 1, 1000)):
        assert norm(g) == pytest.approx(np.linalg.norm(g.ravel()), rel=1e-15, abs=0)


def test_norm_of_zeros_and_of_empty_arrays_is_0():
    for g in (np.zeros(3), np.zeros((2, 2), dtype=np.float32), np.array(0.0), np.zeros(0)):
        assert norm(g) == 0.0
    assert norm(np.zeros((3, 0))) == 0.0
    assert norm([]) == 0.0


def test_norm_of_huge_entries_is_finite_and_correct():
    with np.errstate(over="ignore"):
        assert np.linalg.norm(np.array([1e200, 1e200])) == math.inf  # why norm exists
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert norm(np.full(4, 1e200)) == pytest.approx(2e200, rel=1e-15)
        assert norm(np.array([1e200, -1e200])) == pytest.approx(math.sqrt(2) * 1e200, rel=1e-15)
        assert norm(np.array([3e200, -4e200, 0.0])) == pytest.approx(5e200, rel=1e-15)
        assert norm(np.array([1e200, 1.0])) == 1e200  # 1 is far below an ulp of 1e200


@settings(max_examples=300, deadline=None)
@given(
    g=st.sampled_from(DTYPES).flatmap(
        lambda dtype: hnp.arrays(
            dtype,
            hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6),
            elements=st.floats(
                -1e6, 1e6, allow_nan=False, allow_subnormal=False, width=np.finfo(dtype).bits
            ),
        )
    )
)
def test_norm_agrees_with_numpy(g):
    result = norm(g)
    assert isinstance(result, float)
    # Each of the two sums of n squares rounds with relative error below about (n/2 + 1)
    # units of float64 rounding after the square root, so they differ by at most (n + 2).
    bound = (g.size + 2) * np.finfo(np.float64).eps
    assert result == pytest.approx(reference_norm(g), rel=bound, abs=0)


# --- clip_by_value -----------------------------------------------------------------------


@FAST
@given(g=gradients(), clip_value=thresholds)
def test_clip_by_value_properties(g, clip_value):
    before = g.copy()
    out = ol.clip_by_value(frozen(g), clip_value)
    c = g.dtype.type(clip_value)

    assert isinstance(out, np.ndarray)  # a 0-d input gives a 0-d array, not a numpy scalar
    assert out.dtype == g.dtype
    assert np.shape(out) == g.shape
    np.testing.assert_array_equal(g, before)
    assert np.all(np.abs(out) <= c)
    inside = np.abs(g) <= c
    np.testing.assert_array_equal(out[inside], g[inside])  # small coordinates unchanged
    np.testing.assert_array_equal(out[~inside], np.sign(g[~inside]) * c)  # others clamped
    assert norm64(out) <= norm64(g) * (1 + RTOL[g.dtype])


def test_clip_by_value_can_turn_the_direction():
    g = np.array([10.0, 1.0])
    out = ol.clip_by_value(g, 1.0)
    np.testing.assert_array_equal(out, [1.0, 1.0])
    c = cosine(out, g)
    assert c == pytest.approx(11 / math.sqrt(202), rel=1e-12)
    assert c < 0.8
    # clipping by norm to the same length keeps the direction
    by_norm = ol.clip_by_norm(g, float(np.linalg.norm(out)))
    assert cosine(by_norm, g) == pytest.approx(1.0, abs=1e-15)
    assert np.linalg.norm(by_norm) == pytest.approx(np.linalg.norm(out), rel=1e-12)


def test_clip_by_value_returns_a_copy_even_when_nothing_changes():
    g = np.array([0.1, -0.2], dtype=np.float32)
    out = ol.clip_by_value(g, 1.0)
    assert out.dtype == np.float32
    assert not np.shares_memory(out, g)


# --- agreement with PyTorch in float64 ---------------------------------------------------


def torch_grad(g):
    param = torch.zeros(g.shape, dtype=torch.float64, requires_grad=True)
    param.grad = torch.from_numpy(g.copy())
    return param


@FAST
@given(g=gradients(dtypes=(np.float64,), min_side=1), max_norm=thresholds)
def test_clip_by_norm_agrees_with_torch(g, max_norm):
    param = torch_grad(g)
    total = torch.nn.utils.clip_grad_norm_([param], max_norm)
    ours = ol.clip_by_norm(g, max_norm)
    norm = float(np.linalg.norm(g))
    if norm > 1e-150:  # below that numpy's sum of squares underflows (torch's need not)
        assert float(total) == pytest.approx(norm, rel=1e-12)
    # torch divides by ||g|| + 1e-6 rather than ||g||: a relative difference of 1e-6/||g||
    rtol = 1e-12 + 1.01e-6 / max(norm, 1e-300)
    np.testing.assert_allclose(ours, param.grad.numpy(), rtol=rtol, atol=1e-300)


@FAST
@given(g=gradients(dtypes=(np.float64,), min_side=1), clip_value=thresholds)
def test_clip_by_value_agrees_with_torch_exactly(g, clip_value):
    param = torch_grad(g)
    torch.nn.utils.clip_grad_value_([param], clip_value)
    np.testing.assert_array_equal(ol.clip_by_value(g, clip_value), param.grad.numpy())


# --- clip and clipped --------------------------------------------------------------------


def test_clip_applies_value_then_norm():
    g = np.array([10.0, 1.0, -3.0])
    np.testing.assert_array_equal(clip(g), g)
    np.testing.assert_array_equal(clip(g, clip_value=2.0), ol.clip_by_value(g, 2.0))
    np.testing.assert_array_equal(clip(g, max_norm=2.0), ol.clip_by_norm(g, 2.0))
    both = clip(g, max_norm=1.0, clip_value=2.0)
    np.testing.assert_array_equal(both, ol.clip_by_norm(ol.clip_by_value(g, 2.0), 1.0))
    assert np.linalg.norm(both) == pytest.approx(1.0, rel=1e-12)


def test_clipped_wraps_a_gradient_function():
    calls = []

    def grad_fn(theta):
        calls.append(theta.copy())
        return 100.0 * theta

    theta = np.array([1.0, 2.0])
    by_norm = clipped(grad_fn, max_norm=1.0)
    out = by_norm(theta)
    np.testing.assert_allclose(out, theta / np.linalg.norm(theta), rtol=1e-15)
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0], theta)

    by_value = clipped(grad_fn, clip_value=50.0)
    np.testing.assert_array_equal(by_value(theta), [50.0, 50.0])

    unchanged = clipped(grad_fn)
    np.testing.assert_array_equal(unchanged(theta), 100.0 * theta)

    # the wrapped function is a drop-in grad_fn for an optimizer
    opt = ol.SGD(lr=0.5)
    new_theta = opt.step(theta, by_norm)
    assert np.linalg.norm(new_theta - theta) == pytest.approx(0.5, rel=1e-12)


# --- bad thresholds ----------------------------------------------------------------------

BAD_THRESHOLDS = [0.0, -1.0, math.nan, math.inf, -math.inf, "1", None, True]


@pytest.mark.parametrize("value", BAD_THRESHOLDS)
def test_bad_max_norm_raises_naming_it(value):
    g = np.ones(3)
    with pytest.raises(ValueError, match=r"^max_norm must be"):
        ol.clip_by_norm(g, value)
    if value is not None:  # None means "no clipping" in clipped()
        with pytest.raises(ValueError, match=r"^max_norm must be"):
            clipped(lambda t: t, max_norm=value)


@pytest.mark.parametrize("value", BAD_THRESHOLDS)
def test_bad_clip_value_raises_naming_it(value):
    g = np.ones(3)
    with pytest.raises(ValueError, match=r"^clip_value must be"):
        ol.clip_by_value(g, value)
    if value is not None:
        with pytest.raises(ValueError, match=r"^clip_value must be"):
            clipped(lambda t: t, clip_value=value)


def test_non_numeric_gradient_is_rejected():
    with pytest.raises(ValueError, match=r"^g must be"):
        ol.clip_by_norm(np.array(["a", "b"]), 1.0)
    with pytest.raises(ValueError, match=r"^g must be"):
        ol.clip_by_value(np.array([1 + 2j]), 1.0)


def test_clip_by_value_with_a_threshold_beyond_the_dtypes_range():
    """1e300 is inf in float32: no finite entry exceeds it, and there is no cast warning."""
    g = np.array([1e30, -3e38, 0.5], dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ol.clip_by_value(g, 1e300)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, g)
    assert not np.shares_memory(out, g)


@pytest.mark.parametrize("bad", [math.inf, -math.inf])
def test_clip_by_norm_of_an_overflowed_gradient_is_nan_without_a_warning(bad):
    """An inf entry has no direction to keep: NaN, which the run loop records as divergence."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ol.clip_by_norm(np.array([bad, 1.0, 0.0]), 1.0)
    assert np.isnan(out).all()
    history = ol.minimize(
        ol.problems.Quadratic(np.eye(3)), ol.SGD(lr=0.1), 5, grad_fn=lambda x: x + bad, max_norm=1.0
    )
    assert history.diverged_at == 0

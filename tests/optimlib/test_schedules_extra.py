"""Warm-up with cosine decay, and cosine decay: the formula, torch's schedulers, the sums."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import optimlib as ol
from optimlib import schedules
from optimlib.schedules import Cosine, WarmupCosine, cosine_decay, warmup_cosine

# the independent reference: installed with the test tools, but not on every Python
torch = pytest.importorskip("torch")


def formula(k: int, eps_max: float, warmup: int, total: int, eps_min: float) -> float:
    """The definition, one k at a time, in Python floats."""
    if k < warmup:
        return eps_max * (k + 1) / warmup
    if k < total:
        phase = (k - warmup) / (total - warmup)
        return eps_min + (eps_max - eps_min) * (1 + math.cos(math.pi * phase)) / 2
    return eps_min


CASES = [(0.1, 10, 100, 0.0), (3e-4, 5, 50, 1e-5), (1.0, 1, 7, 0.5), (0.2, 0, 30, 0.01)]


@pytest.mark.parametrize(("eps_max", "warmup", "total", "eps_min"), CASES)
def test_warmup_cosine_is_the_formula(eps_max, warmup, total, eps_min):
    schedule = warmup_cosine(eps_max, warmup, total, eps_min)
    k = np.arange(2 * total)
    expected = [formula(int(i), eps_max, warmup, total, eps_min) for i in k]
    np.testing.assert_allclose(schedule(k), expected, rtol=1e-15, atol=0)
    for i in (0, 5, total - 1, total, total + 3):  # a scalar k gives the same float
        assert schedule(i) == pytest.approx(expected[i], rel=1e-15, abs=0)
        assert isinstance(schedule(i), float)


@pytest.mark.parametrize(("eps_max", "warmup", "total", "eps_min"), CASES)
def test_warmup_cosine_at_the_boundaries(eps_max, warmup, total, eps_min):
    s = warmup_cosine(eps_max, warmup, total, eps_min)
    if warmup:
        assert s(0) == pytest.approx(eps_max / warmup, rel=1e-15)
        assert s(warmup - 1) == eps_max  # the end of the warm-up is the peak
    assert s(warmup) == eps_max  # the cosine starts at the peak
    assert s(total) == eps_min
    assert s(total + 1) == s(10 * total) == eps_min
    if total - warmup >= 2 and (total - warmup) % 2 == 0:
        assert s((warmup + total) // 2) == pytest.approx((eps_max + eps_min) / 2, rel=1e-14)
    eps = s(np.arange(3 * total))
    assert np.all(np.diff(eps[:warmup]) > 0)  # rises during the warm-up
    assert np.all(np.diff(eps[warmup:]) <= 0)  # never rises after it
    assert eps.max() == eps_max and eps.min() == min(eps_min, eps[0])


def torch_lrs(make_scheduler, base_lr: float, steps: int) -> np.ndarray:
    """The lr a torch optimizer uses at steps 0, ..., steps - 1 under a scheduler."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    scheduler = make_scheduler(opt)
    lrs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns about step order without a backward
        for _ in range(steps):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            scheduler.step()
    return np.array(lrs)


@pytest.mark.parametrize(("eps_max", "warmup", "total", "eps_min"), CASES)
def test_warmup_cosine_is_torch_lambda_lr(eps_max, warmup, total, eps_min):
    """LambdaLR with base lr 1: torch uses eps_k at step k, as optimlib does."""
    schedule = warmup_cosine(eps_max, warmup, total, eps_min)
    lrs = torch_lrs(lambda opt: torch.optim.lr_scheduler.LambdaLR(opt, schedule), 1.0, 2 * total)
    np.testing.assert_array_equal(lrs, schedule(np.arange(2 * total)))


@pytest.mark.parametrize(("eps_max", "warmup", "total", "eps_min"), [CASES[0], CASES[1]])
def test_warmup_cosine_is_torch_linear_lr_then_cosine_annealing(eps_max, warmup, total, eps_min):
    """SequentialLR(LinearLR from 1/warmup to 1 over warmup - 1 steps, CosineAnnealingLR)
    up to k = total; torch's cosine then rises again (it is periodic), ours stays."""

    def make(opt):
        linear = torch.optim.lr_scheduler.LinearLR(
            opt, start_factor=1 / warmup, end_factor=1.0, total_iters=warmup - 1
        )
        cosine = torch.optim.lr_scheduler.CosineAnnealingLR(
            opt, T_max=total - warmup, eta_min=eps_min
        )
        return torch.optim.lr_scheduler.SequentialLR(opt, [linear, cosine], milestones=[warmup])

    lrs = torch_lrs(make, eps_max, total + 1)
    ours = warmup_cosine(eps_max, warmup, total, eps_min)(np.arange(total + 1))
    # torch updates the cosine recursively, so it is off by a few rounding errors
    np.testing.assert_allclose(lrs, ours, rtol=1e-12, atol=1e-15 * eps_max)


def test_cosine_decay_is_torch_cosine_annealing_and_warmup_0():
    eps0, total, eps_min = 0.5, 40, 0.05
    schedule = cosine_decay(eps0, total, eps_min)
    assert isinstance(schedule, Cosine)
    k = np.arange(3 * total)
    np.testing.assert_array_equal(schedule(k), warmup_cosine(eps0, 0, total, eps_min)(k))
    lrs = torch_lrs(
        lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total, eta_min=eps_min),
        eps0,
        total + 1,
    )
    np.testing.assert_allclose(lrs, schedule(k[: total + 1]), rtol=1e-12, atol=1e-16)
    assert repr(schedule) == "Cosine(eps0=0.5, total=40, eps_min=0.05)"
    assert eval(repr(schedule), vars(schedules))(k).tolist() == schedule(k).tolist()


@pytest.mark.parametrize("eps_min", [0.0, 1e-3])
def test_sums_follow_the_tail(eps_min):
    """eps_min > 0 ends like a constant (both sums diverge); eps_min = 0 stops (both finite)."""
    schedule = warmup_cosine(0.1, 10, 100, eps_min)
    assert schedule.sum_diverges is (eps_min > 0)
    assert schedule.sum_of_squares_converges is (eps_min == 0)
    assert not schedule.meets_robbins_monro
    s1, s2 = schedules.partial_sums(schedule, 1000)
    if eps_min == 0:
        assert s1[-1] == s1[100] and s2[-1] == s2[100]  # nothing added after total
    else:
        np.testing.assert_allclose(s1[-1] - s1[499], 500 * eps_min, rtol=1e-12)
        np.testing.assert_allclose(s2[-1] - s2[499], 500 * eps_min**2, rtol=1e-9)


def test_labels():
    assert warmup_cosine(0.1, 10, 100).label == "warm-up 10, cosine to k=100"
    assert cosine_decay(0.1, 100).label == "cosine to k=100"


def test_drives_an_optimizer():
    opt = ol.AdamW(lr=warmup_cosine(0.01, 5, 20))
    theta = np.ones(3)
    for k in range(25):
        assert opt.lr_at(k) == warmup_cosine(0.01, 5, 20)(k)
        theta = opt.step(theta, lambda x: 2 * x)
    assert np.all(np.abs(theta) < 1)


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((0.0, 10, 100), "eps_max"),
        ((-1.0, 10, 100), "eps_max"),
        ((float("nan"), 10, 100), "eps_max"),
        ((0.1, -1, 100), "warmup"),
        ((0.1, 2.5, 100), "warmup"),
        ((0.1, 10, 0), "total"),
        ((0.1, 10, 10), "total"),
        ((0.1, 10, 5), "total"),
        ((0.1, 10, 100, -1e-3), "eps_min"),
        ((0.1, 10, 100, 0.2), "eps_min"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(args, name):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        WarmupCosine(*args)


@pytest.mark.parametrize(
    ("args", "name"), [((0.0, 10), "eps0"), ((0.1, 0), "total"), ((0.1, 10, 0.5), "eps_min")]
)
def test_cosine_bad_arguments_name_its_own_parameters(args, name):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        cosine_decay(*args)


def test_bad_k_raises():
    with pytest.raises(ValueError, match="k must be"):
        warmup_cosine(0.1, 10, 100)(-1)

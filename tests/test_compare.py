"""Tests of optimlib.compare: tuning finds the known best learning rate, diverged runs
rank last, results are deterministic plain data, and bad input names its parameter."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import optimlib as ol
from optimlib import compare as C

QUADRATIC = ol.problems.Quadratic.with_condition_number(100, dim=2)


def fixed_quadratic(seed):
    return QUADRATIC, QUADRATIC.x0


def random_start_quadratic(seed):
    rng = np.random.default_rng(seed)
    return QUADRATIC, QUADRATIC.x_star + rng.standard_normal(2)


def logistic(seed):
    problem = ol.problems.LogisticRegression.synthetic(64, 3, np.random.default_rng(seed))
    return problem, problem.x0


def test_lr_grid_is_exact_powers_of_ten():
    grid = C.lr_grid(1e-3, 1e1, 2)
    assert len(grid) == 9
    assert grid[0] == 1e-3 and grid[2] == 1e-2 and grid[-1] == 10.0
    assert np.allclose(np.diff(np.log10(grid)), 0.5)


def test_tuning_gradient_descent_finds_two_over_mu_plus_L():
    """On a quadratic the best constant step for gradient descent is 2 / (mu + L); the
    grid point chosen must be within one grid step of it (a factor 10^(1/8))."""
    lrs = C.lr_grid(1e-3, 1.0, 8)
    result = C.tune(ol.SGD, fixed_quadratic, lrs, seeds=[0], steps=100)
    ratio = result["best_lr"] / QUADRATIC.gd_optimal_lr()
    assert 10 ** (-1 / 8) <= ratio <= 10 ** (1 / 8), ratio
    assert not result["at_edge"]
    # above 2 / L gradient descent diverges: those rates score None (worst)
    for lr, median in zip(result["lrs"], result["median"], strict=True):
        if lr > 2.05 / QUADRATIC.L:
            assert median is None, lr


def test_diverged_runs_rank_last_and_edges_are_flagged():
    lrs = [1e-4, 1e-3, 1.0]  # 1.0 diverges (2 / L = 0.02); 1e-3 is the best of these
    result = C.tune(ol.SGD, fixed_quadratic, lrs, seeds=[0, 1], steps=50)
    assert result["scores"][2] == [None, None]
    assert result["best"] == 1 and not result["at_edge"]
    edge = C.tune(ol.SGD, fixed_quadratic, [1e-5, 1e-4], seeds=[0], steps=50)
    assert edge["best_lr"] == 1e-4 and edge["at_edge"]


def test_a_blowup_counts_as_divergence_even_when_finite():
    """Adam's steps are bounded by lr, so it never overflows; a loss gap a million times
    the starting one is still recorded as a divergence and scores inf."""
    history = C.run(ol.SGD, 0.05, fixed_quadratic, 0, 200)
    assert history.diverged and C.score(history, 200) == math.inf


def test_evaluate_records_curves_steps_to_tol_and_grad_evals():
    out = C.evaluate(ol.SGD, random_start_quadratic, 0.0178, [3, 4], 100, [0, 50, 100], 0.1)
    assert out["record_at"] == [0, 50, 100]
    for seed_run in out["runs"]:
        curve = seed_run["curve"]
        assert curve[0] > curve[1] > curve[2] >= 0
        assert seed_run["grad_evals"] == 100  # one gradient per step, the budget exactly
        k = seed_run["steps_to_tol"]
        assert k is not None and seed_run["grad_evals_to_tol"] == k
        _, x0 = random_start_quadratic(seed_run["seed"])
        h = ol.minimize(QUADRATIC, ol.SGD(0.0178), 100, x0)
        assert h.steps_to(0.1) == k
    diverged = C.evaluate(ol.SGD, fixed_quadratic, 1.0, [0], 20, [0, 20], 1e-2)["runs"][0]
    assert diverged["curve"][1] is None and diverged["final"] is None
    assert diverged["steps_to_tol"] is None and diverged["diverged_at"] is not None


def test_minibatch_runs_are_deterministic_and_json_round_trips():
    """Same seeds, same numbers, bit for bit; different seeds draw different data."""
    args = (ol.Adam, logistic, [1e-2, 1e-1], [0, 1], 30)
    first = C.tune(*args, batch_size=4)
    second = C.tune(*args, batch_size=4)
    assert first == second
    assert json.loads(json.dumps(first)) == first
    assert first["scores"][0][0] != first["scores"][0][1]  # seeds vary the data
    ev = C.evaluate(ol.Adam, logistic, 0.1, [5], 30, [0, 30], 0.1, batch_size=4)
    assert json.loads(json.dumps(ev)) == ev


def test_summarize_counts_none_as_worst():
    assert C.summarize([3.0, 1.0, 2.0, None, 5.0]) == [1.0, 3.0, None]
    assert C.summarize([1.0, None, None], quantiles=(0.5,)) == [None]
    assert C.summarize([4.0]) == [4.0, 4.0, 4.0]


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: C.lr_grid(1e-3, 3e-1, 2), "high"),
        (lambda: C.lr_grid(1.0, 1e-2, 2), "low"),
        (lambda: C.lr_grid(1e-3, 1.0, 0), "per_decade"),
        (lambda: C.tune(ol.SGD, fixed_quadratic, [1e-2], [0], 10), "lrs"),
        (lambda: C.tune(ol.SGD, fixed_quadratic, [1e-2, 1e-3], [0], 10), "lrs"),
        (lambda: C.tune(ol.SGD, fixed_quadratic, [-1.0, 1e-3], [0], 10), "lrs"),
        (lambda: C.tune(ol.SGD, fixed_quadratic, [1e-3, 1e-2], [], 10), "seeds"),
        (lambda: C.tune(ol.SGD, fixed_quadratic, [1e-3, 1e-2], [-1], 10), "seeds"),
        (lambda: C.tune(ol.SGD, fixed_quadratic, [1e-3, 1e-2], [0], 0), "steps"),
        (lambda: C.evaluate(ol.SGD, fixed_quadratic, 1e-3, [0], 10, [11], 1e-2), "record_at"),
        (lambda: C.evaluate(ol.SGD, fixed_quadratic, 1e-3, [0], 10, [5], 0.0), "tol"),
        (lambda: C.run(ol.SGD, 1e-3, "quadratic", 0, 10), "make_problem"),
        (lambda: C.summarize([]), "values"),
    ],
)
def test_bad_input_names_the_parameter(call, name):
    with pytest.raises(ValueError, match=name):
        call()

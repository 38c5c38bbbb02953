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


def gentle_or_steep(seed):
    """Even seeds: a gentle quadratic (L = 2); odd seeds: QUADRATIC (L = 100), on which
    gradient descent with a step above 2 / L = 0.02 diverges."""
    if seed % 2 == 0:
        gentle = ol.problems.Quadratic.with_condition_number(2, dim=2)
        return gentle, gentle.x0
    return QUADRATIC, QUADRATIC.x0


CALLS = []


def watched_quadratic(seed):
    """fixed_quadratic, noting the call: a bad argument must be refused before this."""
    CALLS.append(seed)
    return fixed_quadratic(seed)


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


def test_keep_run_returns_the_chosen_run_on_the_first_seed_as_a_rerun_makes_it():
    """The kept run is bit for bit the chosen rate rerun on the first seed (with its
    iterates), its optimizer holds that run's final state; the scores do not change;
    with nothing chosen both are None; keep_run must be a bool."""
    data = ol.problems.LinearRegression.synthetic(N=50, d=3, rng=np.random.default_rng(0))

    def least_squares(seed):  # minibatches drawn with the seed
        return data, data.x0

    lrs = [1e-3, 1e-1, 10.0]
    plain = C.tune(ol.SGD, least_squares, lrs, seeds=[2, 0], steps=40, batch_size=4)
    kept = C.tune(ol.Momentum, least_squares, lrs, [2, 0], 40, 4, keep_run=True)
    again = C.tune(ol.SGD, least_squares, lrs, [2, 0], 40, 4, keep_run=True)
    assert {k: again[k] for k in plain} == plain and again["best"] == 1
    for result, make in ((again, ol.SGD), (kept, ol.Momentum)):
        optimizer = make(result["best_lr"])
        rerun = C.run(lambda lr, o=optimizer: o, result["best_lr"], least_squares, 2, 40, 4, True)
        assert np.array_equal(result["run"].losses, rerun.losses)
        assert np.array_equal(result["run"].thetas, rerun.thetas)
        assert result["optimizer"].k == optimizer.k == 40
        for name, value in optimizer.state.items():
            assert np.array_equal(result["optimizer"].state[name], value)
    none = C.tune(ol.SGD, fixed_quadratic, [1.0, 2.0], [0], 20, keep_run=True)
    assert none["best"] is None and none["run"] is None and none["optimizer"] is None
    with pytest.raises(ValueError, match="keep_run"):
        C.tune(ol.SGD, fixed_quadratic, lrs, [0], 20, keep_run=1)


def test_a_blowup_counts_as_divergence_long_before_it_overflows():
    """Gradient descent at 0.05 > 2 / L multiplies its gap by 16 a step along the steep
    axis: the run stops as diverged once the gap passes a million times the starting
    one, every recorded gap still finite and below that, and it scores inf."""
    history = C.run(ol.SGD, 0.05, fixed_quadratic, 0, 200)
    assert history.diverged and history.stop_reason == "max_loss"
    assert history.steps < 20 and C.score(history, 200) == math.inf
    recorded = C.gaps(history)
    assert np.all(np.isfinite(recorded)) and recorded.max() <= C.BLOWUP * recorded[0]


@pytest.mark.parametrize("offset", [0.0, 1e-9])
def test_a_run_started_at_the_minimizer_is_not_a_divergence(offset):
    """From at or next to x* (f* = -50.5 here, not 0) the starting gap is rounding noise,
    0 or even negative; a million times it must not make the next rounding a blowup."""
    assert QUADRATIC.f_star != 0

    def at_minimizer(seed):
        return QUADRATIC, QUADRATIC.x_star + offset

    history = C.run(ol.SGD, 0.01, at_minimizer, 0, 50)
    assert not history.diverged and history.steps == 50
    assert np.all(np.abs(C.gaps(history)) < 1e-12)


def test_an_unstable_step_from_next_to_the_minimizer_still_diverges():
    def near_minimizer(seed):
        return QUADRATIC, QUADRATIC.x_star + 1e-9

    assert C.run(ol.SGD, 0.05, near_minimizer, 0, 200).diverged


def test_tuning_picks_the_smaller_lr_on_a_tie():
    """Steps capped at 0.01: lrs 0.01 and 0.1 run the same and tie for best (1e-3 is
    slower); the smaller of the two is chosen, in the middle of the grid."""
    result = C.tune(lambda lr: ol.SGD(min(lr, 0.01)), fixed_quadratic, [1e-3, 1e-2, 1e-1], [0], 50)
    assert result["median"][1] == result["median"][2] < result["median"][0]
    assert result["best"] == 1 and result["best_lr"] == 1e-2 and not result["at_edge"]


def test_the_median_is_none_exactly_when_half_the_seeds_diverged():
    """At lr 0.05 the even seeds converge and the odd ones diverge: one diverged seed of
    three leaves the converged score as the median; one of two (half) makes it None,
    and the smaller lr is chosen."""
    lrs = [1e-2, 5e-2]
    three = C.tune(ol.SGD, gentle_or_steep, lrs, [0, 2, 1], 50)
    assert three["scores"][1][2] is None and three["median"][1] == three["scores"][1][0]
    assert three["best"] == 1
    two = C.tune(ol.SGD, gentle_or_steep, lrs, [0, 1], 50)
    assert two["scores"][1][0] is not None and two["median"][1] is None and two["best"] == 0


def test_tuning_chooses_nothing_when_every_lr_diverges():
    result = C.tune(ol.SGD, fixed_quadratic, [1.0, 10.0], [0, 1], 50)
    assert result["median"] == [None, None]
    assert result["best"] is None and result["best_lr"] is None and result["at_edge"] is None
    with pytest.raises(ValueError, match="lr"):  # and there is nothing to evaluate
        C.evaluate(ol.SGD, fixed_quadratic, result["best_lr"], [0], 10, [10], 1e-2)


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


def test_grad_evals_per_step_counts_the_failed_step_of_a_divergence():
    assert C.grad_evals_per_step(100, 100, False) == 1
    assert C.grad_evals_per_step(200, 100, False) == 2  # two gradients a step
    assert C.grad_evals_per_step(12, 5, True) == 2  # steps 0..4 done, step 5 asked too
    history = C.run(ol.SGD, 0.05, fixed_quadratic, 0, 200)  # diverges
    assert history.grad_evals == history.steps + 1
    assert C.grad_evals_per_step(history.grad_evals, history.steps, history.diverged) == 1


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
    # an even number of values: the larger middle one, so half diverged is None
    assert C.summarize([4.0, 1.0, 3.0, 2.0], quantiles=(0.5,)) == [3.0]
    assert C.summarize([1.0, None], quantiles=(0.5,)) == [None]
    assert C.summarize([4.0]) == [4.0, 4.0, 4.0]


def test_summarize_linear_interpolates_between_the_nearest_values():
    # quantile q of n sorted values sits at position q (n - 1): here 0.9 * 3 = 2.7
    assert C.summarize([4.0, 1.0, 3.0, 2.0], (0.5, 0.9), method="linear") == [2.5, 3.7]
    assert C.summarize(np.arange(11.0), (0.1, 0.5, 0.9), method="linear") == [1.0, 5.0, 9.0]
    # a diverged seed next to the quantile: inf, or NaN between two infs, both None
    assert C.summarize([1.0, None, None], (0.5, 0.25, 1.0), method="linear") == [
        None,
        None,
        None,
    ]
    assert C.summarize([1.0, 2.0, None], (0.25,), method="linear") == [1.5]


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: C.lr_grid(1e-3, 3e-1, 2), "high"),
        (lambda: C.lr_grid(1.0, 1e-2, 2), "low"),
        (lambda: C.lr_grid(1e-3, 1.0, 0), "per_decade"),
        (lambda: C.tune(ol.SGD, watched_quadratic, [1e-2], [0], 10), "lrs"),
        (lambda: C.tune(ol.SGD, watched_quadratic, [1e-2, 1e-3], [0], 10), "lrs"),
        (lambda: C.tune(ol.SGD, watched_quadratic, [-1.0, 1e-3], [0], 10), "lrs"),
        (lambda: C.tune(ol.SGD, watched_quadratic, [1e-3, 1e-2], [], 10), "seeds"),
        (lambda: C.tune(ol.SGD, watched_quadratic, [1e-3, 1e-2], [-1], 10), "seeds"),
        (lambda: C.tune(ol.SGD, watched_quadratic, [1e-3, 1e-2], [0], 0), "steps"),
        (lambda: C.evaluate(ol.SGD, watched_quadratic, 1e-3, [0], 10, [11], 1e-2), "record_at"),
        (lambda: C.evaluate(ol.SGD, watched_quadratic, 1e-3, [0], 10, [5], 0.0), "tol"),
        (lambda: C.evaluate(ol.SGD, watched_quadratic, 1e-3, [0], 10, [5], "0.1"), "tol"),
        (lambda: C.evaluate(ol.SGD, watched_quadratic, math.inf, [0], 10, [5], 0.1), "lr"),
        (lambda: C.evaluate(ol.SGD, watched_quadratic, None, [0], 10, [5], 0.1), "lr"),
        (lambda: C.steps_to(C.run(ol.SGD, 1e-3, fixed_quadratic, 0, 5), -1.0), "tol"),
        (lambda: C.grad_evals_per_step(7, 3, False), "grad_evals"),
        (lambda: C.run(ol.SGD, 1e-3, "quadratic", 0, 10), "make_problem"),
        (lambda: C.summarize([]), "values"),
        (lambda: C.summarize([1.0], method="nearest"), "method"),
    ],
)
def test_bad_input_names_the_parameter_and_is_refused_before_any_run(call, name):
    CALLS.clear()
    with pytest.raises(ValueError, match=name):
        call()
    assert CALLS == []  # no problem was made, so nothing ran


def test_score_of_the_last_iterates_is_their_geometric_mean():
    history = C.run(ol.SGD, 0.005, fixed_quadratic, 0, 60)
    g = C.gaps(history)
    assert C.score(history, 60) == g[-1]
    assert C.score(history, 60, last=10) == pytest.approx(
        np.exp(np.mean(np.log(g[-10:]))), rel=1e-14
    )
    # on a geometric decay the geometric mean of the last 11 gaps is the 6th from the end
    assert C.score(history, 60, last=11) == pytest.approx(g[-6], rel=1e-6)


def test_tune_ranks_by_the_score_of_the_last_iterates():
    lrs = [1e-3, 1e-2]
    result = C.tune(ol.SGD, fixed_quadratic, lrs, [0], 40, last=5)
    for i, lr in enumerate(lrs):
        history = C.run(ol.SGD, lr, fixed_quadratic, 0, 40)
        assert result["scores"][i][0] == C.score(history, 40, last=5)


@pytest.mark.parametrize("last", [0, 42, 2.5])
def test_bad_last_is_a_value_error_before_any_run(last):
    CALLS.clear()
    with pytest.raises(ValueError, match="last must be"):
        C.tune(ol.SGD, watched_quadratic, [1e-3, 1e-2], [0], 40, last=last)
    assert CALLS == []

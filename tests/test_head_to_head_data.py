"""book/data/head_to_head.json (chapter 9) holds what benchmarks/head_to_head.py computes.

The full sweep takes minutes; this re-runs a reduced one (a few learning rates and
seeds, and shortened runs, whose gaps are a prefix of the full runs' because every
random draw comes in the same order) and compares it with the file entry by entry.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from optimlib import compare

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("head_to_head", ROOT / "benchmarks/head_to_head.py")
H = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(H)
DATA = json.loads(H.OUT.read_text())
RTOL = 1e-9


def same(stored, computed):
    """Equal up to RTOL, None (diverged, never reached) matching None."""
    if stored is None or computed is None:
        return stored is None and computed is None
    return bool(np.allclose(stored, computed, rtol=RTOL, atol=0))


def test_the_file_was_made_with_the_scripts_configuration():
    assert DATA["config"] == json.loads(json.dumps(H.CONFIG))
    for name, task in H.TASKS.items():
        stored = DATA["tasks"][name]
        assert stored["steps"] == task["steps"] and stored["tol"] == task["tol"]
        assert stored["batch_size"] == task["batch_size"]
        assert set(stored["optimizers"]) == set(H.OPTIMIZERS)


def test_the_stored_choice_of_lr_follows_from_the_stored_scores():
    for task in DATA["tasks"].values():
        for entry in task["optimizers"].values():
            tuned = entry["tune"]
            medians = [
                np.median([np.inf if v is None else v for v in row]) for row in tuned["scores"]
            ]
            assert tuned["best"] == int(np.argmin(medians))
            assert tuned["best_lr"] == tuned["lrs"][tuned["best"]] == entry["eval"]["lr"]


@pytest.mark.parametrize(
    ("task", "optimizers"),
    [("quadratic", ["SGD", "Adam", "Lion"]), ("rosenbrock", ["Momentum", "Adadelta"])],
)
def test_tuning_scores_reproduce(task, optimizers):
    """Full-length runs at the chosen lr and its two neighbours, first tuning seed."""
    spec, seed = H.TASKS[task], H.CONFIG["tune_seeds"][0]
    for name in optimizers:
        tuned = DATA["tasks"][task]["optimizers"][name]["tune"]
        for i in range(max(tuned["best"] - 1, 0), min(tuned["best"] + 2, len(tuned["lrs"]))):
            history = compare.run(
                H.OPTIMIZERS[name], tuned["lrs"][i], spec["make"], seed, spec["steps"]
            )
            computed = compare.score(history, spec["steps"])
            assert same(tuned["scores"][i][0], compare._plain(computed)), (name, i)


@pytest.mark.parametrize("task", list(H.TASKS))
def test_evaluation_runs_reproduce_over_the_first_fifth(task):
    """Every optimizer, first evaluation seed, the first 20% of the budget."""
    spec, seed = H.TASKS[task], H.CONFIG["eval_seeds"][0]
    steps = spec["steps"] // 5
    for name in H.OPTIMIZERS:
        stored_eval = DATA["tasks"][task]["optimizers"][name]["eval"]
        stored = stored_eval["runs"][0]
        assert stored["seed"] == seed
        points = [k for k in stored_eval["record_at"] if k <= steps]
        computed = compare.evaluate(
            H.OPTIMIZERS[name],
            spec["make"],
            stored_eval["lr"],
            [seed],
            steps,
            points,
            spec["tol"],
            spec["batch_size"],
        )["runs"][0]
        for a, b in zip(stored["curve"], computed["curve"], strict=False):
            assert same(a, b), (name, a, b)
        k = stored["steps_to_tol"]
        assert computed["steps_to_tol"] == (k if k is not None and k <= steps else None), name


def test_a_tiny_sweep_has_the_files_layout():
    config = {**H.CONFIG, "lrs": [1e-2, 1e-1], "tune_seeds": [0], "eval_seeds": [100]}
    config.update(tasks=["quadratic"], optimizers=["SGD"], curve_points=4)
    small = json.loads(H.dumps(H.sweep(config)))
    entry, stored = small["tasks"]["quadratic"], DATA["tasks"]["quadratic"]
    assert set(entry) == set(stored)
    assert set(entry["optimizers"]["SGD"]) == set(stored["optimizers"]["SGD"])
    assert set(entry["optimizers"]["SGD"]["eval"]["runs"][0]) == set(
        stored["optimizers"]["SGD"]["eval"]["runs"][0]
    )

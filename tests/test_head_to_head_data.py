"""Chapter 9's data file holds what optimlib.explorers.head_to_head_sweep computes.

The full sweep takes minutes; this re-runs a reduced one (a few learning rates and
seeds, and shortened runs, whose gaps are a prefix of the full runs' because every
random draw comes in the same order) and compares it with the file entry by entry.
"""

from __future__ import annotations

import fnmatch
import json
import tomllib
from pathlib import Path

import numpy as np
import pytest

from optimlib import compare
from optimlib.explorers import head_to_head as hh
from optimlib.explorers import head_to_head_sweep as study

DATA = hh.load()
RTOL = 1e-9


def same(stored, computed):
    """Equal up to RTOL, None (diverged, never reached) matching None."""
    if stored is None or computed is None:
        return stored is None and computed is None
    return bool(np.allclose(stored, computed, rtol=RTOL, atol=0))


def test_the_file_was_made_with_the_scripts_configuration():
    assert DATA["config"] == json.loads(json.dumps(study.CONFIG))
    for name, task in study.TASKS.items():
        stored = DATA["tasks"][name]
        assert stored["steps"] == task["steps"] and stored["tol"] == task["tol"]
        assert stored["batch_size"] == task["batch_size"]
        assert set(stored["optimizers"]) == set(study.OPTIMIZERS)


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
    spec, seed = study.TASKS[task], study.CONFIG["tune_seeds"][0]
    for name in optimizers:
        tuned = DATA["tasks"][task]["optimizers"][name]["tune"]
        for i in range(max(tuned["best"] - 1, 0), min(tuned["best"] + 2, len(tuned["lrs"]))):
            history = compare.run(
                study.OPTIMIZERS[name], tuned["lrs"][i], spec["make"], seed, spec["steps"]
            )
            computed = compare.score(history, spec["steps"])
            assert same(tuned["scores"][i][0], compare._plain(computed)), (name, i)


@pytest.mark.parametrize("task", list(study.TASKS))
def test_evaluation_runs_reproduce_over_the_first_fifth(task):
    """Every optimizer, first evaluation seed, the first 20% of the budget."""
    spec, seed = study.TASKS[task], study.CONFIG["eval_seeds"][0]
    steps = spec["steps"] // 5
    for name in study.OPTIMIZERS:
        stored_eval = DATA["tasks"][task]["optimizers"][name]["eval"]
        stored = stored_eval["runs"][0]
        assert stored["seed"] == seed
        points = [k for k in stored_eval["record_at"] if k <= steps]
        computed = compare.evaluate(
            study.OPTIMIZERS[name],
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
    config = {**study.CONFIG, "lrs": [1e-2, 1e-1], "tune_seeds": [0], "eval_seeds": [100]}
    config.update(tasks=["quadratic"], optimizers=["SGD"], curve_points=4)
    small = json.loads(study.dumps(study.sweep(config)))
    entry, stored = small["tasks"]["quadratic"], DATA["tasks"]["quadratic"]
    assert set(entry) == set(stored)
    assert set(entry["optimizers"]["SGD"]) == set(stored["optimizers"]["SGD"])
    assert set(entry["optimizers"]["SGD"]["eval"]["runs"][0]) == set(
        stored["optimizers"]["SGD"]["eval"]["runs"][0]
    )


def test_the_data_file_ships_in_the_package():
    """Colab and Binder install optimlib from git: the chapter needs the file inside it."""
    root = Path(__file__).resolve().parents[1]
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    package_dir = root / "optimlib" / "explorers"
    relative = study.DATA_FILE.relative_to(package_dir).as_posix()
    assert any(fnmatch.fnmatch(relative, p) for p in patterns["package-data"]["optimlib.explorers"])

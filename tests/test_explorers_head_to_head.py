"""Tests of optimlib.explorers.head_to_head (chapter 9) on a small sweep made here."""

from __future__ import annotations

import json

import numpy as np
import pytest

import optimlib as ol
from optimlib import compare
from optimlib.explorers import head_to_head as hh

QUADRATIC = ol.problems.Quadratic.with_condition_number(100, dim=2)


def start(seed):
    return QUADRATIC, QUADRATIC.x_star + np.random.default_rng(seed).standard_normal(2)


def make_data():
    lrs = compare.lr_grid(1e-3, 1e0, 2)
    tasks = {"q": {"measure": "loss_gap", "steps": 60, "batch_size": None, "tol": 1e-2}}
    optimizers = {}
    for name, make in {"SGD": ol.SGD, "Adam": ol.Adam}.items():
        tuned = compare.tune(make, start, lrs, [0, 1], 60)
        evaluated = compare.evaluate(
            make, start, tuned["best_lr"], [5, 6, 7], 60, [0, 30, 60], 1e-2
        )
        optimizers[name] = {"tune": tuned, "eval": evaluated}
    tasks["q"]["optimizers"] = optimizers
    return json.loads(json.dumps({"config": {"lrs": lrs}, "tasks": tasks}))


DATA = make_data()


def test_curve_band_orders_min_median_max():
    x, median, low, high, diverged = hh.curve_band(DATA, "q", "SGD")
    assert list(x) == [0, 30, 60] and diverged == 0
    assert np.all(low <= median) and np.all(median <= high)
    runs = DATA["tasks"]["q"]["optimizers"]["SGD"]["eval"]["runs"]
    assert median[-1] == sorted(r["curve"][-1] for r in runs)[1]


def test_convergence_and_sensitivity_panels_report_what_they_draw(ax):
    out = hh.convergence_panel(ax, DATA, "q", legend=True)
    assert set(out["final_median"]) == {"SGD", "Adam"}
    assert out["diverged"] == {"SGD": 0, "Adam": 0}
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "gradient evaluations"
    ax.clear()
    out = hh.sensitivity_panel(ax, DATA, "q")
    assert out["best_lr"]["SGD"] == DATA["tasks"]["q"]["optimizers"]["SGD"]["tune"]["best_lr"]
    # gradient descent diverges above 2 / L = 0.02 on this quadratic
    assert all(lr > 0.02 for lr in out["diverged_lrs"]["SGD"])
    assert 1.0 in out["diverged_lrs"]["SGD"]


def test_good_range_is_the_lrs_within_tolerance():
    good = hh.good_range(DATA, "q", "SGD")
    medians = DATA["tasks"]["q"]["optimizers"]["SGD"]["tune"]["median"]
    lrs = DATA["config"]["lrs"]
    assert good == [lr for lr, m in zip(lrs, medians, strict=True) if m is not None and m <= 1e-2]
    assert hh.good_range(DATA, "q", "SGD", tol=1e9) == [
        lr for lr, m in zip(lrs, medians, strict=True) if m is not None
    ]
    with pytest.raises(ValueError, match="tol"):
        hh.good_range(DATA, "q", "SGD", tol=0)


def test_panel_ranks_optimizers_at_one_lr(ax):
    out = hh.panel(ax, lr=0.9, task="q", data=DATA)
    assert out["lr"] == 1.0
    assert out["ranking"][-1] == "SGD" and not np.isfinite(out["values"]["SGD"])
    out = hh.panel(ax, lr=1e-2, task="q", data=DATA)
    values = [out["values"][n] for n in out["ranking"]]
    assert values == sorted(values)
    for kwargs, name in [
        ({"data": None}, "data"),
        ({"task": "x", "data": DATA}, "task"),
        ({"lr": 0.0, "task": "q", "data": DATA}, "lr"),
    ]:
        with pytest.raises(ValueError, match=name):
            hh.panel(ax, **kwargs)


def test_steps_table_is_markdown_with_one_row_per_optimizer():
    table = hh.steps_table(DATA)
    lines = table.splitlines()
    assert lines[0] == "| optimizer | q (tol 0.01) |" and len(lines) == 4
    adam = [r["steps_to_tol"] for r in DATA["tasks"]["q"]["optimizers"]["Adam"]["eval"]["runs"]]
    low, median, high = sorted(adam)  # Adam reaches the tolerance on all three seeds
    assert lines[3] == f"| Adam | {median} [{low}–{high}] (3/3) |"
    sgd = [r["steps_to_tol"] for r in DATA["tasks"]["q"]["optimizers"]["SGD"]["eval"]["runs"]]
    reached = sum(k is not None for k in sgd)
    assert reached < 2 and lines[2] == f"| SGD | not reached ({reached}/3) |"
    assert set(hh.STYLES) == set(hh.FAMILIES)


def test_html_table_keeps_every_cell():
    table = hh.html_table("| a | b |\n| --- | --- |\n| 1 | x<y |\n| 2 | 3 |")
    assert table.startswith("<table><thead><tr><th>a</th><th>b</th></tr></thead>")
    assert "<tr><td>1</td><td>x&lt;y</td></tr><tr><td>2</td><td>3</td></tr>" in table
    with pytest.raises(ValueError, match="markdown"):
        hh.html_table("a b")


def test_curve_band_x_axis_is_not_shrunk_by_a_diverged_seed():
    data = json.loads(json.dumps(DATA))
    runs = data["tasks"]["q"]["optimizers"]["SGD"]["eval"]["runs"]
    runs[0].update(diverged_at=3, grad_evals=4, curve=[runs[0]["curve"][0], None, None])
    x, median, low, high, diverged = hh.curve_band(data, "q", "SGD")
    assert list(x) == [0, 30, 60] and diverged == 1
    assert high[1] == np.inf and np.isfinite(median[1]) and low[1] <= median[1]

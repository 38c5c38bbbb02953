"""Tests of optimlib_book.head_to_head (chapter 9) on a small sweep made here."""

from __future__ import annotations

import json
from html.parser import HTMLParser

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import optimlib as ol
from optimlib import compare
from optimlib_book import head_to_head as hh

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
    lrs = DATA["config"]["lrs"]
    # gradient descent converges exactly below 2 / L = 0.02: with a tolerance no finite
    # gap misses, its good range is the grid below that
    assert hh.good_range(DATA, "q", "SGD", tol=1e9) == [lr for lr in lrs if lr < 0.02]
    tuned = DATA["tasks"]["q"]["optimizers"]["Adam"]["tune"]
    median = dict(zip(lrs, tuned["median"], strict=True))
    good = hh.good_range(DATA, "q", "Adam")  # the task's tolerance, 1e-2
    assert good and tuned["best_lr"] in good
    assert all(median[lr] <= 1e-2 for lr in good)
    assert all(median[lr] is None or median[lr] > 1e-2 for lr in lrs if lr not in good)
    assert set(good) <= set(hh.good_range(DATA, "q", "Adam", tol=1.0))  # wider with tol
    for tol in (0, -1.0, float("inf"), "0.1"):
        with pytest.raises(ValueError, match="tol"):
            hh.good_range(DATA, "q", "SGD", tol=tol)


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
        ({"lr": float("inf"), "task": "q", "data": DATA}, "lr"),
        ({"lr": "0.1", "task": "q", "data": DATA}, "lr"),
    ]:
        with pytest.raises(ValueError, match=name):
            hh.panel(ax, **kwargs)


@pytest.mark.parametrize("lr", [*hh.load()["config"]["lrs"], "small sweep"])
def test_panel_axis_runs_between_decades_and_labels_no_minor_tick(lr):
    # Over a decade or less matplotlib labels the minor ticks of a log axis (2, 3, 4 and 6
    # x 10^k), whose labels overlapped into one unreadable row on chapter 9's frames.
    data, kwargs = (
        (DATA, {"lr": 1.0, "task": "q"}) if lr == "small sweep" else (hh.load(), {"lr": lr})
    )
    fig = Figure()
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    out = hh.panel(ax, data=data, **kwargs)
    fig.canvas.draw()
    left, right = ax.get_xlim()
    decades = np.log10([left, right])
    assert (
        np.allclose(decades, np.round(decades), rtol=0, atol=1e-12) and decades[1] - decades[0] >= 2
    )
    finite = [v for v in out["values"].values() if np.isfinite(v)]
    assert left <= min(finite) / 10 and max(finite) <= right  # every bar ends inside
    assert [t.get_text() for t in ax.xaxis.get_ticklabels(minor=True) if t.get_text()] == []
    for name, bar in zip(out["ranking"], ax.patches, strict=True):  # drawn in ranking order
        if not np.isfinite(out["values"][name]):
            assert bar.get_x() + bar.get_width() == pytest.approx(right)  # diverged: off the end


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


class _Tags(HTMLParser):
    """Checks that every tag is closed in order, and keeps each cell's text and style."""

    def __init__(self):
        super().__init__()
        self.stack, self.cells, self.styles = [], [], {}

    def handle_starttag(self, tag, attrs):
        self.stack.append(tag)
        self.styles.setdefault(tag, []).append(dict(attrs).get("style", ""))
        if tag in ("td", "th"):
            self.cells.append("")

    def handle_endtag(self, tag):
        assert self.stack and self.stack.pop() == tag, (tag, self.stack)

    def handle_data(self, data):
        if self.stack and self.stack[-1] in ("td", "th"):
            self.cells[-1] += data


def test_html_table_keeps_every_cell_padded_and_aligned():
    table = hh.html_table("| a | b |\n| --- | --- |\n| 1 | x<y |\n| 2 | 3 |")
    parser = _Tags()
    parser.feed(table)
    parser.close()
    assert parser.stack == []  # valid nesting, every tag closed
    assert parser.cells == ["a", "b", "1", "x<y", "2", "3"]
    assert "x&lt;y" in table
    # a box that scrolls sideways on a narrow screen holds the table
    assert table.startswith("<div") and "overflow-x:auto" in parser.styles["div"][0]
    cells = parser.styles["th"] + parser.styles["td"]
    assert all("padding:" in style for style in cells)
    # names left, numbers right, column by column
    aligned = [style.split("text-align:")[1] for style in cells]
    assert aligned == ["left", "right"] * 3
    with pytest.raises(ValueError, match="markdown"):
        hh.html_table("a b")


def test_styles_give_every_method_its_own_colour_and_marker():
    colours = [style["color"] for style in hh.STYLES.values()]
    markers = [style["marker"] for style in hh.STYLES.values()]
    assert len(set(colours)) == len(set(markers)) == len(hh.FAMILIES) == 11
    dashes = {hh.FAMILIES[n]: style["linestyle"] for n, style in hh.STYLES.items()}
    assert len(set(dashes.values())) == len(dashes)  # one line style per family


def test_legend_groups_the_methods_by_family(ax):
    box = hh.legend(ax.figure, ["SGD", "Momentum", "Adam", "Lion"])
    texts = [t.get_text() for t in box.get_texts()]
    # a column per family, each headed by the family and padded to the same length
    assert texts == ["plain", "SGD", "Momentum", "Adam family", "Adam", "", "sign", "Lion", ""]
    assert box.get_texts()[0].get_fontstyle() == "italic"
    box = hh.legend(ax)  # an Axes left free for it: all eleven, in two columns
    assert not ax.axison and {"Nadam", "Adadelta"} <= {t.get_text() for t in box.get_texts()}


def test_convergence_panel_marks_diverged_seeds_and_draws_only_the_asked_bands(ax):
    data = json.loads(json.dumps(DATA))
    runs = data["tasks"]["q"]["optimizers"]["SGD"]["eval"]["runs"]
    # step 40 (the 41st, counting from step 0) failed: its gradient was the 41st
    runs[0].update(diverged_at=40, grad_evals=41, curve=[runs[0]["curve"][0], 1.0, None])
    out = hh.convergence_panel(ax, data, "q", bands=["Adam"])
    assert out["diverged"]["SGD"] == 1 and out["diverged_at"] == {"SGD": [41.0], "Adam": []}
    crosses = [line for line in ax.lines if line.get_marker() == "x"]
    assert [list(line.get_xdata()) for line in crosses] == [[41]]
    assert len(ax.collections) == 1  # Adam's band only
    low, high = ax.get_ylim()
    medians = [m for n in ("SGD", "Adam") for m in hh.curve_band(data, "q", n)[1]]
    assert low <= min(medians) and max(medians) <= high


def test_finals_panel_has_a_row_per_optimizer(ax):
    out = hh.finals_panel(ax, DATA, "q", ["Adam", "SGD"], level=1e-3)
    assert out["rows"] == ["Adam", "SGD"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Adam", "SGD"]
    finals = [r["final"] for r in DATA["tasks"]["q"]["optimizers"]["Adam"]["eval"]["runs"]]
    assert out["summary"]["Adam"] == tuple(compare.summarize(finals))


def test_sensitivity_panel_draws_the_diverged_row_only_when_needed(ax):
    hh.sensitivity_panel(ax, DATA, "q", ["Adam"])  # Adam never diverges here
    assert not [t for t in ax.texts if t.get_text() == "diverged"]
    ax.clear()
    out = hh.sensitivity_panel(ax, DATA, "q", ["SGD"])
    assert out["diverged_lrs"]["SGD"]
    assert [t for t in ax.texts if t.get_text() == "diverged"]


def test_sensitivity_panel_when_every_lr_diverged(ax):
    """Nothing was tuned (compare.tune's best is None): every lr is a cross on the
    diverged row, above the tolerance, and no lr is circled as the tuned one."""
    data = json.loads(json.dumps(DATA))
    tuned = data["tasks"]["q"]["optimizers"]["SGD"]["tune"]
    tuned.update(median=[None] * len(tuned["lrs"]), best=None, best_lr=None, at_edge=None)
    out = hh.sensitivity_panel(ax, data, "q", ["SGD"])
    assert out == {"best_lr": {"SGD": None}, "diverged_lrs": {"SGD": tuned["lrs"]}}
    assert [t for t in ax.texts if t.get_text() == "diverged"]
    circles = [line for line in ax.lines if line.get_marker() == "o" and len(line.get_xdata()) == 1]
    assert not circles
    assert ax.get_ylim()[1] > data["tasks"]["q"]["tol"]


def test_paths_panel_draws_short_paths_on_top_and_ends_a_divergence_at_the_frame(ax):
    rosen = ol.problems.Rosenbrock()
    runs = {
        "SGD": ol.minimize(rosen, ol.SGD(1e-2), 50),  # diverges within a few steps
        "Momentum": ol.minimize(rosen, ol.Momentum(1e-3), 300),
        "Adam": ol.minimize(rosen, ol.Adam(1e-3), 50),
    }
    assert runs["SGD"].diverged
    out = hh.paths_panel(ax, rosen, runs, {"Adam": "Adam, short"}, bounds=((-2, 2), (-1, 3)))
    assert out["order"][-1] == "Adam"  # the shortest path is drawn last, on top
    lengths = [out["length"][n] for n in out["order"]]
    assert lengths == sorted(lengths, reverse=True)
    assert out["lines"]["Adam"].get_label() == "Adam, short"
    assert out["lines"]["Momentum"].get_linewidth() > out["lines"]["Adam"].get_linewidth()
    # the diverged run stops where it leaves the axes, on the frame
    end = out["end"]["SGD"]
    assert np.isfinite(out["length"]["SGD"]) and out["reach"]["SGD"] > 0
    assert np.isclose(end, [[-2, -1], [2, 3]]).any() and np.all((end >= [-2, -1]) & (end <= [2, 3]))
    assert np.allclose(out["end"]["Adam"], runs["Adam"].thetas[-1])
    with pytest.raises(ValueError, match="runs"):
        hh.paths_panel(ax, rosen, {})
    ax.clear()
    without = ol.minimize(rosen, ol.Adam(1e-3), 5, record_iterates=False)
    with pytest.raises(ValueError, match="runs: 'Adam'"):
        hh.paths_panel(ax, rosen, {"SGD": runs["SGD"], "Adam": without})
    assert not ax.lines and not ax.collections  # refused before drawing anything


def test_labelled_paths_panel_names_each_run_in_its_order_below_the_axes(ax):
    rosen = ol.problems.Rosenbrock()
    lrs = {"Momentum": 1e-3, "Adam": 2e-3}
    runs = {n: ol.minimize(rosen, getattr(ol, n)(lr), 40) for n, lr in lrs.items()}
    out = hh.labelled_paths_panel(ax, rosen, runs, lrs, bounds=((-2, 2), (-1, 3)))
    legend = ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    expected = [f"{n} (ε = {lrs[n]:.3g}): f = {runs[n].final_loss:.1e}" for n in runs]
    assert texts == expected and texts[1].startswith("Adam (ε = 0.002): f = ")
    assert legend.legend_handles[1].get_label() == out["lines"]["Adam"].get_label() == texts[1]
    assert np.allclose(out["end"]["Adam"], runs["Adam"].thetas[-1])


def test_a_band_spans_the_seeds_still_running(ax):
    """After a seed diverged the band runs from the best to the worst seed left."""
    data = json.loads(json.dumps(DATA))
    runs = data["tasks"]["q"]["optimizers"]["Adam"]["eval"]["runs"]
    runs[0].update(diverged_at=40, grad_evals=41, curve=[runs[0]["curve"][0], 1e-3, None])
    runs[1]["curve"][2], runs[2]["curve"][2] = 1e-4, 1e-5
    hh.convergence_panel(ax, data, "q", ["Adam"])
    (band,) = ax.collections
    corners = band.get_paths()[0].vertices
    at_end = set(corners[corners[:, 0] == 60, 1])
    assert at_end == {1e-5, 1e-4}  # the worst seed left, not the diverged one (inf)
    at_30 = set(corners[corners[:, 0] == 30, 1])
    assert at_30 == {min(r["curve"][1] for r in runs), max(r["curve"][1] for r in runs)}


def test_curve_band_x_axis_is_not_shrunk_by_a_diverged_seed():
    data = json.loads(json.dumps(DATA))
    runs = data["tasks"]["q"]["optimizers"]["SGD"]["eval"]["runs"]
    runs[0].update(diverged_at=3, grad_evals=4, curve=[runs[0]["curve"][0], None, None])
    x, median, low, high, diverged = hh.curve_band(data, "q", "SGD")
    assert list(x) == [0, 30, 60] and diverged == 1
    assert high[1] == np.inf and np.isfinite(median[1]) and low[1] <= median[1]


def test_curve_band_counts_gradient_evaluations_exactly():
    """Two gradients a step put the curve at twice the steps, for every seed alike."""
    data = json.loads(json.dumps(DATA))
    runs = data["tasks"]["q"]["optimizers"]["SGD"]["eval"]["runs"]
    for r in runs:
        r["grad_evals"] = 120
    runs[0].update(diverged_at=3, grad_evals=8, curve=[runs[0]["curve"][0], None, None])
    assert list(hh.curve_band(data, "q", "SGD")[0]) == [0, 60, 120]
    runs[1]["grad_evals"] = 60  # one seed cheaper than the others: not one cost a step
    with pytest.raises(ValueError, match="data"):
        hh.curve_band(data, "q", "SGD")


def finals_data(finals: dict) -> dict:
    """A sweep holding only the evaluation seeds' final gaps (None: diverged)."""
    optimizers = {
        name: {"eval": {"runs": [{"final": v} for v in values]}} for name, values in finals.items()
    }
    return {"tasks": {"t": {"optimizers": optimizers}}}


def test_compute_ranking_groups_what_the_intervals_separate():
    rng = np.random.default_rng(0)
    spread = np.exp(0.3 * rng.standard_normal(20))  # a factor of about 1.35 per seed
    data = finals_data(
        {
            "slow": list(100 * spread),
            "A": list(spread),
            "A twin": list(spread),  # the same runs: the same interval, the same group
            "B": list(1.1 * spread[::-1]),  # 10% worse: inside the seeds' spread
            "gone": [None] * 16 + list(spread[:4]),  # mostly diverged: median inf
        }
    )
    out = hh.compute_ranking(data, "t", resamples=2000)
    assert out["groups"] == [["A", "A twin", "B"], ["slow"], ["gone"]]
    assert out["group"] == {"A": 1, "A twin": 1, "B": 1, "slow": 2, "gone": 3}
    for name in ("A", "B", "slow"):
        assert out["low"][name] <= out["median"][name] <= out["high"][name]
        # the median of 20 seeds is the 11th value (numpy's "higher" median)
        finals = hh.final_gaps(data, "t", name)
        assert out["median"][name] == np.sort(finals)[10]
        assert out["low"][name] in finals and out["high"][name] in finals
        assert 1 < out["factor"][name] < 3
    assert out["low"]["A"] == out["low"]["A twin"] and out["high"]["A"] == out["high"]["A twin"]
    assert out["median"]["gone"] == np.inf and out["factor"]["gone"] == np.inf
    assert out["high"]["A"] < out["low"]["slow"]
    assert (out["resamples"], out["level"], out["seeds"]) == (2000, 0.95, 20)
    assert out["measure"] == "loss_gap"
    again = hh.compute_ranking(data, "t", resamples=2000)
    assert again == out  # a seeded bootstrap
    with pytest.raises(ValueError, match="resamples"):
        hh.compute_ranking(data, "t", resamples=0)


def test_compute_ranking_by_steps_to_the_tolerance():
    """key="steps_to_tol" ranks what each run stores under that name; a seed that never
    reached the tolerance (None) counts as inf, like a divergence for the final gap."""
    steps = {"fast": [10, 12, 11, 13, 10, 12], "slow": [40, 44, 41, None, 43, 42]}
    optimizers = {
        name: {"eval": {"runs": [{"final": 1.0, "steps_to_tol": v} for v in values]}}
        for name, values in steps.items()
    }
    data = {"tasks": {"t": {"optimizers": optimizers}}}
    out = hh.compute_ranking(data, "t", resamples=500, key="steps_to_tol")
    assert out["groups"] == [["fast"], ["slow"]]
    assert out["median"] == {"fast": 12.0, "slow": 43.0}  # the 4th of 6 ("higher")
    assert out["high"]["slow"] == np.inf  # resamples holding the unreached seed 3+ times
    assert hh.compute_ranking(data, "t", resamples=500)["groups"] == [["fast", "slow"]]


def test_compute_ranking_puts_overlapping_methods_in_the_best_group():
    # the leader's interval reaches everyone: one group, however the medians differ
    data = finals_data({"a": [1.0, 1e3, 1.0, 1e3, 2.0], "b": [10.0, 20.0, 30.0, 40.0, 50.0]})
    out = hh.compute_ranking(data, "t", resamples=500)
    assert out["groups"] == [["b", "a"]] or out["groups"] == [["a", "b"]]
    assert len(out["groups"]) == 1


def test_draw_ranking_rows_follow_the_groups(ax):
    data = finals_data({"x": [1.0] * 6, "y": [100.0] * 6, "z": [None] * 6})
    ranking = hh.compute_ranking(data, "t", resamples=100)
    out = hh.draw_ranking(ax, ranking, level=10.0)
    assert out["rows"] == ["x", "y", "z"] and out["rules"] == [0.5, 1.5]
    assert ax.get_xscale() == "log"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "y", "z"]
    assert ax.get_xlabel() == "median final gap, 95% interval"
    table = hh.ranking_table({"t": ranking}, ["x", "y", "z"]).splitlines()
    assert table[0] == "| optimizer | t |"
    assert table[2] == "| x | 1: 1.0 [1.0, 1.0] |"  # 10⁰ left out, as in the prose
    assert table[3] == "| y | 2: 1.0 × 10² [1.0 × 10², 1.0 × 10²] |"
    assert table[4] == "| z | 3: diverged [diverged, diverged] |"


def test_compute_defaults_reads_the_optimizers_and_names_pytorchs_differences():
    from functools import partial

    out = hh.compute_defaults(
        {"Adam": ol.Adam, "RMSProp": ol.RMSProp, "AdamW": partial(ol.AdamW, weight_decay=0.0)}
    )
    assert out["Adam"]["values"] == {
        "rho1": 0.9,
        "rho2": 0.999,
        "delta": 1e-8,
        "delta_in_sqrt": False,
    }
    assert out["Adam"]["differs"] == {} and out["Adam"]["pytorch"] == "Adam"
    assert out["RMSProp"]["differs"] == {
        "rho": ("alpha", 0.99),
        "delta": ("eps", 1e-8),
        "delta_in_sqrt": (None, False),
    }
    assert out["AdamW"]["differs"] == {"weight_decay": ("weight_decay", 1e-2)}
    table = hh.defaults_table(out).splitlines()
    assert table[2] == "| Adam | delta=1e-08, delta_in_sqrt=False, rho1=0.9, rho2=0.999 | - |"
    assert table[3] == (
        "| RMSProp | delta=1e-06, delta_in_sqrt=True, rho=0.9 "
        "| eps=1e-08, eps outside the root, alpha=0.99 |"
    )


def test_pytorch_defaults_are_pytorchs():
    """hh.PYTORCH, read from torch.optim's signatures (and PyTorch's eps outside the root)."""
    import inspect

    torch = pytest.importorskip("torch")
    for name, (cls, params) in hh.PYTORCH.items():
        if cls is None:
            assert name == "Lion" and not hasattr(torch.optim, "Lion")
            continue
        signature = inspect.signature(getattr(torch.optim, cls))
        for ours, (theirs, value) in params.items():
            if theirs is None:  # a choice of PyTorch's formula: eps outside the root
                assert ours == "delta_in_sqrt" and value is False
                continue
            key, _, index = theirs.partition("[")
            default = signature.parameters[key].default
            if index:
                default = default[int(index.rstrip("]"))]
            assert default == value, (name, ours, theirs, default)

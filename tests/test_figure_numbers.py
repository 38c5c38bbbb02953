"""No number in a figure's caption or alt text is typed by hand (issue 13, item 6).

``tools/figure_numbers.py`` reads every number of every figure's caption and alt text
and accepts it only when the notebook computed it (a printed output of the figure's
cell, or a glued value), asked for it (a literal in the figure cell's source), or it is
structural (a figure number, a digit in a name, 0 or 1). Its docstring states the rules.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import figure_numbers as fn  # noqa: E402
import panel_names  # noqa: E402

NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))

# Per figure, the numbers the rules cannot accept and why each stands as it is.
EXCEPTIONS: dict[str, dict[str, str]] = {
    "fig-ch11-saddle": {
        "4": "the constant of the saddle's formula, y^4/4, not a measured number",
    },
    "fig-ch4-floor": {
        "4": "the constant of the predicted floor's formula, eps tr(Sigma_g)/4 (derived in the "
        "text), not a measured number",
    },
    "fig-ch10-warmup": {
        "100": "the minibatch size: the literal batch_size=100 of the cell that runs the "
        "experiment (13becf3d), which compute_warmup does not return",
    },
}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_number_in_captions_and_alt_text_is_computed(path):
    violations = fn.check_path(path, EXCEPTIONS)
    assert not violations, "numbers typed by hand:\n" + "\n".join(map(str, violations))


def test_exceptions_still_excuse_something():
    """An exception whose figure is gone, or whose number was since glued or reworded,
    must be deleted."""
    stale, figures = [], set()
    for path in NOTEBOOKS:
        notebook = json.loads(path.read_text())
        names = {
            c["metadata"].get("mystnb", {}).get("figure", {}).get("name") for c in notebook["cells"]
        }
        figures |= names
        mine = {f: n for f, n in EXCEPTIONS.items() if f in names}
        stale += fn.unused_exceptions(notebook, mine)
    stale += [f"{f}: no such figure" for f in EXCEPTIONS if f not in figures]
    assert not stale, stale


def test_every_figure_has_a_caption_and_alt_text():
    """The check covers every figure: a plotting cell without metadata would escape it."""
    missing = []
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            outputs = cell.get("outputs", [])
            if any("image/png" in o.get("data", {}) for o in outputs):
                fields = fn.figure_fields(cell)
                if set(fields) != {"caption", "alt"}:
                    missing.append(f"{path.name} {cell.get('id')}")
    assert not missing, missing


# --- the checker on a small synthetic notebook ------------------------------------


def _notebook(source: str, alt: str, printed: str = "", glued: dict | None = None) -> dict:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["mystnb"] = {
        "figure": {"caption": "Fig 8.5: the sweep.", "name": "fig-x"},
        "image": {"alt": alt},
    }
    cell.outputs = [nbformat.v4.new_output("display_data", data={"image/png": "iVBOR"})]
    if printed:
        cell.outputs.append(nbformat.v4.new_output("stream", name="stdout", text=printed))
    glue_cell = nbformat.v4.new_code_cell("glue(...)")
    for name, value in (glued or {}).items():
        glue_cell.outputs.append(
            nbformat.v4.new_output(
                "display_data",
                data={fn.GLUE_MIME + "text/plain": repr(value)},
                metadata={"scrapbook": {"name": name, "mime_prefix": fn.GLUE_MIME}},
            )
        )
    nb = nbformat.v4.new_notebook(cells=[glue_cell, cell])
    return json.loads(nbformat.writes(nb))


SWEEP = "lrs = [0.1, 0.3, 1.0, 3.0, 10.0]\nout = sweep(lrs, steps=150)\nplt.show()\n"


def test_issue_13_stale_alt_text_fails():
    """The alt text issue 13 quotes: "near 0.07" while the computation gives 0.134."""
    alt = "The batch-norm minimum is near 0.07 at learning rate 0.3, after 150 steps."
    nb = _notebook(SWEEP, alt, glued={"ch8-best-bn": 0.134187})
    assert [v.number for v in fn.check_notebook(nb, "x")] == ["0.07"]
    fixed = _notebook(SWEEP, alt.replace("0.07", "0.13"), glued={"ch8-best-bn": 0.134187})
    assert fn.check_notebook(fixed, "x") == []


def test_a_planted_wrong_number_fails_and_the_right_one_passes():
    printed = "final loss 0.2813\nsteps to 1e-6: 391\n"
    good = "Loss ends at 0.28 after 150 steps; 391 steps reach $10^{-6}$ (rate 0.3)."
    assert fn.check_notebook(_notebook(SWEEP, good, printed), "x") == []
    for planted in ("0.29", "392", "$10^{-5}$", "151", "0.2814"):
        wrong = good.replace(
            {
                "0.29": "0.28",
                "392": "391",
                "$10^{-5}$": "$10^{-6}$",
                "151": "150",
                "0.2814": "0.28",
            }[planted],
            planted,
            1,
        )
        found = [v.number for v in fn.check_notebook(_notebook(SWEEP, wrong, printed), "x")]
        assert len(found) == 1, (planted, found)


def test_printed_precision_decides():
    value = [0.134187]
    assert fn.accepts(fn.numbers_in_text("0.13")[0], value)
    assert fn.accepts(fn.numbers_in_text("0.1342")[0], value)
    assert not fn.accepts(fn.numbers_in_text("0.14")[0], value)
    assert not fn.accepts(fn.numbers_in_text("0.134187001")[0], [0.1341])
    assert fn.accepts(fn.numbers_in_text("about 6900")[0], [6908])  # two digits at least
    assert not fn.accepts(fn.numbers_in_text("about 6900")[0], [6960])
    assert fn.accepts(fn.numbers_in_text("about 230")[0], [233])
    assert not fn.accepts(fn.numbers_in_text("100")[0], [130])
    assert not fn.accepts(fn.numbers_in_text("6908")[0], [6900])
    assert fn.accepts(fn.numbers_in_text("95%")[0], [0.95])
    assert fn.accepts(fn.numbers_in_text("10 000")[0], [1e4])
    assert [n.value for n in fn.numbers_in_text("100,000 steps, (1, 100), 10 000.")] == [
        1e5,
        1,
        100,
        1e4,
    ]


def test_structural_numbers_are_not_claims():
    text = (
        "Fig. 4.2 and {numref}`fig-ch1-rate` (Algorithm 8.4, equation (1.2)): float16, "
        "log10, x², L2 and a log-2 axis from 0 to 1."
    )
    found = fn.numbers_in_text(text)
    assert [n.value for n in found] == [0, 1]  # the axis ends, accepted with no candidate
    assert all(fn.accepts(n, []) for n in found)


def test_powers_are_read_as_values():
    values = [n.value for n in fn.numbers_in_text(r"$10^{-8}$, 10⁻⁸, 1e-8, $6.6 \times 10^{-8}$")]
    assert values == pytest.approx([1e-8, 1e-8, 6.6e-8, 1e-8])


def test_the_cell_source_states_inputs_but_not_other_cells():
    nb = _notebook("kappa = 100\nplt.show()\n", "kappa 100, steps 200.")
    found = [v.number for v in fn.check_notebook(nb, "x")]
    assert found == ["200"]
    exceptions = {"fig-x": {"200": "a reason"}}
    assert fn.check_notebook(nb, "x", exceptions) == []
    assert fn.unused_exceptions(nb, exceptions) == []
    assert fn.unused_exceptions(nb, {"fig-x": {"300": "stale"}}) == ["fig-x: 300"]


def test_the_figure_cells_check_cell_counts_as_its_source():
    """Asserts moved to a hidden ``<id>-check`` cell still state the figure's inputs."""
    nb = _notebook("kappa = 100\nplt.show()\n", "kappa 100, steps 200.")
    figure = next(cell for cell in nb["cells"] if "mystnb" in cell["metadata"])
    figure["id"] = "sweep"
    cases = [
        ("sweep-check", "assert steps == 200", []),
        ("sweep-check", 'glue("ch8-steps-200", steps)', ["200"]),  # a glue name states nothing
        ("another-cell", "assert steps == 200", ["200"]),
    ]
    for other_id, source, found in cases:
        check = json.loads(nbformat.writes(nbformat.v4.new_code_cell(source)))
        check["id"] = other_id
        with_check = copy.deepcopy(nb)
        with_check["cells"].append(check)
        assert [v.number for v in fn.check_notebook(with_check, "x")] == found, (other_id, source)


def test_checker_does_not_change_the_notebook():
    nb = _notebook(SWEEP, "near 0.07")
    before = copy.deepcopy(nb)
    fn.check_notebook(nb, "x")
    assert nb == before


# --- panels are named by their titles, not by their places (tools/panel_names.py) ---


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_panel_is_named_by_its_place(path):
    """A phone shows side-by-side panels stacked: "left" and "right" would be wrong there."""
    found = panel_names.check_path(path)
    assert not found, "name these panels by their titles:\n" + "\n".join(found)


def _figure_cell(caption: str, alt: str, axes: int) -> dict:
    cell = nbformat.v4.new_code_cell("plt.show()")
    cell.metadata["mystnb"] = {
        "figure": {"caption": caption, "name": "fig-x"},
        "image": {"alt": alt},
    }
    figure = f"<Figure size 960x400 with {axes} Axes>"
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": figure})
    ]
    return cell


def _panels_notebook(*cells) -> dict:
    return json.loads(nbformat.writes(nbformat.v4.new_notebook(cells=list(cells))))


# Captions, alt texts and a paragraph as chapters 1, 3, 5, 10 and 13 had them.
NAMED_BY_PLACE = [
    (
        "Left: the iterates over the contours. Right: the loss gap on a log scale.",
        ["Left", "Right"],
    ),
    (
        "Left: contours of\nthe true risk. Middle and right: the empirical risk.",
        ["Left", "Middle and right"],
    ),
    (
        "Too little momentum (top left) crawls; too much (bottom right) rings.",
        ["top left", "bottom right"],
    ),
    ("Two panels. Left, on a log scale, five lines. Right, five lines rise.", ["Left", "Right"]),
    (
        "Top left, step 0.5: the path creeps. Bottom right, step 2.1: it diverges.",
        ["Top left", "Bottom right"],
    ),
    ("Training loss (left, log scale) and test accuracy (right).", ["left", "right"]),
    (
        "In the left panel a single curve. In the right panel 8 curves.",
        ["left panel", "right panel"],
    ),
]


@pytest.mark.parametrize("text, places", NAMED_BY_PLACE)
def test_a_panel_named_by_its_place_fails(text, places):
    assert panel_names.places_named(text) == places
    for field in ("caption", "alt"):
        cell = _figure_cell(**{"caption": "Fine.", "alt": "Fine.", field: text}, axes=2)
        found = panel_names.check_notebook(_panels_notebook(cell), "x")
        assert len(found) == len(places) and all(f"x cell {cell.id} {field}: " in f for f in found)


def test_panels_named_by_title_and_places_inside_a_panel_pass():
    caption = (
        "*Iterates on the quadratic*: the paths. *Loss gap*: on a log scale. Step 0.5: it "
        "creeps. Panel 'identical start': one curve. Top: schedules. Middle: sums. Bottom: loss."
    )
    alt = (
        "A curve that is a gentle slope on the left, drops at the middle and continues on the "
        "right; four paths from the start at the upper left; the band rises from left to right; "
        "the path exits through the right edge."
    )
    assert panel_names.places_named(caption) == []
    assert panel_names.places_named(alt) == []
    assert panel_names.check_notebook(_panels_notebook(_figure_cell(caption, alt, 3)), "x") == []


def test_only_figures_with_panels_and_paragraphs_are_read():
    """One Axes is one panel: its "left" is a place in it. A paragraph always refers to
    a figure of the book, so "the left panel" there fails whatever the figure."""
    single = _figure_cell("Left: a lone panel.", "Right: the same.", axes=1)
    assert panel_names.check_notebook(_panels_notebook(single), "x") == []
    paragraph = nbformat.v4.new_markdown_cell("The right panel of {numref}`fig-x` shows why.")
    found = panel_names.check_notebook(_panels_notebook(paragraph), "x")
    assert found == [f"x cell {paragraph.id} markdown: 'right panel'"]

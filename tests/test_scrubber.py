"""The scrubber extension's frames and alt text (tools/sphinx_scrubber.py), and the
scrubbers the chapter notebooks declare."""

from __future__ import annotations

import html
import io
import json
import re
import sys
from pathlib import Path

import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import notebook_cells  # noqa: E402
import sphinx_scrubber as sc  # noqa: E402


def slope_panel(ax, slope=1.0, offset=0.0, flat=False):
    """A panel for the tests: a line whose slope the picture shows and the result reports."""
    ax.plot([0, 1], [offset, offset + (0 if flat else slope)])
    return {"slope": slope, "rise_at_end": offset + slope, "flat": flat, "curve": [0.0, slope]}


PANEL = f"{__name__}:slope_panel"


def _spec(**changes):
    fields = {
        "panel": PANEL,
        "grid": {"slope": [0.5, 2.0, 3.0]},
        "fixed": {"offset": 1.0},
        "labels": {"slope": "slope s"},
        "size": (2.0, 1.5),
    }
    return sc.Spec(**{**fields, **changes})


def test_grid_points_vary_the_last_parameter_fastest():
    points = sc.grid_points({"a": [1, 2], "b": [10, 20, 30]})
    assert points == [{"a": a, "b": b} for a in (1, 2) for b in (10, 20, 30)]


@pytest.mark.parametrize(
    "grid, message",
    [
        ({}, "one or two"),
        ({"a": [1], "b": [2], "c": [3]}, "one or two"),
        ({"a": []}, "non-empty"),
        ({"a": 3}, "non-empty"),
        ({"a": list(range(7)), "b": list(range(6))}, "size budget"),
    ],
)
def test_bad_grids_raise(grid, message):
    with pytest.raises(ValueError, match=message):
        sc.grid_points(grid)


def test_resolve_names_the_bad_target():
    with pytest.raises(ValueError, match=r"package\.module:function"):
        sc.resolve("optimlib_book.momentum.panel")
    with pytest.raises(ValueError, match="no function nope"):
        sc.resolve("optimlib_book.momentum:nope")
    assert sc.resolve(PANEL) is slope_panel


def test_fixed_values_named_with_an_at_sign_are_called():
    fixed = sc.resolve_fixed({"n": 3, "data": "@optimlib_book.head_to_head:load"})
    assert fixed["n"] == 3 and "tasks" in fixed["data"]


def test_alt_text_states_the_setting_and_the_scalar_results():
    alt = sc.default_alt(
        {"slope": 2.0}, {"rate": 0.123456, "n": 7, "ok": True, "at": None, "xs": [1, 2]}, {}
    )
    assert alt == "At slope = 2: rate 0.123; n 7; ok yes; at none."
    assert sc.number(float("inf")) == "infinite" and sc.number(float("nan")) == "not a number"


def test_frames_are_small_palette_pngs_with_their_own_alt_text(tmp_path):
    spec = _spec()
    frames = sc.frames(spec, cache=tmp_path, workers=1)
    assert [f["point"] for f in frames] == [{"slope": s} for s in (0.5, 2.0, 3.0)]
    for frame, slope in zip(frames, (0.5, 2.0, 3.0), strict=True):
        # the alt text carries this frame's own numbers, from what the panel returned
        assert frame["alt"].startswith(f"At slope s = {sc.number(slope)}:")
        assert f"rise at end {sc.number(1.0 + slope)}" in frame["alt"]
        with Image.open(frame["file"]) as image:
            assert image.mode == "P"  # the reduced palette
            assert image.size[0] == sc.FRAME_PIXELS  # sized for the text column
    contents = {f["file"].read_bytes() for f in frames}
    assert len(contents) == 3  # each frame is its own picture


def test_cached_frames_are_not_drawn_again(tmp_path, monkeypatch):
    spec = _spec()
    first = sc.frames(spec, cache=tmp_path, workers=1)

    def fail(*args):
        raise AssertionError("drew a frame the cache holds")

    monkeypatch.setattr(sc, "render_frame", fail)
    assert sc.frames(spec, cache=tmp_path, workers=1) == first
    # anything a frame depends on changes its key
    assert spec.key({"slope": 2.0}) != _spec(fixed={"offset": 2.0}).key({"slope": 2.0})
    assert spec.key({"slope": 2.0}) != spec.key({"slope": 3.0})
    assert spec.key({"slope": 2.0}) != _spec(size=(3.0, 1.5)).key({"slope": 2.0})


def test_frames_drawn_in_parallel_equal_those_drawn_in_turn(tmp_path):
    spec = _spec(grid={"slope": [0.5, 2.0], "flat": [False, True]})
    serial = sc.frames(spec, cache=tmp_path / "serial", workers=1)
    parallel = sc.frames(spec, cache=tmp_path / "parallel", workers=2)
    assert [f["file"].read_bytes() for f in serial] == [f["file"].read_bytes() for f in parallel]
    assert [f["alt"] for f in serial] == [f["alt"] for f in parallel]


def test_the_page_holds_one_image_the_start_frame_and_a_labelled_slider(tmp_path):
    spec = _spec(grid={"slope": [0.5, 2.0], "offset": [0.0, 1.0, 2.0]}, fixed={})
    frames = sc.frames(spec, cache=tmp_path, workers=1)
    page = sc.figure_html(spec, frames, "../_scrubber/", {"slope": 2.0, "offset": 1.0})
    images = re.findall(r"<img [^>]*>", page)
    assert len(images) == 1
    start = frames[1 * 3 + 1]  # slope index 1, offset index 1
    assert f'src="../_scrubber/{start["file"].name}"' in images[0]
    assert f'alt="{html.escape(start["alt"])}"' in images[0]
    data = json.loads(html.unescape(re.search(r'data-frames="([^"]*)"', page).group(1)))
    assert [d["src"] for d in data] == [f"../_scrubber/{f['file'].name}" for f in frames]
    assert json.loads(html.unescape(re.search(r'data-sizes="([^"]*)"', page).group(1))) == [2, 3]
    sliders = re.findall(r'<input type="range"[^>]*>', page)
    assert len(sliders) == 2
    assert 'max="1"' in sliders[0] and 'value="1"' in sliders[0]
    assert 'aria-valuetext="slope s = 2"' in sliders[0]
    assert 'max="2"' in sliders[1] and 'aria-valuetext="offset = 1"' in sliders[1]


@pytest.mark.parametrize("path", notebook_cells.chapters(), ids=lambda p: p.stem)
def test_every_explorer_has_a_scrubber_with_a_valid_grid(path):
    """One scrubber per explorer, naming a chapter panel the explorer uses, on its controls."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    explorers = [c.source for c in nb.cells if "explorer" in c.metadata.get("tags", [])]
    specs = sc.specs_in(path)
    assert len(specs) == len(explorers)
    for spec, explorer in zip(specs, explorers, strict=True):
        function = spec.panel.split(":")[1]
        assert f"ch.{function}" in explorer  # the live explorer's panel
        for name in spec.grid:
            assert f'"{name}"' in explorer  # one of the explorer's controls
        assert set(spec.labels) >= set(spec.grid)
        assert 2 <= len(sc.grid_points(spec.grid)) <= sc.MAX_FRAMES
        sc.resolve(spec.panel)


def test_stored_widget_state_is_found_and_stripped():
    import execute_notebooks
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    source = notebook_cells.install_source(*notebook_cells.repository())
    assert any("widget state" in p for p in notebook_cells.problems(nb, source))
    assert execute_notebooks.strip_widget_state(nb) is True
    assert "widgets" not in nb.metadata
    assert not any("widget state" in p for p in notebook_cells.problems(nb, source))
    assert execute_notebooks.strip_widget_state(nb) is False


def test_render_frame_returns_what_the_panel_measured():
    png, alt, result = sc.render_frame(_spec(), {"slope": 2.0}, {"offset": 1.0})
    assert result["rise_at_end"] == 3.0 and "rise at end 3" in alt
    assert Image.open(io.BytesIO(png)).format == "PNG"


def crowded_panel(ax, ticks=8):
    """A panel whose x tick labels run into each other when there are many."""
    ax.plot([0, ticks - 1], [0.0, 1.0])
    ax.set_xticks(range(ticks), [f"label {i}" for i in range(ticks)])
    return {}


def test_a_frame_whose_tick_labels_overlap_fails_the_build():
    spec = _spec(panel=f"{__name__}:crowded_panel", grid={"ticks": [8]}, size=(3.0, 2.0))
    with pytest.raises(ValueError, match="tick labels overlap"):
        sc.render_frame(spec, {"ticks": 8}, {})
    sc.render_frame(spec, {"ticks": 2}, {})


def test_a_start_value_off_the_grid_raises(tmp_path):
    spec = _spec()
    frames = sc.frames(spec, cache=tmp_path, workers=1)
    with pytest.raises(ValueError, match=r"start: slope = 0\.7"):
        sc.figure_html(spec, frames, "", {"slope": 0.7})

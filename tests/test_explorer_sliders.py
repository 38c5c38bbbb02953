"""The benchmark reads the live sliders from each explorer cell (benchmarks/explorer_sliders.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tools"))

import explorer_sliders as es  # noqa: E402
import sphinx_scrubber  # noqa: E402

CELL = """\
Control = widgets.Control
eps = widgets.Control(0.001, 0.5, 0.05, log=True)
controls = {
    "eps": eps,
    "m": Control(min=1, max=40, value=10, integer=True),
    "lr": Control(lrs[0], lrs[-1], 1e-2),
}
widgets.explorer(ch.panel, controls, steps=100)
"""


def _notebook(tmp_path, source: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source, metadata={"tags": ["explorer"]})]
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def test_sliders_bound_to_names_given_by_keyword_or_from_the_grid(tmp_path):
    sliders = es.live_sliders(_notebook(tmp_path, CELL), {"lr": [1e-4, 1e-2, 10.0]})
    assert sliders == {
        "eps": (0.001, 0.05, 0.5, False),
        "m": (1, 10, 40, True),
        "lr": (1e-4, 1e-2, 10.0, False),  # lrs[0], lrs[-1]: the grid's ends
    }
    corners = es.corner_points(sliders)
    assert len(corners) == 1 + 2**3
    assert corners[0] == {"eps": 0.05, "m": 10, "lr": 0.01}
    assert {"eps": 0.5, "m": 40, "lr": 10.0} in corners
    assert all(isinstance(c["m"], int) for c in corners)


def test_a_bound_that_is_no_literal_needs_a_grid(tmp_path):
    with pytest.raises(ValueError, match="lrs\\[0\\]"):
        es.live_sliders(_notebook(tmp_path, CELL), {})
    with pytest.raises(ValueError, match="no Control"):
        es.live_sliders(_notebook(tmp_path, "widgets.explorer(ch.panel, {})"), {})


@pytest.mark.parametrize("notebook", sorted((ROOT / "book").glob("[0-9]*.ipynb")), ids=str)
def test_every_slider_of_the_book_is_found(notebook):
    cells = nbformat.read(notebook, as_version=4).cells
    sources = [c.source for c in cells if "explorer" in c.metadata.get("tags", [])]
    if not sources:
        pytest.skip("no live explorer")
    (spec,) = sphinx_scrubber.specs_in(notebook)
    sliders = es.live_sliders(notebook, spec.grid)
    assert len(sliders) == sources[0].count("Control(")
    for low, start, high, _ in sliders.values():
        assert low <= start <= high
    assert set(spec.grid) <= set(sliders)  # the scrubber moves live sliders only

"""Multi-panel figures stack on phone-width screens (tools/sphinx_stacked.py).

A small notebook, executed by myst-nb as the book's build executes the chapters, shows
a figure with two panels side by side (with a caption, a name and alt text in its cell
metadata, as the chapters give them) and a figure with one panel; the built page must
offer the first as a ``<picture>`` whose narrow-screen source is the stacked copy, keep
its caption, number and alt text, and leave the second alone; the build must not warn.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
from pathlib import Path

import nbformat
from PIL import Image

from optimlib_book import stacked
from tests.sphinx_project import build

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import sphinx_stacked  # noqa: E402

SETUP = """\
import matplotlib.pyplot as plt
from optimlib_book import plot
plot.use_style()
plot.use_one_draw_png()"""
TWO_PANELS = """\
fig, axes = plot.figure(2, 1, width=9.6, height=4.0)
for ax, title in zip(axes[0], ["first", "second"]):
    ax.plot([0, 1], [1, 0])
    ax.set_title(title)
plt.show()"""
ONE_PANEL = """\
fig, axes = plot.figure(width=6.4, height=4.0)
axes[0, 0].plot([0, 1], [0, 1])
plt.show()"""


def _notebook() -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Figures\n\nSee {numref}`fig-two`."),
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell(TWO_PANELS),
        nbformat.v4.new_code_cell(ONE_PANEL),
    ]
    nb.cells[2].metadata["mystnb"] = {
        "figure": {"caption": "Two panels, side by side.", "name": "fig-two"},
        "image": {"alt": "Two falling lines."},
    }
    nb.cells[3].metadata["mystnb"] = {
        "figure": {"caption": "One panel.", "name": "fig-one"},
        "image": {"alt": "A rising line."},
    }
    return nbformat.writes(nb)


CONF = """\
extensions = ["myst_nb", "sphinx_stacked"]
nb_execution_mode = "force"
numfig = True
exclude_patterns = ["_build"]
"""


def test_the_two_panel_figure_is_a_picture_with_its_stacked_copy(tmp_path):
    out, _ = build(tmp_path / "src", CONF, {"index.ipynb": _notebook()})
    page = (out / "index.html").read_text()
    pictures = re.findall(r"<picture>(.*?)</picture>", page, flags=re.S)
    assert len(pictures) == 1
    source = re.search(r'<source media="\(max-width: (\d+)px\)" srcset="([^"]+)">', pictures[0])
    assert int(source.group(1)) == sphinx_stacked.NARROW
    img = re.search(r'<img alt="([^"]*)" src="([^"]+)"', pictures[0])
    assert img.group(1) == "Two falling lines."
    narrow = Image.open(out / source.group(2))
    wide = Image.open(out / img.group(2))
    assert narrow.size == (480, 800) and wide.size == (960, 400)  # 4.8 x (2 x 4.0) inches
    # the picture is inside the numbered figure, with its caption; the reference resolves
    figure = re.search(r'<figure[^>]*id="fig-two">(.*?)</figure>', page, flags=re.S).group(1)
    assert "<picture>" in figure and "Two panels, side by side." in figure
    assert "Fig. 1" in figure and re.search(r'href="#fig-two"[^>]*>.*?Fig. 1', page, flags=re.S)
    # the one-panel figure is a plain image
    one = re.search(r'<figure[^>]*id="fig-one">(.*?)</figure>', page, flags=re.S).group(1)
    assert "<picture>" not in one and 'alt="A rising line."' in one


def test_copies_are_found_by_the_hash_of_the_wide_png():
    wide, narrow = b"\x89PNG wide", b"\x89PNG narrow"
    output = nbformat.v4.new_output(
        "display_data",
        data={"image/png": base64.b64encode(wide).decode(), "text/plain": "<Figure>"},
        metadata={stacked.STACKED: {"image/png": base64.b64encode(narrow).decode()}},
    )
    plain = nbformat.v4.new_output("display_data", data={"image/png": "AAAA"})
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("", outputs=[output, plain])]
    assert sphinx_stacked.stacked_copies(nb) == {hashlib.sha256(wide).hexdigest(): narrow}


def test_stored_notebooks_carry_no_copies():
    """The copies are made only in the build: a stored chapter's outputs have none."""
    for path in sorted((ROOT / "book").glob("[0-9]*.ipynb")):
        assert sphinx_stacked.stacked_copies(nbformat.read(path, as_version=4)) == {}, path

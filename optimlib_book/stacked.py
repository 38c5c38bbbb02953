"""Phone-width copies of multi-panel figures: the same panels, one above the other.

A figure with two or three panels side by side is drawn for a desktop column; on a
phone's 360-pixel column it shrinks to a third of that, and its labels to unreadable
4-pixel text. When the book is built, the kernel that runs a chapter also draws each
such figure a second time with its panels stacked in one column, and stores that PNG in
the output's metadata under ``STACKED``; the site then serves the stacked copy to narrow
screens and the wide one to others (``tools/sphinx_stacked.py``), so a reader downloads
one of them. A student's notebook draws nothing twice: the copy is made only when the
environment variable ``ENVIRONMENT`` is set, as the book's build sets it.

The copy is the figure itself, unpickled, with each panel moved to its row of a new
one-column grid (``Axes.set_subplotspec``), resized and laid out again, so every line,
label and legend is the one the chapter drew.
"""

from __future__ import annotations

import base64
import os
import pickle
import re

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec

from .png import figure_png

__all__ = ["ENVIRONMENT", "STACKED", "WIDTH", "install", "panel_cells", "stacked_copy"]

# The output-metadata key that holds the stacked copy (nbval compares no metadata).
STACKED = "optimlib_book/stacked"
ENVIRONMENT = "OPTIMLIB_BOOK_STACKED_FIGURES"
# Inches at the style's 100 dpi: 480 pixels shown in a phone's ~360-pixel column keep
# the style's 11-pt labels at about 11 pixels.
WIDTH = 4.8


def panel_cells(fig: Figure):
    """The figure's panels by grid cell, in reading order, if two or more sit side by side.

    Returns a list of ``(cell, axes)``, where ``cell`` is the ``SubplotSpec`` a panel
    occupies and ``axes`` every visible Axes in it (a twin shares its parent's cell), or
    None when the figure is not a grid of panels with at least two columns: one panel,
    one column, an Axes placed by hand or a colorbar (no cell), whose place in a
    stacked figure cannot be known, or panels that all have their axes off (a row of
    images, which shrinks without labels to lose and would become a tall column).
    """
    cells: dict[tuple, list] = {}
    grids = set()
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        spec = ax.get_subplotspec()
        if spec is None:
            return None
        grids.add(id(spec.get_gridspec()))
        key = (spec.rowspan.start, spec.colspan.start, spec.rowspan.stop, spec.colspan.stop)
        cells.setdefault(key, []).append(ax)
    if len(grids) != 1:
        return None
    columns = {key[1] for key in cells}
    if len(columns) < 2:
        return None
    if not any(ax.axison for axes in cells.values() for ax in axes):
        return None  # pictures with no axes (a strip of images): nothing to read, keep the row
    return [(axes[0].get_subplotspec(), axes) for _, axes in sorted(cells.items())]


# Inches around a panel's plotting area for its tick labels, axis labels and title.
LABEL_ROOM = (0.8, 1.0)  # (across, down)


def _cell_height(spec, axes, fig_height: float, width: float) -> float:
    """The height in inches a panel gets in the column.

    The height its row span took in the original figure; but a panel with a fixed
    aspect (a contour plot with equal axes) is no taller than the full width lets it
    be, so that it does not float in white space.
    """
    grid = spec.get_gridspec()
    ratios = grid.get_height_ratios() or [1] * grid.nrows
    height = fig_height * sum(ratios[spec.rowspan.start : spec.rowspan.stop]) / sum(ratios)
    fixed = [ax for ax in axes if ax.get_aspect() != "auto"]
    if fixed and len(fixed) == len(axes):
        box = max(ax.get_aspect() * ax.get_data_ratio() for ax in fixed)
        height = min(height, (width - LABEL_ROOM[0]) * box + LABEL_ROOM[1])
    return height


def _wrap_titles(fig: Figure) -> None:
    """Break a title wider than the column at the spaces between words (not in math)."""
    renderer = fig.canvas.get_renderer()
    room = 0.95 * fig.bbox.width
    for ax in fig.axes:
        title = ax.title
        text = title.get_text()
        wide = title.get_window_extent(renderer).width
        if wide <= room or " " not in text:
            continue
        # spaces outside $...$ only: a break inside mathtext would break the formula
        words = re.split(r" (?=(?:[^$]*\$[^$]*\$)*[^$]*$)", text)
        lines, line = [], ""
        per_char = wide / len(text)
        for word in words:
            if line and (len(line) + 1 + len(word)) * per_char > room:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        title.set_text("\n".join([*lines, line]))


def _restore_inner_labels(axes_in_cell, shared_labels: dict) -> None:
    """Give back the y tick labels and y label that ``sharey`` took from inner columns.

    Side by side, panels that share a y axis show its labels once, at the left; one
    above the other, each panel needs its own.
    """
    for ax in axes_in_cell:
        siblings = ax.get_shared_y_axes().get_siblings(ax)
        if len(siblings) < 2 or ax.yaxis.get_label_position() != "left":
            continue
        if not ax.yaxis.get_tick_params(which="major").get("labelleft", True):
            ax.yaxis.set_tick_params(which="both", labelleft=True)
            ax.yaxis.offsetText.set_visible(True)
        if not ax.get_ylabel():
            ax.set_ylabel(shared_labels.get(id(siblings[0]), ""))


def stacked_copy(fig: Figure, width: float = WIDTH) -> Figure | None:
    """A copy of ``fig`` with its panels in one column, or None if it has one column.

    Each panel keeps the height its row had and gets the full ``width``; the copy is
    laid out with the constrained layout engine, which makes room for every panel's
    labels. ``fig`` itself is not changed. Returns None, too, for a figure that cannot
    be copied (an artist that does not pickle).
    """
    if panel_cells(fig) is None:
        return None
    try:
        copy = pickle.loads(pickle.dumps(fig))
    except (pickle.PicklingError, TypeError, AttributeError):
        return None
    cells = panel_cells(copy)
    heights = [_cell_height(spec, axes, copy.get_figheight(), width) for spec, axes in cells]
    shared_labels = {
        id(sibling): ax.get_ylabel()
        for _, axes in cells
        for ax in axes
        if ax.get_ylabel()
        for sibling in ax.get_shared_y_axes().get_siblings(ax)
    }
    column = GridSpec(len(cells), 1, figure=copy, height_ratios=heights)
    for row, (_, axes) in enumerate(cells):
        for ax in axes:
            ax.set_subplotspec(column[row, 0])
        _restore_inner_labels(axes, shared_labels)
    copy.set_size_inches(width, sum(heights))
    copy.set_layout_engine("constrained")
    _wrap_titles(copy)
    return copy


def stacked_png(fig: Figure, dpi: float | None = None) -> str | None:
    """The stacked copy of ``fig`` as a base64 PNG (as notebooks store images), or None."""
    copy = stacked_copy(fig)
    if copy is None:
        return None
    png = figure_png(copy, dpi=dpi)
    plt.close(copy)
    return base64.b64encode(png).decode("ascii")


def _stacked_metadata(fig: Figure, include=None, exclude=None):
    """IPython mime-bundle formatter: no data of its own, the stacked PNG as metadata."""
    png = stacked_png(fig)
    if png is None:
        return None
    return {}, {STACKED: {"image/png": png}}


def install(shell=None) -> bool:
    """Store a stacked copy with every multi-panel figure the notebook displays.

    Does nothing (returns False) unless ``ENVIRONMENT`` is set and IPython is running:
    only the book's build needs the copies.
    """
    if not os.environ.get(ENVIRONMENT):
        return False
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return False
        shell = get_ipython()
    if shell is None:
        return False
    shell.display_formatter.mimebundle_formatter.for_type(Figure, _stacked_metadata)
    return True

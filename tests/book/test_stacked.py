"""Phone-width copies of multi-panel figures (optimlib_book.stacked)."""

from __future__ import annotations

import base64
import io
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.ticker import FuncFormatter
from PIL import Image

from optimlib_book import plot, stacked
from tests.book.ipython_shell import Shell


@pytest.fixture
def figures():
    """Figures made by a test, closed afterwards."""
    made = []
    yield made
    for fig in made:
        plt.close(fig)


def _row(figures, ncols, width=9.6, height=4.0, **kwargs):
    with plot.style():
        fig, axes = plot.figure(ncols, 1, width=width, height=height, **kwargs)
    figures.append(fig)
    for i, ax in enumerate(axes.flat):
        ax.plot([0, 1], [i, i + 1], label=f"line {i}")
        ax.set_title(f"panel {i}")
        ax.set_xlabel("step $k$")
    return fig, axes


def _boxes(fig):
    """Each visible Axes' box in figure fractions, after a draw (the layout ran)."""
    fig.canvas.draw()
    return [ax.get_position() for ax in fig.axes if ax.get_visible()]


@pytest.mark.parametrize("ncols", [2, 3])
def test_a_row_of_panels_becomes_a_column_in_the_same_order(figures, ncols):
    fig, _ = _row(figures, ncols)
    copy = stacked.stacked_copy(fig)
    figures.append(copy)
    assert [ax.get_title() for ax in copy.axes] == [f"panel {i}" for i in range(ncols)]
    boxes = _boxes(copy)
    # one column: the panels share their left and right edges (the layout aligns them) ...
    assert max(b.x0 for b in boxes) - min(b.x0 for b in boxes) < 0.01
    assert all(b.width > 0.7 for b in boxes)
    # ... and go down the page in reading order, without overlapping
    for upper, lower in itertools.pairwise(boxes):
        assert lower.y1 <= upper.y0
    # each panel gets the row's height; the copy is the phone width
    assert copy.get_size_inches() == pytest.approx((stacked.WIDTH, 4.0 * ncols))


def test_the_original_figure_is_unchanged(figures):
    fig, axes = _row(figures, 2)
    before = [b.bounds for b in _boxes(fig)]
    figures.append(stacked.stacked_copy(fig))
    # Under matplotlib 3.9 (the floor) making the copy moves the original's boxes by
    # 1 ulp; newer versions leave the same bits. Unchanged means equal to 1e-12 relative.
    after = [b.bounds for b in _boxes(fig)]
    assert np.allclose(after, before, rtol=1e-12, atol=0)
    assert tuple(fig.get_size_inches()) == (9.6, 4.0)
    assert axes[0, 1].get_subplotspec().colspan.start == 1


def test_a_grid_is_read_row_by_row_and_keeps_its_row_heights(figures):
    with plot.style():
        fig, axes = plot.figure(2, 2, width=8.0, height=6.0, gridspec_kw={"height_ratios": [1, 2]})
    figures.append(fig)
    for i, ax in enumerate(axes.flat):
        ax.set_title(f"panel {i}")
    copy = stacked.stacked_copy(fig)
    figures.append(copy)
    assert [ax.get_title() for ax in copy.axes] == ["panel 0", "panel 1", "panel 2", "panel 3"]
    # rows of 2 and 4 inches: panels of 2, 2, 4, 4 inches, one below the other
    assert copy.get_figheight() == pytest.approx(12.0)
    heights = [b.height for b in _boxes(copy)]
    assert heights[2] / heights[0] == pytest.approx(2.0, rel=0.1)  # labels take fixed room


def test_shared_y_axes_get_their_labels_back(figures):
    fig, axes = _row(figures, 3, sharey=True)
    axes[0, 0].set_ylabel("loss")
    assert not axes[0, 1].yaxis.get_tick_params()["labelleft"]  # subplots hid them
    copy = stacked.stacked_copy(fig)
    figures.append(copy)
    copy.canvas.draw()
    for ax in copy.axes:
        assert ax.get_ylabel() == "loss"
        assert any(label.get_text() for label in ax.get_yticklabels())


def test_twin_axes_move_with_their_panel(figures):
    fig, axes = _row(figures, 2)
    twin = axes[0, 1].twinx()
    twin.set_ylabel("right")
    copy = stacked.stacked_copy(fig)
    figures.append(copy)
    boxes = _boxes(copy)
    assert len(boxes) == 3
    panel, twin_box = boxes[1], boxes[2]
    assert twin_box.bounds == pytest.approx(panel.bounds)


def test_hidden_panels_of_small_multiples_are_left_out(figures):
    with plot.style():
        fig, axes = plot.figure(3, 1, width=9.0, height=3.0)
    figures.append(fig)
    axes[0, 2].set_visible(False)
    copy = stacked.stacked_copy(fig)
    figures.append(copy)
    assert len([ax for ax in copy.axes if ax.get_visible()]) == 2
    assert copy.get_figheight() == pytest.approx(6.0)


@pytest.mark.parametrize(
    "make",
    [
        lambda: plt.subplots(figsize=(6.4, 4.0)),  # one panel
        lambda: plt.subplots(2, 1, figsize=(6.4, 8.0)),  # already one column
    ],
)
def test_figures_without_side_by_side_panels_get_no_copy(figures, make):
    fig, _ = make()
    figures.append(fig)
    assert stacked.panel_cells(fig) is None
    assert stacked.stacked_copy(fig) is None


def test_a_row_of_images_with_their_axes_off_stays_a_row(figures):
    fig, axes = _row(figures, 4)
    for ax in axes.flat:
        ax.imshow(np.eye(8))
        ax.set_axis_off()
    assert stacked.stacked_copy(fig) is None
    axes[0, 0].set_axis_on()  # one chart among pictures: its labels need the width
    assert stacked.stacked_copy(fig) is not None


def test_hand_placed_axes_or_colorbars_get_no_copy(figures):
    fig, axes = _row(figures, 2)
    image = axes[0, 0].imshow(np.eye(3))
    fig.colorbar(image, ax=axes[0, 0])  # no grid cell: its place in a column is unknown
    assert stacked.stacked_copy(fig) is None
    fig2, _ = _row(figures, 2)
    fig2.add_axes((0.1, 0.1, 0.2, 0.2))
    assert stacked.stacked_copy(fig2) is None


def test_a_figure_that_does_not_pickle_gets_no_copy(figures):
    fig, axes = _row(figures, 2)
    axes[0, 0].xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:.1f}"))
    assert stacked.stacked_copy(fig) is None


def test_the_stacked_png_is_a_column_at_the_phone_width(figures):
    fig, _ = _row(figures, 2)
    png = base64.b64decode(stacked.stacked_png(fig))
    image = Image.open(io.BytesIO(png))
    assert image.size == (round(stacked.WIDTH * fig.dpi), round(8.0 * fig.dpi))


def test_the_hook_is_installed_only_for_the_book_build(monkeypatch, figures):
    shell = Shell()
    monkeypatch.delenv(stacked.ENVIRONMENT, raising=False)
    assert not stacked.install(shell)
    assert shell.display_formatter.mimebundle_formatter.registered == {}
    monkeypatch.setenv(stacked.ENVIRONMENT, "1")
    assert stacked.install(shell)
    hook = shell.display_formatter.mimebundle_formatter.registered[plt.Figure]
    fig, _ = _row(figures, 2)
    data, metadata = hook(fig)
    assert data == {}  # the wide PNG stays IPython's own
    assert set(metadata) == {stacked.STACKED}
    assert base64.b64decode(metadata[stacked.STACKED]["image/png"]).startswith(b"\x89PNG")
    single, _ = plt.subplots()
    figures.append(single)
    assert hook(single) is None


def test_equal_aspect_panels_are_no_taller_than_the_width_lets_them_be(figures):
    fig, axes = _row(figures, 4, width=9.6, height=6.6)  # tall cells for square panels
    for ax in axes.flat:
        ax.set_xlim(-1.5, 1.5)
        ax.set_ylim(-1.5, 1.5)
        ax.set_aspect("equal")
    copy = stacked.stacked_copy(fig)
    figures.append(copy)
    across, down = stacked.LABEL_ROOM
    assert copy.get_figheight() == pytest.approx(4 * (stacked.WIDTH - across + down))
    boxes = _boxes(copy)
    assert all(b.height * copy.get_figheight() > 0.8 * (stacked.WIDTH - across) for b in boxes)


def test_a_title_wider_than_the_column_is_broken_between_words_not_in_math(figures):
    fig, axes = _row(figures, 2)
    title = (
        r"distance to the minimum $\|\theta_k - \theta^\star\|$ (each run stops at the tolerance)"
    )
    axes[0, 1].set_title(title)
    copy = stacked.stacked_copy(fig)
    figures.append(copy)
    wrapped = copy.axes[1].get_title()
    assert "\n" in wrapped and wrapped.replace("\n", " ") == title
    assert all(line.count("$") % 2 == 0 for line in wrapped.splitlines())
    copy.canvas.draw()
    assert copy.axes[1].title.get_window_extent().width <= copy.bbox.width
    assert copy.axes[0].get_title() == "panel 0"

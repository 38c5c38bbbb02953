"""The live explorer's redraw (widgets.Canvas): the same picture as a full layout, faster.

The canvas reuses the margins constrained layout computed for an earlier setting (the
last one, or one it remembers) when what stands out of the frame is the same (tick
labels as deep, the same labels past its corners, the same texts reaching out); then
its frame must be pixel for pixel the frame a fresh canvas (which lays the figure out)
draws. When they differ it must lay out again.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

from optimlib_book import batch_norm, gradient_descent, initialization, plot, widgets


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_a_reused_layout_draws_the_frame_a_fresh_layout_draws():
    with plot.style():
        canvas = widgets.Canvas(gradient_descent.panel, 6.4, 5.0)
        canvas(eps=1.0, kappa=10)
        assert canvas.laid_out
        png, result = canvas(eps=1.9, kappa=10)  # same tick labels: the layout is reused
        assert not canvas.laid_out
        fresh, fresh_result = widgets.Canvas(gradient_descent.panel, 6.4, 5.0)(eps=1.9, kappa=10)
    assert result["rate"] == fresh_result["rate"]
    assert np.array_equal(_pixels(png), _pixels(fresh))


def test_new_tick_labels_lay_the_figure_out_again():
    with plot.style():
        canvas = widgets.Canvas(batch_norm.panel)
        canvas(depth=1, scale=1.1)
        png, _ = canvas(depth=30, scale=1.4)  # y reaches 10^11: wider tick labels
        assert canvas.laid_out
        fresh, _ = widgets.Canvas(batch_norm.panel)(depth=30, scale=1.4)
    assert np.array_equal(_pixels(png), _pixels(fresh))


def test_a_layout_computed_before_is_reused_when_the_slider_comes_back():
    """Chapter 8's depth slider from 1 to 30 and back: the second visit of each setting
    takes the layout remembered from the first, and draws the fresh layout's frame."""
    settings = [{"depth": 1, "scale": 1.1}, {"depth": 30, "scale": 1.4}] * 2
    with plot.style():
        canvas = widgets.Canvas(batch_norm.panel)
        laid_out = []
        for values in settings:
            png, _ = canvas(**values)
            laid_out.append(canvas.laid_out)
            fresh, _ = widgets.Canvas(batch_norm.panel)(**values)
            assert np.array_equal(_pixels(png), _pixels(fresh)), values
    assert laid_out == [True, True, False, False]


def test_the_canvas_remembers_a_bounded_number_of_layouts():
    def panel(ax, digits):  # a y label as wide as its digits: a layout for each
        ax.plot([0.0, 1.0], [0.0, 10.0**digits])

    canvas = widgets.Canvas(panel)
    for digits in range(canvas.LAYOUTS + 4):
        canvas(digits=digits)
    assert len(canvas._layouts) == canvas.LAYOUTS
    canvas(digits=0)  # the oldest, forgotten: laid out again
    assert canvas.laid_out


def _tick_labels(figure) -> tuple:
    ax = figure.axes[0]
    return tuple(t.get_text() for t in ax.get_xticklabels() + ax.get_yticklabels())


def _walk(canvas, fresh_canvas, settings) -> list[bool]:
    """Move the sliders through ``settings``: each frame must be the frame a fresh canvas
    draws; returns, per move, whether the layout was reused with other tick labels."""
    reused_with_new_labels, labels = [], None
    for values in settings:
        png, _ = canvas(**values)
        fresh, _ = fresh_canvas()(**values)
        assert np.array_equal(_pixels(png), _pixels(fresh)), values
        new_labels = _tick_labels(canvas.figure)
        reused_with_new_labels.append(not canvas.laid_out and new_labels != labels)
        labels = new_labels
    return reused_with_new_labels


def test_labels_as_deep_as_before_keep_the_layout_other_ones_do_not():
    """Chapter 13: one more decade on y (10^-3) or other x labels (20 layers) keep the
    margins when the widest y label is as wide; a narrower widest label (10^-1 after
    10^-3) or a label reaching past the frame's corner (2 x 10^0 at 5 layers) lays the
    figure out again. Every frame is the fresh layout's; the moves that reuse one are
    matplotlib 3.11's (3.9 measures mathtext in fractions of a pixel and reuses fewer)."""
    settings = [
        {"scale": 1.0, "depth": 10},
        {"scale": 0.7, "depth": 10},
        {"scale": 4.0, "depth": 10},
        {"scale": 4.0, "depth": 20},
        {"scale": 2.8, "depth": 5},
    ]
    with plot.style():
        canvas = widgets.Canvas(initialization.panel, 5.5, 4.0, activation="tanh")
        fresh = lambda: widgets.Canvas(initialization.panel, 5.5, 4.0, activation="tanh")  # noqa: E731
        reused = _walk(canvas, fresh, settings)
    assert any(reused)
    if matplotlib.__version__.startswith("3.11."):
        assert reused == [False, True, False, True, False]


def test_a_text_reaching_out_of_the_frame_counts_with_its_place():
    """A note that reaches past the frame's right side widens the margin constrained
    layout leaves there: a layout made with it must not be reused without it, nor the
    other way round."""

    def panel(ax, x):
        ax.plot([0.0, 1.0], [0.0, 1.0])
        ax.annotate(
            "a note",
            (x, 1.0),
            xycoords=("data", "axes fraction"),
            xytext=(4, -4),
            textcoords="offset points",
            va="top",
        )

    with plot.style():
        canvas, laid_out = widgets.Canvas(panel), []
        for x in (1.0, 0.2, 1.0):  # each frame the fresh layout's (_walk)
            _walk(canvas, lambda: widgets.Canvas(panel), [{"x": x}])
            laid_out.append(canvas.laid_out)
    assert len(canvas._layouts) == 2 and laid_out == [True, True, False]


def test_explorer_frames_have_no_overlapping_tick_labels():
    # Chapter 9's start frame labelled the minor ticks of a log axis over one decade,
    # and the labels ran into each other (before its axis ran between whole decades).
    from optimlib_book import head_to_head

    data = head_to_head.load()
    canvas = widgets.Canvas(head_to_head.panel, 6.4, 4.2, data=data)
    for lr in data["config"]["lrs"]:
        canvas(lr=lr)
        assert plot.overlapping_tick_labels(canvas.figure) == [], lr


def test_overlapping_tick_labels_are_found():
    fig = matplotlib.figure.Figure(figsize=(4.0, 3.0))
    FigureCanvasAgg(fig)
    crowded, spaced = fig.subplots(1, 2)
    crowded.set_xticks(range(8), [f"label {i}" for i in range(8)])  # 8 wide labels in 1.5 in
    spaced.set_xticks([0, 1], ["0", "1"])
    fig.canvas.draw()
    found = plot.overlapping_tick_labels(fig)
    assert "label 0 | label 1" in found and all(pair.startswith("label") for pair in found)
    crowded.remove()
    fig.canvas.draw()
    assert plot.overlapping_tick_labels(fig) == []


def test_wide_log_axes_lose_their_minor_ticks_narrow_ones_keep_them():
    fig = matplotlib.figure.Figure()
    wide, narrow = fig.add_subplot(121), fig.add_subplot(122)
    wide.loglog([1e-6, 1.0], [1.0, 1e3])
    narrow.loglog([1.0, 50.0], [1.0, 2.0])
    plot.thin_log_ticks(wide)
    plot.thin_log_ticks(narrow)
    assert len(wide.xaxis.get_minorticklocs()) == 0
    assert len(wide.yaxis.get_minorticklocs()) == 0
    assert len(narrow.xaxis.get_minorticklocs()) > 0
    assert len(narrow.yaxis.get_minorticklocs()) > 0


def test_an_explorer_frame_keeps_only_minor_ticks_that_carry_labels():
    """Live frames drop the bare minor ticks of a log axis over more than a decade with
    two labelled decades or more; an axis with one labelled decade keeps its marks, and
    minor ticks that matplotlib labels (2 x 10^k, ...) are never dropped."""

    def panel(ax, bottom, top):
        ax.semilogy([0.0, 1.0], [bottom, top])

    def minor_labels(axis):
        return [t.get_text() for t in axis.get_minorticklabels() if t.get_text()]

    canvas = widgets.Canvas(panel)
    # 1 to 50: decades 1 and 10 labelled; 0.03 to 0.5: only 0.1; 1 to 5: labelled minors
    for bottom, top, kept in ((1.0, 50.0, False), (0.03, 0.5, True), (1.0, 5.0, True)):
        canvas(bottom=bottom, top=top)
        assert (len(canvas.figure.axes[0].yaxis.get_minorticklocs()) > 0) == kept
        plain = matplotlib.figure.Figure()
        panel(plain.add_subplot(), bottom, top)
        plain.canvas.draw()
        assert kept or not minor_labels(plain.axes[0].yaxis)


def test_the_explorer_swaps_its_image_when_a_slider_moves():
    with plot.style():
        box = widgets.explorer(
            gradient_descent.panel,
            {"eps": widgets.Control(0.01, 3.0, 1.0, log=True)},
            kappa=10.0,
        )
        (slider,), image = box.children[0].children, box.children[1]
        before = bytes(image.value)
        slider.value = 2.1
    assert Image.open(io.BytesIO(before)).format == "PNG"
    assert bytes(image.value) != before

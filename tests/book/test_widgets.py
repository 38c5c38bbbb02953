"""The live explorer's redraw (widgets.Canvas): the same picture as a full layout, faster.

The canvas reuses the margins constrained layout computed for an earlier setting when
the texts around the axes are the same; then its frame must be pixel for pixel the frame
a fresh canvas (which lays the figure out) draws. When they differ it must lay out again.
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
from PIL import Image

from optimlib_book import batch_norm, gradient_descent, plot, widgets


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_a_reused_layout_draws_the_frame_a_fresh_layout_draws():
    with plot.style():
        canvas = widgets.Canvas(gradient_descent.panel, 6.4, 5.0)
        canvas(eps=1.0, kappa=10)
        key = canvas._layout[0]
        png, result = canvas(eps=1.9, kappa=10)  # same tick labels: the layout is reused
        assert canvas._layout[0] is key
        fresh, fresh_result = widgets.Canvas(gradient_descent.panel, 6.4, 5.0)(eps=1.9, kappa=10)
    assert result["rate"] == fresh_result["rate"]
    assert np.array_equal(_pixels(png), _pixels(fresh))


def test_new_tick_labels_lay_the_figure_out_again():
    with plot.style():
        canvas = widgets.Canvas(batch_norm.panel)
        canvas(depth=1, scale=1.1)
        key = canvas._layout[0]
        png, _ = canvas(depth=30, scale=1.4)  # y reaches 10^11: wider tick labels
        assert canvas._layout[0] != key
        fresh, _ = widgets.Canvas(batch_norm.panel)(depth=30, scale=1.4)
    assert np.array_equal(_pixels(png), _pixels(fresh))


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

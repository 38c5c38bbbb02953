"""A figure as PNG bytes from one draw: the chapters' figures, explorer frames, stacked copies.

``savefig`` (and with it the inline backend's ``print_figure``) draws a figure that has
a layout engine twice: once with drawing switched off, to lay it out, then again to
render. The book's style lays every figure out with the constrained layout engine, so
each chapter figure cost two full draws; ``Figure.draw`` runs the layout itself, so one
draw on the Agg canvas gives the same pixels, which are encoded exactly as ``savefig``
encodes them (``matplotlib.image.imsave`` of the canvas's RGBA buffer, at the figure's
dpi). That saved 0.3 to 1 s of CPU in a chapter with seven to nine figures.
"""

from __future__ import annotations

import io

import matplotlib.image
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["drawn_png", "figure_png", "share_mathtext_parser"]

# zlib's level 6, the default of savefig (through Pillow): stored notebooks and the
# built site keep their size. A live explorer passes 1 (see widgets.Canvas).
COMPRESS_LEVEL = 6

# The mathtext parser of the first Agg renderer seen, lent to every later one.
_MATHTEXT_PARSERS: dict[type, object] = {}


def share_mathtext_parser(renderer) -> None:
    """Give ``renderer`` the mathtext parser every renderer drawn here shares.

    matplotlib caches parsed mathtext (a log axis's ``10^k`` labels, TeX axis labels)
    per parser, and each figure's renderer makes its own parser: every figure of a
    chapter parsed its labels again (pyparsing, about 3 ms a label: a sixth of chapter
    6's figure time). The parse depends only on the text, dpi and font, never on the
    renderer.
    """
    renderer.mathtext_parser = _MATHTEXT_PARSERS.setdefault(
        type(renderer), renderer.mathtext_parser
    )


def drawn_png(fig: Figure, compress_level: int = COMPRESS_LEVEL) -> bytes:
    """The pixels ``fig``'s Agg canvas drew last, as PNG bytes (no draw here)."""
    pixels = np.asarray(fig.canvas.buffer_rgba())
    buffer = io.BytesIO()
    matplotlib.image.imsave(
        buffer, pixels, format="png", dpi=fig.dpi, pil_kwargs={"compress_level": compress_level}
    )
    return buffer.getvalue()


def figure_png(
    fig: Figure, dpi: float | None = None, compress_level: int = COMPRESS_LEVEL
) -> bytes:
    """``fig`` as PNG bytes, laid out and rendered in one draw at ``dpi`` (its own by default).

    Same pixel size, facecolor and pixels as ``fig.savefig(buffer, format="png",
    dpi=dpi)`` without a tight bounding box. A figure whose canvas is not Agg's (one
    made with ``Figure()`` or unpickled) is drawn on an Agg canvas and given its own
    canvas back, and its dpi is restored, as ``savefig`` leaves a figure as it was.
    """
    own_canvas, own_dpi = fig.canvas, fig.dpi
    canvas = own_canvas if isinstance(own_canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    try:
        if dpi is not None and dpi != own_dpi:
            fig.set_dpi(dpi)
        share_mathtext_parser(canvas.get_renderer())  # the renderer draw() will use
        canvas.draw()
        return drawn_png(fig, compress_level)
    finally:
        if fig.dpi != own_dpi:
            fig.set_dpi(own_dpi)
        if canvas is not own_canvas:
            fig.set_canvas(own_canvas)

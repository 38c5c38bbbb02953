"""One-draw PNGs (optimlib_book.png) and the notebooks' PNG formatter (plot.use_one_draw_png).

The PNG must be the figure ``savefig`` would store, pixel for pixel: both lay the figure
out once from the same state (savefig in a draw with rendering switched off, then
renders with the layout engine off; ``figure_png`` in the draw that renders) and encode
the same Agg buffer, so the pixels are compared exactly, with no tolerance.
"""

from __future__ import annotations

import io
import pickle

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure
from PIL import Image

from optimlib_book import plot, png
from tests.book.ipython_shell import Shell


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def _savefig(fig, **kwargs) -> bytes:
    """What savefig stores for ``fig``, from a copy: a renderer of its own (and so a
    mathtext parser of its own), independent of what figure_png did to ``fig``."""
    copy = pickle.loads(pickle.dumps(fig))
    buffer = io.BytesIO()
    copy.savefig(buffer, format="png", **kwargs)
    plt.close(copy)
    return buffer.getvalue()


@pytest.fixture
def chapter_figure():
    """Two panels as a chapter draws them: the book's style (constrained layout), a log
    axis, TeX labels, a legend, a title, a non-default facecolor."""
    with plot.style():
        fig, axes = plot.figure(2, 1, width=9.6, height=4.0, facecolor="#fdf6e3")
        x = np.linspace(0, 4, 200)
        for ax in axes.flat:
            for k in range(3):
                ax.plot(x, np.exp(-k * x) + 1e-3, label=rf"$\alpha = {k}$")
            ax.set(yscale="log", xlabel="step $k$", ylabel=r"$f(\theta_k)$", title="runs")
            ax.legend()
        yield fig
        plt.close(fig)


def test_the_png_is_savefigs_pixels_at_the_figures_size(chapter_figure):
    data = png.figure_png(chapter_figure)
    image = Image.open(io.BytesIO(data))
    assert image.size == (960, 400)  # 9.6 x 4.0 inches at the style's 100 dpi
    assert image.mode == "RGBA"
    assert image.info["dpi"] == pytest.approx((100, 100), abs=0.01)
    assert np.array_equal(_pixels(data), _pixels(_savefig(chapter_figure)))
    assert tuple(_pixels(data)[0, 0]) == (0xFD, 0xF6, 0xE3, 255)  # the facecolor


def test_a_figure_drawn_twice_gives_the_same_png(chapter_figure):
    assert png.figure_png(chapter_figure) == png.figure_png(chapter_figure)


def test_another_dpi_scales_the_png_and_leaves_the_figure_as_it_was(chapter_figure):
    canvas = chapter_figure.canvas
    data = png.figure_png(chapter_figure, dpi=50)
    assert Image.open(io.BytesIO(data)).size == (480, 200)
    assert np.array_equal(_pixels(data), _pixels(_savefig(chapter_figure, dpi=50)))
    assert chapter_figure.dpi == 100 and chapter_figure.canvas is canvas
    assert Image.open(io.BytesIO(png.figure_png(chapter_figure))).size == (960, 400)


def test_figures_share_one_mathtext_parser_and_keep_savefigs_pixels(chapter_figure):
    """The second figure's TeX labels come from the parse cache the first one filled (at
    100 dpi): its pixels are still savefig's, at that dpi and at another."""
    png.figure_png(chapter_figure)
    first = chapter_figure.canvas.get_renderer().mathtext_parser
    with plot.style():
        fig, axes = plot.figure(width=4.0, height=3.0)
        axes[0, 0].plot([1, 2], [1e-3, 1], label=r"$\alpha = 1$")
        axes[0, 0].set(yscale="log", xlabel="step $k$", ylabel=r"$f(\theta_k)$")
        axes[0, 0].legend()
    data = png.figure_png(fig)
    assert fig.canvas.get_renderer().mathtext_parser is first
    assert np.array_equal(_pixels(data), _pixels(_savefig(fig)))
    data = png.figure_png(fig, dpi=50)  # the cache is keyed by dpi too
    assert np.array_equal(_pixels(data), _pixels(_savefig(fig, dpi=50)))
    plt.close(fig)


def test_a_figure_without_an_agg_canvas_is_drawn_and_keeps_its_canvas():
    fig = Figure(figsize=(3.0, 2.0), dpi=100)
    fig.add_subplot().plot([0, 1], [1, 0])
    canvas = fig.canvas
    assert type(canvas) is FigureCanvasBase
    data = png.figure_png(fig)
    assert Image.open(io.BytesIO(data)).size == (300, 200)
    assert fig.canvas is canvas
    assert np.array_equal(_pixels(data), _pixels(_savefig(fig)))


def test_the_compression_level_changes_the_bytes_not_the_pixels(chapter_figure):
    fast = png.figure_png(chapter_figure, compress_level=1)
    small = png.figure_png(chapter_figure)
    assert len(fast) > len(small)
    assert np.array_equal(_pixels(fast), _pixels(small))


def test_the_formatter_is_registered_by_the_call_under_the_inline_backend_only(monkeypatch):
    shell = Shell()
    registered = shell.display_formatter.formatters["image/png"].registered
    switched = []
    monkeypatch.setattr(plot.plt, "switch_backend", switched.append)
    monkeypatch.setattr(plot.mpl, "get_backend", lambda: "agg")
    plot.use_one_draw_png(shell)
    assert registered == {} and switched == []
    inline = "module://matplotlib_inline.backend_inline"
    monkeypatch.setattr(plot.mpl, "get_backend", lambda: inline)
    plot.use_one_draw_png()  # no IPython shell in pytest: nothing to register with
    assert switched == []
    plot.use_one_draw_png(shell)
    # the backend is loaded first, so that its own formatter cannot replace this one later
    assert switched == [inline]
    assert registered[Figure] is plot._inline_png


def test_the_formatter_shows_nothing_for_an_empty_figure(chapter_figure):
    assert plot._inline_png(Figure()) is None
    assert plot._inline_png(chapter_figure) == png.figure_png(chapter_figure)


KERNEL_CELLS = [
    """\
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from optimlib_book import plot
formatters = get_ipython().display_formatter.formatters["image/png"]
plot.use_style()
print(getattr(formatters.type_printers.get(Figure), "__name__", None))""",
    "plot.use_one_draw_png()",
    """\
fig, axes = plot.figure(2, 1, width=9.6, height=4.0)
for ax in axes.flat:
    ax.plot([0, 1], [1, 0])
plt.show()""",
    'print(getattr(formatters.lookup_by_type(Figure), "__name__", "print_figure"))',
]


@pytest.mark.parametrize("stacked_copies", [False, True], ids=["notebook", "book-build"])
def test_in_a_kernel_figures_are_shown_by_the_formatter_after_the_explicit_call(
    stacked_copies, monkeypatch
):
    """In a real kernel: use_style registers no formatter; the explicit call does, and
    it still holds after the first figure loads the inline backend. The figure's PNG
    has its size; in the book's build the stacked copy still rides in the metadata."""
    import base64

    import nbformat
    from nbclient import NotebookClient

    from optimlib_book import stacked

    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    if stacked_copies:
        monkeypatch.setenv(stacked.ENVIRONMENT, "1")
    else:
        monkeypatch.delenv(stacked.ENVIRONMENT, raising=False)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in KERNEL_CELLS]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    # What each cell printed, joined as nbval joins a stream: on a loaded machine the
    # kernel sent one print as two messages, its text then its line break (seen in CI).
    printed = ["".join(o.text for o in c.outputs if o.get("name") == "stdout") for c in nb.cells]
    figures = [[o for o in c.outputs if "image/png" in o.get("data", {})] for c in nb.cells]
    assert printed[0] == "None\n"  # the style registered nothing: no figure shown yet either
    assert nb.cells[1].outputs == []  # the setup cell that ends with the call shows nothing
    assert printed[3] == "_inline_png\n"
    assert [len(shown) for shown in figures] == [0, 0, 1, 0]  # the figure, once, in its cell
    (shown,) = figures[2]
    image = Image.open(io.BytesIO(base64.b64decode(shown.data["image/png"])))
    assert image.size == (960, 400)
    copy = shown.metadata.get(stacked.STACKED)
    if stacked_copies:
        column = Image.open(io.BytesIO(base64.b64decode(copy["image/png"])))
        assert column.size == (480, 800)
    else:
        assert copy is None

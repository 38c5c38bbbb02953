"""Interactive explorers: sliders around a pure drawing function, and its static twins.

An explorer is built from a *panel*: a function ``panel(ax, **values)`` that draws one
figure for one setting of the controls and returns what it measured (the unit tests
call it directly). :func:`explorer` puts sliders on it for a student with a kernel;
:func:`small_multiples` and :func:`animation` draw the same panel at several settings
for a reader of the static page, where no kernel can redraw anything.

ipywidgets is imported only when a live explorer is built; the static twins need matplotlib.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from optimlib import _checks

from . import plot
from .plot import figure
from .png import drawn_png

__all__ = ["Canvas", "Control", "animation", "explorer", "small_multiples"]

Panel = Callable[..., object]


@dataclass(frozen=True)
class Control:
    """A slider: its range, its start value, and whether it moves on a log scale."""

    min: float
    max: float
    value: float
    step: float | None = None
    log: bool = False
    description: str | None = None
    integer: bool = False

    def __post_init__(self):
        if not self.min <= self.value <= self.max:
            raise ValueError(
                f"value must lie in [min, max] = [{self.min}, {self.max}]; got {self.value}"
            )
        if self.log and self.min <= 0:
            raise ValueError(f"min must be > 0 for a log slider; got {self.min}")

    def widget(self, name: str):
        import ipywidgets

        label = self.description or name
        style = {"description_width": "initial"}
        if self.log:
            return ipywidgets.FloatLogSlider(
                value=self.value,
                base=10,
                min=np.log10(self.min),
                max=np.log10(self.max),
                step=self.step or 0.05,
                description=label,
                style=style,
                continuous_update=False,
            )
        if self.integer:
            return ipywidgets.IntSlider(
                value=int(self.value),
                min=int(self.min),
                max=int(self.max),
                step=int(self.step or 1),
                description=label,
                style=style,
                continuous_update=False,
            )
        return ipywidgets.FloatSlider(
            value=self.value,
            min=self.min,
            max=self.max,
            step=self.step or (self.max - self.min) / 100,
            description=label,
            style=style,
            continuous_update=False,
        )


class Canvas:
    """The one figure a live explorer redraws in place: ``canvas(**values)`` is a slider change.

    Each call clears the figure, draws ``panel`` on a fresh Axes and returns the PNG bytes
    and what the panel returned. Keeping the figure (instead of a new one a change, as
    ``plt.show`` would) keeps its Agg renderer, and with it the renderer's cache of
    parsed mathtext: a log axis's ``10^k`` labels and the panel's TeX labels are parsed
    once per explorer instead of on every change, which was a fifth of a redraw.
    The figure keeps the book's constrained layout, so a frame looks like the static twins.
    """

    def __init__(self, panel: Panel, width: float = 6.4, height: float = 4.0, **fixed):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.panel, self.fixed = panel, fixed
        # Not through pyplot: the explorer shows the PNG itself, and pyplot would keep
        # (and the inline backend would display) every figure it made.
        self.figure = Figure(figsize=(width, height))
        FigureCanvasAgg(self.figure)
        self._layout: tuple = (None, [])  # (the layout key, the axes' positions) last computed

    def __call__(self, **values) -> tuple[bytes, object]:
        figure = self.figure
        figure.clear()
        result = self.panel(figure.add_subplot(), **values, **self.fixed)
        for ax in figure.axes:
            plot.thin_log_ticks(ax)
        key = _layout_key(figure)
        if key == self._layout[0]:
            # The same texts around the same axes as when the layout was last computed:
            # the same margins fit, so place the axes there instead of measuring every
            # tick label again (constrained layout was a third of a redraw).
            figure.set_layout_engine("none")
            for ax, position in zip(figure.axes, self._layout[1], strict=True):
                ax.set_position(position)
            figure.canvas.draw()
        else:
            figure.set_layout_engine("constrained")
            figure.canvas.draw()
            self._layout = (key, [ax.get_position(original=True) for ax in figure.axes])
        # One draw, layout included, then encode its pixels: ``savefig`` would draw the
        # figure twice (once to run the layout, once to render).
        # zlib's fastest level: half the encoding time (~9 ms a frame here) for a PNG a
        # few per cent larger, which travels only from the kernel to the notebook.
        return drawn_png(figure, compress_level=1), result


def _layout_key(figure) -> tuple:
    """What decides the margins constrained layout gives a figure's axes.

    Per axes: the major tick labels in view (their widths set the side margins), how
    many lines its title and axis labels have, its legend and texts (which may reach
    outside the frame), and its kind (a colorbar, an inset). Computed from the
    locators and formatters, without drawing anything.
    """
    key = []
    for ax in figure.axes:
        ticks = []
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            locations = [v for v in axis.major.locator() if low <= v <= high]
            ticks.append(tuple(axis.major.formatter.format_ticks(locations)))
            ticks.append(axis.get_label_position() if axis.label.get_text() else None)
        lines = [
            t.count("\n") + 1 if t else 0
            for t in (ax.get_title(), ax.get_xlabel(), ax.get_ylabel())
        ]
        texts = [(type(t).__name__, t.get_clip_on()) for t in ax.texts]
        key.append(
            (type(ax).__name__, ax.get_label(), *ticks, *lines, ax.get_legend() is not None, *texts)
        )
    return tuple(key)


def explorer(panel: Panel, controls: dict[str, Control], width=6.4, height=4.0, **fixed):
    """Sliders for ``controls`` above a figure that ``panel(ax, **values, **fixed)`` redraws.

    Returns the ipywidgets box to display. Without a kernel (the static book) it shows
    only its last saved state: pair it with :func:`small_multiples` or :func:`animation`.
    A slider change redraws one :class:`Canvas` and swaps the image's PNG (no flicker,
    no new figure); ``benchmarks/bench_explorers.py`` times that call.
    """
    import ipywidgets

    sliders = {name: control.widget(name) for name, control in controls.items()}
    canvas = Canvas(panel, width, height, **fixed)
    image = ipywidgets.Image(format="png")

    def redraw(change=None):
        image.value, _ = canvas(**{name: slider.value for name, slider in sliders.items()})

    for slider in sliders.values():
        slider.observe(redraw, names="value")
    redraw()
    return ipywidgets.VBox([ipywidgets.HBox(list(sliders.values())), image])


def small_multiples(
    panel: Panel,
    name: str,
    values: Sequence,
    ncols: int | None = None,
    width: float = 3.4,
    height: float = 3.0,
    title: Callable[[object], str] | None = None,
    **fixed,
):
    """The panel drawn at several values of one control, side by side: a static explorer.

    Returns ``(fig, results)`` where ``results[i]`` is what the panel returned for
    ``values[i]`` (so a chapter can assert on what the figure shows).
    """
    values = list(values)
    if not values:
        raise ValueError("values: give at least one value of the control")
    ncols = _checks.positive_int("ncols", ncols or len(values))
    nrows = -(-len(values) // ncols)
    fig, axes = figure(ncols, nrows, width=width * ncols, height=height * nrows)
    results = []
    for ax, value in zip(axes.flat, values, strict=False):
        results.append(panel(ax, **{name: value}, **fixed))
        ax.set_title(title(value) if title else f"{name} = {value:g}")
    for ax in axes.flat[len(values) :]:
        ax.set_visible(False)
    return fig, results


def animation(
    panel: Panel, name: str, values: Sequence, width=6.4, height=4.0, interval=400, **fixed
) -> str:
    """The panel at each value as frames of a JavaScript animation (HTML that plays offline).

    Each frame is redrawn from scratch by the panel, so the animation shows exactly
    what the slider would.
    """
    from matplotlib.animation import FuncAnimation

    values = list(values)
    fig, axes = figure(width=width, height=height)
    ax = axes[0, 0]

    def draw(i):
        ax.clear()
        panel(ax, **{name: values[i]}, **fixed)
        ax.set_title(f"{name} = {values[i]:g}")

    anim = FuncAnimation(fig, draw, frames=len(values), interval=interval)
    html = anim.to_jshtml(default_mode="once")
    plt.close(fig)
    return html

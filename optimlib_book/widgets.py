"""Interactive explorers: sliders around a pure drawing function, and its static twins.

An explorer is built from a *panel*: a function ``panel(ax, **values)`` that draws one
figure for one setting of the controls and returns what it measured (the unit tests
call it directly). :func:`explorer` puts sliders on it for a student with a kernel;
:func:`small_multiples` and :func:`animation` draw the same panel at several settings
for a reader of the static page, where no kernel can redraw anything.

ipywidgets is imported only when a live explorer is built; the static twins need matplotlib.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np

from optimlib import _checks

from . import plot
from .plot import figure
from .png import drawn_png, share_mathtext_parser

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
    The figure keeps the book's constrained layout, so a frame looks like the static twins;
    it remembers the last ``LAYOUTS`` layouts it computed, by what stood out of the frame
    (:func:`_layout_key`), and reuses one wherever the same margins fit.
    """

    LAYOUTS = 16

    def __init__(self, panel: Panel, width: float = 6.4, height: float = 4.0, **fixed):
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.panel, self.fixed = panel, fixed
        # Not through pyplot: the explorer shows the PNG itself, and pyplot would keep
        # (and the inline backend would display) every figure it made.
        self.figure = Figure(figsize=(width, height))
        FigureCanvasAgg(self.figure)
        # the labels the chapter's figures parsed are parsed already (same size and dpi)
        share_mathtext_parser(self.figure.canvas.get_renderer())
        # The layouts computed so far, by what stood out of a new figure's frames (most
        # recently used last): what stood out where the layout put the axes, and where.
        self._layouts: OrderedDict[tuple, tuple[tuple, list]] = OrderedDict()
        self.laid_out = False  # whether the last change ran constrained layout

    def __call__(self, **values) -> tuple[bytes, object]:
        figure = self.figure
        figure.clear()
        result = self.panel(figure.add_subplot(), **values, **self.fixed)
        for ax in figure.axes:
            # Over more than a decade with two labelled decades the minor ticks of a log
            # axis carry no labels: the bare marks are tick objects built, measured and
            # drawn on every change (a third of chapter 9's redraw); the static figures
            # keep them up to 3 decades.
            plot.thin_log_ticks(ax, decades=1.0)
        # where the panel put them, and whether they take part in the layout
        placed = [(ax.get_position(), ax.get_in_layout()) for ax in figure.axes]
        # What stands out of the frames where a new figure has them: the index of the
        # layouts remembered, the same wherever the last frame's axes were.
        fresh_key = _layout_key(figure)
        self.laid_out = not self._reuse_layout(fresh_key)
        if self.laid_out:
            # Constrained layout starts from where the axes are (and texts placed in axes
            # coordinates move with them): start it where a fresh figure would.
            for ax, (position, in_layout) in zip(figure.axes, placed, strict=True):
                ax.set_position(position)
                ax.set_in_layout(in_layout)  # set_position took it out of the layout
            figure.set_layout_engine("constrained")
            figure.canvas.draw()
            positions = [ax.get_position(original=True) for ax in figure.axes]
            # what stands out where the layout put them: what a reuse must find there
            # (popped first: a key written again would keep its old place in the order)
            self._layouts.pop(fresh_key, None)
            self._layouts[fresh_key] = (_layout_key(figure), positions)
            if len(self._layouts) > self.LAYOUTS:
                self._layouts.popitem(last=False)
        # One draw, layout included, then encode its pixels: ``savefig`` would draw the
        # figure twice (once to run the layout, once to render).
        # zlib's fastest level: half the encoding time (~9 ms a frame here) for a PNG a
        # few per cent larger, which travels only from the kernel to the notebook.
        return drawn_png(figure, compress_level=1), result

    def _reuse_layout(self, fresh_key: tuple) -> bool:
        """Put the axes where a layout remembered for ``fresh_key`` put them, and draw,
        if what stands out of them there is what stood out when it was computed (then
        the same margins fit: constrained layout would give the same positions, without
        measuring every artist again, which was a third of a redraw). False if none fits.
        """
        if fresh_key not in self._layouts:
            return False
        key, positions = self._layouts[fresh_key]
        figure = self.figure
        for ax, position in zip(figure.axes, positions, strict=True):
            ax.set_position(position)
        if _layout_key(figure) != key:
            return False
        self._layouts.move_to_end(fresh_key)
        figure.set_layout_engine("none")
        figure.canvas.draw()
        return True


def _layout_key(figure) -> tuple:
    """What decides the margins constrained layout gives a figure's axes where they sit.

    Per axes: its tick labels (:func:`_tick_labels`): how far they stand out from the
    frame, and the labels that reach past its corners further than the other axis's
    labels (or, at the top, a title) do; each axis's offset text; how many lines its
    title and axis labels have; the texts that reach out of the frame, with how far
    past each side; whether it has a legend; and its kind (a colorbar, an inset).
    Computed from the locators, formatters and the renderer's text metrics, without
    drawing anything.
    """
    renderer = figure.canvas.get_renderer()
    key = []
    for ax in figure.axes:
        frame = ax.get_position().transformed(figure.transFigure)
        x = _tick_labels(ax.xaxis, frame.width, renderer)
        y = _tick_labels(ax.yaxis, frame.height, renderer)
        beyond = (
            [(label, d) for label, d in x.low if d > y.across],  # left of the y labels
            x.high,  # right: nothing else is there
            [(label, d) for label, d in y.low if d > x.across],  # below the x labels
            [] if ax.get_title() else y.high,  # above: a title stands higher
        )
        texts = []
        for text in ax.texts:  # clipped or not (an annotation's clip_on clips nothing)
            extent = text.get_window_extent(renderer)
            # how far it reaches past each side (left, bottom, right, top; 0 inside it):
            # relative to the frame, so that a layout remembered elsewhere is recognised
            reach = (
                frame.x0 - extent.x0,
                frame.y0 - extent.y0,
                extent.x1 - frame.x1,
                extent.y1 - frame.y1,
            )
            if max(reach) > 0:
                texts.append(tuple(round(max(float(v), 0.0), 2) for v in reach))
        axes_labels = [
            axis.get_label_position() if axis.label.get_text() else None
            for axis in (ax.xaxis, ax.yaxis)
        ]
        lines = [
            t.count("\n") + 1 if t else 0
            for t in (ax.get_title(), ax.get_xlabel(), ax.get_ylabel())
        ]
        key.append(
            (
                type(ax).__name__,
                ax.get_label(),
                *(x.across, y.across, x.offset, y.offset),
                *map(tuple, beyond),
                *axes_labels,
                *lines,
                ax.get_legend() is not None,
                *texts,
            )
        )
    return tuple(key)


@dataclass(frozen=True)
class _TickLabels:
    across: float  # pixels the deepest label stands out from the frame's side
    low: tuple  # (label, pixels) for each label reaching past the axis's low end
    high: tuple  # ... and past its high end
    offset: str  # the formatter's offset text


def _tick_labels(axis, length: float, renderer) -> _TickLabels:
    """How an axis's tick labels (major and minor, in view) sit around a frame whose
    side along the axis is ``length`` pixels: what constrained layout measures.

    Tick labels sit beside the frame, centred on their ticks: across the axis only the
    deepest label counts (the tallest for x, the widest for y), whatever the labels say;
    along it, a label near an end may reach past the frame. Sizes are the renderer's
    text metrics at the style's tick label size, as the labels will be drawn.
    """
    from matplotlib import cbook, rcParams
    from matplotlib.font_manager import FontProperties

    font = FontProperties(size=rcParams[f"{axis.axis_name}tick.labelsize"])
    low, high = sorted(axis.get_view_interval())
    to_axes = axis.axes.transScale + axis.axes.transLimits
    across, lows, highs = 0.0, [], []
    for ticker in (axis.major, axis.minor):
        locations = [v for v in ticker.locator() if low <= v <= high]
        labels = ticker.formatter.format_ticks(locations)
        for location, label in zip(locations, labels, strict=True):
            if not label:
                continue
            w, h, d = renderer.get_text_width_height_descent(
                label,
                font,
                cbook.is_math_text(label),  # as a Text decides to parse it
            )
            if axis.axis_name == "x":  # centred on the tick
                place, reach, across = to_axes.transform((location, 0))[0], w / 2, max(across, h)
            else:  # the middle of its letters on the tick, the descent below (at most)
                place, reach, across = (
                    to_axes.transform((0, location))[1],
                    h / 2 + d,
                    max(across, w),
                )
            place *= length
            if reach > place:
                lows.append((label, round(float(reach - place), 2)))
            if reach > length - place:
                highs.append((label, round(float(reach - length + place), 2)))
    return _TickLabels(across, tuple(lows), tuple(highs), axis.major.formatter.get_offset())


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

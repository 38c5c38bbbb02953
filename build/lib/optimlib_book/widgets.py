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

from .plot import figure

__all__ = ["Control", "animation", "explorer", "small_multiples"]

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


def explorer(panel: Panel, controls: dict[str, Control], width=6.4, height=4.0, **fixed):
    """Sliders for ``controls`` above a figure that ``panel(ax, **values, **fixed)`` redraws.

    Returns the ipywidgets box to display. Without a kernel (the static book) it shows
    only its last saved state: pair it with :func:`small_multiples` or :func:`animation`.
    """
    import ipywidgets

    sliders = {name: control.widget(name) for name, control in controls.items()}

    def redraw(**values):
        _, axes = figure(width=width, height=height)
        panel(axes[0, 0], **values, **fixed)
        plt.show()  # into the Output widget that interactive_output captures for us

    output = ipywidgets.interactive_output(redraw, sliders)
    return ipywidgets.VBox([ipywidgets.HBox(list(sliders.values())), output])


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

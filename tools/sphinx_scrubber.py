"""Sphinx extension: explorers a reader can scrub on the static site, with no kernel.

A notebook's markdown cell says, after an explorer and its static twin::

    ```{scrubber} optimlib_book.momentum:panel
    :grid: {"alpha": [0.0, 0.5, 0.8, 0.95]}
    :fixed: {"eps": 0.015, "kappa": 100.0}
    :labels: {"alpha": "α (momentum)"}
    :size: 5.5 5.0
    The caption (MyST markdown).
    ```

At build time the panel is drawn (Agg backend) at every point of the grid (one or two
parameters), each frame saved as a small palette PNG under ``_scrubber/`` in the output,
with alt text made from the numbers the panel returned for that frame. The page holds
one ``<img>`` (the start frame) and a labelled ``<input type=range>`` per parameter; a
small script (``scrubber.js``, on pages with a scrubber only) swaps the image's ``src``
and ``alt``, so a frame is fetched only when the reader moves to it. No kernel, no
widget manager: it works offline and from ``file://``.

Frames are cached in ``_build/.scrubber-cache`` keyed by a hash of the book's packages'
source and data, the panel, and its parameters, so a rebuild redraws nothing
unless something a frame depends on changed (raise ``RENDERER`` when the drawing code
here changes).

A fixed value written ``"@module:function"`` is that function's return value (chapter
9's panel takes the sweep's data, ``"@optimlib_book.head_to_head:load"``).
"""

from __future__ import annotations

import hashlib
import html
import importlib
import io
import itertools
import json
import math
import multiprocessing
import os
import re
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
ASSETS = HERE / "site" / "scrubber"
FRAMES_DIR = "_scrubber"
# A frame is drawn at this many pixels across: the text column is about 730 CSS px wide
# on a desktop, and a phone's 390 CSS px at twice the density is 780 device pixels.
FRAME_PIXELS = 760
# The size budget: a scrubber with more frames than this is a directive error.
MAX_FRAMES = 40
CACHE = ROOT / "_build" / ".scrubber-cache"
# Part of every frame's cache key: raise it when render_frame draws differently.
RENDERER = 2


# --- the frames: pure functions of the panel and its parameters (unit-tested) -----------
def resolve(target: str) -> Callable:
    """``"package.module:function"`` -> the function."""
    module, sep, name = target.partition(":")
    if not sep or not module or not name:
        raise ValueError(f"expected 'package.module:function', got {target!r}")
    function = getattr(importlib.import_module(module), name, None)
    if not callable(function):
        raise ValueError(f"{target!r}: {module} has no function {name}")
    return function


def resolve_fixed(fixed: Mapping) -> dict:
    """Fixed parameters, with each ``"@module:function"`` value replaced by its result."""
    return {
        key: resolve(value[1:])() if isinstance(value, str) and value.startswith("@") else value
        for key, value in fixed.items()
    }


def grid_points(grid: Mapping[str, Sequence]) -> list[dict]:
    """Every combination of the grid's values, the last parameter varying fastest."""
    if not 1 <= len(grid) <= 2:
        raise ValueError(f"grid: give one or two parameters; got {list(grid)}")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise ValueError(f"grid: {name!r} needs a non-empty list of values")
    points = [dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())]
    if len(points) > MAX_FRAMES:
        raise ValueError(f"grid: {len(points)} frames; at most {MAX_FRAMES} (the size budget)")
    return points


def number(value) -> str:
    """A measured value as prose: three significant digits, yes/no, or 'none'."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "not a number"
        if math.isinf(value):
            return "infinite"
        return f"{value:.3g}"
    return str(value)


def setting(point: Mapping, labels: Mapping) -> str:
    return ", ".join(f"{labels.get(name, name)} = {number(v)}" for name, v in point.items())


def default_alt(point: Mapping, result: Mapping, labels: Mapping) -> str:
    """Alt text from the panel's scalar results: 'At α = 0.5: rate 0.91; diverged no.'"""
    facts = []
    for key, value in (result or {}).items():
        if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
            value = value.item()  # a numpy scalar
        if isinstance(value, bool | int | float | str) or value is None:
            facts.append(f"{key.replace('_', ' ')} {number(value)}")
    measured = "; ".join(facts) if facts else "no scalar measurements"
    return f"At {setting(point, labels)}: {measured}."


@dataclass(frozen=True)
class Spec:
    """One scrubber: the panel, the grid of parameters, and how a frame is drawn."""

    panel: str
    grid: dict
    fixed: dict
    labels: dict
    size: tuple[float, float] = (6.4, 4.0)
    alt: str | None = None

    def key(self, point: Mapping) -> str:
        """The cache key of one frame: everything the picture depends on."""
        digest = hashlib.sha256()
        digest.update(sources_digest().encode())
        # numpy's SIMD dispatch too: make test draws the frames with another CPU's rounding
        rounding = os.environ.get("NPY_DISABLE_CPU_FEATURES", "")
        payload = [RENDERER, rounding, self.panel, self.fixed, self.labels, self.size, self.alt]
        payload.append(point)
        digest.update(json.dumps(payload, sort_keys=True, default=repr).encode())
        return digest.hexdigest()[:20]


_SOURCES: dict[str, str] = {}


def sources_digest() -> str:
    """A hash of the code and data a frame depends on (the two packages)."""
    if "digest" not in _SOURCES:
        digest = hashlib.sha256()
        files = []
        for package in ("optimlib", "optimlib_book"):
            files += sorted(p for p in (ROOT / package).rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" not in path.parts:
                digest.update(path.relative_to(ROOT).as_posix().encode())
                digest.update(path.read_bytes())
        _SOURCES["digest"] = digest.hexdigest()
    return _SOURCES["digest"]


def render_frame(spec: Spec, point: Mapping, fixed: Mapping) -> tuple[bytes, str, dict]:
    """Draw one frame: (PNG bytes, alt text, what the panel returned)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np
    from PIL import Image

    from optimlib_book import plot, png

    panel = resolve(spec.panel)
    with plot.style():
        width, height = spec.size
        fig, axes = plot.figure(width=width, height=height)
        result = panel(axes[0, 0], **point, **fixed)
        axes[0, 0].set_title(setting(point, spec.labels))
        fig.set_dpi(FRAME_PIXELS / width)  # the frame's pixels, and labels measured in them
        png.share_mathtext_parser(fig.canvas.get_renderer())  # parsed once for all frames
        # savefig's pixels in one draw instead of two (see optimlib_book.png), taken from
        # the canvas: the frame is encoded once, below, not as a PNG to decode again
        fig.canvas.draw()
        image = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("RGB")
        overlapping = plot.overlapping_tick_labels(fig)
        plt.close(fig)
    if overlapping:
        raise ValueError(f"{spec.panel} at {point}: tick labels overlap: {overlapping}")
    # A 256-colour palette with the same pixels' look: about a third of the RGBA size.
    small = io.BytesIO()
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(
        small, format="png", optimize=True
    )
    describe = resolve(spec.alt) if spec.alt else default_alt
    alt = describe(point, result, spec.labels)
    return small.getvalue(), alt, result


def _draw_into_cache(spec: Spec, point: Mapping, fixed: Mapping, cache: Path, key: str) -> None:
    data, alt, _ = render_frame(spec, point, fixed)
    (cache / f"{key}.png").write_bytes(data)
    (cache / f"{key}.json").write_text(json.dumps({"alt": alt}))


def frames(spec: Spec, cache: Path = CACHE, workers: int | None = None) -> list[dict]:
    """Every frame of a scrubber: ``{"file", "alt", "point"}``, drawing only what the cache lacks.

    Missing frames are drawn by ``workers`` processes (default: up to two, the CI
    machine's cores; the notebooks' kernels are idle while Sphinx reads a page).
    """
    cache.mkdir(parents=True, exist_ok=True)
    points = grid_points(spec.grid)
    missing = [p for p in points if not (cache / f"{spec.key(p)}.json").exists()]
    if missing:
        fixed = resolve_fixed(spec.fixed)
        workers = min(2, os.cpu_count() or 1) if workers is None else workers
        if workers > 1 and len(missing) > 1:
            context = multiprocessing.get_context("spawn")  # no fork of Sphinx's threads
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                jobs = [
                    pool.submit(_draw_into_cache, spec, p, fixed, cache, spec.key(p))
                    for p in missing
                ]
                for job in jobs:
                    job.result()
        else:
            for point in missing:
                _draw_into_cache(spec, point, fixed, cache, spec.key(point))
    out = []
    for point in points:
        key = spec.key(point)
        alt = json.loads((cache / f"{key}.json").read_text())["alt"]
        out.append({"file": cache / f"{key}.png", "alt": alt, "point": point})
    return out


def figure_html(spec: Spec, frame_list: list[dict], prefix: str, start: Mapping) -> str:
    """The figure's opening HTML: the start frame's image and one labelled slider a parameter."""
    from PIL import Image

    sizes = [len(values) for values in spec.grid.values()]
    for name, value in start.items():
        if value not in spec.grid.get(name, []):
            raise ValueError(f"start: {name} = {value!r} is not one of the grid's values")
    starts = [values.index(start.get(name, values[0])) for name, values in spec.grid.items()]
    index = 0
    for k, size in zip(starts, sizes, strict=True):
        index = index * size + k
    shown = frame_list[index]
    with Image.open(shown["file"]) as image:
        width, height = image.size
    data = [{"src": f"{prefix}{f['file'].name}", "alt": f["alt"]} for f in frame_list]
    parts = [
        f'<figure class="scrubber" data-frames="{html.escape(json.dumps(data))}" '
        f'data-sizes="{html.escape(json.dumps(sizes))}">',
        f'<img src="{prefix}{shown["file"].name}" alt="{html.escape(shown["alt"])}" '
        f'width="{width}" height="{height}" decoding="async">',
        '<div class="scrubber-controls">',
    ]
    for (name, values), k in zip(spec.grid.items(), starts, strict=True):
        label = spec.labels.get(name, name)
        shown_values = [number(v) for v in values]
        parts.append(
            f'<label class="scrubber-slider"><span class="scrubber-name">{html.escape(label)}'
            f"</span> = <output>{html.escape(shown_values[k])}</output>"
            f'<input type="range" min="0" max="{len(values) - 1}" step="1" value="{k}" '
            f'data-name="{html.escape(label)}" '
            f'data-values="{html.escape(json.dumps(shown_values))}" '
            f'aria-valuetext="{html.escape(f"{label} = {shown_values[k]}")}"></label>'
        )
    parts.append("</div>")
    return "\n".join(parts)


# --- the directives in the notebooks (for the tests, the benchmark, warming the cache) --
SCRUBBER_BLOCK = re.compile(r"^```\{scrubber\}[ \t]+(\S+)\n((?::[a-z]+:.*\n)*)", re.M)


def specs_in(notebook: Path) -> list[Spec]:
    """The scrubbers a notebook's markdown cells declare, parsed as the directive parses them."""
    import nbformat

    found = []
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        for match in SCRUBBER_BLOCK.finditer(cell.source + "\n"):
            options = dict(re.findall(r"^:([a-z]+):[ \t]*(.*)$", match.group(2), re.M))
            found.append(
                Spec(
                    panel=match.group(1),
                    grid=_json_option(options["grid"]),
                    fixed=_json_option(options.get("fixed", "{}")),
                    labels=_json_option(options.get("labels", "{}")),
                    size=_size_option(options["size"]) if "size" in options else (6.4, 4.0),
                    alt=options.get("alt"),
                )
            )
    return found


def main(argv=None) -> int:
    """Draw every frame the notebooks declare into the cache; print each scrubber's time."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    for notebook in args.notebooks:
        for spec in specs_in(notebook):
            start = time.perf_counter()
            count = len(frames(spec))
            seconds = time.perf_counter() - start
            print(f"{notebook.name}: {spec.panel}, {count} frames, {seconds:.1f} s", flush=True)
    return 0


# --- Sphinx ------------------------------------------------------------------------------
def _json_option(argument: str):
    try:
        value = json.loads(argument)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def _size_option(argument: str) -> tuple[float, float]:
    width, height = (float(x) for x in argument.split())
    if width <= 0 or height <= 0:
        raise ValueError("size: width and height in inches, both > 0")
    return width, height


def setup(app):
    from docutils import nodes
    from docutils.parsers.rst import directives
    from sphinx.util.docutils import SphinxDirective

    class ScrubberDirective(SphinxDirective):
        required_arguments = 1
        has_content = True
        option_spec: ClassVar[dict] = {
            "grid": _json_option,
            "fixed": _json_option,
            "labels": _json_option,
            "start": _json_option,
            "size": _size_option,
            "alt": directives.unchanged,
        }

        def run(self):
            if "grid" not in self.options:
                raise self.error("scrubber: the :grid: option is required")
            spec = Spec(
                panel=self.arguments[0],
                grid=self.options["grid"],
                fixed=self.options.get("fixed", {}),
                labels=self.options.get("labels", {}),
                size=self.options.get("size", (6.4, 4.0)),
                alt=self.options.get("alt"),
            )
            depth = self.env.docname.count("/")
            prefix = "../" * depth + FRAMES_DIR + "/"
            try:
                frame_list = frames(spec)
                opening = figure_html(spec, frame_list, prefix, self.options.get("start", {}))
            except (ValueError, TypeError, ImportError) as error:
                raise self.error(f"scrubber {spec.panel}: {error}") from None
            files = self.env.__dict__.setdefault("scrubber_frames", {})
            files.setdefault(self.env.docname, set()).update(str(f["file"]) for f in frame_list)
            caption = nodes.container(classes=["scrubber-caption"])
            self.state.nested_parse(self.content, self.content_offset, caption)
            return [
                nodes.raw("", opening + "\n<figcaption>", format="html"),
                caption,
                nodes.raw("", "</figcaption>\n</figure>", format="html"),
            ]

    def purge(app, env, docname):
        env.__dict__.setdefault("scrubber_frames", {}).pop(docname, None)

    def merge(app, env, docnames, other):
        mine = env.__dict__.setdefault("scrubber_frames", {})
        for docname, files in other.__dict__.get("scrubber_frames", {}).items():
            if docname in docnames:
                mine[docname] = files

    def add_assets(app, pagename, templatename, context, doctree):
        # Sphinx adds a file given here to this page only.
        if app.env.__dict__.get("scrubber_frames", {}).get(pagename):
            app.add_js_file("scrubber.js", loading_method="defer")
            app.add_css_file("scrubber.css")

    def copy_files(app, exception):
        if exception is not None or app.builder.format != "html":
            return
        out = Path(app.outdir) / FRAMES_DIR
        out.mkdir(exist_ok=True)
        for files in app.env.__dict__.get("scrubber_frames", {}).values():
            for file in files:
                shutil.copyfile(file, out / Path(file).name)
        static = Path(app.outdir) / "_static"
        for name in ("scrubber.js", "scrubber.css"):
            shutil.copyfile(ASSETS / name, static / name)

    app.add_directive("scrubber", ScrubberDirective)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    # before the other handlers, which may copy the page's list of scripts
    app.connect("html-page-context", add_assets, priority=400)
    app.connect("build-finished", copy_files)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())

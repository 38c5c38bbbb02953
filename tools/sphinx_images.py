"""Sphinx extension: the notebooks' output images, sized for the column and recompressed.

Matplotlib writes RGBA PNGs at zlib's default effort, often wider than the text column
(a 9.6-inch figure is 960 px; the column is about 730 CSS px), and they were most of a
chapter page's bytes. After the build, each PNG under ``_images`` is

1. scaled down to ``COLUMN_PIXELS`` wide if it is wider (Lanczos): the same pixels a
   desktop browser would show after shrinking it to the column itself;
2. stored with a palette of 256 colours when that changes no channel of any pixel by
   more than ``MAX_DIFFERENCE`` (measured on the image, never assumed), else as
   opaque RGB with the best zlib effort: lossless;
3. kept as it was if neither comes out smaller.

A plot is lines, text and flat fills, so a 256-colour palette (colours chosen to cover
the image, ``MAXCOVERAGE``) reproduces it to within a few levels at anti-aliased
edges. The results are cached in ``_build/.image-cache`` by the input's hash.
"""

from __future__ import annotations

import hashlib
import io
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "_build" / ".image-cache"
# The text column is about 730 CSS px on a desktop; scrubber frames use the same width
# (tools/sphinx_scrubber.py: a phone's 390 CSS px at twice the density is 780 device px).
COLUMN_PIXELS = 760
# The largest change of one channel (0-255) that a palette may make: 16 levels, 6 %,
# at isolated anti-aliased edge pixels of a figure that a reader cannot tell apart at
# 4x zoom; flat fills and text cores come out exact. A contour plot whose shading
# needs more colours fails the test and stays lossless.
MAX_DIFFERENCE = 16
# Raise when recompress() changes, so that the cache is rebuilt.
ENCODER = 1


def fit_width(image: Image.Image, width: int = COLUMN_PIXELS) -> Image.Image:
    """``image`` scaled down to ``width`` pixels across, aspect kept; narrower ones as they are."""
    if image.width <= width:
        return image
    height = max(1, round(image.height * width / image.width))
    return image.resize((width, height), Image.Resampling.LANCZOS)


def max_difference(a: Image.Image, b: Image.Image) -> int:
    """The largest difference of one channel of one pixel between two RGB images."""
    diff = np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b.convert("RGB"), dtype=np.int16))
    return int(diff.max()) if diff.size else 0


def faithful_palette(rgb: Image.Image, limit: int = MAX_DIFFERENCE) -> Image.Image | None:
    """A 256-colour version of an RGB image if no channel moves by more than ``limit``."""
    palette = rgb.quantize(256, method=Image.Quantize.MAXCOVERAGE, dither=Image.Dither.NONE)
    return palette if max_difference(rgb, palette) <= limit else None


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def recompress(data: bytes, width: int = COLUMN_PIXELS, limit: int = MAX_DIFFERENCE) -> bytes:
    """A PNG's bytes, sized for the column and re-encoded (see the module's docstring)."""
    with Image.open(io.BytesIO(data)) as source:
        source.load()
        image = fit_width(source, width)
    resized = image.size != source.size
    see_through = "transparency" in image.info or (
        image.mode in ("RGBA", "LA") and image.getextrema()[-1][0] < 255
    )
    if see_through:
        candidates = [_png(image)]  # transparent: keep the alpha channel, lossless
    else:
        rgb = image.convert("RGB")
        palette = faithful_palette(rgb, limit)
        candidates = [_png(rgb)] + ([_png(palette)] if palette is not None else [])
    best = min(candidates, key=len)
    return best if resized or len(best) < len(data) else data


def _cached(data: bytes) -> bytes:
    key = hashlib.sha256(data + f"{ENCODER}-{COLUMN_PIXELS}-{MAX_DIFFERENCE}".encode())
    path = CACHE / f"{key.hexdigest()}.png"
    if path.is_file():
        return path.read_bytes()
    result = recompress(data)
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(result)
    return result


def recompress_file(path: Path) -> tuple[int, int]:
    """Recompress one PNG in place; returns its sizes before and after."""
    data = path.read_bytes()
    result = _cached(data)
    if result != data:
        path.write_bytes(result)
    return len(data), len(result)


def recompress_folder(folder: Path, workers: int = 2) -> tuple[int, int, int]:
    """Every PNG in ``folder``: returns the count, bytes before and bytes after."""
    paths = sorted(folder.glob("*.png"))
    if not paths:
        return 0, 0, 0
    with ProcessPoolExecutor(max_workers=min(workers, len(paths))) as pool:
        sizes = list(pool.map(recompress_file, paths))
    return len(paths), sum(b for b, _ in sizes), sum(a for _, a in sizes)


def _recompress_images(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    from sphinx.util import logging

    count, before, after = recompress_folder(Path(app.outdir) / "_images", workers=os.cpu_count())
    if count:
        logging.getLogger(__name__).info(
            f"images: {count} PNGs recompressed, {before / 1e6:.2f} MB -> {after / 1e6:.2f} MB"
        )


def setup(app):
    app.connect("build-finished", _recompress_images)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

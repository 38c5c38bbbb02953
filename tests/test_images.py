"""Output PNGs sized for the column and recompressed (tools/sphinx_images.py)."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import sphinx_images as si  # noqa: E402

from optimlib_book import plot  # noqa: E402


def _matplotlib_png(width=9.6, height=4.0) -> bytes:
    """A figure as the notebooks store it: RGBA, the book's style, lines, text, a legend."""
    with plot.style():
        fig, axes = plot.figure(2, 1, width=width, height=height)
        x = np.linspace(0, 4, 200)
        for ax in axes.flat:
            for k in range(4):
                ax.plot(x, np.exp(-k * x) + 1e-3, label=f"run {k}")
            ax.set_yscale("log")
            ax.legend()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
    return buffer.getvalue()


def _pixels(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.int16)


def test_a_wide_figure_is_scaled_to_the_column_and_stored_smaller():
    original = _matplotlib_png()
    result = si.recompress(original)
    image = Image.open(io.BytesIO(result))
    assert image.width == si.COLUMN_PIXELS
    assert image.height == round(400 * si.COLUMN_PIXELS / 960)
    assert len(result) < len(original) / 2


def test_a_palette_is_used_only_within_the_stated_difference():
    original = _matplotlib_png(width=6.4)  # 640 px: not resized, so pixels compare 1:1
    result = si.recompress(original)
    assert Image.open(io.BytesIO(result)).mode == "P"
    difference = np.abs(_pixels(result) - _pixels(original)).max()
    assert difference <= si.MAX_DIFFERENCE
    # with no difference allowed, a many-coloured plot cannot take a palette: lossless
    exact = si.recompress(original, limit=0)
    assert Image.open(io.BytesIO(exact)).mode == "RGB"
    assert np.array_equal(_pixels(exact), _pixels(original))
    assert len(exact) < len(original)  # the opaque alpha channel and zlib's effort


def test_an_image_of_few_colours_comes_out_exact():
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, size=(200, 3), dtype=np.uint8)
    pixels = colours[rng.integers(0, 200, size=(300, 400))]
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG")
    result = si.recompress(buffer.getvalue())
    assert Image.open(io.BytesIO(result)).mode == "P"
    assert np.array_equal(_pixels(result), pixels)


def test_transparency_is_kept():
    pixels = np.zeros((50, 60, 4), dtype=np.uint8)
    pixels[10:40, 10:50] = (200, 30, 30, 255)  # a red box on a clear background
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, format="PNG")
    result = Image.open(io.BytesIO(si.recompress(buffer.getvalue())))
    assert np.array_equal(np.asarray(result.convert("RGBA")), pixels)


def test_a_file_that_cannot_shrink_is_left_as_it_was():
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, format="PNG", optimize=True)
    assert si.recompress(buffer.getvalue()) == buffer.getvalue()


def test_a_folder_is_recompressed_in_place_through_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(si, "CACHE", tmp_path / "cache")
    folder = tmp_path / "_images"
    folder.mkdir()
    original = _matplotlib_png()
    (folder / "a.png").write_bytes(original)
    (folder / "b.svg").write_text("<svg/>")
    count, before, after = si.recompress_folder(folder, workers=1)
    assert (count, before) == (1, len(original))
    assert after == len((folder / "a.png").read_bytes()) < before
    assert len(list((tmp_path / "cache").glob("*.png"))) == 1
    (folder / "a.png").write_bytes(original)
    monkeypatch.setattr(si, "recompress", lambda data: pytest.fail("not taken from the cache"))
    assert si.recompress_folder(folder, workers=1) == (count, before, after)
    assert (folder / "b.svg").read_text() == "<svg/>"

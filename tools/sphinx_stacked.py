"""Sphinx extension: multi-panel figures stack their panels on phone-width screens.

A notebook figure with panels side by side is drawn for the desktop column; at a phone's
390 px its labels shrink to a few pixels. While the build executes the notebooks, the
kernels (``optimlib_book.stacked``, switched on here through ``ENVIRONMENT``) store with
each such figure a copy whose panels sit one above the other. Reading a notebook, this
extension finds each figure's copy in the executed notebook (by the wide PNG's hash,
which is the name myst-nb gives its file) and turns the figure's image into::

    <picture>
      <source media="(max-width: 600px)" srcset="../_images/<stacked>.png">
      <img alt="..." src="../_images/<wide>.png">
    </picture>

so a browser fetches one of the two. Caption, alt text, numbering and cross-references
stay with the figure and its ``<img>``; a figure without a copy (one panel, or a
notebook that was not executed) stays as it was.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import posixpath
import urllib.parse
from pathlib import Path

import nbformat
from docutils import nodes
from sphinx.transforms import SphinxTransform
from sphinx.util import logging

from optimlib_book.stacked import ENVIRONMENT, STACKED

# Viewports up to this width (CSS px) get the stacked copy: below it a desktop figure's
# column is narrower than 600 px and its panels' labels shrink below ~9 px.
NARROW = 600
PNG = "image/png"

logger = logging.getLogger(__name__)


class picture(nodes.General, nodes.Element):  # docutils names its nodes in lower case
    """A figure's image with a stacked copy: children ``[stacked image, wide image]``."""


def stacked_copies(notebook) -> dict[str, bytes]:
    """sha256 of each output's wide PNG -> the PNG of its stacked copy."""
    copies = {}
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            stacked = output.get("metadata", {}).get(STACKED, {}).get(PNG)
            if stacked and PNG in output.get("data", {}):
                wide = base64.b64decode(output["data"][PNG])
                copies[hashlib.sha256(wide).hexdigest()] = base64.b64decode(stacked)
    return copies


@functools.cache
def _executed_copies(path: Path, mtime: float) -> dict[str, bytes]:
    return stacked_copies(nbformat.read(path, as_version=4))


def wrap_in_picture(image: nodes.image, stacked_uri: str) -> picture:
    """Put ``image`` in a picture node whose first child is the stacked copy."""
    node = picture()
    image.replace_self(node)
    node += nodes.image(uri=stacked_uri, alt="", classes=["stacked"])
    node += image
    return node


class StackFigures(SphinxTransform):
    """Each notebook image with a stacked copy becomes a ``picture``."""

    default_priority = 500

    def apply(self, **kwargs) -> None:
        config = getattr(self.env, "mystnb_config", None)
        if config is None or not config.output_folder:
            return
        folder = Path(config.output_folder)
        executed = folder.joinpath(*self.env.docname.split("/")).with_suffix(".ipynb")
        if not executed.is_file():
            return
        copies = _executed_copies(executed, executed.stat().st_mtime)
        if not copies:
            return
        for bundle in list(self.document.findall(nodes.container)):
            if bundle.get("mime_type") != PNG:
                continue
            for image in list(bundle.findall(nodes.image)):
                stacked = copies.get(Path(image["uri"]).stem)
                if stacked is None:
                    continue
                path = folder / f"{hashlib.sha256(stacked).hexdigest()}.png"
                if not path.exists():
                    path.write_bytes(stacked)
                uri = "/" + os.path.relpath(path.resolve(), self.app.srcdir)
                wrap_in_picture(image, Path(uri).as_posix())


def _image_src(translator, uri: str) -> str:
    """The address the page uses for an image Sphinx copied (as its visit_image does)."""
    if uri in translator.builder.images:
        name = urllib.parse.quote(translator.builder.images[uri])
        return posixpath.join(translator.builder.imgpath, name)
    return uri


def visit_picture_html(translator, node: picture) -> None:
    stacked, wide = node.children
    src = _image_src(translator, stacked["uri"])
    translator.body.append(f'<picture><source media="(max-width: {NARROW}px)" srcset="{src}">')
    wide.walkabout(translator)
    translator.body.append("</picture>")
    raise nodes.SkipNode


def visit_picture_other(translator, node: picture) -> None:
    """Other formats (LaTeX, text) show the wide image alone."""
    node.children[1].walkabout(translator)
    raise nodes.SkipNode


def setup(app):
    # The kernels the build starts inherit this: they store the stacked copies.
    os.environ[ENVIRONMENT] = "1"
    other = (visit_picture_other, None)
    app.add_node(
        picture,
        html=(visit_picture_html, None),
        latex=other,
        text=other,
        man=other,
        texinfo=other,
    )
    app.add_transform(StackFigures)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

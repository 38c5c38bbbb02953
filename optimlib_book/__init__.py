"""The book's own code: one module per chapter, the figure style, the explorers, glue.

A chapter notebook imports its module under one alias and the shared pieces by name::

    import optimlib as ol
    from optimlib_book import glue, plot, widgets
    from optimlib_book import momentum as ch

Everything here exists to compute, draw or explain a chapter; the reusable algorithms
live in :mod:`optimlib`, which never imports this package. It needs the book's extras
(``pip install "optimlib[book]"``: matplotlib and ipywidgets).
"""

from __future__ import annotations

from . import plot, widgets
from .notebook import glue, scientific

__all__ = ["glue", "plot", "scientific", "widgets"]

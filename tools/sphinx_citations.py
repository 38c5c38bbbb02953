"""Sphinx extension: the references page labels its entries the way the text cites them.

The chapters cite author-year (``bibtex_reference_style: author_year``: "(Goodfellow
et al., 2016)"), while sphinxcontrib-bibtex's default bibliography style labels entries
alphabetically ("[GBC16]"), so a reader could not match a citation to its entry. Here a
pybtex formatting style, registered as ``STYLE`` (sphinxcontrib-bibtex's documented way
of customising labels: a pybtex plugin, chosen with ``bibtex_default_style``), sorts
the entries by author and year and labels each with exactly the text the author-year
citation shows, built from the same template (the author-year referencing style's
person style and separator), so the two cannot drift apart.
"""

from __future__ import annotations

import pybtex.plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle
from sphinxcontrib.bibtex.style.referencing.basic_author_year import (
    BasicAuthorYearParentheticalReferenceStyle,
)
from sphinxcontrib.bibtex.style.template import join, year

STYLE = "book_author_year"


def citation_text(entry, style=None) -> str:
    """The text of the author-year citation of ``entry``, without its parentheses."""
    style = style or BasicAuthorYearParentheticalReferenceStyle()
    template = join(sep=style.author_year_sep)[
        style.person.author_or_editor_or_title(full=False), year
    ]
    return template.format_data({"entry": entry, "style": style}).render_as("text")


class AuthorYearLabels(BaseLabelStyle):
    """Each entry's label is its author-year citation ("Goodfellow et al., 2016")."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            yield citation_text(entry)


class AuthorYearStyle(UnsrtStyle):
    """unsrt's entries, sorted by author, year and title, labelled author-year."""

    default_sorting_style = "author_year_title"
    default_label_style = AuthorYearLabels


def setup(app):
    pybtex.plugin.register_plugin("pybtex.style.formatting", STYLE, AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

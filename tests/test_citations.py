"""The references page labels each entry with the text that cites it (tools/sphinx_citations.py).

A small Sphinx project with the book's bibliography settings cites every entry of
``book/references.bib``; in the built HTML each in-text citation must read exactly as
the label of the entry it links to.
"""

from __future__ import annotations

import html
import re
import sys
from pathlib import Path

import pybtex.database
import yaml

from tests.sphinx_project import build

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import sphinx_citations  # noqa: E402

BIB = ROOT / "book" / "references.bib"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
TAG = re.compile(r"<[^>]+>")


def _text(fragment: str) -> str:
    return html.unescape(TAG.sub("", fragment)).strip()


def _built_page(tmp_path) -> str:
    keys = list(pybtex.database.parse_file(BIB).entries)
    citations = "\n\n".join(f"Cited :cite:p:`{key}`." for key in keys)
    conf = (
        "extensions = ['sphinxcontrib.bibtex', 'sphinx_citations']\n"
        "bibtex_bibfiles = ['references.bib']\n"
        f"bibtex_reference_style = {CONFIG['bibtex_reference_style']!r}\n"
        f"bibtex_default_style = {CONFIG['bibtex_default_style']!r}\n"
    )
    page = f"Page\n====\n\n{citations}\n\n.. bibliography::\n   :all:\n"
    out, _ = build(tmp_path / "src", conf, {"index.rst": page, "references.bib": BIB.read_text()})
    return (out / "index.html").read_text()


def test_the_book_uses_the_author_year_bibliography_style():
    assert CONFIG["bibtex_reference_style"] == "author_year"
    assert CONFIG["bibtex_default_style"] == sphinx_citations.STYLE


def test_every_citation_reads_as_the_label_of_the_entry_it_links_to(tmp_path):
    page = _built_page(tmp_path)
    labels = {
        entry_id: _text(label)
        for entry_id, label in re.findall(
            r'<div class="citation" id="([^"]+)"[^>]*>\s*<span class="label">'
            r'<span class="fn-bracket">\[</span>(.*?)<span class="fn-bracket">\]</span>',
            page,
            flags=re.S,
        )
    }
    cited = re.findall(
        r'<p>Cited <span class="bibtex-citation" id="[^"]*">\[(.*?)\]</span>\.</p>',
        page,
        flags=re.S,
    )
    entries = len(pybtex.database.parse_file(BIB).entries)
    assert len(labels) == len(cited) == entries
    for citation in cited:
        target = re.search(r'href="#([^"]+)"', citation).group(1)
        assert _text(citation) == labels[target]
    # author-year, e.g. "Goodfellow et al., 2016", "Kingma and Ba, 2015": no key is shared
    assert all(re.fullmatch(r"\D+, \d{4}", label) for label in labels.values()), labels
    assert len(set(labels.values())) == entries


def test_entries_are_sorted_by_author_then_year():
    style = sphinx_citations.AuthorYearStyle()
    entries = list(style.sort(pybtex.database.parse_file(BIB).entries.values()))
    labels = list(style.format_labels(entries))
    assert labels.index("Nesterov, 1983") < labels.index("Nesterov, 2004")
    assert labels == sorted(labels, key=lambda label: label.rsplit(", ", 1)[0].split()[0])

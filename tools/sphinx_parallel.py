"""Sphinx extension: declare Jupyter Book's two silent extensions safe for parallel builds.

Sphinx reads and writes pages in parallel (``tools/build_book.py --jobs 2``) only when
every extension declares it safe; an extension that declares nothing makes Sphinx warn
and fall back to one process, and the book builds with ``-W``. Two extensions that
Jupyter Book always loads declare nothing, and both are safe for the HTML builder:

- ``sphinx_jupyterbook_latex`` registers nodes and transforms that act only under the
  LaTeX builder (its ``builder-inited`` handler returns for any other builder);
- ``sphinx_multitoc_numbering`` replaces ``TocTreeCollector.assign_section_numbers``,
  which Sphinx calls in the main process after it has merged every page's environment.

sphinx-proof declares itself safe, but its domain lacks the ``merge_domaindata`` that
Sphinx calls when it merges a worker's environment, and the build stops. The domain keeps
no data of its own (its proofs live in ``env.proof_list``, which its own ``env-merge-info``
handler merges), so there is nothing to merge: the method given here does nothing, as
myst-nb's glue domain's does.

Checked against sphinx-jupyterbook-latex 1.0, sphinx-multitoc-numbering 0.1.3 and
sphinx-proof 0.2; a new version's own declaration or method wins (only a missing one is
filled in).
"""

from __future__ import annotations

SAFE_FOR_HTML = ("sphinx_jupyterbook_latex", "sphinx_multitoc_numbering")


def _declare(app, config) -> None:
    for name in SAFE_FOR_HTML:
        extension = app.extensions.get(name)
        if extension is None:
            continue
        for attribute in ("parallel_read_safe", "parallel_write_safe"):
            if getattr(extension, attribute, None) is None:
                setattr(extension, attribute, True)


def _nothing_to_merge(self, docnames, otherdata) -> None:
    """ProofDomain keeps its data in ``env.proof_list``, merged by sphinx-proof itself."""


def setup(app):
    from sphinx_proof.domain import ProofDomain

    if "merge_domaindata" not in vars(ProofDomain):
        ProofDomain.merge_domaindata = _nothing_to_merge
    app.connect("config-inited", _declare)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

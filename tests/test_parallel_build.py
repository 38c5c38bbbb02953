"""The parallel book build: what tools/sphinx_parallel.py declares, and only that.

The build itself is the end-to-end check: with ``-W``, Sphinx's fallback to one process
("doing serial read") is a warning, so `make book-strict` fails if an extension stops
the parallel build.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_book  # noqa: E402
import sphinx_parallel  # noqa: E402


def _app(**extensions):
    return SimpleNamespace(extensions=extensions)


def test_silent_extensions_are_declared_safe():
    silent = SimpleNamespace(parallel_read_safe=None, parallel_write_safe=None)
    app = _app(sphinx_multitoc_numbering=silent)
    sphinx_parallel._declare(app, config=None)
    assert silent.parallel_read_safe is True and silent.parallel_write_safe is True


def test_an_extensions_own_declaration_wins_and_others_are_untouched():
    unsafe = SimpleNamespace(parallel_read_safe=False, parallel_write_safe=None)
    other = SimpleNamespace(parallel_read_safe=None, parallel_write_safe=None)
    app = _app(sphinx_jupyterbook_latex=unsafe, some_other_extension=other)
    sphinx_parallel._declare(app, config=None)
    assert unsafe.parallel_read_safe is False and unsafe.parallel_write_safe is True
    assert other.parallel_read_safe is None and other.parallel_write_safe is None


def test_proof_domain_can_be_merged():
    pytest.importorskip("sphinx_proof")
    from sphinx_proof.domain import ProofDomain

    sphinx_parallel.setup(SimpleNamespace(connect=lambda *args: None))
    # Sphinx's own Domain.merge_domaindata raises NotImplementedError and stops the build.
    ProofDomain.merge_domaindata(object.__new__(ProofDomain), {"book/04-sgd"}, {})


def test_jobs_must_be_positive():
    with pytest.raises(SystemExit, match="--jobs must be at least 1; got 0"):
        build_book.main(["--jobs", "0", "."])

"""tools/nbval_numbers.py: nbval compares numbers to a tolerance and still catches changes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import nbval_numbers  # noqa: E402


@pytest.mark.parametrize(
    ("ref", "test"),
    [
        ("rate 0.9607843137260735", "rate 0.9607843137256642"),  # last bits (4e-13)
        ("ratio 0.990", "ratio 0.991"),  # one unit in the last printed digit
        ("N:      3.8e-10", "N:      3.9e-10"),
        ("final 3.17e-30", "final 1.08e-31"),  # both rounding-size
        ("[ 0.1319  0.0274 -0.1002]", "[ 0.1319  0.0274 -0.1002]"),
        ("theta_80 = 1.0000e-04", "theta_80 = 1.0000e-04"),
    ],
)
def test_differences_no_reader_can_see_are_reconciled(ref, test):
    assert nbval_numbers.reconcile(ref, test)[0] == ref


@pytest.mark.parametrize(
    ("ref", "test"),
    [
        ("steps 391", "steps 392"),  # integers are claims of their own
        ("ratio 0.990", "ratio 0.992"),  # two units
        ("rate 0.9607843", "rate 0.9608"),  # 1.6e-5 relative
        ("loss 0.3826", "loss 0.4323"),
        ("loss 1.0e-06", "loss 1.0e-05"),
        ("converged after 75", "diverged after 75"),  # the words must match
        ("a 1.5 b", "a 1.5 b 2.0"),
    ],
)
def test_meaningful_changes_are_kept(ref, test):
    assert nbval_numbers.reconcile(ref, test) == (test, None)


def test_last_digit_unit():
    assert nbval_numbers.last_digit_unit("0.961") == pytest.approx(1e-3)
    assert nbval_numbers.last_digit_unit("1.0000e-04") == pytest.approx(1e-8)
    assert nbval_numbers.last_digit_unit("3.8e-10") == pytest.approx(1e-11)


def _notebook(tmp_path: Path, printed: str, stored: str) -> Path:
    """A one-cell notebook that prints ``printed`` and stored ``stored`` last time."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell(f"print({printed!r})", execution_count=1)
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=stored + "\n")]
    nb.cells.append(cell)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = tmp_path / "chapter.ipynb"
    nbformat.write(nb, path)
    (tmp_path / "conftest.py").write_text((ROOT / "book" / "conftest.py").read_text())
    return path


def _nbval(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval", "-p", "no:cacheprovider", "-q", str(path)],
        capture_output=True,
        text=True,
        cwd=path.parent,
        check=False,
        timeout=300,
    )


def test_nbval_passes_on_last_bits_and_fails_on_a_meaningful_change(tmp_path):
    """End to end: the book's conftest loads the plugin into a real nbval run."""
    book = tmp_path / "book"
    book.mkdir()
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "nbval_numbers.py").write_text(
        (ROOT / "tools" / "nbval_numbers.py").read_text()
    )
    same = _nbval(_notebook(book, "rate 0.9607843137256642", "rate 0.9607843137260735"))
    assert same.returncode == 0, same.stdout
    changed = _nbval(_notebook(book, "rate 0.9608", "rate 0.9607843"))
    assert changed.returncode == 1, changed.stdout
    assert "0.9608" in changed.stdout

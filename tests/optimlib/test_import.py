"""``import optimlib`` needs numpy only; the book package imports optimlib, never the reverse.

Each check runs in a fresh interpreter, so that modules imported by other tests (or by
pytest's plugins) cannot hide an eager import.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

HEAVY = ("matplotlib", "ipywidgets", "IPython", "torch", "scipy", "optimlib_book")
ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str) -> dict:
    """Run ``code`` in a new interpreter; it prints one JSON object, which is returned."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_import_optimlib_loads_no_plotting_widget_book_or_heavy_library():
    found = run_python(
        "import json, sys\n"
        "import optimlib\n"
        f"print(json.dumps({{name: name in sys.modules for name in {HEAVY!r}}}))\n"
    )
    assert found == dict.fromkeys(HEAVY, False)


def test_the_public_api_is_there_after_import():
    found = run_python(
        "import json, optimlib\n"
        "print(json.dumps({'missing': [n for n in optimlib.__all__ if not hasattr(optimlib, n)], "
        "'dir': sorted(dir(optimlib))}))\n"
    )
    assert found["missing"] == []
    assert {"SGD", "minimize", "schedules", "clip_by_norm"} <= set(found["dir"])
    assert not {"plot", "widgets", "explorers"} & set(found["dir"])


def test_optimlib_source_never_imports_the_book_package():
    """The arrows go from the book package into optimlib, never back."""
    imports = re.compile(r"^\s*(?:from|import)\s+(?:optimlib_book|matplotlib|ipywidgets)\b", re.M)
    offenders = [p.name for p in (ROOT / "optimlib").glob("*.py") if imports.search(p.read_text())]
    assert offenders == []


def test_unknown_attributes_still_raise_attribute_error():
    found = run_python(
        "import json, optimlib\n"
        "try:\n"
        "    optimlib.no_such_thing\n"
        "    outcome = 'no error'\n"
        "except AttributeError as error:\n"
        "    outcome = str(error)\n"
        "print(json.dumps({'outcome': outcome}))\n"
    )
    assert "no_such_thing" in found["outcome"]

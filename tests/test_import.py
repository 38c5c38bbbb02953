"""``import optimlib`` needs numpy only; plotting and widgets load on first use.

Each check runs in a fresh interpreter, so that modules imported by other tests (or by
pytest's plugins) cannot hide an eager import.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("matplotlib", "ipywidgets", "IPython", "torch", "scipy")


def run_python(code: str) -> dict:
    """Run ``code`` in a new interpreter; it prints one JSON object, which is returned."""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def package_dir() -> Path:
    spec = importlib.util.find_spec("optimlib")  # locates the package without running it
    assert spec is not None and spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def test_import_optimlib_loads_no_plotting_widget_or_heavy_library():
    found = run_python(
        "import json, sys\n"
        "import optimlib\n"
        f"print(json.dumps({{name: name in sys.modules for name in {HEAVY!r}}}))\n"
    )
    assert found == dict.fromkeys(HEAVY, False)


def test_import_optimlib_does_not_load_its_own_plot_and_widgets_modules():
    found = run_python(
        "import json, sys\n"
        "import optimlib\n"
        "print(json.dumps({name: name in sys.modules "
        "for name in ('optimlib.plot', 'optimlib.widgets')}))\n"
    )
    assert found == {"optimlib.plot": False, "optimlib.widgets": False}


def test_the_public_api_is_there_after_import():
    found = run_python(
        "import json, optimlib\n"
        "print(json.dumps({'missing': [n for n in optimlib.__all__ "
        "if n not in ('plot', 'widgets') and not hasattr(optimlib, n)], "
        "'dir': sorted(dir(optimlib))}))\n"
    )
    assert found["missing"] == []
    assert {"plot", "widgets", "SGD", "minimize", "schedules", "clip_by_norm"} <= set(found["dir"])


@pytest.mark.parametrize("module", ["plot", "widgets"])
def test_plot_and_widgets_load_lazily_on_first_use(module):
    needs = ("matplotlib",)  # both draw with matplotlib; ipywidgets may load later still
    if not (package_dir() / f"{module}.py").exists():
        pytest.skip(f"optimlib/{module}.py does not exist yet")
    missing = [name for name in needs if importlib.util.find_spec(name) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    found = run_python(
        "import json, sys\n"
        "import optimlib\n"
        f"before = 'optimlib.{module}' in sys.modules\n"
        f"lazy = optimlib.{module}\n"
        "print(json.dumps({'before': before, "
        f"'after': 'optimlib.{module}' in sys.modules, "
        f"'same': lazy is sys.modules['optimlib.{module}'], "
        f"'deps': [name in sys.modules for name in {needs!r}]}}))\n"
    )
    assert found == {"before": False, "after": True, "same": True, "deps": [True] * len(needs)}


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

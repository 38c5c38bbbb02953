"""nbval's settings for the chapters: numbers compared to a tolerance (tools/nbval_numbers.py)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))

import nbval_numbers


def pytest_configure(config):
    from nbval.plugin import IPyNbCell

    nbval_numbers.install(IPyNbCell)

"""tools/other_cpu.py: the NPY_DISABLE_CPU_FEATURES values really change numpy's dispatch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "other_cpu.py"
# the tiers numpy dispatches to, read in a fresh process by the tool's own function
ACTIVE_TIERS = (
    f"import sys; sys.path.insert(0, {str(TOOL.parent)!r}); import json, other_cpu; "
    "print(json.dumps(other_cpu.found_tiers()))"
)


def python(*args: str, disable: str | None = None) -> str:
    """The output of a fresh Python given ``args``, with numpy's tiers ``disable``d."""
    env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    if disable:
        env["NPY_DISABLE_CPU_FEATURES"] = disable
    command = [sys.executable, *args]
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def tiers() -> list[str]:
    return json.loads(python("-c", ACTIVE_TIERS))


def test_default_turns_every_tier_off(tiers):
    disable = python(str(TOOL)).strip()
    assert disable == ",".join(tiers)
    assert json.loads(python("-c", ACTIVE_TIERS, disable=disable)) == []


def test_lowest_tier_keeps_only_the_lowest(tiers):
    disable = python(str(TOOL), "--lowest-tier").strip()
    assert disable == ",".join(tiers[1:])
    if len(tiers) < 2:
        pytest.skip(f"numpy found {tiers or 'no tier'} here: nothing to hold back")
    assert json.loads(python("-c", ACTIVE_TIERS, disable=disable)) == tiers[:1]

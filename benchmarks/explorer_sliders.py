"""The live sliders of a notebook's explorer, read from its code, and their corners.

The benchmark times a redraw at every setting a student can push the sliders to; the
explorer cell is the one place that says how far they go.
"""

from __future__ import annotations

import ast
import itertools
from pathlib import Path


def live_sliders(notebook: Path, grid: dict) -> dict[str, tuple]:
    """Each live slider of the notebook's explorer cell: name -> (min, start, max, integer).

    Read from the cell's code (``Control(min, max, value, ...)`` calls, in the controls
    dict or bound to a name the dict uses); a bound that is not a literal (chapter 9's
    ``lrs[0]``) is taken from the scrubber grid's values of that parameter.
    """
    import nbformat

    source = next(
        cell.source
        for cell in nbformat.read(notebook, as_version=4).cells
        if "explorer" in cell.metadata.get("tags", [])
    )
    tree = ast.parse(source)
    bound = {
        target.id: node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_control(node.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    sliders = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            call = bound.get(value.id) if isinstance(value, ast.Name) else value
            if isinstance(key, ast.Constant) and _is_control(call):
                sliders[key.value] = _slider_range(call, grid.get(key.value))
    if not sliders:
        raise ValueError(f"{notebook.name}: no Control(...) found in the explorer cell")
    return sliders


def _is_control(node) -> bool:
    func = node.func if isinstance(node, ast.Call) else None
    return (isinstance(func, ast.Name) and func.id == "Control") or (
        isinstance(func, ast.Attribute) and func.attr == "Control"
    )


def _slider_range(call: ast.Call, grid_values) -> tuple:
    """(min, start, max, integer) of one ``Control(min, max, value, ...)`` call."""
    given = dict(zip(("min", "max", "value"), call.args, strict=False))
    given.update({k.arg: k.value for k in call.keywords})

    def literal(name, fallback=None):
        try:
            return ast.literal_eval(given[name])
        except ValueError:
            if fallback is None:
                raise ValueError(
                    f"slider {name} {ast.unparse(given[name])!r} is not a literal and its "
                    "parameter has no scrubber grid to take it from"
                ) from None
            return fallback

    values = grid_values or [None]
    integer = "integer" in given and bool(literal("integer"))
    return literal("min", min(values)), literal("value"), literal("max", max(values)), integer


def corner_points(sliders: dict[str, tuple]) -> list[dict]:
    """The explorer's start, then every combination of the sliders' ends: the settings a
    student reaches by pushing sliders all the way, where a panel computes the most."""

    def cast(value, integer):
        return int(value) if integer else float(value)

    start = {name: cast(s[1], s[3]) for name, s in sliders.items()}
    ends = [(cast(s[0], s[3]), cast(s[2], s[3])) for s in sliders.values()]
    return [start] + [dict(zip(sliders, combo, strict=True)) for combo in itertools.product(*ends)]

"""No caption, alt text or paragraph names a panel of a multi-panel figure by its place.

A figure with panels side by side is shown stacked, one panel above the other, on a
phone-width page (``optimlib_book/stacked.py``, ``tools/sphinx_stacked.py``). There the
"left" panel is the first one and the "right" one the second, so a caption, an alt text
or a paragraph that says "Left: ...", "(right)", "top left, ..." or "in the right
panel" describes a picture the reader does not see. ``book/AUTHORING.md`` asks authors
to name panels by their titles (or a letter in the title) instead.

This checker finds such names: a horizontal place (left or right, alone, after
top/bottom/upper/lower, or after "middle and") used as a panel's label at the start of a
sentence ("Left:", "Top right, step 2:", "Middle and right:"), in parentheses ("(left)",
"(top left, log scale)"), or before "panel"/"plot" ("the left panel"). It reads the caption
and alt text of every figure with two or more Axes (matplotlib's ``<Figure ... with 2
Axes>`` in the cell's stored output) and every markdown cell. A place inside one panel
("a slope on the left", "rising from left to right", "the upper-left start") is not a
panel's name and passes. "Top", "Middle" and "Bottom" alone are allowed: in a one-column figure they
stay true on a phone, and the stored outputs do not say which figures have one column
(a figure whose top row has two panels must still not say "Top:"; review catches that).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_PLACE = r"(?:left|right)"
_CORNER = r"(?:(?:top|bottom|upper|lower)[ -])?"
# "Middle and right": "middle" counts beside a horizontal place only (see the docstring).
_PLACES = (
    r"(?:middle\s+and\s+)?" + _CORNER + _PLACE + r"(?:\s+(?:and|to)\s+" + _CORNER + _PLACE + r")?"
)

PANEL_BY_PLACE = [
    # "Left: ...", "Right, on log-log axes: ...", "Top left, step 0.5: ...", "Middle and right: ..."
    re.compile(r"(?:^|[.;:!?]\s+)(" + _PLACES + r")\s*[:,]", re.IGNORECASE),
    # "the activations (left)", "without damping (top left)", "(left, log scale)"
    re.compile(r"\((" + _PLACES + r")\s*[,)]", re.IGNORECASE),
    # "the left panel", "in the top right panel", "right-hand plot"
    re.compile(
        r"\b(" + _CORNER + _PLACE + r"(?:-hand)?\s+(?:panel|plot|subplot|graph)s?)\b",
        re.IGNORECASE,
    ),
]

_AXES = re.compile(r"with (\d+) Axes")


def places_named(text: str) -> list[str]:
    """The phrases of ``text`` that name a panel by its place, in order of appearance."""
    found = []
    for pattern in PANEL_BY_PLACE:
        found += [(match.start(1), match.group(1)) for match in pattern.finditer(text)]
    return [phrase for _, phrase in sorted(found)]


def _text(value) -> str:
    return value if isinstance(value, str) else "".join(value)


def axes_count(cell: dict) -> int:
    """The most Axes of a figure the cell's stored outputs show (0 without a figure)."""
    counts = [
        int(n)
        for output in cell.get("outputs", [])
        for n in _AXES.findall(_text(output.get("data", {}).get("text/plain", "")))
    ]
    return max(counts, default=0)


def check_notebook(notebook: dict, name: str) -> list[str]:
    """Each place a panel is named by its position: notebook, cell id, field, phrase."""
    problems = []
    for cell in notebook["cells"]:
        where = f"{name} cell {cell.get('id', '?')}"
        if cell["cell_type"] == "markdown":
            problems += [f"{where} markdown: {p!r}" for p in places_named(_text(cell["source"]))]
            continue
        if axes_count(cell) < 2:
            continue
        meta = cell.get("metadata", {}).get("mystnb", {})
        fields = {
            "caption": meta.get("figure", {}).get("caption", ""),
            "alt": meta.get("image", {}).get("alt", ""),
        }
        for field, text in fields.items():
            problems += [f"{where} {field}: {p!r}" for p in places_named(text)]
    return problems


def check_path(path: Path) -> list[str]:
    return check_notebook(json.loads(path.read_text()), path.name)


if __name__ == "__main__":
    paths = [Path(p) for p in sys.argv[1:]] or sorted(Path("book").glob("*.ipynb"))
    problems = [p for path in paths for p in check_path(path)]
    print("\n".join(problems) or "no panel named by its place")
    sys.exit(1 if problems else 0)

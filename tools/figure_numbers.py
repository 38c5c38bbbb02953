"""Every number in a figure's caption or alt text comes from the notebook, not from a hand.

A figure gets its caption and alt text from its code cell's metadata
(``mystnb.figure.caption``, ``mystnb.image.alt``). Text typed there goes stale when the
computation changes (issue 13: an alt text said "near 0.07" long after the computed
minimum had become 0.134). This checker reads each such number and accepts it only
when it is one of:

1. **a computed value**: a number printed in the figure cell's own stored outputs, or a
   value glued anywhere in the same notebook (``application/papermill.record/...``
   outputs, which ``optimlib_book.glue`` writes and nbval re-checks);
2. **an input**: a numeric literal in the figure cell's own source (``kappa = 100``,
   ``steps=200``, ``[10, 30, 100]``, an axis limit), so what the figure was asked to
   draw may be named, or in its check cell (id ``<figure cell id>-check``, hidden from
   the page), which holds the asserts that check what the caption says;
3. **structural**: a figure, equation, chapter or algorithm number ("Fig. 4.2",
   "Algorithm 8.4", "(1.2)"), a digit inside a name ("float16", "log10", "L2", "x1"),
   the exponent of a power ("x²"), or 0 and 1 (axis ends, "from 0 to 1", the point
   (1, 1)), which are shapes of the picture rather than results.

"Equal" means equal at the printed precision: "0.14" accepts any value that rounds to
0.14, "1e-8" any value that rounds to 1e-8 at one significant digit, "6900" any value
that rounds to it at two significant digits (a round integer is read to two digits at
least: "230" is 225 to 235, "100" is 95 to 105, "10 000" 9500 to 10 500), "95%" the value 95
or 0.95. Signs are ignored ("-180 to 180" is an axis that ``180`` in the source
describes), as is a leading "about"/"near" (it softens the reader's expectation, not the
precision). A number the rules cannot accept needs an explicit exception, per figure
and with its reason (:data:`tests.test_figure_numbers.EXCEPTIONS`), or better, a glue.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

GLUE_MIME = "application/papermill.record/"

_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_SUPER_RUN = "[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+"

# One number as a reader sees it: 10 000 or 100,000 (thousands grouped by a space or comma),
# 0.134, 1e-8, 3.5e+02. A minus sign is not part of it (signs are ignored).
NUMBER = re.compile(
    r"(?<![\w.^])"
    r"(\d{1,3}(?:[, \u2009\u202f]\d{3})+(?!\d|\.\d)|\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
    r"(?![\w])"
)

# Powers written as math or Unicode: $10^{-8}$, 10^4, 10⁻⁸, 6.6 \times 10^{-8}.
POWER = re.compile(
    r"(?:(\d+(?:\.\d+)?)\s*(?:\\times|×|x)\s*)?"  # an optional mantissa and its times
    r"10\s*(?:\^\s*\{?\s*([-−]?\d+)\s*\}?|(" + _SUPER_RUN + "))"
)

# Structural numbers: cross-reference numbers and the names that carry digits.
STRUCTURAL = [
    re.compile(r"\{(?:numref|eq|ref|prf:ref|cite|cite:p|cite:t)\}`[^`]*`"),  # roles
    re.compile(
        r"(?:Fig(?:ure)?s?\.?|Algorithms?|[Ss]ection|[Cc]hapter|[Ee]quation|Table|Eq\.?)\s*\(?\d+(?:\.\d+)*\)?"
    ),
    re.compile(r"\w*[A-Za-z_]\d+\w*"),  # float16, log10, L2, x1, ch8, AdamW2
    re.compile(r"\b(?:log|ln)[-_ ]?\d+\b"),  # "log-2 axis", "log 10"
    re.compile(r"[A-Za-z)\]}]" + _SUPER_RUN),  # x², cosh²(β), (…)⁻¹
    re.compile(r"\^\s*\{?\s*-?\d+\s*\}?(?<!10)"),
]


@dataclass(frozen=True)
class Number:
    """A number as printed: its text, its value and half a unit in its last digit."""

    text: str
    value: float
    half_unit: float


def _half_unit(token: str) -> float:
    mantissa, _, exponent = token.lower().partition("e")
    exponent = int(exponent or 0)
    if "." in mantissa:
        return 0.5 * 10.0 ** (exponent - len(mantissa.partition(".")[2]))
    significant = max(2, len(mantissa.rstrip("0")))  # a round integer: two digits at least
    return 0.5 * 10.0 ** (exponent + max(0, len(mantissa) - significant))


def _strip_math_noise(text: str) -> str:
    """Text with TeX macro names and the grouping of ``\\frac`` turned into spaces."""
    text = re.sub(r"\\[A-Za-z]+", " ", text)
    return text.replace("−", "-")


def numbers_in_text(text: str) -> list[Number]:
    """The numbers a reader reads in a caption or alt text, structural ones left out."""
    for pattern in STRUCTURAL[:2]:  # cross-references first: their digits are no powers
        text = pattern.sub(" ", text)
    found = []

    def power(match: re.Match) -> str:
        mantissa, exponent, superscript = match.groups()
        exponent = int((exponent or superscript.translate(_SUPERSCRIPTS)).replace("−", "-"))
        digits = len((mantissa or "1").partition(".")[2])
        value = float(mantissa or 1) * 10.0**exponent
        found.append(Number(match.group(0), value, 0.5 * 10.0 ** (exponent - digits)))
        return " "

    text = POWER.sub(power, text)
    for pattern in STRUCTURAL[2:]:
        text = pattern.sub(" ", text)
    text = _strip_math_noise(text)
    for match in NUMBER.finditer(text):
        token = re.sub(r"[, \u2009\u202f]", "", match.group(1))
        percent = text[match.end() : match.end() + 1] == "%"
        found.append(
            Number(match.group(1) + ("%" if percent else ""), float(token), _half_unit(token))
        )
    return found


def numbers_in_output(text: str) -> list[float]:
    """Every number in a printed output or glue record, as a value (signs dropped)."""
    return [float(t) for t in re.findall(r"\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", text)]


def source_literals(source: str, strings: bool = True) -> list[float]:
    """The numeric literals of a cell's Python source (IPython magics skipped).

    With ``strings``, also the numbers inside its string literals (a label, a format); a
    check cell's strings are glue names ("ch11-factor-04"), which state nothing.
    """
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return numbers_in_output(source)
    literals = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            if not isinstance(node.value, bool):
                literals.append(float(node.value))
        elif strings and isinstance(node, ast.Constant) and isinstance(node.value, str):
            literals.extend(numbers_in_output(node.value))  # "1e-3" in a label, a format
    return literals


def accepts(number: Number, candidates: list[float]) -> bool:
    """Whether ``number`` equals one of ``candidates`` at its printed precision."""
    targets = [number.value]
    if number.text.endswith("%"):
        targets.append(number.value / 100)
    for target in targets:
        if target in (0.0, 1.0):
            return True
        half = number.half_unit if target == number.value else number.half_unit / 100
        for value in candidates:
            if abs(abs(value) - target) <= half * (1 + 1e-9):
                return True
    return False


@dataclass(frozen=True)
class Violation:
    notebook: str
    cell_id: str
    figure: str
    field: str
    number: str

    def __str__(self) -> str:
        return f"{self.notebook} cell {self.cell_id} ({self.figure}) {self.field}: {self.number!r}"


def _output_texts(cell: dict) -> list[str]:
    texts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            texts.append("".join(output["text"]))
            continue
        data = output.get("data", {})
        if any(mime.startswith("image/") for mime in data):
            continue  # "<Figure size 640x480 with 2 Axes>" is matplotlib's, not a result
        for mime, value in data.items():
            if mime.startswith(("text/", GLUE_MIME)):
                texts.append(value if isinstance(value, str) else "".join(value))
    return texts


def glued_values(notebook: dict) -> list[float]:
    """Every number glued anywhere in the notebook (MyST-NB's scrapbook records)."""
    values = []
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            for mime, value in output.get("data", {}).items():
                if mime.startswith(GLUE_MIME) and "text" in mime:
                    values.extend(
                        numbers_in_output(value if isinstance(value, str) else "".join(value))
                    )
    return values


def figure_fields(cell: dict) -> dict[str, str]:
    """The caption and alt text a figure cell gives MyST-NB (empty when it has none)."""
    meta = cell.get("metadata", {}).get("mystnb", {})
    fields = {}
    caption = meta.get("figure", {}).get("caption")
    if caption:
        fields["caption"] = caption
    alt = meta.get("image", {}).get("alt")
    if alt:
        fields["alt"] = alt
    return fields


def _source(cell: dict) -> str:
    return cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])


def check_notebook(notebook: dict, name: str, exceptions: dict | None = None) -> list[Violation]:
    """The numbers of every figure's caption and alt text that nothing computed accounts for.

    ``exceptions`` maps a figure's name (``mystnb.figure.name``, or the cell id when it
    has none) to ``{number text: reason}``: the explicit, per-figure exceptions.
    """
    exceptions = exceptions or {}
    glued = glued_values(notebook)
    by_id = {cell.get("id"): cell for cell in notebook["cells"] if cell["cell_type"] == "code"}
    violations = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        fields = figure_fields(cell)
        if not fields:
            continue
        figure = cell["metadata"]["mystnb"].get("figure", {}).get("name") or cell.get("id", "?")
        candidates = source_literals(_source(cell)) + glued
        if check := by_id.get(f"{cell.get('id')}-check"):
            candidates += source_literals(_source(check), strings=False)
        for text in _output_texts(cell):
            candidates.extend(numbers_in_output(text))
        allowed = exceptions.get(figure, {})
        for field, text in fields.items():
            for number in numbers_in_text(text):
                if number.text in allowed or accepts(number, candidates):
                    continue
                violations.append(Violation(name, cell.get("id", "?"), figure, field, number.text))
    return violations


def check_path(path: Path, exceptions: dict | None = None) -> list[Violation]:
    return check_notebook(json.loads(path.read_text()), path.name, exceptions)


def unused_exceptions(notebook: dict, exceptions: dict) -> list[str]:
    """Exceptions that no longer excuse anything (so the list cannot silently grow stale)."""
    stale = []
    for figure, numbers in exceptions.items():
        for text in numbers:
            reduced = {
                f: {t: r for t, r in n.items() if (f, t) != (figure, text)}
                for f, n in exceptions.items()
            }
            if not any(
                v.figure == figure and v.number == text
                for v in check_notebook(notebook, "", reduced)
            ):
                stale.append(f"{figure}: {text}")
    return stale


if __name__ == "__main__":  # pragma: no cover - a report for authors
    import sys

    root = Path(__file__).resolve().parents[1] / "book"
    paths = [Path(p) for p in sys.argv[1:]] or sorted(root.glob("*.ipynb"))
    total = 0
    for path in paths:
        for violation in check_path(path):
            print(violation)
            total += 1
    print(f"{total} unaccounted numbers", file=sys.stderr)
    sys.exit(1 if total else 0)

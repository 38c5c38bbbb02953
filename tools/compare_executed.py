"""The build's executed notebooks against the stored ones, compared as nbval compares them.

    python tools/compare_executed.py [--sanitize-with book/sanitize.cfg] STORED_DIR EXECUTED_DIR

``--without-glue``: for the chapters ``tools/run_alone.py --executed`` ran, each alone
where MyST-NB is not installed (``make standalone``), so that ``glue`` recorded nothing:
the stored glue records are left out of the comparison.

The book build executes every chapter afresh (``execute_notebooks: force``) and keeps
what it ran in ``_build/jupyter_execute/``. Comparing those outputs with the stored ones
is the check ``pytest --nbval`` makes, without running every notebook a second time (a
minute of CI's ten); ``make test`` builds with another CPU's rounding, so this is its
nbval pass under that rounding. The comparison is nbval's own: its
``IPyNbCell.compare_outputs`` with the number tolerance of ``nbval_numbers``, the same
sanitize patterns, stream merging, and cell markers (``nbval-ignore-output``,
``nbval-skip``, unrun reference cells); only printed text's line breaks are not compared
(see :func:`spaced_streams`).

Exits 1 with nbval's report of each cell that differs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import OrderedDict, defaultdict
from pathlib import Path
from types import SimpleNamespace

import nbformat
from nbval import plugin

sys.path.insert(0, str(Path(__file__).resolve().parent))
import nbval_numbers

nbval_numbers.install(plugin.IPyNbCell)

# What nbval leaves out of the comparison (``IPyNbFile.__init__``, without --nbdime):
# images render differently across matplotlib and freetype versions, widget ids are random.
SKIP_COMPARE = (
    "metadata",
    "traceback",
    "prompt_number",
    "output_type",
    "name",
    "execution_count",
    "application/vnd.jupyter.widget-view+json",
    "image/png",
    "image/jpeg",
)


class CellComparison:
    """One stored cell against its executed twin, through nbval's own methods."""

    colors = plugin.nocolors
    compare_outputs = plugin.IPyNbCell.compare_outputs
    sanitize = plugin.IPyNbCell.sanitize
    format_output_compare = plugin.IPyNbCell.format_output_compare
    # Outside pytest: no assertion-rewriting hooks, so nbval prints both outputs in full.
    config = None
    ihook = SimpleNamespace(pytest_assertrepr_compare=lambda **_: [])

    def __init__(self, nodeid: str, patterns: OrderedDict):
        self.nodeid = nodeid
        self.parent = SimpleNamespace(skip_compare=SKIP_COMPARE, sanitize_patterns=patterns)
        self.comparison_traceback: list[str] = []


def cell_options(cell) -> dict:
    """nbval's options for a cell: its tags, then its comment markers (which win)."""
    options = defaultdict(bool, plugin.find_metadata_tags(cell.metadata))
    options.update(dict(plugin.find_comment_markers(cell.source)))
    options.setdefault("check", True)
    return options


def glue_name(output) -> str | None:
    return output.get("metadata", {}).get("scrapbook", {}).get("name")


def restore_glue(stored, executed, records: dict) -> list[str]:
    """Put the glue records myst-nb moved out of the executed cells back in their place.

    The build keeps each ``glue`` record in ``NAME.glue.json`` by name, not in its cell;
    each goes back where the stored notebook has it, as the ``application/papermill.record/``
    bundle nbval compares. Returns the names glued on one side only.
    """
    stored_names = []
    for reference, fresh in zip(stored, executed, strict=True):
        for output in reference.outputs:
            if (name := glue_name(output)) is None:
                continue
            stored_names.append(name)
            if name in records:
                record = nbformat.from_dict(records[name])
                prefix = record.metadata["scrapbook"]["mime_prefix"]
                record.data = {prefix + mime: value for mime, value in record.data.items()}
                fresh.outputs.append(record)
    return sorted(set(stored_names) ^ set(records))


def unmerge_streams(outputs) -> list:
    """The executed outputs without the stream copies myst-nb's stream merging leaves.

    With ``nb_merge_streams`` myst-nb (1.x) merges each stream of a cell into its first
    output of that stream, in place: the first output's text becomes every piece with
    its trailing whitespace replaced by one newline, and the executed notebook it writes
    keeps the later pieces as well. Where the first output ends with the later pieces
    merged that way, they are dropped (else nbval merges them itself).
    """
    pieces: dict[str, list] = {}
    for output in outputs:
        if output.output_type == "stream":
            pieces.setdefault(output.name, []).append(output)
    merged = set()
    for head, *later in pieces.values():
        tail = "".join(p.text.rstrip() + "\n" for p in later if p.text.rstrip())
        if later and head.text.endswith(tail):
            merged.update(id(p) for p in later)
    return [output for output in outputs if id(output) not in merged]


def spaced_streams(outputs) -> list:
    """Streams with each run of whitespace as one space.

    Printed text reaches the notebook in pieces split wherever the kernel happened to
    flush, and myst-nb's merge puts a newline at each split (a blank line where the
    split fell before a line break): line breaks and indentation are the one thing the
    comparison cannot hold the build's execution to. Words and numbers it still does.
    """
    for output in outputs:
        if output.output_type == "stream":
            output.text = " ".join(output.text.split()) + "\n"
    return outputs


def compare_notebook(
    stored_path: Path, executed_path: Path, patterns: OrderedDict, glue: bool = True
) -> list[str]:
    """nbval's report for each code cell whose executed outputs differ from the stored ones."""
    stored = nbformat.read(stored_path, as_version=4)
    executed = nbformat.read(executed_path, as_version=4)
    glue_path = executed_path.with_suffix(".glue.json")
    records = json.loads(glue_path.read_text()) if glue_path.exists() else {}
    stored_cells = [c for c in stored.cells if c.cell_type == "code"]
    executed_cells = [c for c in executed.cells if c.cell_type == "code"]
    if [c.source for c in stored_cells] != [c.source for c in executed_cells]:
        return [f"{executed_path}: its code cells are not those of {stored_path}"]
    failures = []
    if not glue:
        for cell in stored_cells:
            cell.outputs = [output for output in cell.outputs if glue_name(output) is None]
    elif unmatched := restore_glue(stored_cells, executed_cells, records):
        failures.append(f"{stored_path}: glued on one side only: {', '.join(unmatched)}")
    for number, (reference, fresh) in enumerate(zip(stored_cells, executed_cells, strict=True)):
        nodeid = f"{stored_path}::Cell {number}"
        options = cell_options(reference)
        if reference.execution_count is None:  # nbval compares no unrun reference cell
            if reference.outputs:
                failures.append(f"{nodeid}\nUnrun reference cell has outputs")
            continue
        if options["skip"] or not options["check"]:
            continue
        comparison = CellComparison(nodeid, patterns)
        test = spaced_streams(plugin.coalesce_streams(unmerge_streams(fresh.outputs)))
        ref = spaced_streams(plugin.coalesce_streams(reference.outputs))
        if not comparison.compare_outputs(test, ref):
            failures.append(f"{nodeid}\n" + "\n".join(comparison.comparison_traceback))
    return failures


def sanitize_patterns(path: Path | None) -> OrderedDict:
    if path is None:
        return OrderedDict()
    return OrderedDict(plugin.get_sanitize_patterns(path.read_text()))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stored", type=Path, help="folder of the stored notebooks")
    parser.add_argument("executed", type=Path, help="the build's executed copies of them")
    parser.add_argument("--sanitize-with", type=Path, help="nbval's sanitize file")
    parser.add_argument(
        "--without-glue", action="store_true", help="executed without MyST-NB: no glue records"
    )
    args = parser.parse_args(argv)
    patterns = sanitize_patterns(args.sanitize_with)
    stored = sorted(args.stored.glob("*.ipynb"))
    if not stored:
        print(f"no notebooks in {args.stored}", file=sys.stderr)
        return 1
    failures = []
    for path in stored:
        executed = args.executed / path.name
        if not executed.exists():
            failures.append(f"{path}: the build executed no {executed}")
            continue
        failures += compare_notebook(path, executed, patterns, glue=not args.without_glue)
    for failure in failures:
        print(failure, end="\n\n", file=sys.stderr)
    print(
        f"compared {len(stored)} executed notebooks ({args.executed}) with the stored "
        f"outputs: {len(failures)} differ"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

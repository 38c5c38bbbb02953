"""tools/compare_executed.py: the build's execution against the stored outputs, as nbval does."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import compare_executed  # noqa: E402

SANITIZE = ROOT / "book" / "sanitize.cfg"


def stdout(text):
    return new_output("stream", name="stdout", text=text)


def glue(name, value):
    prefix = "application/papermill.record/"
    return new_output(
        "display_data",
        data={prefix + "text/plain": value},
        metadata={"scrapbook": {"name": name, "mime_prefix": prefix}},
    )


def notebook(*cells):
    """A notebook of code cells, each given as (source, outputs, tags)."""
    nb = new_notebook()
    for count, (source, outputs, tags) in enumerate(cells, 1):
        cell = new_code_cell(source, execution_count=count, outputs=list(outputs))
        cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    return nb


def build_copy(nb):
    """The notebook as myst-nb writes it to jupyter_execute: glue moved to NAME.glue.json."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    records = {}
    for cell in nb.cells:
        kept = []
        for output in cell.outputs:
            if name := compare_executed.glue_name(output):
                prefix = output.metadata["scrapbook"]["mime_prefix"]
                data = {k.removeprefix(prefix): v for k, v in output.data.items()}
                records[name] = {**output, "data": data}
            else:
                kept.append(output)
        cell.outputs = kept
    return nb, records


def differences(tmp_path, stored, executed, records=None, glue=True):
    (tmp_path / "stored").mkdir(exist_ok=True)
    (tmp_path / "executed").mkdir(exist_ok=True)
    nbformat.write(stored, tmp_path / "stored" / "ch.ipynb")
    nbformat.write(executed, tmp_path / "executed" / "ch.ipynb")
    if records is not None:
        (tmp_path / "executed" / "ch.glue.json").write_text(json.dumps(records))
    patterns = compare_executed.sanitize_patterns(SANITIZE)
    return compare_executed.compare_notebook(
        tmp_path / "stored" / "ch.ipynb", tmp_path / "executed" / "ch.ipynb", patterns, glue
    )


def chapter(rate="0.9607843", steps="391", glued="0.25", figure_at="0x7f3a2b"):
    return notebook(
        ("print(rate)", [stdout(f"rate {rate}\n")], []),
        ("glue('gap', gap)", [glue("gap", glued)], ["remove-cell"]),
        ("n", [new_output("execute_result", data={"text/plain": steps}, execution_count=3)], []),
        ("fig", [new_output("execute_result", data={"text/plain": f"<Axes at {figure_at}>"})], []),
    )


def test_the_same_outputs_agree(tmp_path):
    executed, records = build_copy(chapter())
    assert differences(tmp_path, chapter(), executed, records) == []


def test_differences_nbval_accepts_are_accepted(tmp_path):
    # the last printed bits of a decimal, and an object address (book/sanitize.cfg)
    executed, records = build_copy(chapter(rate="0.9607844", figure_at="0x55aa10"))
    assert differences(tmp_path, chapter(), executed, records) == []


def test_a_changed_printed_number_is_reported(tmp_path):
    executed, records = build_copy(chapter(rate="0.9612"))
    (failure,) = differences(tmp_path, chapter(), executed, records)
    assert "Cell 0" in failure and "rate 0.9612" in failure


def test_a_changed_count_is_reported(tmp_path):
    executed, records = build_copy(chapter(steps="392"))
    (failure,) = differences(tmp_path, chapter(), executed, records)
    assert "Cell 2" in failure


def test_a_changed_glue_record_is_reported(tmp_path):
    # myst-nb keeps glue records out of the executed cells: they are compared from glue.json
    executed, records = build_copy(chapter(glued="0.31"))
    (failure,) = differences(tmp_path, chapter(), executed, records)
    assert "Cell 1" in failure and "0.31" in failure


def test_a_glue_record_the_build_did_not_make_is_reported(tmp_path):
    executed, records = build_copy(chapter())
    records["renamed"] = records.pop("gap")
    failures = differences(tmp_path, chapter(), executed, records)
    assert any("gap, renamed" in failure for failure in failures)


def test_without_glue_a_chapter_run_alone_is_compared_without_its_glue_records(tmp_path):
    # tools/run_alone.py runs where MyST-NB is absent: glue records nothing there
    alone = chapter()
    alone.cells[1].outputs = []
    assert differences(tmp_path, chapter(), alone, glue=False) == []
    failures = differences(tmp_path, chapter(), alone)  # the build's comparison
    assert any("gap" in failure for failure in failures)
    alone.cells[0].outputs = [stdout("rate 0.9612\n")]
    (failure,) = differences(tmp_path, chapter(), alone, glue=False)
    assert "Cell 0" in failure and "rate 0.9612" in failure


def test_cells_nbval_ignores_are_ignored(tmp_path):
    stored = notebook(("explore()", [stdout("slider at 3\n")], ["nbval-ignore-output"]))
    executed = notebook(("explore()", [stdout("slider at 4\n")], ["nbval-ignore-output"]))
    assert differences(tmp_path, stored, executed, {}) == []


def test_streams_myst_nb_merged_in_place_count_once(tmp_path):
    stored = notebook(("report()", [stdout("a 1\nb 2\n"), stdout("band 10%\n")], []))
    # myst-nb's merge appends the later stream to the first and leaves it in the list
    merged = notebook(("report()", [stdout("a 1\nb 2\nband 10%\n"), stdout("band 10%\n")], []))
    assert differences(tmp_path, stored, merged, {}) == []
    repeated = notebook(("report()", [stdout("a 1\nb 2\nband 10%\nband 10%\n")], []))
    assert differences(tmp_path, stored, repeated, {}) != []


def test_streams_split_at_other_places_agree_and_words_still_count(tmp_path):
    stored = notebook(("report()", [stdout("gap:"), stdout("\n  linear 0.5\n  floor 0.6\n")], []))
    # three pieces merged by myst-nb: a newline at each split, a blank line before "\n  linear"
    pieces = [
        stdout("gap:\n\n  linear 0.5\n\n  floor 0.6\n"),
        stdout("\n  linear 0.5"),
        stdout("\n  floor 0.6\n"),
    ]
    assert differences(tmp_path, stored, notebook(("report()", pieces, [])), {}) == []
    reworded = notebook(("report()", [stdout("gap:\n  linear 0.5\n  ceiling 0.6\n")], []))
    assert differences(tmp_path, stored, reworded, {}) != []


def test_different_code_is_reported(tmp_path):
    executed = notebook(("print(rate + 1)", [stdout("rate 0.9607843\n")], []))
    stored = notebook(("print(rate)", [stdout("rate 0.9607843\n")], []))
    (failure,) = differences(tmp_path, stored, executed, {})
    assert "not those of" in failure


def test_the_command_fails_on_a_difference_and_on_a_missing_notebook(tmp_path, capsys):
    executed, records = build_copy(chapter(rate="0.9612"))
    differences(tmp_path, chapter(), executed, records)
    stored, built = str(tmp_path / "stored"), str(tmp_path / "executed")
    assert compare_executed.main([stored, built, "--sanitize-with", str(SANITIZE)]) == 1
    assert "1 differ" in capsys.readouterr().out
    (tmp_path / "executed" / "ch.ipynb").unlink()
    assert compare_executed.main([stored, built]) == 1
    assert "executed no" in capsys.readouterr().err

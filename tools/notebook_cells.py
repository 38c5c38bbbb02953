"""The cells every chapter notebook shares, and the tags the site's checks rely on.

    python tools/notebook_cells.py            # report what a chapter lacks
    python tools/notebook_cells.py --write    # add or refresh the install cell

* The install cell: a notebook opened outside this repository's environment (Colab,
  a course JupyterHub, a download) installs ``optimlib[book]`` from the repository named
  in ``_config.yml`` before the imports, once ``repository.published`` says that address
  is the project's own; until then, and when an install fails, it stops with one clear
  message. It is the first code cell, hidden from the book (tag ``remove-cell``), and
  does nothing where the book package is already installed.
* Explorers: a cell that builds a live widget (``widgets.explorer(``) is tagged
  ``explorer``, ``remove-output`` and ``nbval-ignore-output``, and a later cell tagged
  ``static-twin`` draws what the sliders would show, so the static page keeps it; the
  browser check finds both by their tags.
* No stored widget state (``metadata.widgets``): it is useless without a kernel and would
  weigh on every page; ``tools/execute_notebooks.py`` strips it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
INSTALL_TAG = "install-optimlib"
EXPLORER_TAGS = {"explorer", "remove-output", "nbval-ignore-output"}
TWIN_CALLS = ("small_multiples(", "animation(")


def repository(config: Path = ROOT / "_config.yml") -> tuple[str, bool]:
    """The repository's url, and whether it is the project's own published address."""
    entry = yaml.safe_load(config.read_text())["repository"]
    return entry["url"], entry.get("published", False) is True


def install_source(url: str, published: bool) -> str:
    """The install cell: installs the book's packages from ``url`` only once it is published.

    Until then an address a stranger could register must not run code on a student who
    presses "Run all": the cell stops with one clear message instead. A failed install
    (offline, wrong address) also stops there, since ``%pip`` itself does not raise.
    """
    check = 'if importlib.util.find_spec("optimlib_book") is None:\n'
    if not published:
        return (
            "# Outside the book's environment (Colab, a JupyterHub): the book's packages.\n"
            "import importlib.util\n"
            "\n"
            f"{check}"
            "    raise ModuleNotFoundError(\n"
            '        "This chapter needs optimlib and its book package: run "\n'
            "        \"pip install '.[book]'\\\" in a copy of the book's repository, then \"\n"
            '        "restart the kernel (the repository has no published address yet)."\n'
            "    )"
        )
    return (
        "# Outside the book's environment (Colab, a JupyterHub): install the book's packages.\n"
        "import importlib.util\n"
        "\n"
        f"{check}"
        f'    %pip install --quiet "optimlib[book] @ git+{url}"\n'
        "    importlib.invalidate_caches()\n"
        f"{check.replace('if ', '    if ', 1)}"
        "        raise ModuleNotFoundError(\n"
        f'            "Could not install optimlib[book] from {url}: "\n'
        '            "check the network connection and the address, then run this cell again."\n'
        "        )"
    )


def chapters(toc: Path = ROOT / "_toc.yml") -> list[Path]:
    """The notebooks the table of contents lists, in reading order."""
    files = []
    for part in yaml.safe_load(toc.read_text()).get("parts", []):
        files += [ROOT / f"{entry['file']}.ipynb" for entry in part.get("chapters", [])]
    return [path for path in files if path.exists()]


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def problems(nb, source: str) -> list[str]:
    """What a chapter notebook lacks, as sentences; empty when it is in order."""
    found = []
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if not code or INSTALL_TAG not in _tags(code[0]):
        found.append("the first code cell is not the install cell (run --write)")
    elif code[0].source != source or "remove-cell" not in _tags(code[0]):
        found.append("the install cell is out of date (run --write)")
    if "widgets" in nb.metadata:
        found.append("stored widget state in metadata.widgets (run tools/execute_notebooks.py)")
    waiting = None
    for index, cell in enumerate(code):
        if "widgets.explorer(" in cell.source:
            if missing := EXPLORER_TAGS - _tags(cell):
                found.append(f"code cell {index}: an explorer lacks tags {sorted(missing)}")
            if waiting is not None:
                found.append(f"code cell {waiting}: an explorer without a static twin")
            waiting = index
        elif "static-twin" in _tags(cell):
            if not any(call in cell.source for call in TWIN_CALLS):
                found.append(f"code cell {index}: a static twin draws no small_multiples/animation")
            waiting = None
    if waiting is not None:
        found.append(f"code cell {waiting}: an explorer without a static twin after it")
    return found


def write_install_cell(path: Path, source: str) -> bool:
    """Add or refresh the install cell; True when the file changed."""
    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["remove-cell", INSTALL_TAG]
    old = [i for i, c in enumerate(nb.cells) if INSTALL_TAG in _tags(c)]
    if old:
        if nb.cells[old[0]].source == cell.source:
            return False
        cell.id = nb.cells[old[0]].id
        nb.cells[old[0]] = cell
    else:
        first_code = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
        nb.cells.insert(first_code, cell)
    nbformat.write(nb, path)
    return True


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="add or refresh install cells")
    args = parser.parse_args(argv)
    source, status = install_source(*repository()), 0
    for path in chapters():
        if args.write and write_install_cell(path, source):
            print(f"{path.name}: install cell written")
        for problem in problems(nbformat.read(path, as_version=4), source):
            print(f"{path.name}: {problem}")
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())

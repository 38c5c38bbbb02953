"""benchmarks/RESULTS.md is shared by several benchmark scripts: each owns one section.

A section runs from its marker comment to the next marker (or the end of the file), so
a script rewrites only its own measurements and leaves the others' in place.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
TITLE = "# Benchmark results"


def write_section(name: str, lines: list[str], path: Path = RESULTS) -> None:
    """Replace (or append) the section ``name`` of the results file with ``lines``."""
    sections = _read_sections(path)
    sections[name] = "\n".join(lines).strip("\n")
    body = [TITLE, ""]
    for key, text in sections.items():
        body += [f"<!-- section: {key} -->", text, ""]
    path.write_text("\n".join(body))


def _read_sections(path: Path) -> dict[str, str]:
    sections: dict[str, str] = {}
    if not path.exists():
        return sections
    name, chunk = None, []
    for line in path.read_text().splitlines():
        if line.startswith("<!-- section: ") and line.endswith(" -->"):
            if name is not None:
                sections[name] = "\n".join(chunk).strip("\n")
            name, chunk = line[len("<!-- section: ") : -len(" -->")], []
        elif name is not None:
            chunk.append(line)
    if name is not None:
        sections[name] = "\n".join(chunk).strip("\n")
    return sections


def describe_machine(extra: str = "") -> str:
    """CPU model, cores, Python and numpy versions (plus ``extra``), for a results header."""
    import numpy as np

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
        f"numpy {np.__version__}{extra}"
    )


def cpu_counters() -> tuple[int, int] | None:
    """(steal, total) CPU time in ticks since boot, from /proc/stat, or None elsewhere.

    Steal is time the hypervisor gave this virtual machine's CPUs to others, which a
    benchmark's CPU times cannot see directly: it is reported beside them.
    """
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    ticks = [int(v) for v in fields[:8]]  # user nice system idle iowait irq softirq steal
    return ticks[7], sum(ticks)


def steal_percent(before, after) -> float | None:
    """The share of CPU time stolen between two :func:`cpu_counters` readings, in %."""
    if before is None or after is None or after[1] == before[1]:
        return None
    return 100.0 * (after[0] - before[0]) / (after[1] - before[1])

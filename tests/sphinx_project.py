"""Build a small Sphinx project with the book's extensions, as the book's build would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(source: Path, conf: str, files: dict[str, str | bytes]) -> tuple[Path, str]:
    """Write ``conf.py`` and ``files`` into ``source``, build HTML with warnings as errors.

    Returns the output folder and the build's log; fails with the log when the build
    fails or warns.
    """
    source.mkdir(parents=True, exist_ok=True)
    preamble = f"import sys\nsys.path.insert(0, {str(ROOT / 'tools')!r})\n"
    (source / "conf.py").write_text(preamble + conf)
    for name, content in files.items():
        path = source / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    out = source / "_build" / "html"
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", source, out],
        capture_output=True,
        text=True,
        check=False,
        cwd=source,
    )
    log = result.stdout + result.stderr
    assert result.returncode == 0, log
    return out, log

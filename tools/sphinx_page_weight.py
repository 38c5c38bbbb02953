"""Sphinx extension: what a reader downloads is what the page uses.

* The theme ships Font Awesome as one script with every icon's path inlined (1.49 MB,
  the largest file of a page); the site shows about twenty icons. After the build, the
  icon tables in ``_static/scripts/fontawesome.js`` keep only the icons some page or
  script names (``fa-<name>``, or one of the icon's aliases); the code around them is
  left as it is.
* The build's own execution of the notebooks stores the live explorers' ipywidgets
  state, and myst-nb embeds it in each page (``widget-state+json``, ~100 kB); the page
  shows no live widget (the explorers' outputs are removed), so it is dropped.
"""

from __future__ import annotations

import re
from pathlib import Path

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
FONTAWESOME = Path("_static") / "scripts" / "fontawesome.js"
# One icon in the minified tables: name:[width,height,[aliases],"unicode","svg path"],
# where the path may be a list of paths (duotone); the name is quoted or a bare word.
_ICON = (
    r'(?:"[^"]+"|[A-Za-z_$][\w$]*|\d+)'  # the name
    r':\[\d+,\d+,\[[^\]]*\],(?:"[^"]*"|\d+),(?:"[^"]*"|\[[^\]]*\])\]'  # its data
)
ICON = re.compile(_ICON)
ICON_TABLE = re.compile(r"\{(" + _ICON + r"(?:," + _ICON + r")*)\}")
USED = re.compile(r"\bfa-([a-z0-9][a-z0-9-]*)")


def icon_names(entry: str) -> set[str]:
    """An icon's name and its aliases (numbers, the old code points, are not names)."""
    name = entry.split(":[", 1)[0].strip('"')
    aliases = re.match(r"[^\[]*\[\d+,\d+,\[([^\]]*)\]", entry).group(1)
    return {name} | {a.strip('"') for a in aliases.split(",") if a.startswith('"')}


def subset_icons(script: str, used: set[str]) -> str:
    """The script with each icon table cut down to the icons in ``used``."""

    def keep(table: re.Match) -> str:
        kept = [m.group(0) for m in ICON.finditer(table.group(1)) if icon_names(m.group(0)) & used]
        return "{" + ",".join(kept) + "}"

    return ICON_TABLE.sub(keep, script)


def used_icons(outdir: Path) -> set[str]:
    """Every ``fa-<name>`` written in the site's pages and scripts (but Font Awesome's own)."""
    used = set()
    files = [*outdir.rglob("*.html"), *(outdir / "_static").rglob("*.js")]
    for path in files:
        if path.name != FONTAWESOME.name:
            used |= set(USED.findall(path.read_text(encoding="utf-8", errors="replace")))
    return used


def _drop_widget_state(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files", [])
    scripts[:] = [s for s in scripts if getattr(s, "attributes", {}).get("type") != WIDGET_STATE]


def _subset_fontawesome(app, exception):
    script = Path(app.outdir) / FONTAWESOME
    if exception is not None or app.builder.format != "html" or not script.is_file():
        return
    text = script.read_text(encoding="utf-8")
    script.write_text(subset_icons(text, used_icons(Path(app.outdir))), encoding="utf-8")


def setup(app):
    # late, after myst-nb has added the state to the page's scripts
    app.connect("html-page-context", _drop_widget_state, priority=900)
    app.connect("build-finished", _subset_fontawesome)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

"""Font Awesome cut to the icons the site names (tools/sphinx_page_weight.py)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import sphinx_page_weight as pw  # noqa: E402

# The shape of the theme's minified tables: name:[w,h,[aliases],"unicode","path"].
SCRIPT = (
    'var a=1;d("fas",{bars:[448,512,["navicon"],"f0c9","M0 96z"],'
    '"magnifying-glass":[512,512,[128269,"search"],"f002","M416 208z"],'
    '"trash-can":[448,512,[61460,"trash-alt"],"f2ed","M170 51z"],'
    '0:[320,512,[],"30","M0 0z"],duo:[512,512,[],"f000",["M1z","M2z"]]});var b=2;'
)


def test_only_the_named_icons_and_their_aliases_stay():
    out = pw.subset_icons(SCRIPT, {"bars", "search", "duo"})
    assert out.startswith("var a=1;d(") and out.endswith(");var b=2;")  # code untouched
    assert '"magnifying-glass":' in out  # kept through its alias
    assert "bars:" in out and "duo:" in out
    assert "trash-can" not in out and "0:[320" not in out
    assert pw.subset_icons(SCRIPT, set()).count("{}") == 1  # an empty table stays valid


def test_used_icons_are_read_from_pages_and_scripts_but_not_font_awesome(tmp_path):
    (tmp_path / "_static" / "scripts").mkdir(parents=True)
    (tmp_path / "page.html").write_text('<i class="fa-solid fa-bars"></i>')
    (tmp_path / "_static" / "theme.js").write_text('icon("fa-moon")')
    (tmp_path / pw.FONTAWESOME).write_text('"fa-everything"')
    assert pw.used_icons(tmp_path) == {"solid", "bars", "moon"}

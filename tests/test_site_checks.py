"""The checks behind the published site: chapter notebooks' shared cells, and the
browser check, which must catch each defect it claims to (run on a small broken site)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import browser_check  # noqa: E402
import notebook_cells  # noqa: E402

SOURCE = notebook_cells.install_source(*notebook_cells.repository())


@pytest.mark.parametrize("path", notebook_cells.chapters(), ids=lambda p: p.stem)
def test_every_chapter_has_the_install_cell_and_twinned_explorers(path):
    assert notebook_cells.problems(nbformat.read(path, as_version=4), SOURCE) == []


def _notebook(*sources_and_tags):
    nb = nbformat.v4.new_notebook()
    for source, tags in sources_and_tags:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["tags"] = tags
        nb.cells.append(cell)
    return nb


INSTALL = (SOURCE, ["remove-cell", notebook_cells.INSTALL_TAG])
EXPLORER = ("widgets.explorer(panel, {})", sorted(notebook_cells.EXPLORER_TAGS))
TWIN = ("widgets.small_multiples(panel, {})", ["static-twin"])


def test_notebook_problems_are_found():
    assert notebook_cells.problems(_notebook(INSTALL, EXPLORER, TWIN), SOURCE) == []
    assert "install cell" in notebook_cells.problems(_notebook(EXPLORER, TWIN), SOURCE)[0]
    stale = (INSTALL[0].replace("restart the kernel", "restart"), INSTALL[1])
    assert "out of date" in notebook_cells.problems(_notebook(stale), SOURCE)[0]
    assert (
        "without a static twin" in notebook_cells.problems(_notebook(INSTALL, EXPLORER), SOURCE)[0]
    )
    untagged = ("widgets.explorer(panel, {})", ["remove-output"])
    assert "lacks tags" in notebook_cells.problems(_notebook(INSTALL, untagged, TWIN), SOURCE)[0]


def _run_install_cell(source: str, tmp_path) -> subprocess.CompletedProcess:
    """Run an install cell in a fresh Python where the book package cannot be found.

    ``%pip`` is IPython syntax; here it becomes a call that records what it would install.
    """
    script = re.sub(r"%pip install (.*)$", r"print('PIP', r'\1')", source, flags=re.M)
    blocker = "import sys\nsys.modules['optimlib_book'] = None\nimport importlib.util\n"
    blocker += "importlib.util.find_spec = lambda name, *a: None\n"
    cell = tmp_path / "cell.py"
    cell.write_text(blocker + script)
    return subprocess.run([sys.executable, str(cell)], capture_output=True, text=True, check=False)


def test_install_cell_refuses_an_unpublished_address(tmp_path):
    source = notebook_cells.install_source("https://github.com/someone/else", published=False)
    assert "someone/else" not in source and "%pip" not in source
    result = _run_install_cell(source, tmp_path)
    assert result.returncode != 0 and "PIP" not in result.stdout
    assert "ModuleNotFoundError" in result.stderr and "no published address" in result.stderr


def test_install_cell_installs_from_a_published_address_and_stops_when_that_fails(tmp_path):
    url = "https://github.com/owner/book"
    source = notebook_cells.install_source(url, published=True)
    result = _run_install_cell(source, tmp_path)
    assert f"PIP --quiet optimlib[book] @ git+{url}" in result.stdout.replace('"', "")
    # the package is still missing after the "install": one clear error naming the address
    assert (
        result.returncode != 0 and f"Could not install optimlib[book] from {url}" in result.stderr
    )


def test_the_configured_repository_is_not_installed_from_until_published():
    url, published = notebook_cells.repository()
    assert url.startswith("https://")
    assert (url in SOURCE) == published


def test_write_install_cell_inserts_once_and_refreshes(tmp_path):
    path = tmp_path / "ch.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# T"), nbformat.v4.new_code_cell("x = 1")]
    nbformat.write(nb, path)
    assert notebook_cells.write_install_cell(path, SOURCE)
    assert not notebook_cells.write_install_cell(path, SOURCE)
    cells = nbformat.read(path, as_version=4).cells
    assert [c.cell_type for c in cells] == ["markdown", "code", "code"]
    assert cells[1].source == SOURCE
    assert notebook_cells.write_install_cell(path, "https://example.org/fork")
    assert "example.org/fork" in nbformat.read(path, as_version=4).cells[1].source


def test_raw_tex_is_found_outside_rendered_math():
    assert browser_check.raw_tex("the rate (kappa - 1) costs $5") == []
    assert len(browser_check.raw_tex(r"see \(x^2 and $$ y and \begin{align}")) == 3


def test_heading_order():
    assert browser_check.heading_problems([(1, "T"), (2, "a"), (3, "b"), (2, "c")]) == []
    assert browser_check.heading_problems([(1, "T"), (3, "skip")])
    assert browser_check.heading_problems([(2, "no title")])
    assert browser_check.heading_problems([(1, "T"), (1, "again")])


def test_explorers_need_a_twin_with_a_figure():
    explorer, twin = {"twin": False, "figures": 0}, {"twin": True, "figures": 3}
    assert browser_check.twin_problems([explorer, twin, explorer, twin]) == []
    assert browser_check.twin_problems([explorer])
    assert browser_check.twin_problems([explorer, explorer, twin])
    assert browser_check.twin_problems([explorer, {"twin": True, "figures": 0}])


def test_a_picture_shows_one_image_for_the_screen_and_fetches_only_that_one():
    page = "http://h/book/p.html"
    picture = {"current": "http://h/narrow.png", "narrow": "http://h/narrow.png", "ok": True}
    picture["wide"] = "http://h/wide.png"
    assert browser_check.picture_problems([picture], narrow=True) == []
    assert browser_check.picture_problems([picture], narrow=False) == [
        "at desktop width picture 1 shows http://h/narrow.png"
    ]
    on_desktop = {**picture, "current": picture["wide"]}
    assert browser_check.picture_problems([on_desktop], narrow=False) == []
    assert browser_check.picture_problems([on_desktop], narrow=True) == [
        "at phone width picture 1 shows wide"
    ]
    both = browser_check.picture_problems([picture], True, requested={picture["wide"], page})
    assert both == ["at phone width picture 1 fetched its wide image too"]
    broken = {**picture, "narrow": "", "ok": False}
    assert browser_check.picture_problems([broken], narrow=True) == [
        "picture 1 has no source for narrow screens",
        "at phone width picture 1 did not load",
    ]


def test_links_into_the_site_must_resolve(tmp_path):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "a.html").write_text('<h2 id="known">x</h2>')
    origin, page = "http://127.0.0.1:1", "http://127.0.0.1:1/book/b.html"
    links = [
        f"{origin}/book/a.html#known",
        f"{origin}/book/a.html#unknown",
        f"{origin}/book/missing.html",
        f"{page}#live-only",
        "https://example.org/elsewhere",
    ]
    (tmp_path / "book" / "b.html").write_text("<p>b</p>")
    broken = browser_check.broken_links(links, origin, tmp_path, page, ["live-only"])
    assert len(broken) == 2
    assert "#unknown" in broken[0] and "missing.html" in broken[1]


BROKEN_PAGE = """<!DOCTYPE html><html><head><title>t</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<script src="https://cdn.example.org/lib.js"></script>
<script>console.error("boom");</script>
</head><body><article>
<h1>Title</h1><h3>Skipped a level</h3>
<p>Unrendered \\(x^2\\) math.</p>
<img src="figure.png"><img src="missing.png" alt="a figure that is not there">
<a href="nowhere.html">a broken link</a>
<div class="cell tag_explorer"><p>live widget</p></div>
<div style="width: 2000px">too wide for a phone</div>
<div style="overflow: hidden"><span style="display: inline-block; width: 900px">cut</span></div>
<img src="big.png" alt="a figure far over the page-weight budget">
<picture><source media="(max-width: 10px)" srcset="narrow.png"
  ><img src="wide.png" alt="never stacked on a phone"></picture>
<figure class="scrubber" data-frames='[{"src": "../_scrubber/a.png", "alt": "frame a"},
  {"src": "../_scrubber/b.png", "alt": "frame a"}]' data-sizes="[2]">
<img src="../_scrubber/a.png" alt="frame a"><img src="../_scrubber/b.png" alt="preloaded">
<input type="range" min="0" max="1" value="0" data-name="s" data-values='["0", "1"]'>
</figure>
</article></body></html>
"""
GOOD_PAGE = """<!DOCTYPE html><html><head><title>t</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"></head><body><article>
<h1>Title</h1><h2 id="s">Section</h2>
<img src="figure.png" alt="a described figure"><a href="#s">here</a>
<picture><source media="(max-width: 600px)" srcset="narrow.png"
  ><img src="wide.png" alt="two panels, stacked on a phone"></picture>
<div class="cell tag_explorer"><p>live widget</p></div>
<div class="cell tag_static-twin"><img src="figure.png" alt="small multiples"></div>
<div style="overflow-x: auto"><span style="display: inline-block; width: 900px">wide</span></div>
<span style="display: inline-flex; overflow: hidden; width: 20px"
  ><b style="display: inline-block; min-width: 24px">a glyph's overhang</b></span>
<script defer src="../_static/scrubber.js"></script>
<figure class="scrubber" data-frames='[{"src": "../_scrubber/a.png", "alt": "frame a"},
  {"src": "../_scrubber/b.png", "alt": "frame b"}, {"src": "../_scrubber/c.png", "alt": "c"}]'
  data-sizes="[3]"><img src="../_scrubber/a.png" alt="frame a">
<label>s = <output>0</output><input type="range" min="0" max="2" value="0" data-name="s"
  data-values='["0", "1", "2"]' aria-valuetext="s = 0"></label></figure>
</article></body></html>
"""


@pytest.mark.skipif(
    not any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")),
    reason="no Chromium here (.ci/run installs it)",
)
def test_the_browser_check_catches_each_defect(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    png = (ROOT / "docs" / "screenshot-chapter-1.png").read_bytes()
    (book / "figure.png").write_bytes(png)
    (book / "bad.html").write_text(BROKEN_PAGE)
    (book / "good.html").write_text(GOOD_PAGE)
    (book / "big.png").write_bytes(png + bytes(browser_check.FIRST_VISIT_BUDGET))
    for name in ("narrow", "wide"):  # two distinct files
        (book / f"{name}.png").write_bytes(png + name.encode())
    (tmp_path / "_scrubber").mkdir()
    for name in "abc":  # three distinct frames
        (tmp_path / "_scrubber" / f"{name}.png").write_bytes(png + name.encode())
    (tmp_path / "_static").mkdir()
    shutil.copy(ROOT / "tools" / "site" / "scrubber" / "scrubber.js", tmp_path / "_static")
    (tmp_path / "search.html").write_text("<p>no search here</p>")

    over_http, from_file = browser_check.run(tmp_path, tmp_path / "shots")
    reports = {r.name: r.problems for r in over_http}
    files = {r.name: r.problems for r in from_file}

    assert reports["good.html"] == [] and files["good.html"] == []
    # its files were written a moment ago: a revisit is served from the cache all the same
    assert next(r for r in over_http if r.name == "good.html").warm_kilobytes < 1
    assert "found no page" in files["search.html"][0]
    bad = "\n".join(reports["bad.html"])
    for expected in (
        "request off the site: https://cdn.example.org/lib.js",
        "console error: boom",
        "raw TeX",
        "image without alt text",
        "image did not load",
        "broken link",
        "h3",
        "no static twin",
        "scrolls sideways",
        "content is cut off: 'cut'",
        "first visit fetched",
        "2 scrubber frames loaded with the page",
        "scrubber 1: its script did not set it up",
        "scrubber 1, slider 1 has no label",
        "scrubber 1, slider 1 left the alt text as it was",
        "scrubber 1: the ArrowRight key did not show another loaded frame",
        "at phone width picture 1 shows wide",
        "phone: first visit fetched",
    ):
        assert expected in bad, (expected, bad)
    assert "image did not load" in "\n".join(files["bad.html"])


def test_the_server_lets_a_browser_reuse_what_it_fetched(tmp_path):
    """As GitHub Pages does: max-age=600 on every response, and 304 (no body) for a file
    unchanged since the browser's copy, compressed text and images alike."""
    import urllib.error
    import urllib.request

    (tmp_path / "page.js").write_text("let x = 1;\n" * 200)
    (tmp_path / "figure.png").write_bytes((ROOT / "docs" / "screenshot-chapter-1.png").read_bytes())
    server, origin = browser_check.serve(tmp_path)
    try:
        for name, encoding in (("page.js", "gzip"), ("figure.png", None)):
            request = urllib.request.Request(
                f"{origin}/{name}", headers={"Accept-Encoding": "gzip"}
            )
            with urllib.request.urlopen(request) as response:
                assert response.headers["Cache-Control"] == browser_check.CACHE_CONTROL
                assert response.headers["Content-Encoding"] == encoding
                assert response.read()
                modified = response.headers["Last-Modified"]
            request.add_header("If-Modified-Since", modified)
            with pytest.raises(urllib.error.HTTPError) as again:  # urllib raises on 304
                urllib.request.urlopen(request)
            assert again.value.code == 304 and again.value.read() == b""
    finally:
        server.shutdown()


def test_requests_of_the_previous_document_are_not_this_pages():
    def request(loader, url, request_id):
        params = {"loaderId": loader, "requestId": request_id, "request": {"url": url}}
        return {"method": "Network.requestWillBeSent", "params": params}

    late = request("previous", "http://127.0.0.1:8000/book/wide.png", "1")
    failed = {"method": "Network.loadingFailed", "params": {"requestId": "1", "errorText": "x"}}
    own = request("this", "https://example.org/tracker.js", "2")
    found = browser_check.browser_problems([late, failed, own], "file://", loader_id="this")
    assert found == ["request off the site: https://example.org/tracker.js"]
    # without a loader id (no navigation recorded) every request counts
    assert len(browser_check.browser_problems([late, failed, own], "file://")) == 3


def test_a_navigation_waits_for_its_own_documents_load_not_a_late_one():
    """After a page timed out, its load event can still arrive: the next navigation must
    not take it for its own (its loaderId is another)."""
    import json

    def load(loader):
        params = {"name": "load", "loaderId": loader, "frameId": "main"}
        return json.dumps({"method": "Page.lifecycleEvent", "params": params})

    class Socket:  # what Chromium sends: a reply per call, events in between
        def __init__(self):
            self.sent, self.incoming = [], []

        def send(self, text):
            call = json.loads(text)
            self.sent.append(call["method"])
            reply = {"id": call["id"], "result": {}}
            if call["method"] == "Page.navigate":
                reply["result"] = {"loaderId": "new"}
                self.incoming += [load("timed-out page"), json.dumps(reply), load("new")]
            else:
                self.incoming.append(json.dumps(reply))

        def recv(self):
            return self.incoming.pop(0)

        def settimeout(self, seconds):
            pass

    tab = object.__new__(browser_check.DevTools)
    tab.ws, tab.events, tab.loader_id, tab._id, tab._lifecycle = Socket(), [], None, 0, False
    tab.navigate("http://127.0.0.1:8000/book/next.html")
    assert tab.loader_id == "new"
    assert tab.ws.sent == ["Page.enable", "Page.setLifecycleEventsEnabled", "Page.navigate"]
    assert tab.ws.incoming == []  # it waited for the new document's load event
    assert [e["params"]["loaderId"] for e in tab.events] == ["timed-out page", "new"]
    # a navigation that loads no document (an error page) fails at once, not after a minute
    tab.ws.send = lambda text: tab.ws.incoming.append(
        json.dumps({"id": json.loads(text)["id"], "result": {"errorText": "net::ERR_FAILED"}})
    )
    with pytest.raises(RuntimeError, match="ERR_FAILED"):
        tab.navigate("http://127.0.0.1:8000/book/missing.html")

"""Open every page of the built book in headless Chromium, offline, and check it as a reader.

    python tools/browser_check.py _build/html --screenshots _build/screenshots

The site is served from 127.0.0.1 and Chromium may resolve no other host, so a page
that needs the network fails here as it would in a lecture hall without one. For each
page under ``book/`` the check asserts:

* no console error, uncaught exception or failed request, and no request off the site;
* all math rendered: every ``.math`` element holds MathJax output, no MathJax error,
  and no raw TeX (``\\(``, ``\\[``, ``$$``, ``\\begin{``) left in the text;
* every image has alt text and loaded (non-zero natural width);
* every link into the site resolves: the file exists and so does its ``#fragment``;
* headings: one ``h1``, and no level skipped on the way down;
* every explorer cell (tag ``explorer``: a live widget, removed from the page) is
  followed by its static twin (tag ``static-twin``) showing a loaded figure;
* at phone width (390 px) the page does not scroll sideways, and nothing (a long
  formula, say) is cut off at the edge of the text column by a box that hides overflow;
* every multi-panel figure (a ``<picture>``, tools/sphinx_stacked.py) shows its wide
  image on a desktop and, on a phone's first visit, its stacked copy, without fetching
  the wide one (a reader downloads one of the two);
* every scrubber (``figure.scrubber``, tools/sphinx_scrubber.py) loaded only its start
  frame, and moving each of its sliders, by setting its value or by the arrow keys,
  shows another loaded frame with another alt text;
* page weight: the bytes fetched on a first visit (empty cache, desktop and phone) at
  most 3 MB, and on a revisit (warm cache) at most 1 MB, scrubber frames counted as they
  load; text files are served gzip-compressed, and every file with GitHub Pages'
  ``Cache-Control: max-age=600``, as that host serves them.

Then every chapter page again from ``file://`` (the offline folder opened directly):
math rendered, images loaded, scrubbers working, no request off the site; and the search
page finds a chapter (from ``file://`` it lists the pages found but no text snippets,
which it would fetch: the README says so).

It prints each page's load time, time until the math is typeset, and the kilobytes
fetched on a first visit (over the wire, and uncompressed), a warm visit and a phone's
first visit, keeps two pages' screenshots (desktop and phone
width) in ``--screenshots``, and exits 1 listing every failure. Chromium comes from the
system (``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import base64
import functools
import gzip
import http.server
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import websocket  # websocket-client: Chromium's DevTools protocol runs over a websocket

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 2, "mobile": True}
DESKTOP = {"width": 1280, "height": 1600, "deviceScaleFactor": 1, "mobile": False}
# Two chapters' pages are kept as screenshots: desktop, phone width, and a phone-width figure.
SCREENSHOT_PAGES = ("01-gradient-descent.html", "05-momentum.html")
RAW_TEX = re.compile(r"\\\(|\\\[|\$\$|\\begin\{")
PAGE_TIMEOUT = 60.0
# Bytes a chapter page may fetch (issue 14): a first visit, and a revisit with a warm cache.
FIRST_VISIT_BUDGET = 3_000_000
WARM_VISIT_BUDGET = 1_000_000
FRAMES = "/_scrubber/"

# Runs in the page once it has loaded and MathJax has typeset; returns what Python checks.
INSPECT_PAGE = r"""
(async () => {
  const imgs = [...document.images];
  for (const img of imgs) img.loading = "eager";
  await Promise.all(imgs.map((img) => img.decode().catch(() => null)));
  const skip = "script, style, pre, code, textarea, mjx-container, .highlight";
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const texts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest(skip)) texts.push(node.textContent);
  }
  const article = document.querySelector("article") || document.body;
  const cells = [...article.querySelectorAll(".cell.tag_explorer, .cell.tag_static-twin")];
  const nav = performance.getEntriesByType("navigation")[0];
  const resources = performance.getEntriesByType("resource");
  const bytes = resources.reduce((sum, r) => sum + r.encodedBodySize, nav.encodedBodySize);
  const rawBytes = resources.reduce((sum, r) => sum + r.decodedBodySize, nav.decodedBodySize);
  return {
    text: texts.join("\n"),
    math: document.querySelectorAll(".math").length,
    mathUnrendered: [...document.querySelectorAll(".math")]
      .filter((el) => !el.querySelector("mjx-container"))
      .map((el) => el.textContent.slice(0, 80)),
    mathErrors: [...document.querySelectorAll("mjx-merror, [data-mjx-error]")]
      .map((el) => el.getAttribute("data-mjx-error") || el.textContent.slice(0, 80)),
    rendered: document.querySelectorAll("mjx-container").length,
    images: imgs.map((img) => ({src: img.currentSrc || img.src, alt: img.alt || "",
                                ok: img.complete && img.naturalWidth > 0})),
    links: [...document.querySelectorAll("a[href]")].map((a) => a.href),
    ids: [...document.querySelectorAll("[id]")].map((el) => el.id),
    headings: [...article.querySelectorAll("h1, h2, h3, h4, h5, h6")]
      .map((h) => [Number(h.tagName[1]), h.textContent.trim().slice(0, 60)]),
    cells: cells.map((c) => ({
      twin: c.classList.contains("tag_static-twin"),
      figures: [...c.querySelectorAll("img")].filter((i) => i.naturalWidth > 0).length,
    })),
    loadMs: nav.loadEventEnd,
    bytes: bytes,
    rawBytes: rawBytes,
    scrubbers: document.querySelectorAll("figure.scrubber").length,
    framesLoaded: performance.getEntriesByType("resource")
      .filter((r) => r.name.includes("FRAMES")).length,
  };
})()
""".replace("FRAMES", FRAMES)
# Moves every slider of every scrubber to another end (value + input event, as a script or
# an assistive tool would) and reports what the figure shows after each move.
SCRUB = r"""
(async () => {
  const report = [];
  for (const figure of document.querySelectorAll("figure.scrubber")) {
    const img = figure.querySelector("img");
    const moves = [];
    for (const input of figure.querySelectorAll("input[type=range]")) {
      const before = {src: img.src, alt: img.alt};
      input.value = Number(input.value) === Number(input.max) ? "0" : input.max;
      input.dispatchEvent(new Event("input", {bubbles: true}));
      await img.decode().catch(() => null);
      const label = input.closest("label");
      moves.push({
        labelled: !!label && label.textContent.trim().length > 0,
        valueShown: !!label && (input.getAttribute("aria-valuetext") || "").endsWith(
          label.querySelector("output")?.textContent || "?"),
        src: img.src !== before.src, alt: img.alt !== before.alt && img.alt.length > 0,
        loaded: img.complete && img.naturalWidth > 0,
      });
    }
    report.push({ready: figure.classList.contains("scrubber-ready"), moves: moves});
  }
  return report;
})()
"""
SCRUBBER_IMAGE = """
(async (i) => {
  const img = document.querySelectorAll("figure.scrubber")[i].querySelector("img");
  await img.decode().catch(() => null);
  return {src: img.src, alt: img.alt, ok: img.complete && img.naturalWidth > 0};
})(%d)
"""
# Which image each <picture> shows (its stacked copy on narrow screens, else the wide one).
PICTURES = """
(async () => {
  const pictures = [...document.querySelectorAll("article picture")];
  await Promise.all(pictures.map((p) => p.querySelector("img").decode().catch(() => null)));
  return pictures.map((p) => {
    const img = p.querySelector("img");
    const source = p.querySelector("source");
    return {
      current: img.currentSrc,
      wide: img.src,
      narrow: source ? new URL(source.getAttribute("srcset"), document.baseURI).href : "",
      ok: img.complete && img.naturalWidth > 0,
    };
  });
})()
"""
FOCUS_SLIDER = """
(() => {
  const input = document.querySelectorAll("figure.scrubber")[%d].querySelector("input");
  input.focus();
  return Number(input.value) < Number(input.max) ? "ArrowRight" : "ArrowLeft";
})()
"""
SEARCH_RESULTS = """
new Promise((done) => {
  const start = Date.now();
  const poll = () => {
    const found = document.querySelectorAll("#search-results li").length;
    if (found || Date.now() - start > 15000) done(found); else setTimeout(poll, 200);
  };
  poll();
})
"""
MATH_TYPESET = """
(window.MathJax && MathJax.startup && MathJax.startup.promise)
  ? MathJax.startup.promise.then(() => performance.now()) : -1
"""
OVERFLOW = "document.documentElement.scrollWidth - window.innerWidth"
# Content cut off by a box that hides its overflow (math in an algorithm box, say): the
# page does not scroll sideways, yet the reader cannot see the end of the formula.
CLIPPED = """
(() => {
  const column = document.querySelector("article").getBoundingClientRect().right;
  return [...document.querySelectorAll("article *")].filter((e) => {
    // MathJax's own parts clip by design (stretchy delimiters, the copy for screen readers)
    if (e.tagName.startsWith("MJX-") || e.closest("mjx-assistive-mml")) return false;
    const style = getComputedStyle(e);
    if (style.overflowX !== "hidden" && style.overflowX !== "clip") return false;
    // cut off where the text column ends, not a glyph's overhang of a few pixels
    const end = e.getBoundingClientRect().left + e.scrollWidth;
    return e.scrollWidth > e.clientWidth + 8 && end > column + 8;
  }).map((e) => e.textContent.trim().replace(/\\s+/g, " ").slice(0, 60));
})()
"""


# --- checks on what the page reported (pure functions, unit-tested) -------------------
def raw_tex(text: str) -> list[str]:
    """Snippets of text around TeX delimiters that MathJax should have replaced."""
    return [text[max(m.start() - 20, 0) : m.end() + 20] for m in RAW_TEX.finditer(text)]


def heading_problems(headings: list[tuple[int, str]]) -> list[str]:
    """One h1 first, and never more than one level deeper than the heading before."""
    levels = [level for level, _ in headings]
    problems = []
    if levels.count(1) != 1 or (levels and levels[0] != 1):
        problems.append(f"expected one h1 at the top, found levels {levels[:6]}...")
    for (before, _), (level, title) in itertools.pairwise(headings):
        if level > before + 1:
            problems.append(f"heading h{level} {title!r} follows an h{before}")
    return problems


def scrubber_problems(report: list[dict], frames_loaded: int) -> list[str]:
    """What the sliders did (SCRUB's report), and frames fetched before any was moved."""
    problems = []
    if frames_loaded > len(report):
        problems.append(
            f"{frames_loaded} scrubber frames loaded with the page; expected one per "
            f"scrubber ({len(report)})"
        )
    for i, figure in enumerate(report, 1):
        if not figure["ready"]:
            problems.append(f"scrubber {i}: its script did not set it up")
        for k, move in enumerate(figure["moves"], 1):
            for key, fault in (
                ("labelled", "has no label"),
                ("valueShown", "does not show its value"),
                ("src", "changed no image"),
                ("alt", "left the alt text as it was"),
                ("loaded", "shows a frame that did not load"),
            ):
                if not move[key]:
                    problems.append(f"scrubber {i}, slider {k} {fault}")
    return problems


def weight_problems(first: int, warm: int) -> list[str]:
    """A page over the byte budget of a first or a warm visit."""
    problems = []
    if first > FIRST_VISIT_BUDGET:
        problems.append(f"first visit fetched {first / 1e6:.2f} MB (budget 3 MB)")
    if warm > WARM_VISIT_BUDGET:
        problems.append(f"warm revisit fetched {warm / 1e6:.2f} MB (budget 1 MB)")
    return problems


def picture_problems(pictures: list[dict], narrow: bool, requested=frozenset()) -> list[str]:
    """Each picture shows its stacked copy on a narrow screen, its wide image elsewhere.

    ``requested``: the addresses the page fetched, given for a narrow screen's first
    visit, where fetching the wide image as well would double the figure's bytes.
    """
    problems, width = [], "phone" if narrow else "desktop"
    for i, picture in enumerate(pictures, 1):
        expected = picture["narrow"] if narrow else picture["wide"]
        if not picture["narrow"]:
            problems.append(f"picture {i} has no source for narrow screens")
        elif picture["current"] != expected:
            shown = "wide" if picture["current"] == picture["wide"] else picture["current"]
            problems.append(f"at {width} width picture {i} shows {shown[-60:]}")
        if not picture["ok"]:
            problems.append(f"at {width} width picture {i} did not load")
        if narrow and picture["wide"] in requested:
            problems.append(f"at {width} width picture {i} fetched its wide image too")
    return problems


def requested_urls(events: list[dict]) -> set[str]:
    """Every address the page asked for."""
    return {
        e["params"]["request"]["url"]
        for e in events
        if e.get("method") == "Network.requestWillBeSent"
    }


def fetched_bytes(events: list[dict]) -> int:
    """Bytes received over the network (headers included; nothing for a cache hit)."""
    return int(
        sum(
            e["params"].get("encodedDataLength", 0)
            for e in events
            if e.get("method") == "Network.loadingFinished"
        )
    )


def twin_problems(cells: list[dict]) -> list[str]:
    """Every explorer cell is followed, before the next explorer, by a twin with a figure."""
    problems, waiting = [], False
    for cell in cells:
        if not cell["twin"]:
            if waiting:
                problems.append("an explorer has no static twin before the next explorer")
            waiting = True
        elif cell["figures"] == 0:
            problems.append("a static twin shows no loaded figure")
        else:
            waiting = False
    if waiting:
        problems.append("the last explorer on the page has no static twin after it")
    return problems


@functools.cache
def _ids_in(path: Path) -> frozenset[str]:
    html = path.read_text(encoding="utf-8", errors="replace")
    return frozenset(re.findall(r'\b(?:id|name)="([^"]+)"', html))


def broken_links(links: list[str], origin: str, root: Path, page_url: str, page_ids) -> list:
    """Links into the site whose file or #fragment does not exist."""
    broken = []
    for link in sorted(set(links)):
        if not link.startswith(origin + "/"):
            continue
        url = urllib.parse.urlsplit(link)
        path = urllib.parse.unquote(url.path).lstrip("/")
        target = root / path
        if path == "" or path.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            broken.append(f"{link} (no file {target.relative_to(root)})")
            continue
        if url.fragment and target.suffix == ".html":
            same_page = link.split("#")[0] == page_url.split("#")[0]
            ids = set(_ids_in(target)) | (set(page_ids) if same_page else set())
            if urllib.parse.unquote(url.fragment) not in ids:
                broken.append(f"{link} (no #{url.fragment} in {target.name})")
    return broken


# --- Chromium over the DevTools protocol ----------------------------------------------
class DevTools:
    """A minimal synchronous DevTools-protocol client for one page."""

    def __init__(self, ws_url: str):
        self.ws = websocket.create_connection(ws_url, timeout=PAGE_TIMEOUT, suppress_origin=True)
        self.events: list[dict] = []
        self.loader_id: str | None = None  # the document the last navigation loaded
        self._id = 0
        self._lifecycle = False  # whether the page reports its lifecycle events yet

    def call(self, method: str, **params):
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = PAGE_TIMEOUT, **params) -> dict:
        """The first event ``method`` received (since ``events`` was last cleared) whose
        parameters include ``params``."""
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                given = event.get("params", {})
                if event.get("method") == method and all(
                    given.get(name) == value for name, value in params.items()
                ):
                    return event
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {method} within {timeout:.0f} s")
            self.ws.settimeout(remaining)
            self.events.append(json.loads(self.ws.recv()))

    def navigate(self, url: str) -> None:
        """Open ``url`` and wait for its document's load event.

        The event is the lifecycle event of the document this navigation made (its
        ``loaderId``): a late load event from a page given up on after a timeout arrives
        on the same socket and would otherwise pass for this one's.
        """
        if not self._lifecycle:
            self.call("Page.enable")
            self.call("Page.setLifecycleEventsEnabled", enabled=True)
            self._lifecycle = True
        self.events.clear()
        result = self.call("Page.navigate", url=url)
        if result.get("errorText") or not result.get("loaderId"):
            # an error page, or a move within the document: no load of a new one to wait for
            raise RuntimeError(f"navigation to {url} loaded no document: {result}")
        self.loader_id = result["loaderId"]
        self.wait_for("Page.lifecycleEvent", name="load", loaderId=self.loader_id)

    def evaluate(self, expression: str):
        result = self.call(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self):
        self.ws.close()


def find_chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    sys.exit("browser check: Chromium not found; install it: apt-get install -y chromium")


def start_chromium(profile: str, origin_host: str) -> tuple[subprocess.Popen, str]:
    """Chromium with no network but the local server; returns it and its page's socket."""
    process = subprocess.Popen(
        [
            find_chromium(),
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-extensions",
            "--disable-sync",
            f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {origin_host}",
            "--remote-debugging-port=0",
            "--remote-allow-origins=*",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    port_file = Path(profile) / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while not port_file.exists() or not port_file.read_text().strip():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            sys.exit("browser check: Chromium did not start (no DevToolsActivePort)")
        time.sleep(0.1)
    port = port_file.read_text().split()[0]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as response:
        targets = json.load(response)
    page = next(t for t in targets if t["type"] == "page")
    return process, page["webSocketDebuggerUrl"]


# Served compressed, as GitHub Pages and any common web host serve text files: the page
# weight is counted in bytes over the wire (images and fonts are compressed already).
GZIP_TYPES = (".html", ".js", ".css", ".svg", ".json", ".txt", ".map")
# How long a browser may reuse what it fetched, as GitHub Pages sends it. Without it the
# browser guesses a tenth of the file's age, which for a book built a minute earlier is
# seconds: a revisit then fetched 35-108 kB again in CI and 0 an hour after the build.
CACHE_CONTROL = "max-age=600"


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def end_headers(self):
            self.send_header("Cache-Control", CACHE_CONTROL)
            super().end_headers()

        def do_GET(self):
            path = Path(self.translate_path(self.path))
            accepts = "gzip" in self.headers.get("Accept-Encoding", "")
            if not (accepts and path.suffix in GZIP_TYPES and path.is_file()):
                return super().do_GET()
            modified = self.date_time_string(int(path.stat().st_mtime))
            # browsers send back the Last-Modified they were given (send_head answers the
            # uncompressed files so, parsing the date)
            if self.headers.get("If-Modified-Since") == modified:
                self.send_response(304)
                self.end_headers()
                return None
            body = gzip.compress(path.read_bytes(), compresslevel=6)
            self.send_response(200)
            self.send_header("Content-Type", self.guess_type(str(path)))
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Last-Modified", modified)
            self.end_headers()
            self.wfile.write(body)
            return None

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


# --- one page ---------------------------------------------------------------------------
@dataclass
class PageReport:
    name: str
    problems: list[str] = field(default_factory=list)
    load_ms: float = 0.0
    math_ms: float = -1.0
    kilobytes: float = 0.0
    raw_kilobytes: float = 0.0
    warm_kilobytes: float = 0.0
    phone_kilobytes: float = 0.0
    formulas: int = 0
    images: int = 0
    scrubbers: int = 0


def browser_problems(events: list[dict], origin: str, loader_id: str | None = None) -> list[str]:
    """Console errors, uncaught exceptions, failed or off-site requests, from the events.

    With ``loader_id``, requests another document made are not this page's: a request
    the previous page started late (e.g. its picture switching source when the window
    was resized back) can arrive after the next navigation began.
    """
    problems, urls, others = [], {}, set()
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        elsewhere = loader_id and params.get("loaderId", loader_id) != loader_id
        if method == "Network.requestWillBeSent" and elsewhere:
            others.add(params["requestId"])
        if params.get("requestId") in others:
            continue
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            problems.append(f"console error: {args[:200]}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description", details.get("text"))
            problems.append(f"uncaught exception: {str(text)[:200]}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            problems.append(f"browser error: {entry['text'][:160]} {entry.get('url', '')}")
        elif method == "Network.requestWillBeSent":
            url = urls[params["requestId"]] = params["request"]["url"]
            if url.startswith(("http:", "https:", "ws:", "wss:")) and not url.startswith(origin):
                problems.append(f"request off the site: {url}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            url = urls.get(params["requestId"], params["requestId"])
            problems.append(f"failed request: {params.get('errorText')} {url}")
    return problems


def settle(tab: DevTools) -> None:
    """Wait for MathJax and every image, then a moment for late requests."""
    tab.evaluate(MATH_TYPESET)
    settle_images(tab)


def settle_images(tab: DevTools) -> None:
    tab.evaluate("Promise.all([...document.images].map((i) => i.decode().catch(() => 0)))")
    tab.evaluate("new Promise((done) => setTimeout(done, 300))")


def blank(tab: DevTools, metrics: dict) -> None:
    """An empty page, then the viewport ``metrics``: a chapter laid out with its formulas
    takes a second to lay out again at another width (three times a page), an empty
    page nothing."""
    tab.navigate("about:blank")
    tab.call("Emulation.setDeviceMetricsOverride", **metrics)


def visit(tab: DevTools, url: str) -> int:
    """Open ``url`` and return the bytes fetched until it settled."""
    tab.navigate(url)
    settle(tab)
    return fetched_bytes(tab.events)


def check_scrubbers(tab: DevTools, count: int, frames_loaded: int) -> list[str]:
    """Keyboard, then value + input event, on every scrubber of the page."""
    found = []
    for i in range(count):
        before = tab.evaluate(SCRUBBER_IMAGE % i)
        key = tab.evaluate(FOCUS_SLIDER % i)
        code = {"ArrowRight": 39, "ArrowLeft": 37}[key]
        for kind in ("rawKeyDown", "keyUp"):
            tab.call(
                "Input.dispatchKeyEvent",
                type=kind,
                key=key,
                code=key,
                windowsVirtualKeyCode=code,
            )
        after = tab.evaluate(SCRUBBER_IMAGE % i)
        if after["src"] == before["src"] or after["alt"] == before["alt"] or not after["ok"]:
            found.append(f"scrubber {i + 1}: the {key} key did not show another loaded frame")
    return found + scrubber_problems(tab.evaluate(SCRUB), frames_loaded)


def check_page(tab: DevTools, url: str, root: Path, origin: str) -> PageReport:
    report = PageReport(name=url.rsplit("/", 1)[-1])
    blank(tab, DESKTOP)
    tab.call("Network.clearBrowserCache")
    tab.navigate(url)
    report.math_ms = float(tab.evaluate(MATH_TYPESET))
    page = tab.evaluate(INSPECT_PAGE)
    tab.evaluate("new Promise((done) => setTimeout(done, 300))")
    first = fetched_bytes(tab.events)
    report.load_ms, report.kilobytes = page["loadMs"], first / 1024
    report.raw_kilobytes = page["rawBytes"] / 1024
    report.formulas, report.images = page["rendered"], len(page["images"])
    report.scrubbers = page["scrubbers"]

    found = report.problems
    found += browser_problems(tab.events, origin, tab.loader_id)
    if page["math"] and report.math_ms < 0:
        found.append("the page has math but MathJax did not start")
    found += [f"math not rendered: {text!r}" for text in page["mathUnrendered"]]
    found += [f"MathJax error: {text!r}" for text in page["mathErrors"]]
    found += [f"raw TeX in the text: {snippet!r}" for snippet in raw_tex(page["text"])]
    for image in page["images"]:
        if not image["alt"].strip():
            found.append(f"image without alt text: {image['src'][-60:]}")
        if not image["ok"]:
            found.append(f"image did not load: {image['src'][-60:]}")
    found += [
        f"broken link: {link}"
        for link in broken_links(page["links"], origin, root, url, page["ids"])
    ]
    found += heading_problems([tuple(h) for h in page["headings"]])
    found += twin_problems(page["cells"])
    found += picture_problems(tab.evaluate(PICTURES), narrow=False)
    found += check_scrubbers(tab, page["scrubbers"], page["framesLoaded"])

    warm = visit(tab, url)
    report.warm_kilobytes = warm / 1024
    found += weight_problems(first, warm)

    # A reader's first visit on a phone: what it fetches, and how the page fits.
    # (no cache at all: the desktop visits just put the page's files in memory)
    blank(tab, PHONE)
    tab.call("Network.setCacheDisabled", cacheDisabled=True)
    phone = visit(tab, url)
    tab.call("Network.setCacheDisabled", cacheDisabled=False)
    report.phone_kilobytes = phone / 1024
    found += [f"phone: {problem}" for problem in weight_problems(phone, 0)]
    found += picture_problems(
        tab.evaluate(PICTURES), narrow=True, requested=requested_urls(tab.events)
    )
    overflow = tab.evaluate(OVERFLOW)
    if overflow > 1:
        found.append(
            f"at phone width ({PHONE['width']} px) the page scrolls sideways by {overflow} px"
        )
    found += [
        f"at phone width ({PHONE['width']} px) content is cut off: {text!r}"
        for text in tab.evaluate(CLIPPED)
    ]
    return report  # at phone width: screenshot() and the next page set their own


def check_file_page(tab: DevTools, url: str) -> PageReport:
    """A page opened from file://: math, images, scrubbers, no request off the machine."""
    report = PageReport(name=url.rsplit("/", 1)[-1])
    visit(tab, url)
    page = tab.evaluate(INSPECT_PAGE)
    report.formulas, report.images = page["rendered"], len(page["images"])
    report.scrubbers = page["scrubbers"]
    found = report.problems
    found += browser_problems(tab.events, "file://", tab.loader_id)
    found += [f"math not rendered: {text!r}" for text in page["mathUnrendered"]]
    found += [f"image did not load: {i['src'][-60:]}" for i in page["images"] if not i["ok"]]
    found += check_scrubbers(tab, page["scrubbers"], page["framesLoaded"])
    return report


def check_file_search(tab: DevTools, root: Path, query: str = "momentum") -> list[str]:
    """From file:// the search page lists the pages it finds (its snippets need a server)."""
    tab.navigate(f"{(root / 'search.html').as_uri()}?q={query}")
    if tab.evaluate(SEARCH_RESULTS) == 0:
        return [f"search for {query!r} from file:// found no page"]
    return []


def screenshot(tab: DevTools, metrics: dict, path: Path, height: int, at: str = "") -> None:
    """A screenshot of the viewport, scrolled to the first element matching ``at``."""
    tab.call("Emulation.setDeviceMetricsOverride", **{**metrics, "height": height})
    settle_images(tab)  # at another width, pictures fetch their image for it
    scroll = f"document.querySelector({at!r})?.scrollIntoView();" if at else "scrollTo(0, 0);"
    tab.evaluate(scroll + "new Promise((done) => setTimeout(done, 300))")
    data = tab.call("Page.captureScreenshot", format="png")["data"]
    path.write_bytes(base64.b64decode(data))


def pages_of(root: Path) -> list[Path]:
    pages = sorted((root / "book").glob("*.html"))
    if not pages:
        sys.exit(f"browser check: no pages in {root / 'book'}; build the book first (make book)")
    return pages


def check_pages(
    pages: list[Path], root: Path, origin: str, screenshots: Path | None, search: bool
) -> tuple[list[PageReport], list[PageReport]]:
    """Check ``pages`` in a Chromium of their own: over http, then from file://."""
    profile = tempfile.mkdtemp(prefix="browser-check-")
    chromium, ws_url = start_chromium(profile, "127.0.0.1")
    tab = DevTools(ws_url)
    reports, file_reports = [], []
    try:
        for domain in ("Page", "Runtime", "Log", "Network"):
            tab.call(f"{domain}.enable")
        for page in pages:
            url = f"{origin}/{page.relative_to(root).as_posix()}"
            try:
                reports.append(check_page(tab, url, root, origin))
            except (TimeoutError, RuntimeError, websocket.WebSocketException) as error:
                reports.append(PageReport(name=page.name, problems=[f"check failed: {error}"]))
            if screenshots is not None and page.name in SCREENSHOT_PAGES:
                screenshots.mkdir(parents=True, exist_ok=True)
                stem = page.stem
                screenshot(tab, DESKTOP, screenshots / f"{stem}-desktop.png", 2400)
                screenshot(tab, PHONE, screenshots / f"{stem}-phone.png", 1800)
                figure = screenshots / f"{stem}-phone-figure.png"
                screenshot(tab, PHONE, figure, 1200, at="figure img, .cell_output img")
                for metrics, width in ((DESKTOP, "desktop"), (PHONE, "phone")):
                    path = screenshots / f"{stem}-{width}-scrubber.png"
                    screenshot(tab, metrics, path, 1100, at="figure.scrubber")
        blank(tab, DESKTOP)
        for page in pages:
            try:
                file_reports.append(check_file_page(tab, page.as_uri()))
            except (TimeoutError, RuntimeError, websocket.WebSocketException) as error:
                file_reports.append(PageReport(name=page.name, problems=[f"check failed: {error}"]))
        if search:
            file_reports.append(
                PageReport(name="search.html", problems=check_file_search(tab, root))
            )
    finally:
        tab.close()
        chromium.kill()
        chromium.wait()
        shutil.rmtree(profile, ignore_errors=True)
    return reports, file_reports


def run(
    root: Path, screenshots: Path | None, workers: int = 2
) -> tuple[list[PageReport], list[PageReport]]:
    """Every page, shared out to ``workers`` Chromiums (CI's two cores: a page's layout,
    MathJax and scrubbing keep one busy); the reports come back in page order."""
    server, origin = serve(root)
    pages = pages_of(root)
    shares = [pages[i::workers] for i in range(workers)]
    try:
        with ThreadPoolExecutor(workers) as pool:
            jobs = [
                pool.submit(check_pages, share, root, origin, screenshots, search=i == 0)
                for i, share in enumerate(shares)
                if share
            ]
            results = [job.result() for job in jobs]
    finally:
        server.shutdown()
    order = {page.name: i for i, page in enumerate(pages)}

    def in_page_order(found):
        return sorted(found, key=lambda report: order.get(report.name, len(order)))

    reports = in_page_order(r for http, _ in results for r in http)
    file_reports = in_page_order(r for _, files in results for r in files)
    return reports, file_reports


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="the built site, e.g. _build/html")
    parser.add_argument("--screenshots", type=Path, help="folder for two pages' screenshots")
    args = parser.parse_args(argv)
    os.environ.setdefault("NO_PROXY", "127.0.0.1")
    reports, file_reports = run(args.root.resolve(), args.screenshots)

    print(
        f"{'page':42} {'load ms':>8} {'math ms':>8} {'KB first':>9} {'KB raw':>7} "
        f"{'KB warm':>8} {'KB phone':>8} {'formulas':>8} {'images':>6} {'scrubbers':>9}"
    )
    for r in reports:
        print(
            f"{r.name:42} {r.load_ms:8.0f} {r.math_ms:8.0f} {r.kilobytes:9.0f} "
            f"{r.raw_kilobytes:7.0f} {r.warm_kilobytes:8.0f} {r.phone_kilobytes:8.0f} "
            f"{r.formulas:8d} {r.images:6d} {r.scrubbers:9d}"
        )
    failures = [(r.name, p) for r in reports for p in r.problems]
    failures += [(f"file://{r.name}", p) for r in file_reports for p in r.problems]
    for name, problem in failures:
        print(f"FAIL {name}: {problem}")
    print(
        f"browser check: {len(reports)} pages over http, {len(file_reports)} from file://, "
        f"{len(failures)} problems"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""``make book-screenshots``: open every page of the built tutorial site in headless Chromium and check its figures.

The site is served on loopback by a standard-library HTTP server that adds one small script to each page it sends
(never to the files on disk). After the page has loaded, the script waits for every ``<img>`` (lazy ones switched
to eager) and marks each with ``data-mmr-rendered="yes"`` when Chromium loaded it as an image with a non-zero
natural size (a missing or corrupt file gives zero), else ``"no"``; Chromium's ``--dump-dom`` returns the
page with those marks, and in the same run ``--screenshot`` saves what a reader sees (1280 x 2000 pixels) to
``build/book-screenshots/<page>.png``. A page fails when the probe did not finish, when an image did not render in
the browser, when an image file the page references is missing or Pillow cannot decode it, or when its screenshot is
blank (one colour). All other hosts resolve to nothing, so the check runs offline and never waits on a CDN.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mmr_utils import paths
from tools.book import GENERATED_PAGES, SITE, BookError, image_problem, is_internal

#: Where ``make book-screenshots`` saves the screenshots.
SCREENSHOTS: Path = paths.BUILD / "book-screenshots"
WINDOW = (1280, 2000)
#: Chromium's virtual-time budgets (ms) tried in turn until the page's image probe has finished.
BUDGETS_MS = (10000, 30000, 90000)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")

PROBE = """<script>
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  images.forEach(function (img) { img.loading = "eager"; });
  Promise.all(images.map(function (img) {
    return new Promise(function (resolve) {
      if (img.complete) { resolve(); return; }
      img.addEventListener("load", function () { resolve(); });
      img.addEventListener("error", function () { resolve(); });
    }).then(function () { return img.complete && img.naturalWidth > 0 && img.naturalHeight > 0; });
  })).then(function (ok) {
    images.forEach(function (img, i) { img.setAttribute("data-mmr-rendered", ok[i] ? "yes" : "no"); });
    document.documentElement.setAttribute("data-mmr-probe", "done");
  });
});
</script>
"""


def find_chromium() -> str | None:
    """The Chromium executable on PATH, or None (Debian: ``apt-get install -y chromium``)."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class _ProbingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the site; HTML pages get :data:`PROBE` before ``</body>``."""

    def do_GET(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        if path.suffix != ".html" or not path.is_file():
            return super().do_GET()
        html = path.read_text(encoding="utf-8")
        cut = html.rfind("</body>")
        body = (html[:cut] + PROBE + html[cut:] if cut >= 0 else html + PROBE).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # keep the check's output to its findings
        pass


@contextlib.contextmanager
def serve(site: Path):
    """Serve ``site`` on 127.0.0.1 (a free port) in a background thread; yields the base URL."""
    handler = functools.partial(_ProbingHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


class _ImageParser(HTMLParser):
    """``(src, data-mmr-rendered)`` of every ``<img>`` and whether the probe finished."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.images: list[tuple[str, str | None]] = []
        self.probe_done = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html" and attrs.get("data-mmr-probe") == "done":
            self.probe_done = True
        if tag == "img":
            self.images.append((attrs.get("src") or "", attrs.get("data-mmr-rendered")))


@dataclass
class PageResult:
    """One page's screenshot and what was wrong with it (empty ``faults``: it passed)."""

    page: str
    screenshot: Path
    images: int = 0
    faults: list[str] = field(default_factory=list)


def chromium_command(chromium: str, url: str, screenshot: Path, profile: Path, budget_ms: int = 10000) -> list[str]:
    """The headless Chromium command that loads ``url``, screenshots it and prints its DOM after the probe ran."""
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            f"--window-size={WINDOW[0]},{WINDOW[1]}", "--hide-scrollbars", f"--virtual-time-budget={budget_ms}",
            f"--screenshot={screenshot}", "--dump-dom", url]


def screenshot_problem(path: Path) -> str | None:
    """Why a screenshot shows nothing (missing, undecodable, a single colour), or None when it shows a page."""
    from PIL import Image

    if not path.is_file() or path.stat().st_size == 0:
        return "Chromium wrote no screenshot"
    problem = image_problem(path.read_bytes())
    if problem:
        return f"screenshot unreadable: {problem}"
    with Image.open(path) as image:
        if image.convert("RGB").getcolors(maxcolors=1) is not None:
            return "the screenshot is blank (a single colour)"
    return None


def check_page(chromium: str, base_url: str, site: Path, page: str, out: Path, *, timeout: float = 120) -> PageResult:
    """Open one page headless, save its screenshot under ``out`` and check that every figure rendered."""
    shot = out / (page.removesuffix(".html").replace("/", "__") + ".png")
    shot.parent.mkdir(parents=True, exist_ok=True)
    shot.unlink(missing_ok=True)
    result = PageResult(page=page, screenshot=shot)
    # Virtual time runs ahead of image decoding on a loaded machine, so an unfinished probe is retried with more.
    for budget_ms in BUDGETS_MS:
        with tempfile.TemporaryDirectory(prefix="mmr-chromium-") as profile:
            try:
                done = subprocess.run(chromium_command(chromium, base_url + page, shot, Path(profile), budget_ms),
                                      capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired:
                result.faults.append(f"Chromium did not finish within {timeout:.0f} s")
                return result
        parser = _ImageParser()
        parser.feed(done.stdout)
        if done.returncode != 0 or parser.probe_done:
            break
    if done.returncode != 0:
        result.faults.append(f"Chromium exited {done.returncode}: {done.stderr.strip()[-500:]}")
    if not parser.probe_done:
        result.faults.append(f"the page's image probe never finished (not within {BUDGETS_MS[-1] // 1000} s of "
                             "virtual time: the page did not load)")
    result.images = len(parser.images)
    for src, rendered in parser.images:
        if src and not src.startswith("data:") and is_internal(src):
            target = (site / page).parent / unquote(urlsplit(src).path)
            if not target.is_file():
                result.faults.append(f"image {src!r}: file {target} does not exist")
                continue
            if target.suffix.lower() != ".svg":
                problem = image_problem(target.read_bytes())
                if problem:
                    result.faults.append(f"image {src!r}: {problem}")
        if parser.probe_done and rendered != "yes":
            result.faults.append(f"image {src[:80]!r} did not render in Chromium")
    problem = screenshot_problem(shot)
    if problem:
        result.faults.append(problem)
    return result


def content_pages(site: Path) -> list[str]:
    """The site's pages a reader opens: every HTML file outside ``_static``/``_sources``, less search and index."""
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                   if not p.relative_to(site).parts[0].startswith("_") and p.name not in GENERATED_PAGES)
    if "index.html" not in pages:
        raise BookError(f"{site}: no index.html; build the site first (make book)")
    return pages


def screenshot_site(site: Path = SITE, out: Path = SCREENSHOTS, *, chromium: str | None = None,
                    log=print) -> list[PageResult]:
    """Screenshot and check every content page of ``site``; raise :class:`BookError` listing each failing page."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise BookError("Chromium is not installed (Debian: apt-get install -y chromium); the screenshot check "
                        "needs it")
    site = Path(site).resolve()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    with serve(site) as base_url:
        for page in content_pages(site):
            result = check_page(chromium, base_url, site, page, out)
            results.append(result)
            status = "ok" if not result.faults else "FAILED"
            log(f"book-screenshots: {page}: {result.images} images, {status} -> {result.screenshot}")
    failing = [r for r in results if r.faults]
    if failing:
        raise BookError("pages that do not render: \n  " + "\n  ".join(
            f"{r.page}: {fault}" for r in failing for fault in r.faults))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.book_screenshots",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=SITE, help="the built site (default build/book)")
    parser.add_argument("--out", type=Path, default=SCREENSHOTS, help="screenshot folder (default build/book-screenshots)")
    args = parser.parse_args(argv)
    try:
        screenshot_site(args.site, args.out)
    except BookError as exc:
        print(f"make book-screenshots: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

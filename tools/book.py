"""``make book``: the tutorial site, a static HTML book of the executed notebooks (Jupyter Book 1.x, Sphinx).

Nothing is executed and no notebook in ``notebooks/`` is written to. :func:`stage` lays out one Sphinx source tree
in a temporary folder: the book's own pages (``book/``: ``_config.yml``, ``_toc.yml``, the ``index.md`` landing
page), a copy of each executed notebook and the committed figure PNGs. The executed notebooks are, by default, the
paired ``notebooks/NN_name.ipynb`` with the full-size outputs ``make figures`` stored in them; with
``source="executed"`` they are the full-size copies ``make figures`` writes to ``build/notebooks/`` (a notebook that
``make figures`` does not run keeps its stored outputs, and its page says so). Each staged copy gets a note under
its title saying where its outputs came from, and, at its end, the full-size figures it makes (found by their
``"fig_..."`` names in the notebook source). Every figure gets alt text: its gallery caption (``book/index.md``) where
it has one, else the heading it appears under. Notebook pages carry a Binder launch button when the repository is
known (:func:`binder_repo`).

:func:`build` refuses a notebook with an error output, a table of contents that is not the notebooks in reading
order, or any Sphinx warning (a broken cross-reference, a missing image, ...), then :func:`check_site` reads every
built page and fails on an internal link or image source that points to no file (or to an anchor the target page
lacks), an image Pillow cannot decode, or a notebook page that is missing. The site is swapped into ``build/book``
only when all of that passed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import yaml

from mmr_utils import paths
from mmr_utils._io import atomic_directory

#: The book's own sources (configuration, table of contents, landing page).
BOOK_SOURCES: Path = paths.ROOT / "book"
#: Where ``make book`` puts the site.
SITE: Path = paths.BUILD / "book"
#: Where ``make figures`` writes the executed full-size notebooks.
EXECUTED: Path = paths.BUILD / "notebooks"
SOURCES = ("stored", "executed")
#: Generated Sphinx pages that are not part of the tutorial's content.
GENERATED_PAGES = {"genindex.html", "search.html", "py-modindex.html"}

_NOTEBOOK_NAME = re.compile(r"^\d\d_[A-Za-z0-9_]+$")
_FIGURE_NAME = re.compile(r"[\"'](fig_[A-Za-z0-9_]+)[\"']")
_GALLERY_BLOCK = re.compile(r"(:::\{figure\} figures/(fig_[A-Za-z0-9_]+)\.png\n)(.*?)(?=\n:::)", re.S)
_GITHUB_REMOTE = re.compile(r"^(?:git@github\.com:|https://github\.com/)([^/\s]+/[^/\s]+?)(?:\.git)?/?$")
#: Environment variable naming the GitHub repository (owner/name) the launch buttons open on Binder.
BINDER_ENV = "MMR_BINDER_REPO"


class BookError(RuntimeError):
    """The site cannot be built, or the built site is broken; the message names the file and what is wrong."""


@dataclass
class BookReport:
    """What :func:`build` produced: the site folder, its pages, where each notebook's outputs came from."""

    site: Path
    pages: list[str] = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    binder_repo: str | None = None


def notebook_stems(notebooks: Path = paths.NOTEBOOKS) -> list[str]:
    """The tutorial's notebooks (``NN_name``, from their ``.py`` sources) in reading order."""
    stems = sorted(p.stem for p in notebooks.glob("[0-9][0-9]_*.py") if _NOTEBOOK_NAME.match(p.stem))
    if not stems:
        raise BookError(f"{notebooks}: no notebooks NN_name.py found")
    return stems


def toc_files(toc: Path) -> list[str]:
    """Every ``file:`` entry of a Jupyter Book ``_toc.yml`` (root first), in the order a reader meets them."""
    try:
        data = yaml.safe_load(toc.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise BookError(f"{toc}: cannot read the table of contents ({exc})") from exc
    if not isinstance(data, dict) or "root" not in data:
        raise BookError(f"{toc}: expected a mapping with a 'root' entry (format: jb-book)")
    files = [str(data["root"])]

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(str(node["file"]))
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk({k: v for k, v in data.items() if k != "root"})
    return files


def check_toc(toc: Path, stems: list[str]) -> None:
    """Raise unless the table of contents lists ``notebooks/<stem>`` for every notebook, once each, in NN order."""
    listed = [f.removesuffix(".ipynb") for f in toc_files(toc) if f.startswith("notebooks/")]
    expected = [f"notebooks/{stem}" for stem in stems]
    missing = [f for f in expected if f not in listed]
    unknown = [f for f in listed if f not in expected]
    duplicated = sorted({f for f in listed if listed.count(f) > 1})
    problems = []
    if missing:
        problems.append(f"notebooks missing from it: {', '.join(missing)}")
    if unknown:
        problems.append(f"entries with no notebooks/NN_name.py: {', '.join(unknown)}")
    if duplicated:
        problems.append(f"listed more than once: {', '.join(duplicated)}")
    if not problems and listed != expected:
        problems.append(f"not in reading (NN) order: {listed} (expected {expected})")
    if problems:
        raise BookError(f"{toc}: " + "; ".join(problems))


def notebook_errors(notebook: nbformat.NotebookNode) -> list[str]:
    """One line per stored error output (``output_type: error``, or any output carrying ``ename``/``traceback``)."""
    found = []
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []) or []:
            if output.get("output_type") == "error" or "ename" in output or "traceback" in output:
                found.append(f"cell {index}: {output.get('ename', 'error')}: {str(output.get('evalue', ''))[:200]}")
    return found


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """Read an executed notebook; raise :class:`BookError` naming it when it is unreadable or holds an error."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as exc:  # nbformat raises several unrelated types for a bad file
        raise BookError(f"{path}: not a readable notebook ({type(exc).__name__}: {exc})") from exc
    errors = notebook_errors(notebook)
    if errors:
        raise BookError(f"{path}: the notebook stored an error output; fix it and re-execute it:\n  "
                        + "\n  ".join(errors))
    return notebook


def figure_names(source: Path) -> list[str]:
    """The figure names (``fig_...``) a notebook source saves through its ``report.figure``, in order, once each."""
    return list(dict.fromkeys(_FIGURE_NAME.findall(source.read_text())))


def notebook_inputs(stems: list[str], source: str = "stored", executed: Path = EXECUTED,
                    notebooks: Path = paths.NOTEBOOKS) -> dict[str, tuple[Path, str]]:
    """For each notebook, the executed ``.ipynb`` the site shows and a sentence saying what its outputs are.

    ``stored``: the paired ``notebooks/NN_name.ipynb`` (full-size outputs that ``make figures`` stored, small
    defaults for a notebook it does not run). ``executed``: ``make figures``'s copy in
    ``executed`` for every notebook with a full-size parameters file (missing copy: an error), the paired notebook
    for the others.
    """
    if source not in SOURCES:
        raise BookError(f"unknown notebook source {source!r}: expected one of {', '.join(SOURCES)}")
    chosen = {}
    for stem in stems:
        paired = notebooks / f"{stem}.ipynb"
        full_size = (notebooks / "params" / f"{stem}.full.yaml").is_file()
        stored_note = (f"The outputs on this page are those `make figures` stored in `notebooks/{stem}.ipynb`: the "
                       f"notebook executed at full size with `notebooks/params/{stem}.full.yaml`." if full_size else
                       f"The outputs on this page are those stored in `notebooks/{stem}.ipynb`, executed at the "
                       f"notebook's small defaults (a smoke run: a fraction of the benchmark, one seed).")
        if source == "executed" and full_size:
            copy = executed / f"{stem}.ipynb"
            if not copy.is_file():
                raise BookError(f"{copy}: no executed full-size copy of {stem}; run `make figures` first "
                                f"(or build from the stored outputs: make book)")
            chosen[stem] = (copy, f"The outputs on this page come from `make figures`: the notebook executed at full "
                                  f"size with `notebooks/params/{stem}.full.yaml`.")
        else:
            if not paired.is_file():
                raise BookError(f"{paired}: the paired notebook of notebooks/{stem}.py is missing (make sync)")
            chosen[stem] = (paired, stored_note)
    return chosen


def binder_repo() -> str | None:
    """The GitHub repository (``owner/name``) the launch buttons open on Binder: ``$MMR_BINDER_REPO``, else the
    ``origin`` remote's when it is on GitHub (as ``make binder-url``), else None (no launch buttons)."""
    value = os.environ.get(BINDER_ENV, "").strip()
    if value:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", value):
            raise BookError(f"${BINDER_ENV}={value!r}: expected a GitHub repository as owner/name")
        return value
    try:
        remote = subprocess.run(["git", "remote", "get-url", "origin"], cwd=paths.ROOT, capture_output=True,
                                text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):  # no git, or it hangs: the site is built without launch buttons
        return None
    match = _GITHUB_REMOTE.match(remote.stdout.strip()) if remote.returncode == 0 else None
    return match[1] if match else None


def plain_text(markdown: str) -> str:
    """Markdown reduced to one line of plain text for an alt attribute: links become their text, emphasis, code
    marks and square brackets go."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"[*`]", "", text).replace("[", "(").replace("]", ")")
    return " ".join(text.split())


def gallery_captions(index: Path) -> dict[str, str]:
    """Figure name -> its caption in the gallery of ``index`` (``book/index.md``), as plain text."""
    captions = {}
    for match in _GALLERY_BLOCK.finditer(index.read_text()):
        lines = [line for line in match[3].splitlines() if not line.startswith(":")]
        captions[match[2]] = plain_text(" ".join(lines))
    return captions


def with_gallery_alt_text(index_text: str) -> str:
    """The landing page with an ``:alt:`` option (its caption) added to every gallery figure that has none."""
    def add(match):
        if re.search(r"^:alt:", match[3], flags=re.M):
            return match[0]
        lines = [line for line in match[3].splitlines() if not line.startswith(":")]
        return f"{match[1]}:alt: {plain_text(' '.join(lines))}\n{match[3]}"

    return _GALLERY_BLOCK.sub(add, index_text)


def _image_alt_text(notebook: nbformat.NotebookNode, captions: dict[str, str]) -> None:
    """Give every code cell with an image output alt text (myst-nb's ``mystnb.image.alt`` cell metadata): the gallery
    captions of the figures it saves, else the heading it appears under."""
    heading = ""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            found = re.findall(r"^#{1,3}\s+(.+)$", cell.source, flags=re.M)
            heading = plain_text(found[-1]) if found else heading
            continue
        if not any("image/png" in out.get("data", {}) for out in cell.get("outputs", []) or []):
            continue
        names = _FIGURE_NAME.findall(cell.source)
        described = [captions[name] for name in names if name in captions]
        alt = " ".join(described) or (f"Figure: {heading}" if heading else "Figure output of the cell above")
        image = cell.metadata.setdefault("mystnb", {}).setdefault("image", {})
        image.setdefault("alt", alt)


def _page_notebook(notebook: nbformat.NotebookNode, note: str, figures: list[str],
                   captions: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """The staged copy of a notebook: the origin note under the title, alt text on its figures, the full-size figures
    at the end."""
    captions = captions or {}
    staged = nbformat.from_dict(notebook)
    _image_alt_text(staged, captions)
    cells = list(staged.cells)
    insert_at = 1 if cells and cells[0].cell_type == "markdown" else 0
    cells.insert(insert_at, nbformat.v4.new_markdown_cell(f":::{{note}}\n{note}\n:::"))
    if figures:
        images = "\n\n".join(f"![{captions.get(name, name)}](../figures/{name}.png)" for name in figures)
        cells.append(nbformat.v4.new_markdown_cell(
            "## Full-size figures from this notebook\n\nThe committed outputs of `make figures` (`figures/`), made by "
            f"this notebook at full size:\n\n{images}"))
    staged.cells = cells
    # The staged copy is only read by myst-nb; a kernel spec keeps it from warning about a missing one.
    staged.metadata.setdefault("kernelspec", {"name": "python3", "display_name": "Python 3", "language": "python"})
    return staged


def configure_launch_buttons(config: Path, repo: str | None) -> None:
    """Point the staged ``_config.yml``'s Binder launch buttons at ``https://github.com/<repo>``, or switch them off
    when ``repo`` is None (Jupyter Book would otherwise fill in its own repository)."""
    settings = yaml.safe_load(config.read_text())
    if repo:
        settings.setdefault("repository", {})["url"] = f"https://github.com/{repo}"
    else:
        settings.setdefault("launch_buttons", {})["binderhub_url"] = ""
    config.write_text(yaml.safe_dump(settings, sort_keys=False))


def stage(dest: Path, inputs: dict[str, tuple[Path, str]], *, book: Path = BOOK_SOURCES,
          figures: Path = paths.FIGURES, notebooks: Path = paths.NOTEBOOKS, binder: str | None = None) -> None:
    """Lay out the Sphinx source tree of the site in ``dest`` (which must be empty or absent); ``binder`` is the
    GitHub repository (owner/name) of the launch buttons, None for none."""
    for required in ("_config.yml", "_toc.yml", "index.md"):
        if not (book / required).is_file():
            raise BookError(f"{book / required}: missing (the book's sources live in {book})")
    shutil.copytree(book, dest, dirs_exist_ok=True)
    configure_launch_buttons(dest / "_config.yml", binder)
    captions = gallery_captions(book / "index.md")
    (dest / "index.md").write_text(with_gallery_alt_text((book / "index.md").read_text()))
    # The appendix pages (the paper's facts, reproducibility, adding a model) are the repository's docs/ as they are.
    shutil.copytree(paths.ROOT / "docs", dest / "docs", dirs_exist_ok=True)
    (dest / "figures").mkdir()
    for png in sorted(figures.glob("*.png")):
        shutil.copy2(png, dest / "figures" / png.name)
    (dest / "notebooks").mkdir()
    for stem, (path, note) in inputs.items():
        made = [name for name in figure_names(notebooks / f"{stem}.py") if (figures / f"{name}.png").is_file()]
        nbformat.write(_page_notebook(read_notebook(path), note, made, captions),
                       dest / "notebooks" / f"{stem}.ipynb")


def run_sphinx(source: Path, output: Path, *, python: str = sys.executable) -> str:
    """Build ``source`` with Jupyter Book into ``output/_build/html``; any Sphinx warning is an error.

    Returns the build log; raises :class:`BookError` with every warning line when the build fails.
    """
    command = [python, "-c", "import sys; from jupyter_book.cli.main import main; sys.exit(main())", "build", str(source), "--path-output", str(output),
               "--builder", "html", "--warningiserror", "--keep-going", "--all"]
    env = {**os.environ, "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=source)
    log = done.stdout + done.stderr
    if done.returncode != 0 or not (output / "_build" / "html" / "index.html").is_file():
        warnings = [line for line in log.splitlines() if "WARNING" in line or "ERROR" in line]
        detail = "\n  ".join(warnings) if warnings else log[-3000:]
        raise BookError(f"jupyter-book build of the site failed (exit {done.returncode}); every warning is an "
                        f"error (broken cross-reference, missing image, ...):\n  {detail}")
    return log


class _PageParser(HTMLParser):
    """Collects the ``id``s, link targets and image sources of one HTML page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[tuple[str, str]] = []  # (tag.attribute, url)
        self.images: list[str] = []
        self.h1: list[str] = []
        self._in_h1 = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key) and (key == "id" or tag == "a"):
                self.ids.add(attrs[key])
        for key in ("href", "src"):
            if attrs.get(key) is not None and tag in {"a", "link", "script", "img", "source", "iframe"}:
                self.links.append((f"{tag}.{key}", attrs[key]))
        if tag == "img" and attrs.get("src") is not None:
            self.images.append(attrs["src"])
        if tag == "h1":
            self._in_h1 = True
            self.h1.append("")

    def handle_endtag(self, tag):
        if tag == "h1":
            self._in_h1 = False

    def handle_data(self, data):
        if self._in_h1:
            self.h1[-1] += data


def parse_page(page: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(page.read_text(encoding="utf-8"))
    parser.close()
    return parser


def is_internal(url: str) -> bool:
    """True for a link within the site: no scheme (http:, mailto:, data:, ...) and not protocol-relative."""
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith("//")


def image_problem(data: bytes) -> str | None:
    """Why ``data`` is not a drawable raster image (empty, undecodable, zero-sized), or None when it is one."""
    from PIL import Image, UnidentifiedImageError

    if not data:
        return "empty file"
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            if image.width == 0 or image.height == 0:
                return f"zero size {image.width}x{image.height}"
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        return f"Pillow cannot decode it ({type(exc).__name__}: {exc})"
    return None


def _data_uri_bytes(url: str) -> bytes | None:
    header, _, payload = url.partition(",")
    if ";base64" not in header:
        return None
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return b""


def check_site(site: Path, stems: list[str]) -> list[str]:
    """Check a built site; return its content pages (relative paths), raise :class:`BookError` listing every fault.

    Faults: a missing landing or notebook page, a notebook page without its title, an internal ``href``/``src`` to a
    file that does not exist or to an ``#anchor`` the target page lacks, an image (file or ``data:`` URI) that is
    empty or that Pillow cannot decode (SVG files are only checked to exist).
    """
    site = Path(site)
    pages = {p.relative_to(site).as_posix(): p for p in sorted(site.rglob("*.html"))
             if not p.relative_to(site).parts[0].startswith("_")}
    parsed = {name: parse_page(page) for name, page in pages.items()}
    faults = []
    for required in ["index.html"] + [f"notebooks/{stem}.html" for stem in stems]:
        if required not in pages:
            faults.append(f"{required}: page missing from the built site")
    for stem in stems:
        page = parsed.get(f"notebooks/{stem}.html")
        if page is not None and not any(h.strip() for h in page.h1):
            faults.append(f"notebooks/{stem}.html: no title (h1); the notebook's first cell must be a # heading")
    checked_images: dict[Path, str | None] = {}
    root = site.resolve()
    for name, parser in parsed.items():
        page = pages[name]
        for where, url in parser.links:
            if url.startswith("data:"):
                if where == "img.src":
                    data = _data_uri_bytes(url)
                    problem = image_problem(data) if data is not None else None
                    if problem:
                        faults.append(f"{name}: inline image ({url[:40]}...): {problem}")
                continue
            if not url or not is_internal(url):
                continue
            parts = urlsplit(url)
            target = page.resolve() if not parts.path else (page.parent / unquote(parts.path)).resolve()
            if parts.path and target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                shown = target.relative_to(root) if target.is_relative_to(root) else target
                faults.append(f"{name}: {where}={url!r} points to {shown}, which does not exist")
                continue
            if parts.fragment and target.suffix == ".html":
                key = target.relative_to(root).as_posix()
                ids = parsed[key].ids if key in parsed else parse_page(target).ids
                if unquote(parts.fragment) not in ids:
                    faults.append(f"{name}: {where}={url!r}: no element with id {parts.fragment!r} in {key}")
            if where == "img.src" and target.suffix.lower() != ".svg":
                if target not in checked_images:
                    checked_images[target] = image_problem(target.read_bytes())
                if checked_images[target]:
                    faults.append(f"{name}: image {url!r}: {checked_images[target]}")
    if faults:
        raise BookError(f"{site}: the built site is broken ({len(faults)} problems):\n  " + "\n  ".join(faults))
    return sorted(n for n in pages if n not in GENERATED_PAGES)


def build(out: Path = SITE, *, source: str = "stored", executed: Path = EXECUTED, book: Path = BOOK_SOURCES,
          figures: Path = paths.FIGURES, notebooks: Path = paths.NOTEBOOKS, binder: str | None = "auto",
          log=print) -> BookReport:
    """Build and check the tutorial site into ``out`` (replaced only when the new site passed every check).
    ``binder``: the GitHub repository (owner/name) of the Binder launch buttons; ``"auto"``: :func:`binder_repo`."""
    started = time.perf_counter()
    if binder == "auto":
        binder = binder_repo()
    stems = notebook_stems(notebooks)
    check_toc(book / "_toc.yml", stems)
    inputs = notebook_inputs(stems, source, executed, notebooks)
    with tempfile.TemporaryDirectory(prefix="mmr-book-") as tmp:
        src, output = Path(tmp) / "src", Path(tmp) / "out"
        stage(src, inputs, book=book, figures=figures, notebooks=notebooks, binder=binder)
        run_sphinx(src, output)
        html = output / "_build" / "html"
        pages = check_site(html, stems)
        with atomic_directory(out) as target:
            shutil.copytree(html, target, dirs_exist_ok=True)
    report = BookReport(site=Path(out), pages=pages,
                        origins={stem: paths.relative_to_root(path) for stem, (path, _) in inputs.items()},
                        seconds=time.perf_counter() - started, binder_repo=binder)
    log(f"book: {len(pages)} pages in {report.seconds:.0f} s -> {Path(out) / 'index.html'}")
    log(f"book: Binder launch buttons open github.com/{binder}" if binder else
        f"book: no Binder launch buttons (no GitHub origin remote; set {BINDER_ENV}=owner/name)")
    for stem, origin in report.origins.items():
        log(f"book:   {stem}: outputs from {origin}")
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.book", description=__doc__.split("\n\n")[0])
    parser.add_argument("--from", dest="source", choices=SOURCES, default="stored",
                        help="stored: the paired notebooks' outputs (small defaults, default); executed: the "
                             "full-size copies make figures writes to build/notebooks")
    parser.add_argument("--out", type=Path, default=SITE, help="site folder (default build/book)")
    parser.add_argument("--executed", type=Path, default=EXECUTED, help="folder of make figures' executed notebooks")
    args = parser.parse_args(argv)
    try:
        build(args.out, source=args.source, executed=args.executed)
    except BookError as exc:
        print(f"make book: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

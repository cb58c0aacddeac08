"""make book: the tutorial site builds from the stored notebook outputs without a warning, and its checks catch a
broken link, a missing or corrupt image, a missing page, a notebook with an error output and a bad table of contents.
The Chromium check runs where ``chromium`` is installed (Debian: apt-get install -y chromium) and is skipped
elsewhere."""

import hashlib
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml
from PIL import Image

from mmr_utils import paths
from tools import book, book_screenshots

STEMS = book.notebook_stems()
CHROMIUM = book_screenshots.find_chromium()
BINDER = "example-owner/mmr-companion"  # the repository the launch buttons of the test site open
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not on PATH (apt-get install -y chromium)")


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.ipynb"))}


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """The site built once per session from the stored outputs, and the notebooks' digests before."""
    before = digests(paths.NOTEBOOKS)
    report = book.build(tmp_path_factory.mktemp("book") / "site", binder=BINDER, log=lambda *_: None)
    return report, before


def test_site_has_the_landing_page_and_every_notebook_in_reading_order(built):
    report, _ = built
    appendix = [f"docs/{page.stem}.html" for page in sorted((paths.ROOT / "docs").glob("*.md"))]
    assert report.pages == sorted(["index.html"] + [f"notebooks/{stem}.html" for stem in STEMS] + appendix)
    assert "docs/paper.html" in appendix and "docs/reproducibility.html" in appendix
    assert report.origins == {stem: f"notebooks/{stem}.ipynb" for stem in STEMS}
    index = (report.site / "index.html").read_text()
    first_links = [index.find(f'href="notebooks/{stem}.html"') for stem in STEMS]
    assert -1 not in first_links and first_links == sorted(first_links), "navigation not in reading order"
    assert "not the paper" in index and "MATH-V" in index


def test_building_never_writes_to_the_paired_notebooks(built):
    _, before = built
    assert digests(paths.NOTEBOOKS) == before


def test_notebook_pages_carry_their_outputs_origin_and_full_size_figures(built):
    report, _ = built
    page = (report.site / "notebooks" / "03_main_results.html").read_text()
    assert "notebooks/03_main_results.ipynb" in page and "executed at full size" in page
    assert 'src="../_images/fig_pareto.png"' in page
    assert "The outputs stored in this notebook come from" in page  # a stored output, not just the source


def test_notebook_pages_have_a_binder_launch_button_for_their_own_notebook(built):
    report, _ = built
    assert report.binder_repo == BINDER
    for stem in STEMS:
        page = (report.site / "notebooks" / f"{stem}.html").read_text()
        link = f"https://mybinder.org/v2/gh/{BINDER}/main?urlpath=lab/tree/notebooks/{stem}.ipynb"
        assert link in page, f"{stem}: no Binder launch button to {link}"


def test_without_a_repository_the_launch_buttons_are_off_not_pointing_elsewhere(tmp_path, monkeypatch):
    config = tmp_path / "_config.yml"
    shutil.copy(book.BOOK_SOURCES / "_config.yml", config)
    book.configure_launch_buttons(config, None)
    settings = yaml.safe_load(config.read_text())
    assert settings["launch_buttons"]["binderhub_url"] == "" and settings["repository"]["url"] == ""
    monkeypatch.setenv(book.BINDER_ENV, "not a repository")
    with pytest.raises(book.BookError, match="MMR_BINDER_REPO='not a repository': expected a GitHub repository"):
        book.binder_repo()
    monkeypatch.setenv(book.BINDER_ENV, "owner/name")
    assert book.binder_repo() == "owner/name"


def images_without_alt_text(html: str) -> list[str]:
    """Every <img> tag whose alt text is missing, empty, or only a file name."""
    bad = []
    for tag in re.findall(r"<img\b[^>]*>", html):
        alt = re.search(r'\balt="([^"]*)"', tag)
        if alt is None or not alt[1].strip() or re.fullmatch(r"[\w./-]+\.(png|svg|jpe?g)", alt[1].strip()):
            bad.append(tag[:160])
    return bad


def test_every_figure_of_the_site_has_alt_text(built):
    report, _ = built
    pages = ["index.html"] + [f"notebooks/{stem}.html" for stem in STEMS]
    missing = {page: images_without_alt_text((report.site / page).read_text()) for page in pages}
    assert {page: tags for page, tags in missing.items() if tags} == {}
    page = (report.site / "notebooks" / "03_main_results.html").read_text()
    caption = book.gallery_captions(book.BOOK_SOURCES / "index.md")["fig_pareto"]
    assert f'alt="{caption[:40]}' in page.replace("&quot;", '"')


def gallery_blocks() -> dict[str, str]:
    text = (book.BOOK_SOURCES / "index.md").read_text()
    blocks = re.findall(r":::\{figure\} figures/(fig_\w+)\.png\n(.*?)\n:::", text, flags=re.S)
    return dict(blocks)


def test_gallery_shows_every_committed_figure_and_names_the_notebook_that_makes_it():
    makers = {name: stem for stem in STEMS for name in book.figure_names(paths.NOTEBOOKS / f"{stem}.py")}
    blocks = gallery_blocks()
    committed = sorted(p.stem for p in paths.FIGURES.glob("fig_*.png"))
    assert committed and sorted(blocks) == committed
    for name, block in blocks.items():
        assert name in makers, f"no notebook source names {name}"
        assert f"(notebooks/{makers[name]}.ipynb)" in block, f"gallery entry {name} does not link {makers[name]}"


def test_gallery_images_are_in_the_built_site(built):
    report, _ = built
    index = (report.site / "index.html").read_text()
    for name in gallery_blocks():
        assert f'src="_images/{name}.png"' in index
        assert (report.site / "_images" / f"{name}.png").stat().st_size > 0


def test_check_site_reports_every_kind_of_broken_page(built, tmp_path):
    report, _ = built
    site = tmp_path / "site"
    shutil.copytree(report.site, site)
    index = site / "index.html"
    index.write_text(index.read_text().replace("</body>", '<a href="notebooks/nope.html">x</a>'
                     '<img src="_images/missing.png"><a href="notebooks/01_data_tour.html#no-such-anchor">y</a></body>'))
    (site / "_images" / "fig_pareto.png").write_bytes(b"not a png")
    (site / "notebooks" / "08_sweep_point.html").unlink()
    with pytest.raises(book.BookError) as caught:
        book.check_site(site, STEMS)
    message = str(caught.value)
    assert "notebooks/08_sweep_point.html: page missing" in message
    assert "notebooks/nope.html" in message and "does not exist" in message
    assert "_images/missing.png" in message
    assert "no-such-anchor" in message
    assert "fig_pareto.png" in message and "Pillow cannot decode" in message


def test_check_site_passes_the_built_site(built):
    report, _ = built
    assert book.check_site(report.site, STEMS) == report.pages


def copy_notebooks(tmp_path: Path) -> Path:
    notebooks = tmp_path / "notebooks"
    shutil.copytree(paths.NOTEBOOKS, notebooks, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return notebooks


def test_a_notebook_with_an_error_output_stops_the_build(tmp_path):
    notebooks = copy_notebooks(tmp_path)
    path = notebooks / "03_main_results.ipynb"
    notebook = nbformat.read(path, as_version=4)
    code = next(i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code")
    notebook.cells[code].outputs.append(nbformat.v4.new_output("error", ename="ValueError", evalue="bad split",
                                                               traceback=["Traceback ...", "ValueError: bad split"]))
    nbformat.write(notebook, path)
    with pytest.raises(book.BookError, match=rf"03_main_results\.ipynb.*\n.*cell {code}: ValueError: bad split"):
        book.build(tmp_path / "site", notebooks=notebooks, log=lambda *_: None)
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("edit, expected", [
    (lambda files: files[:-1], f"missing from it: notebooks/{STEMS[-1]}"),
    (lambda files: files + files[-1:], f"listed more than once: notebooks/{STEMS[-1]}"),
    (lambda files: files[1:2] + files[:1] + files[2:], "not in reading (NN) order"),
    (lambda files: files + ["notebooks/99_extra"], "no notebooks/NN_name.py: notebooks/99_extra"),
])
def test_the_table_of_contents_must_list_every_notebook_once_in_order(tmp_path, edit, expected):
    files = edit([f"notebooks/{stem}" for stem in STEMS])
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: index\nchapters:\n" + "".join(f"  - file: {f}\n" for f in files))
    with pytest.raises(book.BookError, match=re.escape(expected)):
        book.check_toc(toc, STEMS)


def test_the_committed_table_of_contents_is_complete():
    book.check_toc(book.BOOK_SOURCES / "_toc.yml", STEMS)


def test_a_sphinx_warning_such_as_a_missing_image_fails_the_build(tmp_path):
    sources = tmp_path / "book"
    shutil.copytree(book.BOOK_SOURCES, sources)
    index = sources / "index.md"
    index.write_text(index.read_text() + "\n![gone](figures/fig_does_not_exist.png)\n")
    with pytest.raises(book.BookError, match=r"(?s)WARNING.*fig_does_not_exist\.png"):
        book.build(tmp_path / "site", book=sources, log=lambda *_: None)
    assert not (tmp_path / "site").exists()


def test_the_executed_source_uses_make_figures_copies_and_names_a_missing_one(tmp_path):
    with pytest.raises(book.BookError, match=r"01_data_tour\.ipynb: no executed full-size copy .*make figures"):
        book.notebook_inputs(STEMS, "executed", executed=tmp_path)
    for stem in STEMS:
        shutil.copy(paths.NOTEBOOKS / f"{stem}.ipynb", tmp_path / f"{stem}.ipynb")
    chosen = book.notebook_inputs(STEMS, "executed", executed=tmp_path)
    full = {p.name.removesuffix(".full.yaml") for p in (paths.NOTEBOOKS / "params").glob("*.full.yaml")}
    assert full and full < set(STEMS)
    for stem, (path, note) in chosen.items():
        if stem in full:
            assert path == tmp_path / f"{stem}.ipynb" and "make figures" in note
        else:
            assert path == paths.NOTEBOOKS / f"{stem}.ipynb" and "small defaults" in note
    with pytest.raises(book.BookError, match="unknown notebook source"):
        book.notebook_inputs(STEMS, "latest")


def test_a_single_colour_screenshot_counts_as_blank(tmp_path):
    blank, drawn = tmp_path / "blank.png", tmp_path / "drawn.png"
    Image.new("RGB", (64, 64), "white").save(blank)
    image = Image.new("RGB", (64, 64), "white")
    image.putpixel((3, 3), (0, 0, 0))
    image.save(drawn)
    assert "blank" in book_screenshots.screenshot_problem(blank)
    assert book_screenshots.screenshot_problem(drawn) is None
    assert "no screenshot" in book_screenshots.screenshot_problem(tmp_path / "absent.png")


@needs_chromium
@pytest.mark.slow
def test_every_page_renders_in_headless_chromium(built, tmp_path):
    report, _ = built
    results = book_screenshots.screenshot_site(report.site, tmp_path, log=lambda *_: None)
    assert [r.page for r in results] == report.pages
    assert all(not r.faults for r in results)
    assert sum(r.images for r in results) >= len(gallery_blocks())
    for result in results:
        assert book_screenshots.screenshot_problem(result.screenshot) is None
        with Image.open(result.screenshot) as shot:
            assert shot.size == book_screenshots.WINDOW


@needs_chromium
def test_chromium_check_fails_a_page_whose_figure_does_not_render(built, tmp_path):
    report, _ = built
    site = tmp_path / "site"
    shutil.copytree(report.site, site)
    (site / "_images" / "fig_pareto.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    with book_screenshots.serve(site) as url:
        result = book_screenshots.check_page(CHROMIUM, url, site, "notebooks/03_main_results.html", tmp_path / "shots")
    assert any("fig_pareto.png" in f and "did not render in Chromium" in f for f in result.faults), result.faults
    assert any("Pillow cannot decode" in f for f in result.faults), result.faults
    assert result.screenshot.is_file()

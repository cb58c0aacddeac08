"""MATH-V without ../shared: the pinned download (tested on local archives), its checks, the source resolution order,
and the small real sample that ships with the project."""

import io
import json
import tarfile

import numpy as np
import pytest
from PIL import Image

from mmr_utils import paths
from mmr_utils._archive import UnsafeArchiveError, safe_extract_tar, sha256_file
from mmr_utils.data import mathv, mathv_snapshot
from mmr_utils.data.mathv_snapshot import (
    MathVUnavailableError,
    SnapshotMismatchError,
    download_snapshot,
    images_digest,
    resolve_source,
    verify_snapshot,
)

COMMIT = mathv_snapshot.UPSTREAM_COMMIT


def _jpeg(size=(300, 200), colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="JPEG")
    return buffer.getvalue()


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))


@pytest.fixture
def fake_upstream(tmp_path):
    """A MATH-V-shaped repository tree (with code and assets that must not be kept) and its manifest."""
    tree = tmp_path / "upstream"
    items = [{"id": str(i), "question": f"What is shown? <image1> ({i})", "answer": "A", "subject": "logic",
              "level": 1, "image": f"images/{i}.jpg"} for i in range(1, 5)]
    write_jsonl(tree / "data" / "test.jsonl", items)
    write_jsonl(tree / "data" / "testmini.jsonl", items[:2])
    (tree / "images").mkdir()
    for i in range(1, 5):
        (tree / "images" / f"{i}.jpg").write_bytes(_jpeg(colour=(40 * i, 10, 10)))
    for model in ("Gemini-Pro", "SPHINX-v2"):
        write_jsonl(tree / "outputs" / "x" / f"{model}.jsonl",
                    [{"id": str(i), "response": "The answer is A " * i, "model_answer": "A", "correct": i % 2 == 0}
                     for i in range(1, 5)])
    (tree / "LICENSE").write_text("MIT License\n")
    (tree / "README.md").write_text("not kept\n")
    (tree / "evaluation").mkdir()
    (tree / "evaluation" / "evaluate.py").write_text("print('not kept')\n")
    files = {p.relative_to(tree).as_posix(): (p.stat().st_size, sha256_file(p)) for p in sorted(tree.rglob("*.jsonl"))}
    count, total, digest = images_digest(tree)
    return tree, files, {"count": count, "bytes": total, "digest": digest}


def make_archive(tree, path, extra=None):
    """A GitHub-style archive: everything under ``MATH-V-<commit>/``; ``extra`` adds raw members."""
    with tarfile.open(path, "w:gz") as tar:
        tar.add(tree, arcname=f"MATH-V-{COMMIT}")
        for member, data in extra or []:
            tar.addfile(member, io.BytesIO(data) if data is not None else None)
    return path


def test_download_from_local_archive_keeps_data_and_verifies(fake_upstream, tmp_path):
    tree, files, images = fake_upstream
    archive = make_archive(tree, tmp_path / "snap.tar.gz")
    dest = download_snapshot(tmp_path / "data" / "mathv-source", url=archive.as_uri(), files=files, images=images)
    assert (dest / "data" / "test.jsonl").read_bytes() == (tree / "data" / "test.jsonl").read_bytes()
    assert (dest / "LICENSE").is_file() and (dest / mathv_snapshot.VERIFIED_MARKER).is_file()
    assert not (dest / "README.md").exists() and not (dest / "evaluation").exists()
    verify_snapshot(dest, files=files, images=images)
    assert not [p for p in dest.parent.iterdir() if p.name.startswith(".")], "no temporary folder left behind"


def test_download_with_changed_content_is_refused_and_nothing_is_left(fake_upstream, tmp_path):
    tree, files, images = fake_upstream
    (tree / "data" / "test.jsonl").write_text("tampered\n")
    archive = make_archive(tree, tmp_path / "snap.tar.gz")
    dest = tmp_path / "data" / "mathv-source"
    with pytest.raises(SnapshotMismatchError, match=r"data/test\.jsonl: .*expected"):
        download_snapshot(dest, url=archive.as_uri(), files=files, images=images)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []


def test_a_changed_image_is_detected(fake_upstream):
    tree, files, images = fake_upstream
    (tree / "images" / "3.jpg").write_bytes(_jpeg(colour=(1, 2, 3)))
    with pytest.raises(SnapshotMismatchError, match="images/"):
        verify_snapshot(tree, files=files, images=images)


@pytest.mark.parametrize("name, kind", [
    (f"MATH-V-{COMMIT}/../../evil.txt", tarfile.REGTYPE),
    ("/tmp/evil-absolute.txt", tarfile.REGTYPE),
    (f"MATH-V-{COMMIT}/data/link.jsonl", tarfile.SYMTYPE),
    (f"MATH-V-{COMMIT}/data/hard.jsonl", tarfile.LNKTYPE),
    (f"MATH-V-{COMMIT}/data/fifo", tarfile.FIFOTYPE),
])
def test_unsafe_members_refuse_the_whole_archive(fake_upstream, tmp_path, name, kind):
    tree, files, images = fake_upstream
    member = tarfile.TarInfo(name)
    member.type = kind
    data = b"x" if kind == tarfile.REGTYPE else None
    member.size = len(data) if data else 0
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        member.linkname = "/etc/passwd"
    archive = make_archive(tree, tmp_path / "evil.tar.gz", extra=[(member, data)])
    dest = tmp_path / "out"
    with pytest.raises(UnsafeArchiveError, match="member"):
        download_snapshot(dest, url=archive.as_uri(), files=files, images=images)
    assert not dest.exists()
    assert not (tmp_path / "evil.txt").exists()


def test_not_a_tar_file_is_a_one_line_error(tmp_path):
    bogus = tmp_path / "bogus.tar.gz"
    bogus.write_text("<html>rate limited</html>")
    with pytest.raises(tarfile.ReadError, match="bogus.tar.gz: not a readable tar archive"):
        safe_extract_tar(bogus, tmp_path / "out")


def test_offline_without_local_copy_says_the_three_ways(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "DATA", tmp_path / "data")
    monkeypatch.setenv(mathv_snapshot.NO_SHARED_ENV, "1")
    with pytest.raises(MathVUnavailableError) as info:
        download_snapshot(tmp_path / "data" / "mathv-source", url=(tmp_path / "absent.tar.gz").as_uri())
    message = str(info.value)
    assert "MATHV=" in message and "beside the checkout" in message and "download" in message
    with pytest.raises(MathVUnavailableError, match="not allowed"):
        resolve_source(download=False)


def test_resolution_order(fake_upstream, tmp_path, monkeypatch):
    tree, _, _ = fake_upstream
    monkeypatch.setattr(paths, "DATA", tmp_path / "data")
    monkeypatch.setattr(paths, "SHARED_MATHV", tree)
    monkeypatch.delenv(mathv_snapshot.NO_SHARED_ENV, raising=False)
    other = tmp_path / "other"
    (other / "data").mkdir(parents=True)
    assert resolve_source(other) == (other, "explicit path")
    assert resolve_source() == (tree, "copy beside the checkout")
    monkeypatch.setenv(mathv_snapshot.NO_SHARED_ENV, "1")
    downloaded = tmp_path / "data" / mathv_snapshot.DOWNLOAD_DIR_NAME
    (downloaded / "data").mkdir(parents=True)
    (downloaded / mathv_snapshot.VERIFIED_MARKER).write_text("ok\n")
    assert resolve_source(download=False) == (downloaded, "earlier download")
    with pytest.raises(MathVUnavailableError, match="not a MATH-V folder"):
        resolve_source(tmp_path / "nowhere")


def test_build_sample_downscales_and_keeps_outcomes(fake_upstream, tmp_path):
    tree, _, _ = fake_upstream
    out = mathv.build_sample(tree, tmp_path / "sample", split="testmini", max_side=64)
    table = mathv.load_table(out)
    assert table.n == 2 and set(table.models) == {"Gemini-Pro", "SPHINX-v2"}
    np.testing.assert_array_equal(table.correct[:, 0], [0, 1])
    for image in (out / "images" / "MathVision").iterdir():
        with Image.open(image) as img:
            assert max(img.size) == 64
    assert (out / "LICENSE").read_text() == "MIT License\n"
    assert "downscaled to at most 64 pixels" in (out / "SOURCE.md").read_text()
    assert not (out / "converted").exists()


# ---------------------------------------------------------------------------------------------- the shipped sample
def test_shipped_sample_is_small_complete_and_licensed():
    sample = mathv.SAMPLE_DIR
    files = [p for p in sample.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) <= 3 * 1024 * 1024
    assert (sample / "LICENSE").read_text().startswith("MIT License")
    assert "testmini" in (sample / "SOURCE.md").read_text()
    table = mathv.load_mathv("sample")
    assert table.n == 304 and len(table.models) == 15 and bool(table.mask.all())
    assert table.has_images.all()
    assert table.source["variant"].startswith("testmini sample (304 items")
    for image in sorted((sample / "images" / "MathVision").iterdir())[:20]:
        with Image.open(image) as img:
            assert max(img.size) <= mathv.SAMPLE_MAX_SIDE


def test_auto_falls_back_to_the_sample_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "DATA", tmp_path / "data")
    monkeypatch.setenv(mathv_snapshot.NO_SHARED_ENV, "1")
    table = mathv.load_mathv("auto", out_dir=tmp_path / "data" / "mathv")
    assert table.n == 304
    assert "full set was not available" in table.source["variant"]


needs_shared = pytest.mark.skipif(not (paths.SHARED_MATHV / "data").is_dir(), reason="no MATH-V copy beside the checkout")


@needs_shared
def test_pinned_manifest_matches_the_copy_beside_the_checkout():
    verify_snapshot(paths.SHARED_MATHV)


@needs_shared
def test_shipped_sample_is_what_build_sample_makes(tmp_path):
    rebuilt = mathv.build_sample(paths.SHARED_MATHV, tmp_path / "sample")
    shipped = mathv.SAMPLE_DIR
    names = sorted(p.relative_to(shipped).as_posix() for p in shipped.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(rebuilt).as_posix() for p in rebuilt.rglob("*") if p.is_file())
    for name in names:
        assert (rebuilt / name).read_bytes() == (shipped / name).read_bytes(), name


@pytest.mark.parametrize("content", [b"<!DOCTYPE html><html><body>rate limited</body></html>", b"", "cut"])
def test_an_invalid_download_says_so_and_lists_the_three_ways(fake_upstream, tmp_path, monkeypatch, capsys, content):
    """An HTML page, an empty file or a cut-off archive arriving instead of the snapshot: one message saying the
    download was not a valid archive, with the three ways to provide MATH-V; nothing left behind."""
    import functools

    tree, files, images = fake_upstream
    bad = tmp_path / "download.tar.gz"
    if content == "cut":
        whole = make_archive(tree, tmp_path / "whole.tar.gz").read_bytes()
        content = whole[: len(whole) // 2]
    bad.write_bytes(content)
    data = tmp_path / "data"
    with pytest.raises(MathVUnavailableError) as info:
        download_snapshot(data / "mathv-source", url=bad.as_uri(), files=files, images=images)
    message = str(info.value)
    assert "was not a valid archive" in message and bad.as_uri() in message
    assert "MATHV=" in message and "beside the checkout" in message and "be online once" in message
    assert not (data / "mathv-source").exists() and not [p for p in data.iterdir() if p.name.startswith(".")]
    # Through the command line: exit 1 and the message, no traceback.
    monkeypatch.setattr(paths, "DATA", data)
    monkeypatch.setenv(mathv_snapshot.NO_SHARED_ENV, "1")
    monkeypatch.setattr(mathv_snapshot, "download_snapshot",
                        functools.partial(download_snapshot, url=bad.as_uri(), files=files, images=images))
    from mmr_utils.cli import main

    assert main(["data-mathv", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "was not a valid archive" in err and "Provide it in one of three ways" in err and "Traceback" not in err

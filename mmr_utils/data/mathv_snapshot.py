"""Where MATH-V comes from: the pinned upstream snapshot, its content check, and the source resolution order.

:func:`resolve_source` takes the first of: an explicit path; ``../shared/data/math-v`` (skipped with
``MMR_NO_SHARED_DATA=1``); an earlier download in ``data/mathv-source``; a download of GitHub ``mathllm/MATH-V`` at
:data:`UPSTREAM_COMMIT` (MIT), unpacked with :func:`mmr_utils._archive.safe_extract_tar`, checked file by file against
:data:`SNAPSHOT_FILES` and :data:`SNAPSHOT_IMAGES` (archives are not byte-stable) and swapped in atomically."""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path, PurePosixPath

from mmr_utils import paths
from mmr_utils._archive import safe_extract_tar, sha256_file
from mmr_utils._io import atomic_directory, atomic_write_text

UPSTREAM_REPO = "mathllm/MATH-V"
UPSTREAM_COMMIT = "a1f5cc3add200c0cd080fad463e500f44ef1fb41"
UPSTREAM_LICENSE = "MIT"
ARCHIVE_URL = f"https://codeload.github.com/{UPSTREAM_REPO}/tar.gz/{UPSTREAM_COMMIT}"
#: Set to ``1`` to ignore the copy beside the checkout (as on a user's fresh clone).
NO_SHARED_ENV = "MMR_NO_SHARED_DATA"
#: Folder a download goes to (under the data folder, git-ignored).
DOWNLOAD_DIR_NAME = "mathv-source"
#: Name of the marker a verified download leaves, with the commit it was checked against.
VERIFIED_MARKER = ".verified"

SNAPSHOT_FILES: dict[str, tuple[int, str]] = {
    'data/test.jsonl': (1741681, "36608758db6205692f59423316ba281a4e2e5f23286452ae31739ed4278133a8"),
    'data/testmini.jsonl': (131218, "449e238b768f702e2659543495f2c87ee1f41a9e9c013d174daf12029756227a"),
    'outputs/Random-Chance.jsonl': (306453, "62e3a58baa4ee754288727449b49cd22b365da52070a34e47321314260f5ff80"),
    'outputs/closed-source/GPT/ChatGPT3.5-CoT (Text+Image Caption).jsonl': (3039919, "a9193a8802067ba1c14df7617d5ed23e8a41f047ef39d269149a362871844e9d"),
    'outputs/closed-source/GPT/GPT4-CoT (Text Only).jsonl': (2820600, "b334c51b2c700d881977af3c6f6bbf7229e516e35559d2c7372f277488c8470b"),
    'outputs/closed-source/Gemini/Gemini-Pro-CoT.jsonl': (2150413, "c0c8ac98c83fbf79d5c36d44b7d6244c7a90e6dfb31c679bf9631b554bbb06b5"),
    'outputs/closed-source/Gemini/Gemini-Pro.jsonl': (319395, "843eab7f62a4ee08cee67e3b2c987d9ba9e6f70501a1c9eb7328fefc2ea3d096"),
    'outputs/closed-source/Qwen/Qwen-VL-Max-CoT.jsonl': (1792811, "3f3f7e5d91350b563e8350df09b91c5064554e3335837905567f5f59117f2b88"),
    'outputs/closed-source/Qwen/Qwen-VL-Max.jsonl': (295925, "9d0bb4202894b761b0994712293bd05a787a2b06d03443e80ea49d0e84441604"),
    'outputs/closed-source/Qwen/Qwen-VL-Plus.jsonl': (398258, "8547679ae104f8167ab1bbe18682fcf68a8582cbdd54f881d897959d34e25728"),
    'outputs/open-source/Internlm/InternLM-XComposer2-VL-CoT.jsonl': (1118205, "cbc4b35805361b0f70a28fa8db14b2e8f66692f3912130c95bbb678deff8ebf9"),
    'outputs/open-source/Internlm/InternLM-XComposer2-VL.jsonl': (627257, "2567ab02c110dd14d466f22da43ed70bd9515a219d7b28d46d6ecf710a5d2a61"),
    'outputs/open-source/LLavA/LLaVA-v1.5-13B.jsonl': (302676, "9c19cbe187fd60990735062c074e9b9d921e784ea4bf12a7225eba18eb851d35"),
    'outputs/open-source/LLavA/LLaVA-v1.5-7B.jsonl': (305348, "8cdc32717b99afc60a0bfca857f3a4ccfa5a20ef3b95cdcf636e3c57840c8eb7"),
    'outputs/open-source/ShereGPT4V/ShareGPT4V-13B.jsonl': (302907, "1d521df81ee1c1fa0c5ac0bdb842d8ca52d83a963eea9e6eb3c340fa4fb5d9a7"),
    'outputs/open-source/ShereGPT4V/ShareGPT4V-7B.jsonl': (300701, "24539ac332d484f37cefa02757765db74287d15b84b0195bed34459da50c727b"),
    'outputs/open-source/Sphinx/SPHINX-MoE.jsonl': (293035, "fd9f3b03f625cb064949ffaad2d5c12c9062f66a9594d7d683965b249705d747"),
    'outputs/open-source/Sphinx/SPHINX-v2.jsonl': (299678, "46d39e661c5536f06a945a397bda204e9f3f9367955e31b233399055bbafd32d"),
}
#: The 3040 images: count, total bytes, and sha256 over the sorted lines ``images/<name>\t<size>\t<sha256>\n``.
SNAPSHOT_IMAGES: dict[str, object] = {
    "count": 3040,
    "bytes": 89722173,
    "digest": "2efe35d65e7c5473580b49e05bce551fe12f6f1889b93f23d511aa3cd3e69333",
}
#: What of the upstream repository is kept (the rest: code, figures, assets).
KEPT_TOP_LEVEL = ("data", "images", "outputs", "LICENSE")


class MathVUnavailableError(FileNotFoundError):
    """No MATH-V copy could be found or fetched; the message lists the three ways to provide one."""


class SnapshotMismatchError(ValueError):
    """A MATH-V folder's files differ from the pinned snapshot; the message lists the differences."""


def unavailable_message(reason: str) -> str:
    return (
        f"MATH-V is not available ({reason}). Provide it in one of three ways:\n"
        f"  1. point at a MATH-V folder: make data-mathv MATHV=/path/to/math-v  (or --source PATH);\n"
        f"  2. put the copy beside the checkout at {os.path.relpath(paths.SHARED_MATHV, paths.ROOT)};\n"
        f"  3. be online once: make data-mathv downloads {UPSTREAM_REPO}@{UPSTREAM_COMMIT[:7]} ({UPSTREAM_LICENSE}) "
        f"into data/{DOWNLOAD_DIR_NAME}.\n"
        f"Notebook 7 runs without any of them on the shipped 304-item testmini sample (mathv='sample')."
    )


def images_digest(folder: Path) -> tuple[int, int, str]:
    """(count, total bytes, digest) of ``folder/images/*`` as recorded in :data:`SNAPSHOT_IMAGES`."""
    files = sorted(p for p in (folder / "images").glob("*") if p.is_file())
    lines = "".join(f"images/{p.name}\t{p.stat().st_size}\t{sha256_file(p)}\n" for p in files)
    return len(files), sum(p.stat().st_size for p in files), hashlib.sha256(lines.encode()).hexdigest()


def verify_snapshot(folder, *, files=None, images=None) -> None:
    """Check ``folder`` against the snapshot (sizes, sha256); :class:`SnapshotMismatchError` lists every difference."""
    folder = Path(folder)
    files = SNAPSHOT_FILES if files is None else files
    images = SNAPSHOT_IMAGES if images is None else images
    problems = []
    for rel, (size, digest) in files.items():
        path = folder / rel
        if not path.is_file():
            problems.append(f"{rel}: missing")
        elif path.stat().st_size != size:
            problems.append(f"{rel}: {path.stat().st_size} bytes, expected {size}")
        elif sha256_file(path) != digest:
            problems.append(f"{rel}: sha256 differs from the pinned snapshot")
    if images:
        count, total, digest = images_digest(folder)
        if (count, total, digest) != (images["count"], images["bytes"], images["digest"]):
            problems.append(f"images/: {count} files, {total} bytes, digest {digest[:12]}; expected "
                            f"{images['count']} files, {images['bytes']} bytes, digest {str(images['digest'])[:12]}")
    if problems:
        raise SnapshotMismatchError(f"{folder} is not the pinned MATH-V snapshot {UPSTREAM_COMMIT[:7]}:\n  - "
                                    + "\n  - ".join(problems))


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _kept(path: PurePosixPath) -> bool:
    return bool(path.parts) and path.parts[0] in KEPT_TOP_LEVEL


def download_snapshot(dest=None, *, url: str = ARCHIVE_URL, files=None, images=None, timeout: float = 60.0) -> Path:
    """Download the pinned MATH-V snapshot from ``url``, unpack its data files safely, check sizes and sha256 and swap
    it in at ``dest`` (default ``data/mathv-source``) atomically, only if every check passed. Offline or not a readable
    archive (HTML error page, empty or cut-off): :class:`MathVUnavailableError` naming the three ways to provide it."""
    dest = Path(dest) if dest is not None else paths.DATA / DOWNLOAD_DIR_NAME
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".mathv-download-", dir=dest.parent) as scratch:
        archive = Path(scratch) / "snapshot.tar.gz"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(archive, "wb") as handle:
                shutil.copyfileobj(response, handle, 1 << 20)
        except (urllib.error.URLError, OSError, TimeoutError) as err:
            raise MathVUnavailableError(unavailable_message(f"download of {url} failed: {err}")) from err
        with atomic_directory(dest) as tmp:
            try:
                safe_extract_tar(archive, tmp, strip_components=1, keep=_kept)
            except tarfile.ReadError as err:
                size = archive.stat().st_size
                detail = _first_line(err).replace(f"{archive}: ", "")
                raise MathVUnavailableError(unavailable_message(
                    f"the download from {url} was not a valid archive: {size} bytes, {detail}; it may be an "
                    f"error page or cut off")) from None
            verify_snapshot(tmp, files=files, images=images)
            atomic_write_text(tmp / VERIFIED_MARKER, f"{UPSTREAM_REPO}@{UPSTREAM_COMMIT}\n{url}\n")
    return dest


def resolve_source(explicit=None, *, download: bool = True) -> tuple[Path, str]:
    """The MATH-V folder to use and how it was found (module docstring: explicit path, beside the checkout, an
    earlier download, a new download). Raises :class:`MathVUnavailableError` when none applies."""
    if explicit:
        path = Path(explicit)
        path = path if path.is_absolute() else paths.ROOT / path
        if not (path / "data").is_dir():
            raise MathVUnavailableError(unavailable_message(f"{explicit} has no data/ folder: not a MATH-V folder"))
        return path, "explicit path"
    if os.environ.get(NO_SHARED_ENV, "0") != "1" and (paths.SHARED_MATHV / "data").is_dir():
        return paths.SHARED_MATHV, "copy beside the checkout"
    downloaded = paths.DATA / DOWNLOAD_DIR_NAME
    if (downloaded / VERIFIED_MARKER).is_file():
        return downloaded, "earlier download"
    if not download:
        raise MathVUnavailableError(unavailable_message("no local copy, and downloading was not allowed here"))
    return download_snapshot(downloaded), f"downloaded {UPSTREAM_REPO}@{UPSTREAM_COMMIT[:7]}"

"""Atomic file output: a reader never sees a half-written file, a crash never leaves one behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask, read without changing it where the system allows (Linux: /proc/self/status)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    with _UMASK_LOCK:  # os.umask can only be read by setting it; restore it at once
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path``; on success rename it over ``path`` (atomic, plain ``open`` mode)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        os.chmod(tmp, 0o666 & ~current_umask())
        with open(tmp, mode, **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically (UTF-8) and return the path."""
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_open(path, "wb") as handle:
        handle.write(data)
    return Path(path)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Build a folder under a temporary name beside ``path``; once complete swap it in (with the mode a plain
    ``mkdir`` would give), on error remove it. An existing file at ``path`` is a :class:`FileExistsError`."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"{path} is an existing file, not a folder: choose a folder path for this output (the "
                              f"file was left as it is)")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, 0o777 & ~current_umask())
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


#: Written into every data command's output folder; a folder holding it (a JSON object) may be replaced.
PROVENANCE_FILE = "provenance.json"


def _written_by_project(folder: Path, marker: str) -> bool:
    import json

    try:
        record = json.loads((folder / marker).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(record, dict)


def check_replaceable_folder(path: str | os.PathLike, *, force: bool = False, marker: str = PROVENANCE_FILE,
                             option: str = "--force") -> Path:
    """``path``, if a command's output folder may replace it: absent, empty, or holding ``marker`` (written by this
    project); another folder only with ``force``, a file never (else :class:`FileExistsError`)."""
    path = Path(path)
    if not path.exists():
        return path
    if not path.is_dir():
        raise FileExistsError(f"{path} is an existing file, not a folder: choose a folder path for this output (the "
                              f"file was left as it is)")
    entries = sorted(path.iterdir())
    if force or not entries or _written_by_project(path, marker):
        return path
    shown = [entry.name + ("/" if entry.is_dir() else "") for entry in entries[:5]]
    more = f" and {len(entries) - 5} more" if len(entries) > 5 else ""
    raise FileExistsError(f"{path} is not empty and was not written by this project (no {marker} in it); it holds "
                          f"{', '.join(shown)}{more}. Choose a new or empty folder, or pass {option} to replace the "
                          f"folder and everything in it")

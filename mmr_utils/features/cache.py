"""Content-addressed on-disk cache of embeddings (paper Sec. 3, "query features"): one ``.npz`` file per encoder
identity (name, model id, revision, dtype), keyed by the sha256 of the encoded content (a question's UTF-8 bytes, an
image file's bytes), written atomically; concurrent writers take an advisory lock and merge with what is on disk."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import warnings
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mmr_utils import paths
from mmr_utils._io import atomic_open

CACHE_FORMAT_VERSION = 1
_HASH_PATTERN = re.compile(r"^[0-9a-f]{64}$")


class CacheError(Exception):
    """Base of the project's cache errors; the message names the file or folder and what to do."""


class CacheFormatError(CacheError, ValueError):
    """A cache file was written for another encoder identity, format version or embedding width."""


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def text_hash(text: str) -> str:
    """Content key of a question text: sha256 of its UTF-8 bytes."""
    if not isinstance(text, str):
        raise TypeError(f"text_hash expects a str, got {type(text).__name__}")
    return sha256_bytes(text.encode("utf-8"))


def file_hash(path: str | os.PathLike, chunk_size: int = 1 << 20) -> str:
    """Content key of a file (e.g. an image): sha256 of its bytes, read in chunks so memory stays bounded."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class CacheKey:
    """An encoder's identity: equal keys map equal content to equal embeddings (``revision``/``dtype`` hold changes)."""

    encoder: str
    model_id: str
    revision: str
    dtype: str

    def file_stem(self) -> str:
        """A readable, file-system-safe name that is unique for the key (readable prefix + hash of the full key)."""
        readable = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{self.encoder}__{Path(self.model_id).name}__{self.dtype}")
        digest = sha256_bytes(json.dumps(asdict(self), sort_keys=True).encode("utf-8"))[:16]
        return f"{readable[:80]}__{digest}"


class EmbeddingCache:
    """Embeddings of one encoder identity, keyed by content hash, stored in ``<cache_dir>/<key.file_stem()>.npz``."""

    def __init__(self, key: CacheKey, cache_dir: str | os.PathLike | None = None):
        self.key = key
        self.cache_dir = Path(cache_dir) if cache_dir is not None else paths.CACHE
        self.path = self.cache_dir / f"{key.file_stem()}.npz"
        self._lock_path = self.cache_dir / f".{key.file_stem()}.lock"

    def _read(self) -> tuple[dict[str, int], np.ndarray]:
        """(hash -> row, values) from disk; a missing or damaged file reads as empty (damaged: with a warning, and
        the next :meth:`add` replaces it); another encoder's or format's archive is a :class:`CacheFormatError`."""
        empty = {}, np.zeros((0, 0), dtype=np.float32)
        if not self.path.exists():
            return empty
        try:
            with np.load(self.path, allow_pickle=False) as archive:
                hashes = archive["hashes"]
                values = archive["values"]
                stored_key = json.loads(str(archive["key"]))
                version = int(archive["format_version"])
            if values.ndim != 2 or hashes.ndim != 1 or len(hashes) != len(values):
                raise ValueError(f"{len(hashes)} keys but values of shape {values.shape}")
        except (OSError, KeyError, ValueError, TypeError, EOFError, zipfile.BadZipFile) as error:
            warnings.warn(
                f"embedding cache {self.path} is unreadable ({type(error).__name__}: {error}); treating it as empty: "
                f"its embeddings are recomputed and the file is replaced (`make clean-cache` empties the cache)",
                stacklevel=3,
            )
            return empty
        if version != CACHE_FORMAT_VERSION or stored_key != asdict(self.key):
            raise CacheFormatError(
                f"embedding cache {self.path} was written for {stored_key} (format {version}), expected "
                f"{asdict(self.key)} (format {CACHE_FORMAT_VERSION}); run `make clean-cache`"
            )
        return {str(h): row for row, h in enumerate(hashes)}, values

    def lookup(self, hashes: Iterable[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """``(found, values)``: a mask over ``hashes`` and the cached rows (zeros where not found; None when empty)."""
        hashes = list(hashes)
        index, stored = self._read()
        found = np.array([h in index for h in hashes], dtype=bool)
        if not index:
            return found, None
        values = np.zeros((len(hashes), stored.shape[1]), dtype=np.float32)
        rows = [index[h] for h in hashes if h in index]
        values[found] = stored[rows]
        return found, values

    @contextlib.contextmanager
    def _writer_lock(self) -> Iterator[None]:
        if not self.cache_dir.is_dir():
            self.cache_dir.parent.mkdir(parents=True, exist_ok=True)
            self.cache_dir.mkdir(mode=0o700, exist_ok=True)  # private: the study results live here too
        with open(self._lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def add(self, hashes: Iterable[str], values: np.ndarray) -> int:
        """Merge ``values`` (rows keyed by ``hashes``) into the file, re-reading it under the lock; return its size."""
        hashes = [str(h) for h in hashes]
        values = np.asarray(values, dtype=np.float32)
        if values.ndim != 2 or values.shape[0] != len(hashes):
            raise ValueError(f"cache add: {len(hashes)} hashes but values of shape {values.shape}")
        bad = [h for h in hashes if not _HASH_PATTERN.match(h)]
        if bad:
            raise ValueError(f"cache add: keys must be hex sha256 digests, got {bad[:3]}")
        if not np.isfinite(values).all():
            raise ValueError("cache add: refusing to store non-finite embeddings")
        with self._writer_lock():
            index, stored = self._read()
            if index and stored.shape[1] != values.shape[1]:
                raise CacheFormatError(
                    f"embedding cache {self.path} holds width {stored.shape[1]}, new rows have width {values.shape[1]}"
                )
            merged = dict(index)
            new_rows = []
            for h, row in zip(hashes, values):
                if h not in merged:
                    merged[h] = len(index) + len(new_rows)
                    new_rows.append(row)
            if not new_rows:
                return len(index)
            all_values = np.concatenate([stored, np.stack(new_rows)]) if index else np.stack(new_rows)
            all_hashes = np.array(sorted(merged, key=merged.get), dtype="U64")
            with atomic_open(self.path, "wb") as handle:
                np.savez(
                    handle,
                    hashes=all_hashes,
                    values=all_values.astype(np.float32),
                    key=np.array(json.dumps(asdict(self.key), sort_keys=True)),
                    format_version=np.array(CACHE_FORMAT_VERSION),
                )
            return len(all_hashes)

    def __len__(self) -> int:
        return len(self._read()[0])


def clear_cache(cache_dir: str | os.PathLike | None = None) -> int:
    """Delete what this project writes in ``cache_dir`` (default ``paths.CACHE``; ``make clean-cache``): embedding files
    and locks, ``runs/``, a leftover ``studies/``, temporary files of interrupted writes; return the counts."""
    folder = Path(cache_dir) if cache_dir is not None else paths.CACHE
    if not folder.exists():
        return 0
    removed = 0
    for pattern in ("*.npz", ".*.lock", ".*.tmp"):
        for file in folder.glob(pattern):
            file.unlink()
            removed += 1
    for saved in (folder / "runs", folder / "studies"):
        if saved.is_dir() and not saved.is_symlink():
            removed += sum(1 for _ in saved.rglob("*"))
            shutil.rmtree(saved)
    return removed


if __name__ == "__main__":
    print(f"removed {clear_cache()} files from {paths.CACHE}")

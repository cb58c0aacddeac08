"""Shared encoder machinery (paper Sec. 3): :class:`Embeddings`, :class:`BaseEncoder` (validation, content-hash caching,
batching, info record), image decoding in DataLoader workers (:func:`load_rgb`), model-folder helpers."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import math
import os
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from mmr_utils._arrays import unit_rows
from mmr_utils._progress import progress
from mmr_utils._torch import dtype_name
from mmr_utils.features.cache import CacheKey, EmbeddingCache, file_hash, text_hash


class EncoderUnavailableError(OSError):
    """An encoder's weights or package cannot be found or loaded; the message says what to do instead."""


@dataclass
class Embeddings:
    """Encoded rows: ``values`` (n x d float32, unit rows, zeros where absent), ``present`` (n bool) and ``info``."""

    values: np.ndarray
    present: np.ndarray
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.values.ndim != 2 or self.values.dtype != np.float32:
            raise ValueError(f"Embeddings.values must be a 2-D float32 array, got {self.values.dtype} {self.values.shape}")
        if self.present.shape != (self.values.shape[0],) or self.present.dtype != bool:
            raise ValueError(f"Embeddings.present must be a bool vector of length {self.values.shape[0]}")

    @property
    def dim(self) -> int:
        return int(self.values.shape[1])

    def __len__(self) -> int:
        return int(self.values.shape[0])


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """``HF_HUB_OFFLINE=1`` (and transformers' twin), no weight-loading bar, for the duration: no network tries."""
    from transformers.utils import logging as hf_logging

    saved = {name: os.environ.get(name) for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    bars = hf_logging.is_progress_bar_enabled()
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if bars:
            hf_logging.enable_progress_bar()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def folder_fingerprint(folder: Path, full_hash_limit: int = 64 << 20, edge_bytes: int = 8 << 20) -> str:
    """A revision string for a local model folder: sha256 over its config, tokenizer and weight files (weights over
    ``full_hash_limit`` bytes by size and first and last ``edge_bytes``)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        if file.suffix not in {".json", ".txt", ".safetensors", ".bin", ".model"}:
            continue
        size = file.stat().st_size
        digest.update(f"{file.name}:{size}".encode())
        with open(file, "rb") as handle:
            if size <= full_hash_limit:
                digest.update(handle.read())
            else:
                digest.update(handle.read(edge_bytes))
                handle.seek(size - edge_bytes)
                digest.update(handle.read(edge_bytes))
    return "sha256:" + digest.hexdigest()[:20]


class _ImageFileDataset(torch.utils.data.Dataset):
    """Decodes one image per item (in a DataLoader worker) and applies ``transform``; decoding errors are returned."""

    def __init__(self, paths: Sequence[str], transform: Callable[[Image.Image], np.ndarray]):
        self.paths = list(paths)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        try:
            image = load_rgb(self.paths[index])
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
            return index, None, f"corrupt: {type(error).__name__}: {error}"
        return index, np.asarray(self.transform(image), dtype=np.float32), None


def _collate_images(items):
    ok = [(index, array) for index, array, error in items if error is None]
    failed = [(index, error) for index, _, error in items if error is not None]
    indices = [index for index, _ in ok]
    batch = torch.from_numpy(np.stack([array for _, array in ok])) if ok else None
    return indices, batch, failed


#: Largest image kept at full size, in pixels (25 MP, about 75 MB as RGB). A larger image is reduced while decoded (JPEG
#: draft mode, never below the cap's scale / 2) or right after, keeping its aspect ratio, so DataLoader workers cannot
#: hold gigabytes; every encoder and benchmark image here is far below it.
MAX_DECODE_PIXELS = 25_000_000


def load_rgb(path: str | os.PathLike, max_pixels: int | None = None) -> Image.Image:
    """Decode an image and return it as RGB; transparent areas are composited onto white (not black). Images above
    ``max_pixels`` (default :data:`MAX_DECODE_PIXELS`) are downscaled on decode, aspect ratio kept."""
    cap = MAX_DECODE_PIXELS if max_pixels is None else max_pixels
    with Image.open(path) as image:
        width, height = image.size
        target = None
        if width * height > cap:
            scale = math.sqrt(cap / (width * height))
            target = (max(1, int(width * scale)), max(1, int(height * scale)))
            image.draft("RGB" if image.mode in ("RGB", "YCbCr") else None,
                        (max(1, int(width * scale / 2)), max(1, int(height * scale / 2))))
        image.load()
        if target is not None and image.width * image.height > cap:
            image.thumbnail(target, Image.Resampling.BICUBIC)
        if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
            rgba = image.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            return Image.alpha_composite(background, rgba).convert("RGB")
        return image.convert("RGB")


def _is_absent(entry: Any) -> bool:
    if entry is None:
        return True
    if isinstance(entry, float) and math.isnan(entry):
        return True
    return isinstance(entry, str) and entry.strip() == ""


def default_num_workers() -> int:
    """DataLoader workers: one per spare CPU core, at most 8."""
    return max(0, min(8, (os.cpu_count() or 1) - 1))


class BaseEncoder:
    """Subclasses set ``name`` and ``modalities`` and implement ``_model_key`` and the batch hooks
    (``_embed_text_batch`` / ``_image_transform`` + ``_embed_image_batch``). ``batch_invariant`` (default True): one
    item per forward pass, bit for bit its own; ``False`` batches ``batch_size`` items (fast on GPU), own cache key."""

    name: str = "base"
    modalities: frozenset[str] = frozenset()
    #: A batched call computes every row independently (a sparse row transform): ``batch_invariant`` need not split.
    rows_independent_in_batch: bool = False

    def __init__(self, *, cache_dir=None, use_cache: bool = True, progress: bool = True, batch_size: int = 64,
                 num_workers: int | None = None, batch_invariant: bool = True):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.progress = progress
        self.batch_size = batch_size
        self.batch_invariant = bool(batch_invariant)
        self.num_workers = default_num_workers() if num_workers is None else int(num_workers)
        self.device = torch.device("cpu")
        self.dtype = torch.float32
        #: Number of model forward calls made by this encoder (tests count them to prove cache hits).
        self.calls = 0

    def _model_key(self, modality: str) -> CacheKey:
        """The identity of the model and its preprocessing (cache_key adds how calls were batched)."""
        raise NotImplementedError

    @property
    def model_id(self) -> str:
        return self.name

    @property
    def revision(self) -> str:
        return "unversioned"

    def _embed_text_batch(self, texts: list[str]) -> np.ndarray:
        raise NotImplementedError

    def _count_truncated(self, texts: list[str]) -> tuple[int, int | None]:
        return 0, None

    def _image_transform(self) -> Callable[[Image.Image], np.ndarray]:
        raise NotImplementedError

    def _embed_image_batch(self, batch: torch.Tensor) -> np.ndarray:
        raise NotImplementedError

    @property
    def _splits_batches(self) -> bool:
        return self.batch_invariant and not self.rows_independent_in_batch

    def cache_key(self, modality: str) -> CacheKey:
        """The cache identity: the model key with ``+per-item`` or ``+batched`` on its revision (their bits differ)."""
        key = self._model_key(modality)
        return dataclasses.replace(key, revision=f"{key.revision}+{'per-item' if self.batch_invariant else 'batched'}")

    def describe(self) -> dict:
        """Name, model, revision, device, dtype and batching of this encoder (written into results and captions)."""
        return {"encoder": self.name, "model_id": self.model_id, "revision": self.revision,
                "device": str(self.device), "dtype": dtype_name(self.dtype), "batch_invariant": self.batch_invariant}

    def _cache(self, modality: str) -> EmbeddingCache | None:
        return EmbeddingCache(self.cache_key(modality), self.cache_dir) if self.use_cache else None

    def _check_modality(self, modality: str) -> None:
        if modality not in self.modalities:
            raise ValueError(f"encoder {self.name!r} does not encode {modality}s (it encodes {sorted(self.modalities)})")

    def encode_texts(self, texts: Sequence[str], *, batch_size: int | None = None) -> Embeddings:
        """Embed question texts; identical texts are encoded once and cached by the sha256 of their UTF-8 bytes."""
        self._check_modality("text")
        texts = list(texts)
        for row, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"{self.name}: text at row {row} is {type(text).__name__} ({text!r}), expected str")
        started = time.perf_counter()
        hashes = [text_hash(t) for t in texts]
        unique = dict(zip(hashes, texts))
        n_truncated, max_tokens = self._count_truncated(list(unique.values()))
        unique_values, hits, cache_path = self._lookup_and_compute(
            "text", list(unique), lambda todo: self._compute_texts([unique[h] for h in todo], batch_size))
        values = (np.stack([unique_values[h] for h in hashes]) if texts
                  else np.zeros((0, self.expected_dim()), np.float32))
        info = self.describe() | {
            "modality": "text", "n": len(texts), "n_unique": len(unique), "dim": int(values.shape[1]),
            "cache": {"enabled": self.use_cache, "path": cache_path, "hits": hits, "misses": len(unique) - hits},
            "n_truncated": n_truncated, "max_tokens": max_tokens, "seconds": round(time.perf_counter() - started, 3),
        }
        return Embeddings(values.astype(np.float32), np.ones(len(texts), dtype=bool), info)

    def _compute_texts(self, texts: list[str], batch_size: int | None) -> np.ndarray:
        size = 1 if self._splits_batches else (batch_size or self.batch_size)
        # Batches of similar length pad little: encode in length order, then restore the caller's order.
        order = np.argsort([len(t) for t in texts], kind="stable")
        ordered = [texts[i] for i in order]
        chunks = []
        for start in progress(range(0, len(ordered), size), desc=f"{self.name} texts", enabled=self.progress,
                              unit="batch"):
            chunks.append(unit_rows(np.asarray(self._embed_text_batch(ordered[start:start + size]), dtype=np.float32)))
            self.calls += 1
        values = np.concatenate(chunks)
        restored = np.empty_like(values)
        restored[order] = values
        return restored

    def _lookup_and_compute(self, modality: str, hashes: list[str], compute):
        """Return (hash -> vector for every hash that could be embedded, cache hits, cache path)."""
        cache = self._cache(modality)
        result: dict[str, np.ndarray] = {}
        if cache is not None and hashes:
            found, cached = cache.lookup(hashes)
            if cached is not None:
                result.update({h: cached[i] for i, h in enumerate(hashes) if found[i]})
        hits = len(result)
        todo = [h for h in hashes if h not in result]
        if todo:
            computed = compute(todo)
            if isinstance(computed, dict):
                new = computed
            else:
                new = dict(zip(todo, computed))
            if new and cache is not None:
                cache.add(list(new), np.stack(list(new.values())))
            result.update(new)
        return result, hits, (str(cache.path) if cache is not None else None)

    def encode_images(self, image_paths: Sequence[str | os.PathLike | None], *, root: str | os.PathLike | None = None,
                      batch_size: int | None = None) -> Embeddings:
        """Embed image files (cached by the sha256 of their bytes); None entries and unreadable files are absent
        (zeros, ``present`` False; unreadable ones listed in ``info["image_problems"]``)."""
        self._check_modality("image")
        started = time.perf_counter()
        entries = list(image_paths)
        root = Path(root) if root is not None else None
        n = len(entries)
        row_hash: list[str | None] = [None] * n
        row_path: list[str | None] = [None] * n
        problems: list[dict] = []
        counts = {"n_no_image": 0, "n_missing": 0, "n_empty": 0, "n_corrupt": 0}
        path_of_hash: dict[str, str] = {}
        for row, entry in enumerate(entries):
            if _is_absent(entry):
                counts["n_no_image"] += 1
                continue
            path = Path(entry)
            if root is not None and not path.is_absolute():
                path = root / path
            if not path.is_file():
                counts["n_missing"] += 1
                problems.append({"row": row, "path": str(path), "reason": "missing"})
                continue
            if path.stat().st_size == 0:
                counts["n_empty"] += 1
                problems.append({"row": row, "path": str(path), "reason": "empty file"})
                continue
            digest = file_hash(path)
            row_hash[row] = digest
            row_path[row] = str(path)
            path_of_hash.setdefault(digest, str(path))
        corrupt: dict[str, str] = {}

        def compute(todo: list[str]) -> dict[str, np.ndarray]:
            vectors, failures = self._compute_images([path_of_hash[h] for h in todo], batch_size)
            for position, reason in failures.items():
                corrupt[todo[position]] = reason
            return {todo[position]: vector for position, vector in vectors.items()}

        unique_values, hits, cache_path = self._lookup_and_compute("image", list(path_of_hash), compute)
        dim = next(iter(unique_values.values())).shape[0] if unique_values else self.expected_dim()
        values = np.zeros((n, dim), dtype=np.float32)
        present = np.zeros(n, dtype=bool)
        for row, digest in enumerate(row_hash):
            if digest is None:
                continue
            if digest in corrupt:
                counts["n_corrupt"] += 1
                problems.append({"row": row, "path": row_path[row], "reason": corrupt[digest]})
                continue
            values[row] = unique_values[digest]
            present[row] = True
        problems.sort(key=lambda problem: problem["row"])
        if problems:
            shown = "; ".join(f"row {p['row']} {p['path']}: {p['reason']}" for p in problems[:5])
            warnings.warn(f"{self.name}: {len(problems)} image(s) could not be used and are marked absent: {shown}"
                          + (" ..." if len(problems) > 5 else ""), stacklevel=2)
        info = self.describe() | counts | {
            "modality": "image", "n": n, "n_present": int(present.sum()), "n_unique": len(path_of_hash), "dim": dim,
            "cache": {"enabled": self.use_cache, "path": cache_path, "hits": hits, "misses": len(path_of_hash) - hits},
            "image_problems": problems, "num_workers": self.num_workers,
            "seconds": round(time.perf_counter() - started, 3),
        }
        return Embeddings(values, present, info)

    def expected_dim(self) -> int:
        """Output width, used to shape an all-absent result."""
        raise NotImplementedError

    def _compute_images(self, paths: list[str], batch_size: int | None):
        """Decode + preprocess in DataLoader workers, embed batch by batch; return (position -> vector, failures)."""
        size = batch_size or self.batch_size
        loader = torch.utils.data.DataLoader(_ImageFileDataset(paths, self._image_transform()), batch_size=size,
                                             shuffle=False, num_workers=self.num_workers, collate_fn=_collate_images,
                                             pin_memory=self.device.type == "cuda", persistent_workers=False)
        vectors: dict[int, np.ndarray] = {}
        failures: dict[int, str] = {}
        for indices, batch, failed in progress(loader, desc=f"{self.name} images", enabled=self.progress,
                                               unit="batch"):
            failures.update(dict(failed))
            if batch is None:
                continue
            calls = ([batch[row:row + 1] for row in range(batch.shape[0])] if self._splits_batches else [batch])
            embedded = np.concatenate([unit_rows(np.asarray(self._embed_image_batch(call), dtype=np.float32)) for call in calls])
            self.calls += len(calls)
            vectors.update(zip(indices, embedded))
        return vectors, failures

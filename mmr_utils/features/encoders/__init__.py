"""Query encoders: question texts and images -> L2-normalised float32 vectors (paper Sec. 3, "query features").

The paper uses CLIP ViT-B/32 (:mod:`.clip`); offline, MiniLM text (:mod:`.minilm`) + an image descriptor
(:mod:`.imagestats`) stand in; TF-IDF (:mod:`.tfidf`) is a cheap text baseline. Encoders return
:class:`~.base.Embeddings` (what ran), cached by content (:mod:`mmr_utils.features.cache`); :func:`get_encoders`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from mmr_utils._torch import dtype_name
from mmr_utils.features.encoders.base import BaseEncoder, Embeddings
from mmr_utils.features.encoders.clip import DEFAULT_CLIP_MODEL, ClipEncoder, clip_available
from mmr_utils.features.encoders.imagestats import ImageStatsEncoder
from mmr_utils.features.encoders.minilm import MiniLMEncoder
from mmr_utils.features.encoders.tfidf import TfidfEncoder


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


def get_encoders(name: str = "auto", *, clip_model: str | os.PathLike = DEFAULT_CLIP_MODEL, device=None, dtype=None,
                 cache_dir=None, use_cache: bool = True, batch_size: int | None = None, num_workers: int | None = None,
                 image_dim: int | None = 256, tfidf_dim: int = 256, seed: int = 0, progress: bool = True,
                 allow_download: bool = False, batch_invariant: bool = True) -> EncoderChoice:
    """The text and image encoders ``name`` names, and what was chosen: ``"clip"`` (the paper's), ``"offline"``
    (MiniLM + imagestats), ``"tfidf"`` (fit ``choice.text`` on the training texts first), any ``"TEXT+IMAGE"`` pair,
    or ``"auto"`` (CLIP when its weights are found offline, else the offline pair, saying why)."""
    common = {"cache_dir": cache_dir, "use_cache": use_cache, "progress": progress, "batch_invariant": batch_invariant}
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
        image = ImageStatsEncoder(image_dim, seed=seed, batch_size=batch_size or 64, num_workers=num_workers, **common)
    if text is image:
        description = f"clip: {clip.model_id} ({clip.revision}) on {clip.device} {dtype_name(clip.dtype)}"
    else:
        description = f"{text.name} (text) + {image.name} (image)"
        if fallback_reason is not None:
            # The full reason stays in fallback_reason (result files); captions get the short form.
            description = f"offline: {description} (CLIP weights {clip_model} not found locally)"
    return EncoderChoice(text, image, description, requested, fallback_reason)


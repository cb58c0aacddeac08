"""imagestats: a hand-built image descriptor with no downloaded weights, the offline stand-in for CLIP's image tower
(paper Sec. 3 uses CLIP), projected to a fixed width by a seeded random projection."""

from __future__ import annotations

import functools
import math
import os

import numpy as np
import torch
from PIL import Image

from mmr_utils.features.cache import CacheKey
from mmr_utils.features.encoders.base import BaseEncoder

#: Version of the imagestats descriptor; bump when :func:`image_statistics` changes (it keys the cache).
IMAGESTATS_VERSION = "1"

_WORK_SIDE = 256
_THUMBNAIL = 16


def _centred_hellinger(histogram: np.ndarray) -> np.ndarray:
    total = histogram.sum()
    probabilities = histogram / total if total > 0 else np.full_like(histogram, 1.0 / len(histogram))
    return np.sqrt(probabilities) - np.sqrt(1.0 / len(histogram))


def image_statistics(image: Image.Image) -> np.ndarray:
    """Hand-built image descriptor without learned weights (stand-in for CLIP's image tower): layout (16x16 grey
    thumbnail), colour, edges, texture (LBP), text-likeness and size blocks, each scaled and centred on a fixed
    reference, so an image's vector never depends on other images."""
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
    """Offline image encoder: :func:`image_statistics` projected to ``dim`` by a seeded Gaussian random projection
    (raw with ``dim=None``), L2-normalised."""

    name = "imagestats"
    modalities = frozenset({"image"})

    def __init__(self, dim: int | None = 256, *, seed: int = 0, batch_size: int = 64, num_workers: int | None = None,
                 cache_dir=None, use_cache: bool = True, progress: bool = True, batch_invariant: bool = True):
        # All the work happens in the DataLoader workers (the main process only collects), so use every core.
        workers = min(8, os.cpu_count() or 1) if num_workers is None else num_workers
        super().__init__(cache_dir=cache_dir, use_cache=use_cache, progress=progress, batch_size=batch_size,
                         num_workers=workers, batch_invariant=batch_invariant)
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

    def _model_key(self, modality: str) -> CacheKey:
        return CacheKey(self.name, self.model_id, self.revision, "fp32")

    def expected_dim(self) -> int:
        return imagestats_raw_dim() if self.dim is None else self.dim

    def _image_transform(self):
        return image_statistics

    def _embed_image_batch(self, batch: torch.Tensor) -> np.ndarray:
        raw = batch.numpy().astype(np.float32)
        return raw if self.projection is None else raw @ self.projection

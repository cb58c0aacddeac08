"""The one place that turns device, dtype and seed arguments into torch objects, for the encoders
(:mod:`mmr_utils.encoders`) and the neural routers (:mod:`mmr_utils.routers.neural`) alike.

Device: ``None`` or ``"auto"`` pick CUDA when ``torch.cuda.is_available()`` and CPU otherwise; an explicit CUDA device
on a machine without one is an error rather than a silent fallback, so a recorded device is always the one that ran.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

_DTYPE_NAMES = {
    "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
    "fp16": torch.float16, "float16": torch.float16, "half": torch.float16,
    "fp32": torch.float32, "float32": torch.float32, "float": torch.float32,
}


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None``/``"auto"``: CUDA when present, else CPU; anything else as named (CUDA must then be available)."""
    if device is None or (isinstance(device, str) and device == "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    resolved = torch.device(device)
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {str(device)!r} requested but torch.cuda.is_available() is False; "
                         f"use 'cpu' or 'auto'")
    return resolved


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
    """Short name of a compute dtype (``bf16``, ``fp16``, ``fp32``), as written into results and cache keys."""
    return {torch.bfloat16: "bf16", torch.float16: "fp16", torch.float32: "fp32"}[dtype]


@contextlib.contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Fork the global torch RNG (CPU, and the CUDA device if used) and seed it: local, restored on exit."""
    devices = [device.index if device.index is not None else torch.cuda.current_device()] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        # Not torch.manual_seed: it would also reseed every CUDA device, outside the forked state.
        torch.default_generator.manual_seed(seed)
        for index in devices:
            with torch.cuda.device(index):
                torch.cuda.manual_seed(seed)
        yield

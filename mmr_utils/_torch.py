"""Device, dtype, seed and thread settings as torch objects, for the encoders and the neural routers alike. ``None``
or ``"auto"`` picks CUDA when available; an explicit CUDA device without one is an error, never a silent fallback."""

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


#: Environment variable naming the CPU threads of torch and the numerical libraries (default :data:`DEFAULT_CPU_THREADS`).
THREADS_ENV = "MMR_TORCH_THREADS"
#: One thread: the routers' small matrices gain nothing from more, and a result does not depend on the core count.
DEFAULT_CPU_THREADS = 1
_threads_set: int | None = None
_modules_limited = -1


def positive_int_from_env(name: str, purpose: str) -> int | None:
    """The positive integer in environment variable ``name``, or None when it is unset; any other value is an error
    naming the variable and ``purpose`` (what the number counts)."""
    import os

    raw = os.environ.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name}={raw!r}: expected a positive integer ({purpose})")
    return value


def usable_cpus() -> int:
    """CPU cores this process may run on (its affinity where the platform has one, else the machine's count)."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _requested_threads() -> int:
    threads = positive_int_from_env(THREADS_ENV, "CPU threads for torch, OpenMP and BLAS")
    return DEFAULT_CPU_THREADS if threads is None else threads


def configure_threads() -> int:
    """Set the CPU threads of torch and of every loaded OpenMP and BLAS runtime (threadpoolctl) to ``MMR_TORCH_THREADS``
    (default 1) and return the number: k-means and BLAS results depend on the thread count. Runtimes loaded later start
    with a thread per core, so they are limited again on every call (torch once per process)."""
    global _threads_set, _modules_limited
    import sys

    from threadpoolctl import threadpool_limits

    if _threads_set is None:
        threads = _requested_threads()
        torch.set_num_threads(threads)
        _threads_set = threads
    # A runtime is loaded by importing a module: rescan (milliseconds) only when modules were imported.
    if len(sys.modules) != _modules_limited:
        threadpool_limits(limits=_threads_set)
        _modules_limited = len(sys.modules)
    return _threads_set

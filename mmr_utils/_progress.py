"""Progress bars (``tqdm.auto``) for long loops, shown to a person watching, silent in logs and test outputs.
``MMR_PROGRESS``: ``0`` (``false``, ``no``, ``off``; the Makefile's) never; ``1`` (``true``, ``yes``, ``on``) always;
unset, empty or ``auto`` only in a Jupyter kernel or when stderr is a terminal."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable

#: The environment variable that switches bars off (0), on (1) or to the automatic choice (unset / auto).
ENV = "MMR_PROGRESS"
_OFF = {"0", "false", "no", "off"}
_ON = {"1", "true", "yes", "on"}


def in_jupyter() -> bool:
    """True inside a Jupyter kernel (JupyterLab, papermill, nbval), where stderr is not a terminal but is shown."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and "IPKernelApp" in getattr(shell, "config", {})


def bars_enabled() -> bool:
    """Whether :func:`progress` draws a bar here (``MMR_PROGRESS``)."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in _OFF:
        return False
    if value in _ON:
        return True
    if value not in ("", "auto"):
        raise ValueError(f"${ENV}={os.environ[ENV]!r}: expected 0, 1 or auto")
    return in_jupyter() or bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress(iterable: Iterable, *, desc: str, total: int | None = None, unit: str = "it", enabled: bool = True):
    """``iterable`` with a bar named ``desc`` when ``enabled`` and :func:`bars_enabled` (``total``: its length)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, unit=unit, disable=not (enabled and bars_enabled()),
                dynamic_ncols=True)

"""Progress bars for long loops (embedding, training): shown to a person watching, silent in logs and test outputs.

:func:`progress` wraps an iterable in ``tqdm.auto``'s bar: a widget in a Jupyter notebook that has ``ipywidgets``, a
text bar on stderr otherwise (JupyterLab shows it under the cell). Whether a bar is drawn at all is decided by the
environment variable ``MMR_PROGRESS``:

- ``0`` (also ``false``, ``no``, ``off``): never. The Makefile sets it, so ``make test`` (nbval) and ``make figures``
  (papermill) store no bars in executed notebooks and their logs stay clean.
- ``1`` (also ``true``, ``yes``, ``on``): always.
- unset, empty or ``auto``: only where someone is watching, i.e. inside a Jupyter kernel or when stderr is a terminal;
  not under pytest's output capture, in a pipe or in CI logs.
"""

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
    """Whether :func:`progress` draws a bar here (see the module docstring for ``MMR_PROGRESS``)."""
    value = os.environ.get(ENV, "").strip().lower()
    if value in _OFF:
        return False
    if value in _ON:
        return True
    if value not in ("", "auto"):
        raise ValueError(f"${ENV}={os.environ[ENV]!r}: expected 0, 1 or auto")
    return in_jupyter() or bool(getattr(sys.stderr, "isatty", lambda: False)())


def progress(iterable: Iterable, *, desc: str, total: int | None = None, unit: str = "it", enabled: bool = True):
    """``iterable`` with a progress bar named ``desc`` when ``enabled`` and :func:`bars_enabled`; otherwise a pass-
    through that yields the same items (``total``: the number of items when ``len(iterable)`` is not defined)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, unit=unit, disable=not (enabled and bars_enabled()),
                dynamic_ncols=True)

"""Where a table's images are, for every loader: which image folder a load uses, and the containment rule for image
paths a data file names: relative to the image folder and inside it as written (no absolute path, drive or ``..``;
links the folder holds are followed), so a table never makes the loader read a file elsewhere on the machine."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath, PureWindowsPath

#: ``images`` value that asks a loader for its default image folder.
AUTO = "auto"


class UnsafeImagePathError(ValueError):
    """An image path in a data file would lead outside the image folder."""


def unsafe_image_path(relative: str) -> str | None:
    """Why ``relative`` cannot name a file inside an image folder (absolute, drive, ``..``, NUL), or None if it can."""
    text = str(relative)
    if "\x00" in text:
        return "contains a NUL byte"
    if PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute() or PureWindowsPath(text).drive:
        return "is an absolute path"
    if ".." in PurePosixPath(text.replace("\\", "/")).parts:
        return "contains '..'"
    return None


def image_path_under(root: str | os.PathLike, relative: str) -> Path:
    """``root / relative``, after checking that ``relative`` stays inside ``root`` (module docstring); raises
    :class:`UnsafeImagePathError` naming the path and the folder otherwise. ``""`` is the root itself."""
    reason = unsafe_image_path(relative)
    base = os.path.normpath(os.path.abspath(root))
    target = os.path.normpath(os.path.join(base, str(relative)))
    if reason is None and os.path.commonpath([base, target]) != base:
        reason = "leads outside the image folder"
    if reason is not None:
        raise UnsafeImagePathError(f"image path {str(relative)!r} {reason}: image paths must be relative to, and "
                                   f"inside, the image folder {root}")
    return Path(root) / relative


def choose_image_root(images, *, default: Callable[[], Path | None], given_for: str,
                      none_found: str = "no image folder found") -> tuple[Path | None, str]:
    """The image folder a load uses and how it was chosen (``source["images"]``): ``images`` is :data:`AUTO`
    (``default()``, possibly none: ``none_found``), a folder that must exist (named with ``given_for``), or None."""
    if images is None:
        return None, "none (text-only)"
    if isinstance(images, str) and images == AUTO:
        root = default()
        return root, f"auto: {root if root is not None else none_found}"
    root = Path(images)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist (given for {given_for})")
    return root, str(root)

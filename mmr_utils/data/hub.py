"""Pinned downloads of the official MMR-Bench release and of MMR-Bench V2 from the Hugging Face hub.

``local_source`` copies a local folder laid out like the hub repository instead (no hub access, tests). The result is
validated by its loader, swapped in atomically, with its origin in ``provenance.json``. An existing download is kept
unless ``force``; a foreign non-empty folder or a file is refused (:func:`mmr_utils._io.check_replaceable_folder`)."""

from __future__ import annotations

import json
import shutil
import tarfile
import warnings
from pathlib import Path

from mmr_utils._archive import UnsafeArchiveError, safe_extract_tar
from mmr_utils._io import atomic_directory, atomic_write_text, check_replaceable_folder
from mmr_utils.data.official import TableFormatError, load_table
from mmr_utils.data.v2 import V2_REPO_ID, V2_REVISION, data_folder, load_v2

#: The official data on the Hugging Face hub, pinned to the 10-model version.
HUB_REPO_ID = "gh0stHunter/MMR-Bench"
HUB_REVISION = "b2619d8389935171022f0a7e8bee45f80ca249dd"
HUB_FILES: tuple[str, ...] = ("MMR-Bench.csv", "images.tar.gz")


def _from_hub(repo_id: str, revision: str, fetch, offline_hint: str):
    """``fetch(huggingface_hub)`` and the origin to record; a failure is one error saying what to do offline."""
    try:
        import huggingface_hub
    except ImportError as err:  # pragma: no cover - huggingface_hub is a pinned dependency
        raise RuntimeError(f"huggingface_hub is required to download {repo_id}") from err
    try:
        return fetch(huggingface_hub), f"huggingface hub {repo_id} revision {revision}"
    except Exception as err:
        raise RuntimeError(f"could not download {repo_id}@{revision[:10]} from the Hugging Face hub "
                           f"({type(err).__name__}: {err}). If you are offline, {offline_hint}") from err


def _write_record(folder: Path, **record) -> None:
    atomic_write_text(folder / "provenance.json", json.dumps({"simulated": False, **record}, indent=2) + "\n")


def _extract_images(archive: Path, destination: Path) -> None:
    """Unpack the image archive safely (:func:`mmr_utils._archive.safe_extract_tar`; a bad archive or member is a
    one-line :class:`TableFormatError`) into ``destination/images/<folder>``, with or without a wrapping images/."""
    try:
        safe_extract_tar(archive, destination)
    except (UnsafeArchiveError, tarfile.ReadError) as err:
        raise TableFormatError(str(err)) from None
    inner = destination / "images"
    if not inner.is_dir():
        inner.mkdir()
        for child in list(destination.iterdir()):
            if child.is_dir() and child.name != "images":
                shutil.move(str(child), inner / child.name)


def download_official(out_dir, *, revision: str = HUB_REVISION, local_source=None, force: bool = False) -> Path:
    """Fetch ``MMR-Bench.csv`` + ``images.tar.gz`` of :data:`HUB_REPO_ID` at ``revision``, unpacked into ``out_dir``."""
    out_dir = Path(out_dir)
    if out_dir.is_dir() and not force and any(out_dir.glob("MMR*Bench.csv")):
        return out_dir
    check_replaceable_folder(out_dir, force=force)
    if local_source is not None:
        local_source = Path(local_source)
        for name in HUB_FILES:
            if not (local_source / name).is_file():
                raise FileNotFoundError(f"{local_source} is not laid out like {HUB_REPO_ID}: {name} is missing")
        files, origin = {name: local_source / name for name in HUB_FILES}, f"local folder {local_source}"
    else:
        files, origin = _from_hub(
            HUB_REPO_ID, revision,
            lambda hub: {name: Path(hub.hf_hub_download(HUB_REPO_ID, name, repo_type="dataset", revision=revision))
                         for name in HUB_FILES},
            "download MMR-Bench.csv and images.tar.gz elsewhere and run `python -m mmr_utils data-official "
            "--local-source DIR`, or point --data-root at an unpacked copy.")
    with atomic_directory(out_dir) as tmp:
        shutil.copyfile(files["MMR-Bench.csv"], tmp / "MMR-Bench.csv")
        _extract_images(files["images.tar.gz"], tmp)
        _write_record(tmp, source="official MMR-Bench release", origin=origin, revision=revision)
        with warnings.catch_warnings():  # the caller loads the result and hears about missing images then
            warnings.simplefilter("ignore")
            load_table(tmp)
    return out_dir


def download_v2(out_dir, *, revision: str = V2_REVISION, local_source=None, include_images: bool = False,
                force: bool = False) -> Path:
    """Fetch MMR-Bench V2 (``data/instances`` and ``data/results``; with ``include_images`` also ``LMUData/``) of
    :data:`~mmr_utils.data.v2.V2_REPO_ID` at ``revision`` into ``out_dir`` (module docstring)."""
    out_dir = Path(out_dir)
    if not force and (out_dir / "data" / "instances").is_dir():
        return out_dir
    check_replaceable_folder(out_dir, force=force)
    patterns = ["data/instances/*", "data/results/*/*"] + (["LMUData/**"] if include_images else [])
    if local_source is not None:
        source = Path(local_source)
        data_folder(source)
        if not (source / "data").is_dir():
            raise FileNotFoundError(f"{source} is not laid out like {V2_REPO_ID}: data/instances and data/results "
                                    f"must sit under data/")
        origin = f"local folder {source}"
    else:
        source, origin = _from_hub(
            V2_REPO_ID, revision,
            lambda hub: Path(hub.snapshot_download(V2_REPO_ID, repo_type="dataset", revision=revision,
                                                   allow_patterns=patterns)),
            "fetch the repository's data/ folder elsewhere and pass it as local_source (CLI: data-official "
            "--version 2 --local-source DIR).")
    with atomic_directory(out_dir) as tmp:
        shutil.copytree(source / "data", tmp / "data", ignore=shutil.ignore_patterns(".*"))
        if include_images:
            if not (source / "LMUData").is_dir():
                raise FileNotFoundError(f"{source} has no LMUData/ image folder (include_images=True)")
            shutil.copytree(source / "LMUData", tmp / "LMUData")
        _write_record(tmp, source="MMR-Bench V2 release", origin=origin, revision=revision, images=include_images)
        load_v2(tmp, image_root=None)
    return out_dir

"""Safe unpacking of downloaded archives: :func:`safe_extract_tar` refuses the whole archive, naming the member,
before anything is written when a member has an absolute name or a ``..`` component, or is a link or a device."""

from __future__ import annotations

import hashlib
import tarfile
import zlib
from pathlib import Path, PurePosixPath


class UnsafeArchiveError(ValueError):
    """An archive member would escape the destination, or is not a plain file or folder."""


def _member_target(member: tarfile.TarInfo, strip_components: int) -> PurePosixPath | None:
    name = PurePosixPath(member.name)
    if member.name.startswith(("/", "\\")) or name.is_absolute() or (name.parts and ":" in name.parts[0]):
        raise UnsafeArchiveError(f"member {member.name!r} has an absolute path")
    if any(part == ".." for part in name.parts):
        raise UnsafeArchiveError(f"member {member.name!r} contains '..'")
    if not (member.isfile() or member.isdir()):
        kind = "symbolic link" if member.issym() else "hard link" if member.islnk() else "special file"
        raise UnsafeArchiveError(f"member {member.name!r} is a {kind}; only files and folders are accepted")
    parts = [p for p in name.parts if p not in ("", ".")]
    if len(parts) <= strip_components:
        return None
    return PurePosixPath(*parts[strip_components:])


def safe_extract_tar(archive: str | Path, destination: str | Path, *, strip_components: int = 0,
                     keep=None) -> list[Path]:
    """Unpack the tar archive (any compression) into ``destination`` after checking every member; return the files
    written. ``strip_components`` drops leading folders (as ``tar``); ``keep`` (on the stripped path) selects files."""
    archive, destination = Path(archive), Path(destination)
    try:
        return _extract(archive, destination, strip_components, keep)
    except UnsafeArchiveError as err:
        raise UnsafeArchiveError(f"{archive}: {err}") from None
    except (tarfile.TarError, EOFError, zlib.error) as err:
        raise tarfile.ReadError(f"{archive}: not a readable tar archive ({type(err).__name__}: {err})") from None
    except OSError as err:
        if err.filename is None:  # gzip/bz2/lzma decoding errors (BadGzipFile...) name no file
            raise tarfile.ReadError(f"{archive}: not a readable tar archive ({type(err).__name__}: {err})") from None
        raise


def _extract(archive: Path, destination: Path, strip_components: int, keep) -> list[Path]:
    written = []
    with tarfile.open(archive) as tar:
        plan = []
        for member in tar.getmembers():
            target = _member_target(member, strip_components)
            if target is None or member.isdir():
                continue
            if keep is not None and not keep(target):
                continue
            plan.append((member, target))
        root = destination.resolve()
        for member, target in plan:
            out = (destination / Path(*target.parts)).resolve()
            if root not in out.parents:
                raise UnsafeArchiveError(f"member {member.name!r} resolves outside {destination}")
            out.parent.mkdir(parents=True, exist_ok=True)
            source = tar.extractfile(member)
            if source is None:
                raise UnsafeArchiveError(f"member {member.name!r} has no file content")
            with source, open(out, "wb") as handle:
                while chunk := source.read(1 << 20):
                    handle.write(chunk)
            written.append(out)
    return written


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()

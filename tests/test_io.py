"""Atomic file output: the files and folders it writes get the permissions the umask asks for."""

import os
import stat

import pytest

from mmr_utils._io import atomic_directory, atomic_open, atomic_write_bytes, atomic_write_text


@pytest.fixture
def umask():
    old = os.umask(0o022)
    os.umask(old)

    def set_umask(value):
        os.umask(value)
    yield set_umask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077, 0o027], ids=lambda m: f"umask{m:03o}")
def test_atomically_written_files_follow_the_umask(tmp_path, umask, mask):
    """Item 3: not 0600 whatever the umask, but 0666 & ~umask, like a plain open()."""
    umask(mask)
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    for path in (atomic_write_text(tmp_path / "a.txt", "x"), atomic_write_bytes(tmp_path / "b.bin", b"x")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask == stat.S_IMODE(plain.stat().st_mode)
    with atomic_open(tmp_path / "c.csv", "w") as handle:
        handle.write("x")
    assert stat.S_IMODE((tmp_path / "c.csv").stat().st_mode) == 0o666 & ~mask


@pytest.mark.parametrize("mask", [0o022, 0o077], ids=lambda m: f"umask{m:03o}")
def test_current_umask_reads_without_changing_it(umask, mask):
    from mmr_utils._io import current_umask

    umask(mask)
    assert current_umask() == mask == os.umask(mask)


@pytest.mark.parametrize("mask", [0o022, 0o077], ids=lambda m: f"umask{m:03o}")
def test_atomic_directories_follow_the_umask(tmp_path, umask, mask):
    umask(mask)
    with atomic_directory(tmp_path / "out") as tmp:
        (tmp / "f").write_text("x")
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o777 & ~mask


def test_a_failed_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError), atomic_open(tmp_path / "x.txt") as handle:
        handle.write("partial")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []

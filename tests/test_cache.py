"""Content-addressed embedding cache: round trip, merge, key separation, atomic files, clearing."""

import numpy as np
import pytest

from mmr_utils.features.cache import CacheFormatError, CacheKey, EmbeddingCache, clear_cache, file_hash, text_hash

KEY = CacheKey("clip", "openai/clip-vit-base-patch32", "rev1", "fp32")


def _rows(n, dim=4, seed=0):
    return np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)


def test_round_trip_and_partial_lookup(tmp_path):
    cache = EmbeddingCache(KEY, tmp_path)
    hashes = [text_hash(t) for t in ("a", "b", "c")]
    values = _rows(3)
    assert cache.lookup(hashes) [1] is None
    cache.add(hashes[:2], values[:2])
    found, cached = cache.lookup(hashes)
    np.testing.assert_array_equal(found, [True, True, False])
    np.testing.assert_array_equal(cached[:2], values[:2])
    cache.add(hashes, values)
    assert len(cache) == 3
    np.testing.assert_array_equal(cache.lookup(hashes[::-1])[1], values[::-1])


def test_keys_are_separate_files(tmp_path):
    other = CacheKey("clip", "openai/clip-vit-base-patch32", "rev1", "bf16")
    EmbeddingCache(KEY, tmp_path).add([text_hash("a")], _rows(1))
    assert EmbeddingCache(other, tmp_path).path != EmbeddingCache(KEY, tmp_path).path
    found, _ = EmbeddingCache(other, tmp_path).lookup([text_hash("a")])
    assert not found.any()


def test_written_atomically_leaves_no_temporary_files(tmp_path):
    cache = EmbeddingCache(KEY, tmp_path)
    cache.add([text_hash("a")], _rows(1))
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == [cache.path.name]


def test_width_mismatch_and_bad_keys_raise(tmp_path):
    cache = EmbeddingCache(KEY, tmp_path)
    cache.add([text_hash("a")], _rows(1, dim=4))
    with pytest.raises(CacheFormatError, match="width"):
        cache.add([text_hash("b")], _rows(1, dim=5))
    with pytest.raises(ValueError, match="sha256"):
        cache.add(["not-a-hash"], _rows(1))
    with pytest.raises(ValueError, match="non-finite"):
        cache.add([text_hash("c")], np.full((1, 4), np.nan, np.float32))


@pytest.mark.parametrize("damage", ["garbage", "empty", "truncated", "wrong arrays"])
def test_a_damaged_archive_is_a_miss_and_is_replaced(tmp_path, damage):
    """Item 13: an empty, truncated or foreign archive is not a raw BadZipFile/EOFError on every later run: a warning
    naming the file, every lookup misses, and the next add replaces the file."""
    cache = EmbeddingCache(KEY, tmp_path)
    hashes = [text_hash(t) for t in "abc"]
    cache.add(hashes, _rows(3))
    data = cache.path.read_bytes()
    if damage == "garbage":
        cache.path.write_bytes(b"garbage")
    elif damage == "empty":
        cache.path.write_bytes(b"")
    elif damage == "truncated":
        cache.path.write_bytes(data[: len(data) // 2])
    else:
        with cache.path.open("wb") as handle:
            np.savez(handle, something=np.ones(3))
    with pytest.warns(UserWarning, match=rf"embedding cache {cache.path} is unreadable .*recomputed .*replaced"):
        found, values = cache.lookup(hashes)
    assert not found.any() and values is None
    fresh = _rows(3, seed=1)
    with pytest.warns(UserWarning, match="unreadable"):
        cache.add(hashes, fresh)
    found, values = cache.lookup(hashes)
    assert found.all()
    np.testing.assert_array_equal(values, fresh)


def test_an_archive_of_another_encoder_is_still_an_error(tmp_path):
    EmbeddingCache(KEY, tmp_path).add([text_hash("a")], _rows(1))
    other = EmbeddingCache(CacheKey("clip", "other", "rev", "fp32"), tmp_path)
    other.path.write_bytes(EmbeddingCache(KEY, tmp_path).path.read_bytes())
    with pytest.raises(CacheFormatError, match="clean-cache"):
        other.lookup([text_hash("a")])


def test_file_hash_is_content_hash(tmp_path):
    first, second = tmp_path / "x.bin", tmp_path / "y.bin"
    first.write_bytes(b"same")
    second.write_bytes(b"same")
    assert file_hash(first) == file_hash(second)
    second.write_bytes(b"changed")
    assert file_hash(first) != file_hash(second)


def test_clear_cache(tmp_path):
    EmbeddingCache(KEY, tmp_path).add([text_hash("a")], _rows(1))
    (tmp_path / "keep.txt").write_text("not ours")
    assert clear_cache(tmp_path) >= 1
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]
    assert clear_cache(tmp_path / "absent") == 0


def test_clear_cache_removes_saved_runs_and_leftover_temporary_files(tmp_path, monkeypatch):
    """make clean-cache also removes the run cache, the study results older versions saved, and what interrupted
    writes left."""
    from mmr_utils import paths
    from mmr_utils.experiments.run_cache import save_run

    monkeypatch.setattr(paths, "CACHE", tmp_path)
    EmbeddingCache(KEY, tmp_path).add([text_hash("a")], _rows(1))
    save_run("kmeans_adaptive-" + "1" * 24, np.ones((2, 3)), np.ones((2, 3)), np.arange(2), {"router": "kmeans"})
    (tmp_path / "studies" / ("main_results-" + "0" * 24)).mkdir(parents=True)
    leftovers = [tmp_path / ".clip.npz.abc123.tmp", tmp_path / "runs" / ".x.npz.k2j3.tmp",
                 tmp_path / "studies" / ("main_results-" + "0" * 24) / "arrays.npz"]
    for path in leftovers:
        path.write_bytes(b"partial")
    (tmp_path / "keep.txt").write_text("not ours")
    assert clear_cache(tmp_path) >= 6
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["keep.txt"]

"""Content-addressed embedding cache: round trip, merge, key separation, atomic files, clearing."""

import numpy as np
import pytest

from mmr_utils.cache import CacheFormatError, CacheKey, EmbeddingCache, clear_cache, file_hash, text_hash

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


def test_corrupt_file_gives_clear_error(tmp_path):
    cache = EmbeddingCache(KEY, tmp_path)
    cache.path.write_bytes(b"garbage")
    with pytest.raises(CacheFormatError, match="clean-cache"):
        cache.lookup([text_hash("a")])


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

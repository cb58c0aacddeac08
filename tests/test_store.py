"""Result store (study results as CSV + JSON + .npz): exact round trip, no pickle, damaged entries, unsafe folders."""

import json
import os
import pickle
import stat

import numpy as np
import pandas as pd
import pytest
from conftest import assert_same

from mmr_utils.experiments.store import ResultStore, UnsafeCacheFolderError


def awkward_frame() -> pd.DataFrame:
    frame = pd.DataFrame([
        {"router": "knn", "dataset": "All", "seed": 0, "mode": "22", "nAUC": 0.1 + 0.2, "QNC": np.inf,
         "model": None},
        {"router": "oracle", "dataset": "NA", "seed": 1, "mode": "021", "nAUC": np.nan, "QNC": -0.0,
         "model": 'm,"x"\n y\r'},
        {"router": "", "dataset": "None", "seed": -5, "mode": " 11 ", "nAUC": 5e-324, "QNC": 1e308, "model": "é ✓"},
    ])
    frame["objects"] = pd.Series(["text", None, 3], dtype=object)
    frame["nan_object"] = pd.Series([np.nan, "", "nan"], dtype=object)
    frame["nullable"] = pd.array([1, None, 3], dtype="Int64")
    frame["flag"] = [True, False, True]
    frame["f32"] = np.array([1.1, np.nan, -2.5], dtype=np.float32)
    frame["u8"] = np.array([0, 255, 7], dtype=np.uint8)
    frame["when"] = pd.to_datetime(["2020-01-01 00:00", "2021-06-30 12:00", "1999-12-31 23:59"])
    frame.attrs["note"] = "kept"
    return frame


@pytest.fixture
def store(tmp_path):
    return ResultStore(tmp_path / "cache" / "studies")


def test_round_trip_is_exact_including_dtypes_and_container_types(store):
    value = {
        "results": awkward_frame(),
        "curves": {"frontiers": {("knn", 0): {"All": np.random.default_rng(0).random((4, 2))}},
                   "references": {0: {"All": {"oracle": (0.25, 0.75), "best_single": "A",
                                              "single_models": np.arange(6, dtype=np.float64).reshape(3, 2)}}},
                   "ints": np.arange(3, dtype=np.int32), "empty": np.zeros((0, 2))},
        "provenance": {"data": {"simulated": True, "rows": 10, "path": None}, "seeds": [0, 1], "$dollar": 1.5,
                       "scalars": [np.float64(0.5), np.int64(3), np.bool_(True), np.float32(0.1)],
                       "nonfinite": [float("nan"), float("inf"), -0.0], "nested": (1, (2, "3"))},
    }
    store.save("main_results-0123", value)
    assert_same(value, store.load("main_results-0123"))


def test_round_trip_of_indexed_and_empty_frames(store):
    frame = awkward_frame()
    for name, value in [("multi", frame.set_index(["router", "seed"])), ("single", frame.set_index("mode")),
                        ("range", frame.iloc[1:].reset_index(drop=True).set_axis(pd.RangeIndex(5, 7), axis=0)),
                        ("norows", frame.iloc[:0]), ("nothing", pd.DataFrame())]:
        store.save(name, value)
        assert_same(value, store.load(name), name)


def test_files_are_data_only_and_never_unpickled(store, monkeypatch):
    store.save("entry", {"results": awkward_frame(), "curves": {"a": np.ones(2)}})
    entry = store.folder / "entry"
    assert sorted(p.name for p in entry.iterdir()) == ["arrays.npz", "frame-0.csv", "manifest.json"]
    assert json.loads((entry / "manifest.json").read_text())["format"] == "mmr_utils.experiments.store"
    assert pd.read_csv(entry / "frame-0.csv")["router"].tolist()[0] == "knn"  # readable as it is
    monkeypatch.setattr(pickle, "loads", lambda *a, **k: pytest.fail("pickle.loads called"))
    monkeypatch.setattr(pickle, "load", lambda *a, **k: pytest.fail("pickle.load called"))
    assert store.load("entry") is not None
    with pytest.raises(TypeError, match="object array"):
        store.save("bad", {"x": np.array([object()], dtype=object)})
    with pytest.raises(TypeError, match="cannot save a set"):
        store.save("bad", {"x": {1, 2}})


class Boom:
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_a_planted_pickle_or_object_array_is_a_miss_not_code(store, tmp_path):
    store.save("entry", {"curves": {"a": np.ones(2)}})
    entry = store.folder / "entry"
    # an archive holding a pickled object array (what allow_pickle=True would run), manifest hashes updated to match
    np.savez(entry / "arrays.npz", a0=np.array([Boom()], dtype=object), allow_pickle=True)
    manifest = json.loads((entry / "manifest.json").read_text())
    import hashlib

    data = (entry / "arrays.npz").read_bytes()
    manifest["files"]["arrays.npz"] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    (entry / "manifest.json").write_text(json.dumps(manifest))
    (store.folder / "legacy.pkl").write_bytes(pickle.dumps(Boom()))
    with pytest.warns(UserWarning, match="arrays.npz is unreadable"):
        assert store.load("entry") is None
    assert not (tmp_path / "PWNED").exists() and not os.path.exists("PWNED")


@pytest.mark.parametrize("damage", ["truncate manifest", "empty manifest", "truncate npz", "empty npz",
                                    "truncate csv", "edit csv", "delete csv", "not json", "manifest list"])
def test_damaged_entries_are_a_miss_and_are_replaced(store, damage):
    value = {"results": awkward_frame(), "curves": {"a": np.arange(50.0)}}
    store.save("entry", value)
    entry = store.folder / "entry"
    target = {"manifest": "manifest.json", "npz": "arrays.npz", "csv": "frame-0.csv", "json": "manifest.json",
              "list": "manifest.json"}[damage.split()[-1]]
    path = entry / target
    if damage.startswith("truncate"):
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    elif damage.startswith("empty"):
        path.write_bytes(b"")
    elif damage == "edit csv":
        path.write_text(path.read_text().replace("knn", "kNN"))
    elif damage == "delete csv":
        path.unlink()
    elif damage == "not json":
        path.write_text("{not json")
    else:
        path.write_text("[1, 2]")
    with pytest.warns(UserWarning, match=f"{target} is unreadable.*recomputing"):
        assert store.load("entry") is None
    store.save("entry", value)  # what a study does after a miss
    assert_same(value, store.load("entry"))


def test_a_folder_without_manifest_is_a_miss(store):
    (store.folder / "entry").mkdir(parents=True)
    with pytest.warns(UserWarning, match="no manifest.json"):
        assert store.load("entry") is None


@pytest.mark.parametrize("which, bits", [("studies", 0o020), ("studies", 0o002), ("root", 0o020), ("root", 0o002)])
def test_a_cache_folder_others_can_write_is_refused(tmp_path, which, bits):
    root = tmp_path / "cache"
    folder = root / "studies"
    folder.mkdir(parents=True, mode=0o700)
    os.chmod(root, 0o700)
    target = folder if which == "studies" else root
    os.chmod(target, 0o700 | bits)
    store = ResultStore(folder)
    with pytest.raises(UnsafeCacheFolderError, match=rf"{target} is writable by .*chmod go-w {target}.*MMR_CACHE_DIR"):
        store.load("entry")
    with pytest.raises(UnsafeCacheFolderError):
        store.save("entry", {"a": 1})
    os.chmod(target, 0o755)
    assert store.load("entry") is None


def test_a_sticky_world_writable_root_is_accepted_but_not_for_the_store_itself(tmp_path):
    root = tmp_path / "shared"
    root.mkdir()
    os.chmod(root, 0o1777)
    assert ResultStore(root / "studies").load("entry") is None
    assert stat.S_IMODE((root / "studies").stat().st_mode) == 0o700
    os.chmod(root / "studies", 0o1777)
    with pytest.raises(UnsafeCacheFolderError):
        ResultStore(root / "studies").load("entry")


def test_folders_are_created_private_whatever_the_umask(tmp_path):
    old = os.umask(0o002)
    try:
        store = ResultStore(tmp_path / "cache" / "studies")
        store.save("entry", {"a": 1})
    finally:
        os.umask(old)
    for folder in (tmp_path / "cache", tmp_path / "cache" / "studies"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert store.load("entry") == {"a": 1}


def test_entry_names_are_plain(store):
    for bad in ("../x", "/abs", "a/b", ".hidden", ""):
        with pytest.raises(ValueError, match="plain file names"):
            store.load(bad)


def test_an_array_whose_shape_or_dtype_differs_from_the_manifest_is_a_miss(tmp_path):
    """Checksums recomputed after an array was changed do not make the entry valid: the manifest records each
    array's shape and dtype, and a difference is a miss (None, with a warning), never a wrong-shaped value."""
    import hashlib
    import io

    store = ResultStore(tmp_path / "store")
    for change, message in ((lambda a: a[:-1], "has shape"), (lambda a: a.astype(np.int32), "has dtype")):
        entry = store.save("run", {"U": np.arange(6, dtype=np.int64).reshape(3, 2)})
        manifest = json.loads((entry / "manifest.json").read_text())
        name = manifest["value"]["U"]["array"]
        assert manifest["value"]["U"]["shape"] == [3, 2]
        with np.load(entry / "arrays.npz") as archive:
            arrays = {k: archive[k] for k in archive.files}
        arrays[name] = change(arrays[name])
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        (entry / "arrays.npz").write_bytes(buffer.getvalue())
        manifest["files"]["arrays.npz"] = {"sha256": hashlib.sha256(buffer.getvalue()).hexdigest(),
                                           "bytes": len(buffer.getvalue())}
        (entry / "manifest.json").write_text(json.dumps(manifest))
        with pytest.warns(UserWarning, match=f"{message} .* the manifest records"):
            assert store.load("run") is None

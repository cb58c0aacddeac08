"""Shared test helpers and fixtures: the simulated table and its feature bank (built once per session), and the
result caches kept out of the way (off, in a temporary folder) unless a test is about them."""

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (CI and `make test` are reproducible);
# HYPOTHESIS_PROFILE=explore draws fresh random examples, for hunting new counterexamples by hand.
settings.register_profile("reproducible", derandomize=True, database=None)
settings.register_profile("explore")
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "reproducible"))


def assert_same(a, b, where="value"):
    """Equal values of the same types, recursively (arrays: same dtype and shape; frames: exact, dtypes included)."""
    if isinstance(a, str) and not isinstance(a, np.str_):  # str subclasses (torch's version string) read back as str
        assert type(b) is str and a == b, where
        return
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True, check_dtype=True, check_index_type=True,
                                      check_column_type=True, check_names=True)
        assert a.attrs == b.attrs
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for (ka, va), kb in zip(a.items(), b):
            assert_same(ka, kb, f"{where} key")
            assert_same(va, b[kb], f"{where}[{ka!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert a == b, where
        if isinstance(a, float):
            assert np.copysign(1, a) == np.copysign(1, b), where


# ----------------------------------------------------------------------------------------------- shared fixtures
def pytest_configure(config):
    config.addinivalue_line("markers", "cache: a test about the result caches (the study and run caches stay on)")


@pytest.fixture(scope="session")
def _test_cache_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("mmr-cache")
    root.chmod(0o700)
    return root


@pytest.fixture(autouse=True)
def _isolated_cache(request, _test_cache_root, monkeypatch):
    """Every test writes its caches under a private temporary folder, never the repository's ``.cache``; the run
    cache is off (``MMR_RUN_CACHE=0``) unless the test is marked ``@pytest.mark.cache``."""
    from mmr_utils import paths

    monkeypatch.setattr(paths, "CACHE", _test_cache_root)
    monkeypatch.setenv("MMR_CACHE_DIR", str(_test_cache_root))
    if request.node.get_closest_marker("cache") is None:
        monkeypatch.setenv("MMR_RUN_CACHE", "0")
    else:
        monkeypatch.delenv("MMR_RUN_CACHE", raising=False)


@pytest.fixture(scope="session")
def sim_dir(tmp_path_factory):
    """A tiny simulated benchmark in the official schema (scale 0.02, data seed 1), written once per session."""
    from mmr_utils.data.simulator.benchmark import simulate_benchmark

    return simulate_benchmark(tmp_path_factory.mktemp("sim") / "bench", scale=0.02, seed=1)


@pytest.fixture(scope="session")
def sim_table(sim_dir):
    """The outcome table of :func:`sim_dir` (treat as read-only: use dataclasses.replace to alter it)."""
    from mmr_utils.data.official import load_table

    return load_table(sim_dir)


@pytest.fixture(scope="session")
def sim_bank(sim_table, tmp_path_factory):
    """The offline embeddings (MiniLM + image statistics) of :func:`sim_table`, embedded once per session."""
    from mmr_utils.features.bank import embed_table

    return embed_table(sim_table, "offline", cache_dir=tmp_path_factory.mktemp("embeddings"))


def epochs(value) -> dict:
    """``RunConfig.router_params`` that set training epochs: one number for every neural router, or
    ``{router: epochs}``."""
    from mmr_utils.experiments.runs import NEURAL_ROUTERS

    names = dict(value) if isinstance(value, dict) else dict.fromkeys((*NEURAL_ROUTERS, "irt"), value)
    return {name: {"epochs": n} for name, n in names.items()}

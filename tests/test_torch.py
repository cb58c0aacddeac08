"""mmr_utils._torch: device, dtype and seeding, shared by the encoders and the neural routers."""

import numpy as np
import pytest
import torch

from mmr_utils import _torch
from mmr_utils._torch import dtype_name, resolve_device, resolve_dtype, seeded


@pytest.mark.parametrize("device", [None, "auto"])
def test_none_and_auto_pick_cuda_only_when_available(device, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device(device) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device(device) == torch.device("cuda")


@pytest.mark.parametrize("device", ["cuda", "cuda:1", torch.device("cuda")])
def test_explicit_cuda_without_cuda_is_an_error_naming_the_device(device, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="'cuda.*requested but torch.cuda.is_available"):
        resolve_device(device)


def test_explicit_cpu_and_bad_names():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    with pytest.raises(RuntimeError):
        resolve_device("gpu0")


def test_dtype_defaults_overrides_and_names():
    assert resolve_dtype(None, torch.device("cpu")) is torch.float32
    assert resolve_dtype(None, torch.device("cuda")) is torch.bfloat16
    for name, dtype, short in (("bf16", torch.bfloat16, "bf16"), ("FP16", torch.float16, "fp16"),
                               ("half", torch.float16, "fp16"), ("float32", torch.float32, "fp32")):
        assert resolve_dtype(name, torch.device("cpu")) is dtype
        assert resolve_dtype(dtype, torch.device("cpu")) is dtype
        assert dtype_name(dtype) == short
    with pytest.raises(ValueError, match="unsupported dtype 'int8'"):
        resolve_dtype("int8", torch.device("cpu"))
    with pytest.raises(ValueError, match="unsupported dtype"):
        resolve_dtype(torch.float64, torch.device("cpu"))


def test_seeded_is_reproducible_and_leaves_the_global_rng_alone():
    torch.manual_seed(7)
    expected_next = torch.rand(3)
    torch.manual_seed(7)
    with seeded(1, torch.device("cpu")):
        first = torch.rand(4)
    with seeded(1, torch.device("cpu")):
        second = torch.rand(4)
    with seeded(2, torch.device("cpu")):
        other = torch.rand(4)
    assert torch.equal(first, second) and not torch.equal(first, other)
    assert torch.equal(torch.rand(3), expected_next)


def test_encoders_and_neural_routers_use_this_one_helper(monkeypatch):
    from mmr_utils.features.encoders import clip, minilm
    from mmr_utils.routers import neural
    from mmr_utils.routers.base import make_router

    assert clip.resolve_device is minilm.resolve_device is neural.resolve_device \
        is _torch.resolve_device
    assert not hasattr(neural, "_resolve_device")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    rng = np.random.default_rng(0)
    X, Y, C = rng.standard_normal((20, 4)), (rng.random((20, 3)) < 0.5).astype(float), rng.random((20, 3))
    with pytest.raises(ValueError, match="'cuda' requested"):
        make_router("mlp", epochs=1, device="cuda").fit(X, Y, C)
    assert make_router("mlp", epochs=1, device="auto").fit(X, Y, C).device_ == "cpu"


@pytest.fixture(autouse=True)
def _keep_runtime_threads(monkeypatch):
    """The thread tests below ask for 3 or 5 threads; record the OpenMP/BLAS limits instead of applying them, so no
    later test in this process computes on another thread count."""
    import threadpoolctl

    recorded = []
    monkeypatch.setattr(threadpoolctl, "threadpool_limits", lambda limits=None, **kwargs: recorded.append(limits))
    monkeypatch.setattr(_torch, "_modules_limited", -1)
    return recorded


def test_configure_threads_limits_every_loaded_openmp_and_blas_runtime(monkeypatch):
    import threadpoolctl

    monkeypatch.undo()  # the real threadpool_limits
    import sklearn.cluster  # noqa: F401  (loads scikit-learn's OpenMP runtime)

    monkeypatch.setattr(_torch, "_modules_limited", -1)
    threads = _torch.configure_threads()
    info = threadpoolctl.threadpool_info()
    assert info and {entry["num_threads"] for entry in info} == {threads}


def test_threads_are_set_once_from_the_environment(monkeypatch, _keep_runtime_threads):
    monkeypatch.setattr(_torch, "_threads_set", None)
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    monkeypatch.setenv(_torch.THREADS_ENV, "3")
    assert _torch.configure_threads() == 3
    monkeypatch.setenv(_torch.THREADS_ENV, "5")  # a later change is ignored: threads are set once per process
    assert _torch.configure_threads() == 3
    assert calls == [3]
    assert _keep_runtime_threads == [3]  # OpenMP/BLAS limited to the same count (again only after new imports)


def test_threads_default_to_one(monkeypatch):
    monkeypatch.setattr(_torch, "_threads_set", None)
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    monkeypatch.delenv(_torch.THREADS_ENV, raising=False)
    assert _torch.configure_threads() == 1 and calls == [1]


@pytest.mark.parametrize("raw", ["0", "-2", "two", ""])
def test_a_bad_thread_count_is_an_error_naming_the_variable(raw, monkeypatch):
    monkeypatch.setattr(_torch, "_threads_set", None)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: pytest.fail("threads set from a bad value"))
    monkeypatch.setenv(_torch.THREADS_ENV, raw)
    with pytest.raises(ValueError, match=f"{_torch.THREADS_ENV}=.*positive integer"):
        _torch.configure_threads()


def test_training_a_neural_router_sets_the_threads(monkeypatch):
    from mmr_utils.routers.base import make_router

    monkeypatch.setattr(_torch, "_threads_set", None)
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    monkeypatch.setenv(_torch.THREADS_ENV, "1")
    rng = np.random.default_rng(0)
    X, Y, C = rng.normal(size=(20, 4)), rng.integers(0, 2, (20, 3)).astype(float), rng.random((20, 3))
    make_router("mlp", epochs=1, seed=0).fit(X, Y, C)
    make_router("mlp", epochs=1, seed=1).fit(X, Y, C)
    assert calls == [1]

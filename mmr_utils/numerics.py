"""What decides the last bits of a result on a CPU, and the pins that take the choice away from the CPU.

torch, MKL and OpenBLAS choose their kernels (hence summation order) by the CPU; :data:`PINS` fix that choice
(docs/reproducibility.md, "The pins"). They must be set before the libraries load: the Makefile and the kernelspec
export them, ``import mmr_utils`` sets them if still possible (:func:`apply_pins_at_import`) and the command lines
restart with them (:func:`restart_pinned`). :func:`numerics_description` records CPU, library choices and pins in every
run record (effects: benchmarks/results/isa_invariance.md)."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path

#: The pins: torch's kernels and oneDNN on AVX2 (every x86-64 CPU of the last decade has it), MKL in its
#: vendor-independent compatible branch, OpenBLAS on the Haswell kernels with a fixed L2 size.
PINS: dict[str, str] = {
    "ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE", "ONEDNN_MAX_CPU_ISA": "AVX2",
    "OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512",
}
#: Variables that change the code path but are not pinned: recorded when set, because they change results too.
OTHER_CODE_PATH_VARIABLES = ("MKL_ENABLE_INSTRUCTIONS", "MKL_DEBUG_CPU_TYPE", "DNNL_MAX_CPU_ISA", "OMP_NUM_THREADS",
                             "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MMR_TORCH_THREADS")
#: Set to ``0`` to run without the pins (``python -m mmr_utils`` then does not restart itself); recorded as unpinned.
PINS_SWITCH = "MMR_NUMERICS_PINS"
#: Set by a process that could not be pinned: the processes it starts stay unpinned unless :func:`pinned_environment`.
PARENT_UNPINNED = "MMR_NUMERICS_PARENT_UNPINNED"


def pins_wanted(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the pins should apply: yes unless ``MMR_NUMERICS_PINS=0``."""
    environ = os.environ if environ is None else environ
    return environ.get(PINS_SWITCH, "1") != "0"


def pinned_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``environ`` (default: this process's) with :data:`PINS` set, unless ``MMR_NUMERICS_PINS=0``; a pin
    variable already set to another value is overridden (the pins are what makes a run comparable)."""
    env = dict(os.environ if environ is None else environ)
    if pins_wanted(env):
        env.update(PINS)
        env.pop(PARENT_UNPINNED, None)
    return env


#: The libraries whose code path the pins choose: once one is loaded, setting a pin in this process is too late.
PINNED_LIBRARIES = ("numpy", "scipy", "torch", "sklearn")
#: Whether importing mmr_utils set the pins in this process (:func:`apply_pins_at_import`).
_applied_at_import = False


def apply_pins_at_import() -> bool:
    """Set :data:`PINS` in this process's environment when wanted and none of :data:`PINNED_LIBRARIES` is loaded
    yet (``import mmr_utils`` calls this); return whether it did. Too late and unpinned, it sets
    :data:`PARENT_UNPINNED` so that this process's workers compute as it does."""
    global _applied_at_import
    import sys

    if not pins_wanted() or os.environ.get(PARENT_UNPINNED):
        return False
    if any(name in sys.modules for name in PINNED_LIBRARIES):
        if not pins_status()["set"]:  # workers must compute unpinned like this process
            os.environ[PARENT_UNPINNED] = "1"
        return False
    if all(os.environ.get(name) == value for name, value in PINS.items()):
        return False
    os.environ.update(PINS)
    _applied_at_import = True
    return True


def pins_status(environ: Mapping[str, str] | None = None, libraries: Mapping | None = None) -> dict:
    """Whether :data:`PINS` hold: ``set`` when every pin of ``environ`` (default: this process's) has its value (else
    ``missing``, ``different``); with ``libraries`` (:func:`libraries_description`), ``effective`` when the libraries
    report the pinned code paths (else ``ineffective``; ``None`` off x86-64). ``active``: set and not ineffective."""
    import platform

    environ = os.environ if environ is None else environ
    missing = sorted(name for name in PINS if name not in environ)
    different = {name: environ[name] for name in PINS if name in environ and environ[name] != PINS[name]}
    status = {"set": not missing and not different, "missing": missing, "different": different,
              "set_at_import": _applied_at_import}
    effective = None
    if libraries is not None and platform.machine().lower() in ("x86_64", "amd64"):
        ineffective = []
        if libraries.get("torch_cpu_capability") not in ("AVX2", None):
            ineffective.append(f"torch cpu capability {libraries.get('torch_cpu_capability')} (pinned: AVX2)")
        branch = (libraries.get("mkl") or {}).get("cbwr_branch")
        if libraries.get("mkl") is not None and branch != "COMPATIBLE":
            ineffective.append(f"MKL branch {branch} (pinned: COMPATIBLE)")
        for blas in libraries.get("openblas", []):
            if blas.get("core_type") != PINS["OPENBLAS_CORETYPE"]:
                ineffective.append(f"{blas.get('library')} core type {blas.get('core_type')} "
                                   f"(pinned: {PINS['OPENBLAS_CORETYPE']})")
        effective = not ineffective
        status["ineffective"] = ineffective
    status["effective"] = effective
    status["active"] = status["set"] and effective is not False
    return status


def cpu_identity(cpuinfo: str | None = None) -> dict:
    """Vendor, family, model, stepping and model name of the first CPU in ``/proc/cpuinfo`` (Linux), plus whether it
    reports AVX2 and AVX-512F; every value ``None`` where the file or the field is absent (other systems)."""
    import platform

    if cpuinfo is None:
        path = Path("/proc/cpuinfo")
        cpuinfo = path.read_text(errors="replace") if path.is_file() else ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break  # the first processor's block is enough: they are identical on the machines this runs on
            continue
        key, _, value = line.partition(":")
        fields.setdefault(key.strip().lower(), value.strip())
    flags = fields.get("flags", "").split()
    return {"vendor": fields.get("vendor_id"), "family": fields.get("cpu family"), "model": fields.get("model"),
            "stepping": fields.get("stepping"), "model_name": fields.get("model name"),
            "architecture": platform.machine(),
            "avx2": ("avx2" in flags) if flags else None, "avx512f": ("avx512f" in flags) if flags else None}


def _mkl_state() -> dict | None:
    """MKL inside torch: its version and the conditional-numerical-reproducibility branch it runs (``None`` when
    torch has no MKL). The branch is read from MKL itself, so a variable MKL ignores shows as such."""
    import ctypes

    import torch

    if not torch.backends.mkl.is_available():
        return None
    branches = {1: "OFF", 2: "AUTO", 3: "COMPATIBLE", 4: "SSE2", 6: "SSSE3", 7: "SSE4_1", 8: "SSE4_2", 9: "AVX",
                10: "AVX2", 12: "AVX512", 14: "AVX512_E1"}
    state: dict = {"version": None, "cbwr_branch": None}
    try:
        library = ctypes.CDLL(str(Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"))
        text = ctypes.create_string_buffer(256)
        library.MKL_Get_Version_String(text, len(text))
        state["version"] = text.value.decode(errors="replace")
        library.mkl_serv_cbwr_get.restype = ctypes.c_int
        code = library.mkl_serv_cbwr_get(1)
        state["cbwr_branch"] = branches.get(code, str(code))
    except (OSError, AttributeError) as error:  # another torch build: MKL linked differently or not exported
        state["unreadable"] = f"{type(error).__name__}: {error}"
    return state


def libraries_description() -> dict:
    """What the numerical libraries loaded in this process chose: torch's CPU capability, MKL's version and branch,
    oneDNN's version, each OpenBLAS's core type and version (through threadpoolctl), and the thread count results
    are computed on (``MMR_TORCH_THREADS``, default 1: :func:`mmr_utils._torch.configure_threads`)."""
    import numpy  # noqa: F401  (loads numpy's OpenBLAS so that threadpoolctl sees it)
    import scipy.linalg  # noqa: F401  (loads scipy's OpenBLAS, the one scikit-learn calls)
    import torch
    from threadpoolctl import threadpool_info

    from ._torch import _requested_threads

    openblas = [{"library": Path(info["filepath"]).name, "version": info.get("version"),
                 "core_type": info.get("architecture"), "threads": info.get("num_threads")}
                for info in threadpool_info() if info.get("internal_api") == "openblas"]
    onednn = None
    if torch.backends.mkldnn.is_available():  # its version from torch's build summary (its ISA is not exported)
        found = re.search(r"(?:MKL-DNN|oneDNN)\D*v?(\d+\.\d+(?:\.\d+)?)", torch.__config__.show())
        onednn = found.group(1) if found else "available"
    return {"torch": torch.__version__, "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "compute_threads": _requested_threads(), "mkl": _mkl_state(), "onednn": onednn, "openblas": openblas}


def numerics_description(environ: Mapping[str, str] | None = None) -> dict:
    """Everything that decides the last bits of a CPU result in this process: the CPU (:func:`cpu_identity`), what the
    libraries chose (:func:`libraries_description`), the pin variables and other code-path variables as set, and
    whether the pins are active (:func:`pins_status`)."""
    environ = os.environ if environ is None else environ
    variables = {name: environ.get(name) for name in (*PINS, *OTHER_CODE_PATH_VARIABLES)}
    libraries = libraries_description()
    return {"cpu": cpu_identity(), "libraries": libraries,
            "variables": {name: value for name, value in variables.items() if value is not None or name in PINS},
            "pins": pins_status(environ, libraries)}


@functools.lru_cache(maxsize=1)
def process_numerics() -> dict:
    """:func:`numerics_description` of this process, computed once (the libraries do not change their choice)."""
    return numerics_description()


def same_numerics(recorded: Mapping | None, current: Mapping | None) -> tuple[bool, list[str]]:
    """Whether two :func:`numerics_description` records promise bit-identical results (same CPU, torch capability and
    threads, MKL branch, OpenBLAS core types, pins active in both), and the reasons they do not."""
    if not recorded or not current:
        return False, ["no numerics record " + ("in the committed run record" if not recorded else "for this machine")]
    reasons = []

    def compare(label, a, b):
        if a != b:
            reasons.append(f"{label}: recorded {a!r}, here {b!r}")

    for key in ("vendor", "family", "model", "architecture"):
        compare(f"cpu {key}", recorded.get("cpu", {}).get(key), current.get("cpu", {}).get(key))
    libs_r, libs_c = recorded.get("libraries", {}), current.get("libraries", {})
    compare("torch cpu capability", libs_r.get("torch_cpu_capability"), libs_c.get("torch_cpu_capability"))
    compare("compute threads", libs_r.get("compute_threads"), libs_c.get("compute_threads"))
    compare("mkl branch", (libs_r.get("mkl") or {}).get("cbwr_branch"), (libs_c.get("mkl") or {}).get("cbwr_branch"))
    compare("openblas core types", sorted(b.get("core_type") or "" for b in libs_r.get("openblas", [])),
            sorted(b.get("core_type") or "" for b in libs_c.get("openblas", [])))
    for label, record in (("recorded", recorded), ("here", current)):
        if not record.get("pins", {}).get("active"):
            reasons.append(f"pins not active {label}")
    return not reasons, reasons


#: Set in the environment of a process that :func:`restart_pinned` started, so that it never restarts twice.
_RESTARTED = "MMR_NUMERICS_RESTARTED"


def restart_pinned(argv: list[str] | None = None, *, module: str = "mmr_utils") -> None:
    """Replace this process by ``python -m <module> <argv>`` (default: the same command) with :data:`PINS` set when
    wanted and not all set; not with ``MMR_NUMERICS_PINS=0``, after one restart, or without ``os.execve`` (Windows)."""
    import sys

    if not pins_wanted() or pins_status()["set"] or os.environ.get(_RESTARTED) or os.name != "posix":
        return
    env = pinned_environment()
    env[_RESTARTED] = "1"
    command = [sys.executable, "-m", module, *(sys.argv[1:] if argv is None else argv)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, command, env)


def pin_kernelspec(kernel: str = "python3") -> Path:
    """Add :data:`PINS` to the ``env`` of the Jupyter kernelspec ``kernel`` (the one ``make venv`` installs), keeping
    its other entries, so notebooks opened in Jupyter compute under the pins too; returns the kernel.json written."""
    import json

    from jupyter_client.kernelspec import KernelSpecManager

    folder = Path(KernelSpecManager().get_kernel_spec(kernel).resource_dir)
    path = folder / "kernel.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    spec["env"] = {**spec.get("env", {}), **PINS}
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def main(argv: list[str] | None = None) -> int:
    """Print this process's numerics record, or (``--kernel NAME``) pin a Jupyter kernel; the Makefile runs
    ``python -c "from mmr_utils.numerics import main; main(['--kernel', 'python3'])"``."""
    import argparse
    import json

    parser = argparse.ArgumentParser(description="numerical pins: show what decides the last bits, or pin a kernel")
    parser.add_argument("--kernel", help="add the pins to this Jupyter kernelspec's env (make venv: python3)")
    args = parser.parse_args(argv)
    if args.kernel:
        print(f"numerical pins written into {pin_kernelspec(args.kernel)}")
        return 0
    print(json.dumps(numerics_description(), indent=1, default=str))
    return 0

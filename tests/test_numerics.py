"""The numerical pins: their values everywhere they are set, what a process reports about them, and the record that
decides whether two machines compute the same last bits."""

import json
import os
import re
import subprocess
import sys

import pytest

from mmr_utils import numerics, paths

CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 26
model\t\t: 2
model name\t: AMD EPYC
stepping\t: 1
flags\t\t: fpu avx avx2 fma avx512f avx512bw

processor\t: 1
vendor_id\t: SomethingElse
"""


def test_makefile_exports_exactly_the_pins():
    text = (paths.ROOT / "Makefile").read_text()
    exported = dict(re.findall(r"^export (\w+) := (\S+)$", text, flags=re.M))
    assert {name: exported.get(name) for name in numerics.PINS} == numerics.PINS


def test_cpu_identity_reads_the_first_processor():
    cpu = numerics.cpu_identity(CPUINFO)
    assert (cpu["vendor"], cpu["family"], cpu["model"], cpu["model_name"]) == ("AuthenticAMD", "26", "2", "AMD EPYC")
    assert cpu["avx2"] is True and cpu["avx512f"] is True
    empty = numerics.cpu_identity("")
    assert empty["vendor"] is None and empty["avx2"] is None


def test_pins_status_names_missing_and_different_variables():
    env = dict(numerics.PINS)
    assert numerics.pins_status(env)["set"] is True
    del env["MKL_CBWR"]
    env["OPENBLAS_CORETYPE"] = "SkylakeX"
    status = numerics.pins_status(env)
    assert status["set"] is False and status["active"] is False
    assert status["missing"] == ["MKL_CBWR"] and status["different"] == {"OPENBLAS_CORETYPE": "SkylakeX"}


def test_pins_status_checks_what_the_libraries_report(monkeypatch):
    import platform

    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    good = {"torch_cpu_capability": "AVX2", "mkl": {"cbwr_branch": "COMPATIBLE"},
            "openblas": [{"library": "libopenblas.so", "core_type": "Haswell"}]}
    assert numerics.pins_status(numerics.PINS, good)["active"] is True
    bad = {**good, "torch_cpu_capability": "AVX512", "openblas": [{"library": "libopenblas.so", "core_type": "Zen"}]}
    status = numerics.pins_status(numerics.PINS, bad)
    assert status["set"] is True and status["effective"] is False and status["active"] is False
    assert any("AVX512" in line for line in status["ineffective"]) and any("Zen" in line for line in
                                                                          status["ineffective"])


def test_pinned_environment_overrides_and_respects_the_switch():
    env = numerics.pinned_environment({"OPENBLAS_CORETYPE": "Zen", "OTHER": "1"})
    assert env["OPENBLAS_CORETYPE"] == "Haswell" and env["OTHER"] == "1" and env["MKL_CBWR"] == "COMPATIBLE"
    off = numerics.pinned_environment({numerics.PINS_SWITCH: "0", "OPENBLAS_CORETYPE": "Zen"})
    assert off["OPENBLAS_CORETYPE"] == "Zen" and "MKL_CBWR" not in off


def _python(code: str, env: dict) -> dict:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300,
                          cwd=paths.ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in numerics.PINS and k not in (numerics.PINS_SWITCH, numerics.PARENT_UNPINNED)}
    env["PYTHONPATH"] = str(paths.ROOT)
    env.update(extra)
    return env


REPORT = ("import json, {first}; from mmr_utils.numerics import numerics_description as d; r = d(); "
          "print(json.dumps({{'pins': r['pins'], 'libs': r['libraries']}}))")


def test_importing_mmr_utils_first_pins_the_libraries():
    result = _python(REPORT.format(first="mmr_utils"), _clean_env())
    assert result["pins"]["set_at_import"] is True and result["pins"]["active"] is True, result
    assert result["libs"]["torch_cpu_capability"] == "AVX2"
    assert {b["core_type"] for b in result["libs"]["openblas"]} == {"Haswell"}


def test_numpy_loaded_first_leaves_the_process_unpinned_and_says_so():
    result = _python(REPORT.format(first="numpy"), _clean_env())
    assert result["pins"]["set_at_import"] is False and result["pins"]["active"] is False
    assert result["pins"]["missing"] == sorted(numerics.PINS)


def test_an_unpinned_process_starts_its_workers_unpinned_too():
    """Training workers import mmr_utils before numpy, so they would pin themselves; a parent that could not be pinned
    switches the pins off for its children, so that a run computes the same wherever it trains."""
    code = ("import json, numpy, os; import mmr_utils, subprocess, sys; "
            "child = subprocess.run([sys.executable, '-c', " + repr(REPORT.format(first="mmr_utils")) + "], "
            "capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]; "
            "print(json.dumps({'switch': os.environ.get('MMR_NUMERICS_PINS'), "
            "'marker': os.environ.get('MMR_NUMERICS_PARENT_UNPINNED'), 'child': json.loads(child)}))")
    result = _python(code, _clean_env())
    assert result["switch"] is None and result["marker"] == "1"
    assert result["child"]["pins"]["active"] is False and result["child"]["libs"]["torch_cpu_capability"] != "AVX2"


def test_switch_off_keeps_the_process_unpinned():
    result = _python(REPORT.format(first="mmr_utils"), _clean_env(**{numerics.PINS_SWITCH: "0"}))
    assert result["pins"]["set_at_import"] is False and result["pins"]["active"] is False


def test_restart_replaces_the_process_with_a_pinned_one(tmp_path):
    names = sorted(numerics.PINS)
    (tmp_path / "print_env.py").write_text(
        "import json, os, sys\n"
        f"print(json.dumps({{'argv': sys.argv[1:], 'env': {{k: os.environ.get(k) for k in {names!r}}}}}))\n")
    env = _clean_env(OPENBLAS_CORETYPE="Zen")
    env["PYTHONPATH"] = f"{paths.ROOT}{os.pathsep}{tmp_path}"
    # numpy first: then importing mmr_utils cannot pin the process any more, and only a restart can
    code = ("import numpy, sys; sys.argv = ['x', 'a', 'b']; from mmr_utils import numerics; "
            "numerics.restart_pinned(module='print_env'); print('{\"not\": \"restarted\"}')")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300,
                          cwd=paths.ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"argv": ["a", "b"], "env": numerics.PINS}
    pinned = subprocess.run([sys.executable, "-c", code], env={**env, **numerics.PINS}, capture_output=True,
                            text=True, timeout=300, cwd=paths.ROOT)
    assert json.loads(pinned.stdout.strip().splitlines()[-1]) == {"not": "restarted"}


def test_same_numerics_compares_cpu_code_paths_and_pins():
    record = {"cpu": {"vendor": "AuthenticAMD", "family": "26", "model": "2", "architecture": "x86_64"},
              "libraries": {"torch_cpu_capability": "AVX2", "mkl": {"cbwr_branch": "COMPATIBLE"},
                            "openblas": [{"core_type": "Haswell"}]},
              "pins": {"active": True}}
    assert numerics.same_numerics(record, json.loads(json.dumps(record))) == (True, [])
    other = json.loads(json.dumps(record))
    other["cpu"]["family"] = "25"
    same, reasons = numerics.same_numerics(record, other)
    assert not same and reasons == ["cpu family: recorded '26', here '25'"]
    unpinned = json.loads(json.dumps(record))
    unpinned["pins"]["active"] = False
    assert numerics.same_numerics(record, unpinned)[1] == ["pins not active here"]
    assert numerics.same_numerics(None, record)[0] is False


@pytest.mark.parametrize("kernel_env", [{}, {"OTHER": "kept"}])
def test_pin_kernelspec_adds_the_pins_and_keeps_other_variables(tmp_path, monkeypatch, kernel_env):
    folder = tmp_path / "kernels" / "python3"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps({"argv": ["python"], "display_name": "P", "env": kernel_env}))

    class Spec:
        resource_dir = str(folder)

    class Manager:
        def get_kernel_spec(self, name):
            assert name == "python3"
            return Spec()

    import jupyter_client.kernelspec

    monkeypatch.setattr(jupyter_client.kernelspec, "KernelSpecManager", Manager)
    path = numerics.pin_kernelspec("python3")
    spec = json.loads(path.read_text())
    assert spec["env"] == {**kernel_env, **numerics.PINS} and spec["argv"] == ["python"]

"""Sweeps that survive a dead kernel and a relative --out from anywhere, and YAML mistakes reported in one line."""

from __future__ import annotations

import json

import jupytext
import pandas as pd
import pytest

from tools.__main__ import main

POINT = '''# %% tags=["parameters"]
x = 1
result_path = ""

# %%
import json
import os

if x == 0:
    os._exit(1)  # the kernel process dies, as it does when it runs out of memory
json.dump({"double": 2 * x}, open(result_path, "w"))
'''


def _pair(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    py_path = folder / f"{name}.py"
    py_path.write_text(text)
    jupytext.write(jupytext.read(py_path), folder / f"{name}.ipynb")
    return py_path


def test_a_dead_kernel_fails_its_point_and_the_rest_still_run_and_aggregate(tmp_path, capsys):
    _pair(tmp_path / "nb", "09_point", POINT)
    config = tmp_path / "nb" / "sweep.yaml"
    config.write_text("notebook: 09_point.py\ngrid:\n  x: [1, 0, 3]\n")
    out = tmp_path / "sweep"
    code = main(["sweep", "--config", str(config), "--out", str(out), "--jobs", "1", "--no-figure"])
    captured = capsys.readouterr()
    assert code == 1
    assert "run x=0 failed" in captured.err and "DeadKernelError" in captured.err
    assert "Traceback" not in captured.err
    results = pd.read_csv(out / "09_point" / "results.csv")
    assert results[["x", "double"]].values.tolist() == [[1, 2], [3, 6]]
    assert "2 of 3 runs ok" in captured.out


def test_a_relative_out_is_taken_from_the_callers_folder(tmp_path, capsys, monkeypatch):
    _pair(tmp_path / "nb", "09_point", POINT)
    config = tmp_path / "nb" / "sweep.yaml"
    config.write_text("notebook: 09_point.py\ngrid:\n  x: [2]\n")
    elsewhere = tmp_path / "work"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code = main(["sweep", "--config", str(config), "--out", "rel/out", "--jobs", "1", "--no-figure"])
    assert code == 0, capsys.readouterr().err
    folder = elsewhere / "rel" / "out" / "09_point"
    assert json.loads((folder / "x=2.json").read_text()) == {"double": 4}
    assert pd.read_csv(folder / "results.csv")["double"].tolist() == [4]
    assert not (tmp_path / "nb" / "rel").exists(), "nothing lands beside the notebook"


@pytest.mark.parametrize("command, text, where", [
    ("sweep", "notebook: a.py\ngrid:\n  x: [1, 2\n", "line 4, column 1"),
    ("sweep", "notebook: a.py\ngrid:\n\tx: [1]\n", "line 3, column 1"),
    ("run-notebook", "seed: 1\n  nested: : 2\n", "line 2, column 9"),
])
def test_malformed_yaml_is_one_line_with_file_line_and_column(tmp_path, capsys, command, text, where):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    if command == "sweep":
        argv = ["sweep", "--config", str(path), "--out", str(tmp_path / "o")]
        what = "sweep config"
    else:
        _pair(tmp_path, "01_nb", POINT)
        argv = ["run-notebook", str(tmp_path / "01_nb.py"), "--params", str(path), "--out", str(tmp_path / "o.ipynb")]
        what = "parameters file"
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert f"{what} {path}, {where}: not valid YAML" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_malformed_parameter_value_names_the_parameter_line_and_column(tmp_path, capsys):
    _pair(tmp_path, "01_nb", POINT)
    argv = ["run-notebook", str(tmp_path / "01_nb.py"), "-p", "seed", "[1, 2", "--out", str(tmp_path / "o.ipynb")]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "-p seed '[1, 2': not a valid YAML value, line 1, column 6" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.ipynb").exists()

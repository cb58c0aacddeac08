"""``python -m mmr_utils``: pair check, papermill runs (parameters, failures, untouched sources), sweep, data errors."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pandas as pd
import pytest

from mmr_utils.cli import main
from tools.__main__ import main as tools_main

TINY = '''# %% [markdown]
# # Tiny notebook

# %% tags=["parameters"]
x = 1
label: str = "a"  # a "quoted" comment (with parentheses); papermill's own inspection gives up on this line
result_path = ""

# %%
import json
import os

print("cwd", os.getcwd())
print("value", x * 10, label)
if result_path:
    with open(result_path, "w") as handle:
        json.dump({"tenfold": x * 10, "label": label, "nested": {"square": x * x}}, handle)
'''

FAILING = '''# %% tags=["parameters"]
divisor = 0

# %%
ok = 1

# %%
ratio = 1 / divisor
'''


def make_pair(folder, name, text):
    py_path = folder / f"{name}.py"
    py_path.write_text(text)
    jupytext.write(jupytext.read(py_path), folder / f"{name}.ipynb")
    return py_path


def outputs_text(path) -> str:
    nb = nbformat.read(path, as_version=4)
    return "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs)


def test_check_pairs_passes_on_synced_pairs_even_with_outputs(tmp_path, capsys):
    make_pair(tmp_path, "01_tiny", TINY)
    make_pair(tmp_path, "02_fail", FAILING)
    ipynb = tmp_path / "01_tiny.ipynb"
    nb = nbformat.read(ipynb, as_version=4)
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="value 10 a\n")]
    nb.cells[2].execution_count = 3
    nbformat.write(nb, ipynb)
    assert tools_main(["check-pairs", "--notebooks", str(tmp_path)]) == 0
    assert "OK, 2 notebook pairs" in capsys.readouterr().out


def test_check_pairs_fails_on_an_edited_py_and_a_lone_file(tmp_path, capsys):
    py_path = make_pair(tmp_path, "01_tiny", TINY)
    make_pair(tmp_path, "02_fail", FAILING)
    py_path.write_text(TINY.replace("x * 10, label", "x * 11, label"))
    (tmp_path / "03_lonely.py").write_text("# %%\nprint(1)\n")
    assert tools_main(["check-pairs", "--notebooks", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "01_tiny.py: cell 2: source differ" in err
    assert "03_lonely.py: no 03_lonely.ipynb" in err
    assert "02_fail" not in err
    assert "2 of 3 notebooks out of sync" in err


def test_check_pairs_notices_a_changed_tag(tmp_path, capsys):
    py_path = make_pair(tmp_path, "01_tiny", TINY)
    py_path.write_text(TINY.replace('# %% tags=["parameters"]', "# %%"))
    assert tools_main(["check-pairs", "--notebooks", str(tmp_path)]) == 1
    assert "cell 1: tags differ" in capsys.readouterr().err


def test_run_notebook_injects_parameters_and_leaves_the_source_alone(tmp_path, capsys, caplog):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    py_path = make_pair(notebooks, "01_tiny", TINY)
    before = {p.name: p.read_bytes() for p in notebooks.iterdir()}
    params = tmp_path / "tiny.yaml"
    params.write_text("x: 4\nlabel: from-yaml\n")
    out = tmp_path / "build" / "01_tiny.ipynb"
    code = tools_main(["run-notebook", str(py_path), "--params", str(params), "--out", str(out), "-p", "label", "cli"])
    assert code == 0, capsys.readouterr().err
    text = outputs_text(out)
    assert "value 40 cli" in text
    assert f"cwd {notebooks}" in text
    assert {p.name: p.read_bytes() for p in notebooks.iterdir()} == before
    assert sorted(p.name for p in out.parent.iterdir()) == ["01_tiny.ipynb", "01_tiny.run.json"]
    run = json.loads((out.parent / "01_tiny.run.json").read_text())
    assert run["notebook"] == "01_tiny" and run["wall_s"] > 0 and run["peak_rss_mb"] > 0
    assert run["machine"]["cores"] >= 1 and run["machine"]["architecture"]
    assert isinstance(run["machine"]["torch_cpu_capability"], str) and run["machine"]["torch_cpu_capability"]
    numerics = run["machine"]["numerics"]  # what decides the last bits: CPU identity, code paths, pin variables
    assert set(numerics) == {"cpu", "libraries", "variables", "pins"}
    assert {"vendor", "family", "model"} <= set(numerics["cpu"]) and "torch_cpu_capability" in numerics["libraries"]
    assert set(numerics["variables"]) >= {"ATEN_CPU_CAPABILITY", "MKL_CBWR", "OPENBLAS_CORETYPE"}
    assert "finished in" in capsys.readouterr().out
    assert "Unable to parse line" not in caplog.text and "unknown parameter" not in caplog.text


def test_run_notebook_failure_names_the_cell_and_the_executed_copy(tmp_path, capsys):
    py_path = make_pair(tmp_path, "02_fail", FAILING)
    params = tmp_path / "fail.yaml"
    params.write_text("divisor: 0\n")
    out = tmp_path / "build" / "02_fail.ipynb"
    assert tools_main(["run-notebook", str(py_path), "--params", str(params), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"notebook {py_path} failed in cell 2 " in err
    assert "ratio = 1 / divisor" in err and "ZeroDivisionError" in err
    assert str(out) in err and out.is_file()
    executed = nbformat.read(out, as_version=4)
    assert any(o.get("ename") == "ZeroDivisionError" for c in executed.cells for o in c.get("outputs", []))


def test_run_notebook_rejects_a_missing_params_file_and_unknown_parameters(tmp_path, capsys):
    py_path = make_pair(tmp_path, "01_tiny", TINY)
    out = tmp_path / "out.ipynb"
    assert tools_main(["run-notebook", str(py_path), "--params", str(tmp_path / "nope.yaml"), "--out", str(out)]) == 1
    assert f"parameters file {tmp_path / 'nope.yaml'} not found" in capsys.readouterr().err
    assert tools_main(["run-notebook", str(py_path), "-p", "y", "2", "--out", str(out)]) == 1
    assert "unknown parameters ['y']" in capsys.readouterr().err
    assert tools_main(["run-notebook", str(py_path), "--out", str(tmp_path / "01_tiny.ipynb")]) == 1
    assert "would overwrite the source notebook" in capsys.readouterr().err
    assert not out.exists()


def test_sweep_runs_the_grid_and_aggregates_results(tmp_path, capsys):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    make_pair(notebooks, "08_tiny_point", TINY)
    config = notebooks / "sweep.yaml"
    config.write_text("notebook: 08_tiny_point.py\ngrid:\n  x: [2, 3]\nparams:\n  label: fixed\n")
    out = tmp_path / "sweep"
    assert tools_main(["sweep", "--config", str(config), "--out", str(out), "--jobs", "1", "--no-figure"]) == 0, capsys.readouterr().err
    folder = out / "08_tiny_point"
    assert sorted(p.name for p in folder.glob("*.ipynb")) == ["x=2.ipynb", "x=3.ipynb"]
    results = pd.read_csv(folder / "results.csv")
    assert list(results.columns[:4]) == ["x", "tenfold", "label", "nested.square"]
    assert results["x"].tolist() == [2, 3]
    assert (results["tenfold"] == 10 * results["x"]).all()
    assert (results["nested.square"] == results["x"] ** 2).all()
    assert set(results["label"]) == {"fixed"}
    assert json.loads((folder / "x=3.json").read_text())["tenfold"] == 30
    assert "x=3" in capsys.readouterr().out


def test_sweep_reports_a_failing_point_and_keeps_the_others(tmp_path, capsys):
    make_pair(tmp_path, "08_inverse", '# %% tags=["parameters"]\ndivisor = 1\nresult_path = ""\n\n'
              '# %%\nimport json\nvalue = 1 / divisor\njson.dump({"inverse": value}, open(result_path, "w"))\n')
    config = tmp_path / "sweep.yaml"
    config.write_text("notebook: 08_inverse.py\ngrid:\n  divisor: [4, 0]\n")
    out = tmp_path / "sweep"
    assert tools_main(["sweep", "--config", str(config), "--out", str(out), "--jobs", "1", "--no-figure"]) == 1
    err = capsys.readouterr().err
    assert "run divisor=0 failed" in err and "ZeroDivisionError" in err
    assert str(out / "08_inverse" / "divisor=0.ipynb") in err
    results = pd.read_csv(out / "08_inverse" / "results.csv")
    assert results[["divisor", "inverse"]].values.tolist() == [[4, 0.25]]


def test_sweep_config_errors_are_reported(tmp_path, capsys):
    config = tmp_path / "sweep.yaml"
    config.write_text("notebook: 08_tiny_point.py\ngrid:\n  x: 2\n")
    assert tools_main(["sweep", "--config", str(config), "--out", str(tmp_path)]) == 1
    assert "grid entry 'x' must be a non-empty list" in capsys.readouterr().err


def test_data_official_missing_local_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "MMR-Bench.csv").write_text("dataset_idx\n")
    assert main(["data-official", "--out", str(tmp_path / "out"), "--local-source", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "images.tar.gz is missing" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_data_official_offline_exits_non_zero_with_a_message(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    run = subprocess.run([sys.executable, "-m", "mmr_utils", "data-official", "--out", str(tmp_path / "official")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 1
    assert "could not download" in run.stderr and "--local-source" in run.stderr
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "official").exists()


def test_data_mathv_missing_source_is_a_clear_error(tmp_path, capsys):
    assert main(["data-mathv", "--source", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "nowhere has no data/ folder: not a MATH-V folder" in err and "MATHV=" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command, argv, prog", [(main, ["--help"], "python -m mmr_utils"),
                                                 (main, ["evaluate", "--help"], "python -m mmr_utils"),
                                                 (tools_main, ["--help"], "python -m tools"),
                                                 (tools_main, ["sweep", "--help"], "python -m tools")])
def test_help_exits_cleanly(command, argv, prog, capsys):
    with pytest.raises(SystemExit) as exit_info:
        command(argv)
    assert exit_info.value.code == 0
    assert f"usage: {prog}" in capsys.readouterr().out


# --------------------------------------------------------------------------- hardening
def test_sweep_points_that_clean_to_the_same_name_keep_their_own_results(tmp_path, capsys):
    """Item 6: 'a/b' and 'a?b' both clean to 'a-b'; each point must get its own files and its own metrics."""
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    make_pair(notebooks, "08_tiny_point", TINY)
    config = notebooks / "sweep.yaml"
    config.write_text('notebook: 08_tiny_point.py\ngrid:\n  label: ["a/b", "a?b", "plain"]\n  x: [2]\n')
    out = tmp_path / "sweep"
    assert tools_main(["sweep", "--config", str(config), "--out", str(out), "--jobs", "1", "--no-figure"]) == 0
    folder = out / "08_tiny_point"
    results = pd.read_csv(folder / "results.csv")
    assert sorted(results["label"]) == ["a/b", "a?b", "plain"]
    assert len(list(folder.glob("*.json"))) == 3 and len(list(folder.glob("*.ipynb"))) == 3
    labels = sorted(json.loads(p.read_text())["label"] for p in folder.glob("*.json"))
    assert labels == ["a/b", "a?b", "plain"]
    assert (folder / "label=plain,x=2.json").is_file()  # names that clean losslessly stay readable
    assert "3 of 3 runs ok" in capsys.readouterr().out


def test_point_names_are_unique_and_repeated_points_are_refused():
    from mmr_utils.cli import CLIError
    from tools.sweep import point_names

    names = point_names([{"x": 2}, {"x": "2"}, {"x": 2.0}, {"x": "a b"}, {"x": "a_b"}, {"x": "y" * 300}])
    assert len(set(names)) == 6 and names[4] == "x=a_b" and names[2] == "x=2.0"
    assert all(len(n) < 140 for n in names)
    with pytest.raises(CLIError, match="same point more than once"):
        point_names([{"x": 1}, {"x": 1}])


def test_sweep_refuses_a_repeated_grid_value_before_running(tmp_path, capsys):
    make_pair(tmp_path, "08_tiny_point", TINY)
    config = tmp_path / "sweep.yaml"
    config.write_text("notebook: 08_tiny_point.py\ngrid:\n  x: [2, 2]\n")
    assert tools_main(["sweep", "--config", str(config), "--out", str(tmp_path / "sweep"), "--jobs", "1"]) == 1
    assert "same point more than once" in capsys.readouterr().err
    assert not list((tmp_path / "sweep").rglob("*.ipynb"))


def _tiny_table(folder, models=("A", "B")):
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["dataset_idx,question," + ",".join(f"{m}_correct,{m}_cost" for m in models)]
    rows += [f"MyQA_{i},q{i}," + ",".join(f"{(i + k) % 2},0.{k + 1}" for k in range(len(models))) for i in range(20)]
    (folder / "MMR-Bench.csv").write_text("\n".join(rows) + "\n")
    return folder


@pytest.mark.parametrize("option, value, message", [
    ("--random-draws", "0", "--random-draws must be at least 1, got 0"),
    ("--random-draws", "-2", "--random-draws must be at least 1, got -2"),
    ("--seed", "-1", "--seed must be at least 0, got -1"),
    ("--epochs", "0", "--epochs must be at least 1, got 0"),
])
def test_evaluate_rejects_counts_below_their_minimum(tmp_path, capsys, monkeypatch, option, value, message):
    """Item 7 (and --seed -1): the project's one-line message, exit 1, nothing written."""
    from mmr_utils import paths

    monkeypatch.setattr(paths, "CACHE", tmp_path / "cache")
    data = _tiny_table(tmp_path / "t")
    out = tmp_path / "r.json"
    code = main(["evaluate", "--data-root", str(data), "--router", "knn", "--mode", "11", "--encoder", "tfidf",
                 "--quiet", option, value, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and f"mmr_utils evaluate: error: {message}" in err and "Traceback" not in err
    assert not out.exists()


def test_evaluate_needs_two_models(tmp_path, capsys):
    """Item 12: one model is a plain message naming the table and the model."""
    data = _tiny_table(tmp_path / "t", models=("Solo",))
    code = main(["evaluate", "--data-root", str(data), "--router", "knn", "--mode", "11", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and "has one model (Solo): routing chooses between models" in err


@pytest.mark.parametrize("ipynb", sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb")),
                         ids=lambda path: path.stem)
def test_stored_notebooks_show_the_figures_they_save(ipynb):
    """The paired .ipynb is what GitHub, Binder and the book show: an executed cell that saves a figure must also
    display it (an Agg backend during `make notebook-outputs` had silently dropped every plot)."""
    nb = nbformat.read(ipynb, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "save_figure(" not in cell.source or cell.execution_count is None:
            continue
        kinds = {kind for output in cell.outputs for kind in output.get("data", {})}
        assert "image/png" in kinds, f"{ipynb.name}, cell {index}: saves a figure but stores no image/png output"

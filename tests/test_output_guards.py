"""No command deletes what it did not make: the data commands refuse a non-empty --out folder the project did not
write (unless --force) and an --out that is a file; evaluate checks --out before computing anything."""

from __future__ import annotations

import tarfile

import pandas as pd
import pytest

from mmr_utils.cli import main
from tools.__main__ import main as tools_main


def _v1_hub(folder):
    """A folder laid out like the official hub repository: MMR-Bench.csv and images.tar.gz."""
    folder.mkdir(parents=True)
    rows = ["dataset_idx,question,A_correct,A_cost,B_correct,B_cost"]
    rows += [f"OCRBench_{i},q{i},{i % 2},0.1,{(i + 1) % 2},0.2" for i in range(6)]
    (folder / "MMR-Bench.csv").write_text("\n".join(rows) + "\n")
    images = folder / "src" / "OCRBench"
    images.mkdir(parents=True)
    (images / "0.png").write_bytes(b"png")
    with tarfile.open(folder / "images.tar.gz", "w:gz") as tar:
        tar.add(images, arcname="images/OCRBench")
    return folder


def _v2_hub(folder):
    """A minimal MMR-Bench V2 layout: one task, two models."""
    instances = folder / "data" / "instances"
    instances.mkdir(parents=True)
    pd.DataFrame({"sample_id": ["s1", "s2"], "benchmark": ["B", "B"], "prompt_text": ["a", "b"],
                  "images": [[], []]}).to_parquet(instances / "t.parquet", index=False)
    for model in ("m1", "m2"):
        results = folder / "data" / "results" / model
        results.mkdir(parents=True)
        pd.DataFrame({"sample_id": ["s1", "s2"], "benchmark": ["B", "B"], "model_id": model, "score": [1.0, 0.0],
                      "cost": [0.1, 0.2], "cost_unit": "USD", "status": "ok"}).to_parquet(results / "t.parquet",
                                                                                         index=False)
    return folder


def _foreign_folder(path):
    path.mkdir(parents=True)
    (path / "thesis.txt").write_text("three years of work\n")
    (path / "figures").mkdir()
    return path


@pytest.mark.parametrize("argv", [
    ["data", "--scale", "0.05"],
    ["data-official", "--local-source", "{v1}"],
    ["data-official", "--version", "2", "--local-source", "{v2}"],
])
def test_data_commands_refuse_a_foreign_non_empty_folder_and_say_what_is_there(tmp_path, capsys, argv):
    hubs = {"{v1}": str(_v1_hub(tmp_path / "hub1")), "{v2}": str(_v2_hub(tmp_path / "hub2"))}
    out = _foreign_folder(tmp_path / "mine")
    code = main([hubs.get(a, a) for a in argv] + ["--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert f"{out} is not empty and was not written by this project" in err
    assert "thesis.txt" in err and "figures/" in err and "--force" in err
    assert (out / "thesis.txt").read_text() == "three years of work\n"


@pytest.mark.parametrize("argv", [
    ["data", "--scale", "0.05"],
    ["data-official", "--local-source", "{v1}"],
    ["data-official", "--version", "2", "--local-source", "{v2}"],
    ["data-mathv", "--source", "{v1}"],
])
def test_data_commands_refuse_an_out_that_is_a_file(tmp_path, capsys, argv):
    hubs = {"{v1}": str(_v1_hub(tmp_path / "hub1")), "{v2}": str(_v2_hub(tmp_path / "hub2"))}
    (tmp_path / "hub1" / "data").mkdir()  # enough of a MATH-V folder to get past the source check
    target = tmp_path / "notes.txt"
    target.write_text("keep me\n")
    code = main([hubs.get(a, a) for a in argv] + ["--out", str(target)])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert f"{target} is an existing file, not a folder" in err
    assert target.read_text() == "keep me\n"
    assert not list(tmp_path.glob(".notes.txt*")), "the file was not moved aside"


def test_force_replaces_a_foreign_folder_and_an_empty_folder_needs_no_force(tmp_path, capsys):
    hub = _v1_hub(tmp_path / "hub")
    out = _foreign_folder(tmp_path / "official")
    assert main(["data-official", "--local-source", str(hub), "--out", str(out), "--force"]) == 0
    assert not (out / "thesis.txt").exists() and (out / "MMR-Bench.csv").is_file()
    # An empty folder is fine too.
    (tmp_path / "empty").mkdir()
    assert main(["data-official", "--local-source", str(hub), "--out", str(tmp_path / "empty")]) == 0
    capsys.readouterr()


def test_the_guard_and_atomic_directory_on_their_own(tmp_path):
    from mmr_utils._io import atomic_directory, check_replaceable_folder

    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "provenance.json").write_text("[1, 2]")  # not the project's record (a JSON object)
    with pytest.raises(FileExistsError, match="no provenance.json in it"):
        check_replaceable_folder(folder)
    (folder / "provenance.json").write_text('{"simulated": true}')
    assert check_replaceable_folder(folder) == folder
    many = tmp_path / "many"
    many.mkdir()
    for i in range(8):
        (many / f"f{i}").write_text("x")
    with pytest.raises(FileExistsError, match=r"f4 and 3 more"):
        check_replaceable_folder(many, option="force=True")
    file = tmp_path / "plain"
    file.write_text("data")
    with pytest.raises(FileExistsError, match="existing file"), atomic_directory(file):
        pass
    assert file.read_text() == "data"


def test_evaluate_checks_out_before_computing(tmp_path, capsys, monkeypatch):
    import mmr_utils.features.bank

    def must_not_run(*args, **kwargs):
        raise AssertionError("evaluate computed before checking --out")

    monkeypatch.setattr(mmr_utils.features.bank, "embed_table", must_not_run)
    data = tmp_path / "t"
    data.mkdir()
    rows = ["dataset_idx,question,A_correct,A_cost,B_correct,B_cost"]
    rows += [f"MyQA_{i},q{i},{i % 2},0.1,{(i + 1) % 2},0.2" for i in range(20)]
    (data / "MMR-Bench.csv").write_text("\n".join(rows) + "\n")
    folder = tmp_path / "results"
    folder.mkdir()
    base = ["evaluate", "--data-root", str(data), "--router", "knn", "--mode", "11", "--encoder", "tfidf", "--quiet"]
    assert main(base + ["--out", str(folder)]) == 1
    err = capsys.readouterr().err
    assert f"--out {folder} is an existing folder; give a file path" in err and "Traceback" not in err
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    assert main(base + ["--out", str(blocker / "r.json")]) == 1
    assert f"{blocker} is a file" in capsys.readouterr().err


# ------------------------------------------------------------------------ messages name the argument and the file
def test_output_arguments_that_are_files_are_named_before_any_work(tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    csv_path = tmp_path / "t.csv"
    csv_path.write_text("dataset_idx,question,A_correct,A_cost,B_correct,B_cost\nQ_1,q,1,0.1,0,0.2\n")
    assert main(["audit", str(csv_path), "--out", str(blocker)]) == 1
    err = capsys.readouterr().err
    assert f"--out {blocker} is an existing file; audit writes a folder" in err
    config = tmp_path / "sweep.yaml"
    (tmp_path / "01_nb.py").write_text('# %% tags=["parameters"]\nx = 1\nresult_path = ""\n')
    config.write_text("notebook: 01_nb.py\ngrid:\n  x: [1]\n")
    assert tools_main(["sweep", "--config", str(config), "--out", str(blocker), "--jobs", "1", "--no-figure"]) == 1
    err = capsys.readouterr().err
    assert f"--out {blocker}: {blocker} is a file" in err and "Traceback" not in err
    assert tools_main(["check-pairs", "--notebooks", str(tmp_path / "nowhere")]) == 1
    assert f"--notebooks {tmp_path / 'nowhere'}: no such folder" in capsys.readouterr().err


def test_run_notebook_out_may_be_a_folder_and_the_library_refuses_one(tmp_path, capsys):
    from mmr_utils.cli import CLIError
    from tools.notebooks import execute_notebook

    (tmp_path / "01_nb.py").write_text('# %% tags=["parameters"]\nx = 1\n\n# %%\nprint(x)\n')
    folder = tmp_path / "build"
    folder.mkdir()
    with pytest.raises(CLIError, match=r"--out .*build is an existing folder; give the executed copy's file path"):
        execute_notebook(tmp_path / "01_nb.py", folder)
    assert tools_main(["run-notebook", str(tmp_path / "01_nb.py"), "--out", str(folder)]) == 0, capsys.readouterr().err
    assert (folder / "01_nb.ipynb").is_file() and (folder / "01_nb.run.json").is_file()


def test_data_mathv_source_is_relative_to_the_callers_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["data-mathv", "--source", "mine", "--no-download", "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path / 'mine'} has no data/ folder" in err

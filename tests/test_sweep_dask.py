"""The scale-out path, exercised: a 2-point papermill sweep through ``--backend dask`` on a real Dask LocalCluster
(process workers, loopback only, bounded time), both results checked. Ray stays documented as untested."""

import json

import nbformat
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from tools.__main__ import main as tools_main  # noqa: E402

POINT = '''# %% tags=["parameters"]
x = 1  # grid value
result_path = ""  # set by the sweep

# %%
import json, os
json.dump({"square": x * x, "worker_pid": os.getpid()}, open(result_path, "w"))
'''


def write_pair(folder, stem, source):
    import jupytext

    (folder / f"{stem}.py").write_text(source)
    notebook = jupytext.reads(source, fmt="py:percent")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / f"{stem}.ipynb")


def test_two_point_sweep_on_a_local_dask_cluster(tmp_path, capsys):
    write_pair(tmp_path, "08_square", POINT)
    config = tmp_path / "sweep.yaml"
    config.write_text("notebook: 08_square.py\ngrid:\n  x: [3, 4]\n")
    out = tmp_path / "sweep"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",  # noqa: SIM117
                                  dashboard_address=None, death_timeout=60) as cluster:
        with distributed.Client(cluster, timeout=60) as client:  # the client needs the cluster's address
            client.wait_for_workers(2, timeout=120)
            status = tools_main(["sweep", "--config", str(config), "--out", str(out), "--backend", "dask",
                           "--scheduler-address", cluster.scheduler_address, "--n-jobs", "2", "--no-figure"])
            workers = {w["id"] for w in client.scheduler_info()["workers"].values()}
    assert status == 0, capsys.readouterr().err
    assert len(workers) == 2
    results = pd.read_csv(out / "08_square" / "results.csv").sort_values("x")
    assert results["x"].tolist() == [3, 4]
    assert results["square"].tolist() == [9, 16]
    written = sorted((out / "08_square").glob("*.json"))
    assert len(written) == 2 and {json.loads(p.read_text())["square"] for p in written} == {9, 16}

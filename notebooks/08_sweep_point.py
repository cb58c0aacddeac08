# %% [markdown]
# # 8. One point of a parameter sweep
#
# **What this chapter shows.** How to run many experiments of the kind the earlier chapters ran one at a time: the
# paper's studies are grids (router x training fraction x seed), and a reader who wants a different grid should not
# have to edit code. This notebook is **one point** of such a grid: it evaluates one router on one split and writes
# its metrics (nAUC, Ps, QNC; paper Sec. 3.3) to a JSON file.
#
# **How it is used.** `make sweep` runs it with papermill over the grid in `notebooks/params/sweep.yaml`, in parallel
# with joblib (backends `loky`, `threading`, `dask` for a Dask cluster, `ray`), and aggregates every run's JSON into
# one table and figure under `build/sweep/`. Each run's parameters are injected into the `parameters` cell below; the
# executed copies go to `build/`, never over this notebook. Run it by hand to see a single point. Data: the simulated
# benchmark by default (not the paper's numbers).

# %% tags=["parameters"]
data_root: str = ""  # folder with MMR-Bench.csv (+ images); "" = simulated benchmark at `scale`
scale: float = 0.03  # size of the simulated benchmark (1.0 = the paper's 10,370 instances)
router: str = "knn"  # router to evaluate
train_fraction: float = 0.2  # share of instances used for training
seed: int = 0  # split/model seed
encoder: str = "auto"  # auto | clip | offline | tfidf | TEXT+IMAGE
router_params: dict = {"mlp": {"epochs": 3}, "mlp_mf": {"epochs": 3}, "cmr": {"epochs": 3}}  # per-router settings (official: 100 epochs each)
result_path: str = "build/sweep/single_point.json"  # where this run's metrics go (JSON)

# %%
from mmr_utils.data import audit
from mmr_utils.data.loading import load_benchmark
from mmr_utils.experiments import records
from mmr_utils.experiments.runs import RunConfig
from mmr_utils.features import bank as feature_bank
from mmr_utils.paths import ROOT

table = load_benchmark(data_root, scale=scale, seed=0)
print(audit.record_audit(table, audit.audit_table(table)).summary())  # one-line table audit
bank = feature_bank.embed_table(table, encoder, seed=0)
config = RunConfig(train_fraction=train_fraction, seeds=[seed], router_params=router_params)
record = records.evaluate_point(bank, router, config, result_path=ROOT / result_path)
record["metrics"]

# %%
print("metrics written:", sorted(record["metrics"]))

# %% [markdown]
# ## Recap
# In this notebook we evaluated one (router, training fraction, seed) point and wrote its metrics where the sweep
# runner collects them. `make sweep` runs the whole grid (`python -m tools sweep --config FILE --jobs 4` runs four
# points at once). The next chapter goes beyond the paper; the README's gallery lists every figure and the notebook
# that makes it.

# %% [markdown]
# # 8. One point of a parameter sweep
#
# **What this chapter shows.** How to run many experiments of the kind the earlier chapters ran one at a time: the
# paper's studies are grids (router x training fraction x seed), and a reader who wants a different grid should not
# have to edit code. This notebook is **one point** of such a grid: it evaluates one router on one split and writes
# its metrics (nAUC, Ps, QNC; paper Sec. 3.3) to a JSON file.
#
# **How it is used.** `make sweep` runs it over the grid in `notebooks/params/sweep.yaml`, injecting each point's
# parameters into the `parameters` cell below, and gathers every point's JSON into one table and figure under
# `build/sweep/`; executed copies go to `build/`, never over this notebook. Run it by hand to see a single point. How
# the sweep runner runs points side by side is in the
# [reproducibility appendix](../docs/reproducibility.md#command-line-and-sweeps). Data: the simulated benchmark by
# default (not the paper's numbers).
#
# **Glossary.**
#
# | term | meaning |
# |---|---|
# | sweep point | one setting of every parameter (router, training fraction, seed): one run, one JSON file |
# | grid | the list of values per parameter in `sweep.yaml`; the sweep runs every combination |

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
from IPython.display import Markdown

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
# One point, scored on its held-out rows: the cell below prints its headline numbers.

# %%
metrics, best_name = record["metrics"], record["best_single"]
best_accuracy = record["single_models"][best_name]["accuracy"]
Markdown(
    f"- **{router}** trained on {train_fraction:.0%} of the rows (seed {seed}) reaches Ps **{metrics['Ps']:.3f}** and "
    f"shared nAUC **{metrics['nAUC_shared']:.3f}** on {record['data']['test_rows']} test rows"
    + (f"; QNC {metrics['QNC']:.2f}." if metrics["QNC"] < float("inf") else
       "; it never reaches the best single model's accuracy (QNC infinite).")
    + f"\n- The best single model on these rows, {best_name}, scores {best_accuracy:.3f} "
    f"({metrics['Ps'] - best_accuracy:+.3f} for the router) and the Oracle {record['oracle']['accuracy']:.3f}."
    + "\n- One seed gives no spread, so this point alone cannot say whether that difference is real; the sweep's "
    "table puts points of several seeds side by side for that."
)

# %% [markdown]
# **Next:** notebook 9 goes beyond the paper on real MATH-V outcomes: newer routers, the peer benchmarks' metrics
# and bootstrap intervals.
#
# ## Exercises
# 1. Set `train_fraction = 0.05` and then `0.8` (same `seed`): does Ps move by more than the spread you see when you
#    change only `seed` at one fraction? Only then is the training size, not the split, what changed it.
# 2. Set `router = "mlp"` and `router_params = {"mlp": {"epochs": 100}}`: the official training length. Compare Ps
#    with the 3-epoch default; the [appendix](../docs/reproducibility.md#training-length) says why longer is not
#    always higher.
# 3. Add a value to a list in `notebooks/params/sweep.yaml` and run `make sweep`: find your point's row in
#    `build/sweep/.../results.csv` and check it matches what this notebook printed.

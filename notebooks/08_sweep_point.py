# %% [markdown]
# # 8. One point of a parameter sweep
#
# `make sweep` runs this notebook with papermill over a grid (router x training fraction x seed, from
# `notebooks/params/sweep.yaml`), in parallel with joblib, and aggregates the JSON each run writes into one table and
# figure. Run it by hand to see a single point.

# %% tags=["parameters"]
data_root: str = ""  # folder with MMR-Bench.csv (+ images); "" = simulated benchmark at `scale`
scale: float = 0.03  # size of the simulated benchmark (1.0 = the paper's 10,370 instances)
router: str = "knn"  # router to evaluate
train_fraction: float = 0.2  # share of instances used for training
seed: int = 0  # split/model seed
encoder: str = "auto"  # auto | clip | offline | tfidf | TEXT+IMAGE
neural_epochs: int = 3  # epochs of MLP / MLPMF / CMR (official: 100)
result_path: str = "build/sweep/single_point.json"  # where this run's metrics go (JSON)

# %%
from mmr_utils import studies
from mmr_utils.paths import ROOT
from mmr_utils.sources import load_benchmark

table = load_benchmark(data_root, scale=scale, seed=0)
bank = studies.embed_table(table, encoder, seed=0)
record = studies.evaluate_point(bank, router, train_fraction=train_fraction, seed=seed, neural_epochs=neural_epochs,
                                result_path=ROOT / result_path)
record["metrics"]

# %%
# NBVAL_CHECK_OUTPUT
print("metrics written:", sorted(record["metrics"]))

# %% [markdown]
# # 7. Real data: the same pipeline on MATH-V
#
# MATH-V (MathVision; github mathllm/MATH-V, MIT licence) publishes, for its 3040 test problems, the judged answers
# of 13 multimodal models and 2 text-only settings. MMR-Bench's MathVision subset is the same 3040 items. These are
# **real outcomes**, so this notebook is the check that the pipeline does what it should beyond the simulator.
#
# MATH-V records no costs, so the converter defines a **cost model**: output tokens of each response (counted with
# the packaged MiniLM WordPiece tokenizer, a stated proxy for each model's own tokenizer) times a price per output
# token (list prices at release, or a size-based proxy for open models; see `mmr_utils/sources/mathv.py`). Costs
# are therefore an approximation and are printed below with their sources.
#
# Which MATH-V is used is a parameter, and every table and figure below says which one ran:
#
# - `"sample"` (the default, so this notebook runs on any fresh clone and on Binder): the 304-item `testmini` split
#   shipped in `data/samples/mathv-testmini`, with all 15 model settings' judged outcomes and images downscaled to
#   224 pixels (see its `SOURCE.md`);
# - `"auto"` (what `make figures` uses): all 3040 items when a local copy can be found (`make data-mathv` puts one in
#   `data/mathv-source`, or a copy beside the checkout), otherwise the sample;
# - `"full"`: all 3040 items, downloading the pinned upstream snapshot if needed; or a path to a MATH-V folder.

# %% tags=["parameters"]
mathv: str = "sample"  # sample (shipped 304-item testmini) | auto | full | path to a MATH-V folder
seeds: list = [0]  # split/model seeds
encoder: str = "auto"  # auto | clip | offline | tfidf | TEXT+IMAGE
routers: list = ["knn", "kmeans", "linear_mf", "mlp"]  # routers compared
train_fraction: float = 0.2  # share of instances used for training
max_items: int = 0  # use only the first N items (0 = all of the chosen set)
neural_epochs: int = 3  # epochs of MLP / MLPMF / CMR (official: 100)
random_draws: int = 5  # draws of random routing (official: 50)
out_dir: str = "build/figures-small"  # where figures and tables go (make figures: figures/)

# %%
import json
from pathlib import Path

import pandas as pd

from mmr_utils import plots, studies
from mmr_utils.paths import ROOT
from mmr_utils.sources.mathv import load_mathv

out = ROOT / out_dir
full = load_mathv(mathv)
table = full.take(range(max_items)) if max_items else full
print(table.describe())
cost_model = json.loads((Path(full.source["path"]).parent / "provenance.json").read_text())["cost_model"]
print(f"cost model: {cost_model['formula']}; tokenizer: {cost_model['tokenizer']}")
pd.DataFrame(cost_model["prices"]).T

# %%
summary = table.model_summary()
summary = summary[summary["dataset"] == "All"].set_index("model").sort_values("mean_cost")
bank = studies.embed_table(table, encoder, seed=seeds[0])
provenance = studies.provenance(bank, notebook="07_real_data_mathv", seeds=seeds, max_items=max_items)
plots.save_table(summary, "tab_mathv_models", provenance, out_dir=out)
summary[["accuracy", "mean_cost"]]

# %%
result = studies.main_results(bank, routers, seeds=seeds, train_fraction=train_fraction,
                              neural_epochs=neural_epochs, random_draws=random_draws)
tab = studies.table2(result, metric="nAUC_shared").join(studies.table2(result, metric="Ps"), rsuffix=" Ps")
plots.save_table(tab, "tab_mathv_main_results", result.provenance, out_dir=out)
plots.save_figure(plots.plot_pareto(result, dataset="All", models=list(table.models)), "fig_mathv_pareto",
                  result.provenance, out_dir=out)
tab.round(3)

# %% [markdown]
# ## QNC on real outcomes

# %%
qnc = studies.qnc_table(result)
plots.save_table(qnc.set_index("router"), "tab_mathv_qnc", result.provenance, out_dir=out)
qnc.round(3)

# %% [markdown]
# ## Headline check
# The converted table holds every MATH-V model setting judged on every item.

# %%
# NBVAL_CHECK_OUTPUT
print(f"MATH-V used: {full.source['variant']}")
print(f"items used: {table.n} of {full.n}, model settings: {len(full.models)}, all judged: {bool(full.mask.all())}")

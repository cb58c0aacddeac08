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
# The MATH-V folder is a parameter; by default the copy beside the checkout (`../shared/data/math-v`).

# %% tags=["parameters"]
mathv_source: str = "../shared/data/math-v"  # MATH-V folder (data/, images/, outputs/); relative to the repository
seeds: list = [0]  # split/model seeds
encoder: str = "auto"  # auto | clip | offline | tfidf | TEXT+IMAGE
routers: list = ["knn", "kmeans", "linear_mf", "mlp"]  # routers compared
train_fraction: float = 0.2  # share of instances used for training
max_items: int = 400  # use the first N items (0 = all 3040); small by default for tests
neural_epochs: int = 3  # epochs of MLP / MLPMF / CMR (official: 100)
random_draws: int = 5  # draws of random routing (official: 50)
out_dir: str = "build/figures-small"  # where figures and tables go (make figures: figures/)

# %%
import json

from mmr_utils import plots, studies
from mmr_utils.paths import MATHV, ROOT
from mmr_utils.sources.mathv import load_mathv

out = ROOT / out_dir
source = ROOT / mathv_source
full = load_mathv(source, MATHV)
table = full.take(range(max_items)) if max_items else full
print(table.describe())
print(json.dumps(json.loads((MATHV / "provenance.json").read_text())["cost_model"], indent=1)[:1500])

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
print(f"items used: {table.n} of {full.n}, model settings: {len(full.models)}, all judged: {bool(full.mask.all())}")

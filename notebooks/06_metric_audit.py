# %% [markdown]
# # 6. Metric audit: the official protocol against the fixed one
#
# The same predictions, scored two ways:
#
# | | official code | this project |
# |---|---|---|
# | query with no affordable model | sent to model index 0 of the official sorted model order (`Claude3-7V_Sonnet` on the paper's models, costly and weak), whatever it costs | sent to its cheapest predicted model |
# | thresholds | every unique predicted cost (one pass over the data per threshold) | the same thresholds, computed exactly in one sort |
# | nAUC range | each frontier's own cost span | one interval shared by all routers on the same rows |
# | oracle | ties between correct models not broken by cost | the cheapest correct model |
#
# A frontier that covers only an expensive sliver of the cost axis can score a high *official* nAUC, because the
# area is divided by its own span; the shared interval removes that. (Quantile thresholds, at most 100, are a later
# change made by ORBIT, not the official MMR-Bench code.) The table shows each router's metrics and rank
# under both, and the oracle's cost under both tie rules.

# %% tags=["parameters"]
data_root: str = ""  # folder with MMR-Bench.csv (+ images); "" = simulated benchmark at `scale`
scale: float = 0.03  # size of the simulated benchmark (1.0 = the paper's 10,370 instances)
data_seed: int = 0  # seed of the simulated benchmark, apart from the split/router `seeds`
seeds: list = [0]  # split/model seeds
encoder: str = "auto"  # auto | clip | offline | tfidf | TEXT+IMAGE
neural_epochs: int = 3  # epochs of MLP / MLPMF / CMR (official: 100)
out_dir: str = "build/figures-small"  # where figures and tables go (make figures: figures/)

# %%
from mmr_utils import plots, studies
from mmr_utils.paths import ROOT

out = ROOT / out_dir
bank = studies.load_and_embed(data_root, scale=scale, seed=data_seed, encoder=encoder)

# %%
audit = studies.metric_audit(bank, seeds=seeds, neural_epochs=neural_epochs)
plots.save_table(audit.results.set_index(["router", "seed"]), "tab_metric_audit", audit.provenance, out_dir=out)
audit.results.round(4)

# %% [markdown]
# ## What changes in the ranking

# %%
ranks = studies.audit_rank_changes(audit)
plots.save_table(ranks, "tab_metric_audit_ranks", audit.provenance, out_dir=out)
ranks

# %% [markdown]
# ## Headline check
# Breaking the oracle's ties by cost can only make it cheaper at the same accuracy.

# %%
# NBVAL_CHECK_OUTPUT
oracles = audit.results[audit.results["router"].str.startswith("oracle")].groupby("router")[["cost", "accuracy"]].mean()
cheaper = oracles.loc["oracle (cheapest correct)", "cost"] <= oracles.loc["oracle (first correct, ties ignored)", "cost"]
print(f"cheapest-correct oracle no dearer: {bool(cheaper)}")

# %% [markdown]
# # 7. Real data: the same pipeline on MATH-V
#
# **What this chapter shows.** Everything before ran on the simulated benchmark. Here the same pipeline (features,
# routers, budget sweep, nAUC/Ps/QNC) runs on **real judged outcomes** that nobody in this project wrote: the
# MathVision subset of MMR-Bench (Sec. 3 of the paper lists MathVision among its seven datasets). The reader learns
# what routing does on a hard, real, single-dataset pool, where the best model is right less than a fifth of the
# time, and how much a cost model you have to *assume* shapes the answer.
#
# MATH-V (MathVision; github mathllm/MATH-V, MIT licence) publishes, for its 3040 test problems, the judged answers
# of 13 multimodal models and 2 text-only settings. MMR-Bench's MathVision subset is the same 3040 items. These are
# **real outcomes**, so this notebook is the check that the pipeline does what it should beyond the simulator.
#
# MATH-V records no costs, so the converter defines a **cost model**: output tokens of each response (counted with
# the packaged MiniLM WordPiece tokenizer, a stated proxy for each model's own tokenizer) times a price per output
# token (list prices at release, or a size-based proxy for open models; see `mmr_utils/data/mathv.py`). Costs
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
#
# **Glossary** (terms this chapter adds; $y_{i,k}$ and $c_{i,k}$ as before, now real outcomes and modelled costs):
#
# | term | meaning |
# |---|---|
# | judged outcome | MATH-V's verdict on a model's answer to a problem: the $y_{i,k}$ of this chapter |
# | model setting | one model run one way (13 multimodal models and 2 text-only settings): the pool the routers choose among |
# | cost model | the rule that assigns each call a cost $c_{i,k}$ MATH-V does not record (tokens x price); every cost-based metric inherits it |
# | testmini | MATH-V's 304-item subset, shipped in this repository so the chapter runs anywhere |

# %% tags=["parameters"]
mathv: str = "sample"  # sample (shipped 304-item testmini) | auto | full | path to a MATH-V folder
seeds: list = [0]  # split/model seeds
encoder: str = "auto"  # auto | clip | offline | tfidf | TEXT+IMAGE
routers: list = ["knn", "kmeans", "linear_mf", "mlp"]  # routers compared
train_fraction: float = 0.2  # share of instances used for training
max_items: int = 0  # use only the first N items (0 = all of the chosen set)
router_params: dict = {"mlp": {"epochs": 3}, "mlp_mf": {"epochs": 3}, "cmr": {"epochs": 3}}  # per-router settings (official: 100 epochs each)
random_draws: int = 5  # draws of random routing (official: 50)
out_dir: str = "build/figures-small"  # where figures and tables go (make figures: figures/)

# %%
import json
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from mmr_utils.data import audit
from mmr_utils.data.mathv import load_mathv
from mmr_utils.data.splits import instance_split
from mmr_utils.experiments import runs, studies
from mmr_utils.experiments.runs import RunConfig
from mmr_utils.features import bank as feature_bank
from mmr_utils.paths import ROOT
from mmr_utils.provenance import study_provenance
from mmr_utils.report import paper_tables, plots
from mmr_utils.report.outputs import Report

out = ROOT / out_dir
report = Report(out)  # every figure and table leaves through it, with its provenance
full = load_mathv(mathv)
table = full.take(range(max_items)) if max_items else full
print(table.describe())
first_split = instance_split(table, train_fraction, seed=seeds[0])  # leakage across the first seed's split
print(audit.record_audit(table, audit.audit_table(table, split=first_split)).summary())
cost_model = json.loads((Path(full.source["path"]).parent / "provenance.json").read_text())["cost_model"]
print(f"cost model: {cost_model['formula']}; tokenizer: {cost_model['tokenizer']}")
pd.DataFrame(cost_model["prices"]).T

# %% [markdown]
# ## The model pool: accuracy against modelled cost
# Sorted from the cheapest to the most expensive setting. On a routing benchmark the interesting pools are those
# where cost and accuracy do not line up; the next cell says how far they do here.

# %%
summary = table.model_summary()
summary = summary[summary["dataset"] == "All"].set_index("model").sort_values("mean_cost")
bank = feature_bank.embed_table(table, encoder, seed=seeds[0])
provenance = study_provenance(bank, notebook="07_real_data_mathv", seeds=seeds, max_items=max_items)
report.table(summary, "tab_mathv_models", provenance)
summary[["accuracy", "mean_cost"]].style.format({"accuracy": "{:.3f}", "mean_cost": "{:.2e}"})

# %%
best = summary["accuracy"].idxmax()
cheapest = summary["mean_cost"].idxmin()
spread = summary["mean_cost"].max() / summary["mean_cost"].min()
rank_corr = summary["accuracy"].corr(summary["mean_cost"], method="spearman")
Markdown(
    f"The most accurate setting is **{best}** ({summary.loc[best, 'accuracy']:.1%}); the cheapest is "
    f"**{cheapest}** ({summary.loc[cheapest, 'accuracy']:.1%}). Modelled mean costs span a factor of "
    f"**{spread:,.0f}**, and the Spearman correlation between cost and accuracy across the pool is "
    f"**{rank_corr:.2f}**: {'paying more buys accuracy only loosely' if rank_corr < 0.5 else 'cost and accuracy go together'}."
)

# %% [markdown]
# ## Routers on real outcomes: nAUC (shared interval) and Ps
# Trained on `train_fraction` of the items, scored on the rest, beside Random, the best single setting and the
# Oracle.

# %%
config = RunConfig(train_fraction=train_fraction, seeds=seeds, router_params=router_params)
result = studies.main_results(bank, config, routers, random_draws=random_draws)
tab = pd.concat({"nAUC (shared)": paper_tables.table2(result, metric="nAUC_shared")["All"],
                 "Ps": paper_tables.table2(result, metric="Ps")["All"]}, axis=1)
report.table(tab, "tab_mathv_main_results", result.provenance)
fig = plots.plot_pareto(result, dataset="All", models=list(table.models))
report.figure(fig, "fig_mathv_pareto", result.provenance)
tab.style.format("{:.3f}")

# %%
learned = [r for r in tab.index if r not in runs.REFERENCES]
top = tab.loc[learned, "Ps"].idxmax()
gap = tab.loc[top, "Ps"] - tab.loc["best_single", "Ps"]
from mmr_utils.metrics.seed_noise import noise_aware_count, verdicts_against

all_rows = result.results[(result.results["dataset"] == "All") & result.results["router"].isin([*learned, "best_single"])]
router_verdicts = verdicts_against(all_rows, "best_single", metric="Ps")
against_best = noise_aware_count(router_verdicts)


def judged(verdict):
    """A difference with its seed-noise verdict; one seed has no noise estimate, and the text says so."""
    return verdict.describe() if len(seeds) > 1 else f"{verdict.difference:+.3f}, one seed: noise not estimated"


Markdown(
    f"On {full.source['variant']}: the best router, **{top}**, reaches Ps **{tab.loc[top, 'Ps']:.3f}** against the "
    f"best single setting's **{tab.loc['best_single', 'Ps']:.3f}** ({judged(router_verdicts[top])}); "
    f"the Oracle reaches **{tab.loc['oracle', 'Ps']:.3f}**. "
    + (f"Beyond seed noise, {', '.join(against_best['above'])} beat the best single setting."
       if against_best["above"] else
       "No router beats the best single setting beyond seed noise"
       + (" (one seed gives no estimate of that noise: see the exercises)." if len(seeds) == 1 else ".")
       )
    + f" {len(against_best['below'])} of {len(learned)} routers fall below it beyond seed noise. The gap up to the "
    "Oracle is the headroom a perfect router would have; notebook 9 asks how much of it the features can predict."
)

# %% [markdown]
# ## QNC on real outcomes
# How cheaply each router reaches the best single setting's accuracy (infinite where it never does).

# %%
qnc = paper_tables.qnc_table(result)
report.table(qnc.set_index("router"), "tab_mathv_qnc", result.provenance)
qnc.set_index("router")[["QNC", "Ps", "QNC_reached"]].style.format("{:.3f}")

# %%
reached = qnc[qnc["QNC"] < float("inf")]
Markdown(
    f"{len(reached)} of {len(qnc)} routers reach the best single setting's accuracy on every seed"
    + (f"; the cheapest, **{reached.iloc[0]['router']}**, does so at QNC {reached.iloc[0]['QNC']:.2f} "
       f"({reached.iloc[0]['QNC']:.0%} of its cost)." if len(reached) else ".")
    + " These costs are *modelled* (tokens x list price), so QNC here is a statement about that cost model."
)

# %%
print(f"MATH-V used: {full.source['variant']}")
print(f"items used: {table.n} of {full.n}, model settings: {len(full.models)}, all judged: {bool(full.mask.all())}")

# %% [markdown]
# ## Recap
# What this run found on real outcomes, computed from the tables above (router differences are paired over seeds).

# %%
headroom = tab.loc["oracle", "Ps"] - tab.loc["best_single", "Ps"]
Markdown("\n".join([
    f"- **Data.** {full.source['variant']}: {table.n} items, {len(full.models)} model settings; the best setting "
    f"({best}) answers {summary.loc[best, 'accuracy']:.1%}, and cost and accuracy correlate {rank_corr:+.2f} "
    f"(Spearman) across the pool.",
    f"- **Routing against the best single setting** (Ps): above it beyond seed noise "
    f"{', '.join(against_best['above']) or 'none'}; within seed noise {', '.join(against_best['within_noise']) or 'none'}; "
    f"below {', '.join(against_best['below']) or 'none'}. Best router {top}: "
    f"{judged(router_verdicts[top])}.",
    f"- **Headroom.** The Oracle is {headroom:+.3f} above the best single setting, the best router "
    f"{tab.loc[top, 'Ps'] - tab.loc['best_single', 'Ps']:+.3f}: it recovers "
    f"{(tab.loc[top, 'Ps'] - tab.loc['best_single', 'Ps']) / max(headroom, 1e-9):.0%} of that gap.",
    f"- **QNC.** {len(reached)} of {len(qnc)} routers reach the best single setting's accuracy on every seed, under "
    "the modelled costs.",
]))

# %% [markdown]
# **Next:** notebook 8 is one point of a parameter sweep (`make sweep`), for running many of these experiments at
# once; notebook 9 returns to MATH-V with newer routers and bootstrap intervals.
#
# ## Exercises
# 1. Set `seeds = [0, 1, 2, 3, 4]`. With one seed no difference can be judged against seed noise; with five, see
#    whether the best router's difference from the best single setting is decided or stays within seed noise.
# 2. Set `train_fraction = 0.5`. The routers see 2.5 times more items (but fewer test items remain): look for a
#    router that moves from below the best single setting to within noise or above it.
# 3. Set `max_items = 100`. Fewer test items widen every interval: check how the verdicts change, and why a
#    single small split can make routing look better or worse than it is.

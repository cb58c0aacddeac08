# %% [markdown]
# # 5. Generalisation: across datasets, without the image, to other models, and with little data
#
# **What this chapter shows.** A router is trained once and deployed on traffic that differs from its training
# data. The paper tests three shifts (Sec. 5.4-5.5): a new dataset within the same scenario (Table 4), text-only
# queries (Table 5), and little training data; its abstract also claims that routers trained on a subset of models
# and tasks generalise. Each section below runs one shift and computes what it shows.
#
# **What you will learn.** How to set up a cross-dataset split honestly (an explicit source and target, never an
# empty side), what the best-single-model reference means on a shifted target, and how routing quality grows with
# training data.
#
# **Reading the metrics.** Ps (peak score), QNC (quality-neutral cost) and nAUC (normalised area under the
# frontier) are read off a router's cost-accuracy frontier as drawn in
# [the anatomy of a frontier](03_main_results.ipynb#the-anatomy-of-a-frontier) (notebook 3): Ps is a height, QNC a
# ratio of two costs, nAUC an area.
#
# **Glossary** (terms this chapter adds; $y$ is an outcome, $\hat u$ and $\hat c$ a router's predicted utility and cost):
#
# | term | meaning |
# |---|---|
# | cross-dataset transfer | train on one dataset of a scenario (the *source*), score on another (the *target*) the router never saw |
# | best single model on the target | the model with the highest accuracy on the target's rows, chosen with the target's own $y$: a bar no router can see in advance |
# | image-masked transfer | trained on text + image features, scored with the image channel masked, so $\hat u$ and $\hat c$ come from the text alone |
# | model-subset transfer | trained on a random subset of the models and datasets, scored on unseen datasets with the same models |
# | data efficiency | how a router's quality on fixed test rows grows with the share of rows it trains on |
# | within seed noise | a difference whose interval over seeds (mean $\pm$ 2 sd/$\sqrt{n}$ of per-seed differences) covers zero: its sign could flip with other seeds |
#
# **What differs from the paper.** Table 5's text-only sets (GSM8K, MMLU, ARC) have no public outcomes for the
# paper's model pool, so we use an image-masked stand-in (below). The model-subset protocol is our reading of one
# sentence of the abstract [uncertain]. Data: the simulated benchmark by default (not the paper's numbers).
#
# **Training length.** The neural routers train for the epochs in `router_params` (3 at these small defaults, the
# official 100 at full size); their scores depend on it, as the
# [reproducibility appendix](../docs/reproducibility.md#training-length) shows.

# %% tags=["parameters"]
data_root: str = ""  # folder with MMR-Bench.csv (+ images); "" = simulated benchmark at `scale`
scale: float = 0.03  # size of the simulated benchmark (1.0 = the paper's 10,370 instances)
data_seed: int = 0  # seed of the simulated benchmark, apart from the split/router `seeds`
seeds: list = [0, 1]  # split/model seeds; results are mean and spread over them
encoder: str = "auto"  # auto | clip | offline | tfidf | TEXT+IMAGE
routers: list = ["knn", "kmeans", "linear_mf", "mlp"]  # routers compared
fractions: list = [0.05, 0.2, 0.8]  # training fractions of the data-efficiency study
efficiency_seeds: list = [0, 1]  # seeds of the data-efficiency study (make figures: 5)
pool_size: int = 5  # models in the random subset of the model-subset study
router_params: dict = {"mlp": {"epochs": 3}, "mlp_mf": {"epochs": 3}, "cmr": {"epochs": 3}}  # per-router settings (official: 100 epochs each)
out_dir: str = "build/figures-small"  # where figures and tables go (make figures: figures/)

# %%
from IPython.display import Markdown

from mmr_utils.data import audit
from mmr_utils.experiments import studies
from mmr_utils.experiments.runs import RunConfig
from mmr_utils.features import bank as feature_bank
from mmr_utils.paths import ROOT
from mmr_utils.report import paper_tables, plots
from mmr_utils.report.outputs import Report

out = ROOT / out_dir
report = Report(out)  # every figure and table leaves through it, with its provenance
bank = feature_bank.load_and_embed(data_root, scale=scale, seed=data_seed, encoder=encoder)
print(audit.record_audit(bank.table, audit.audit_table(bank.table)).summary())  # one-line table audit

# %% [markdown]
# ## Table 4: a new dataset within the same scenario (the paper's protocol)
# The official `--split out` takes a scenario's datasets in order, trains on the first and tests on the rest: OCR and
# General VQA are A -> B, Math trains on one set and tests on the other two. The reference is the best single model
# *on the target*, chosen with the target's own outcomes, so a demanding bar. [uncertain] which dataset the paper put
# first; we use the paper's listing order.

# %%
config = RunConfig(seeds=seeds, router_params=router_params)
paper4 = studies.cross_dataset_study(bank, config, routers, protocol="paper")
tab4_paper = paper_tables.cross_dataset_table(paper4)
report.table(tab4_paper, "tab_cross_dataset_paper_protocol", paper4.provenance)
tab4_paper.style.format({c: "{:.3f}" for c in tab4_paper.columns if c != "scenario"})

# %%
learned_cols = [c for c in tab4_paper.columns if c not in ("scenario", "best_single")]
lines = []
for direction, row in tab4_paper.iterrows():
    best_router = row[learned_cols].astype(float).idxmax()
    lines.append(f"- **{row['scenario']}** ({direction}): best router {best_router} "
                 f"{row[best_router]:.3f} vs best single on the target {row['best_single']:.3f} "
                 f"({row[best_router] - row['best_single']:+.3f})")
Markdown("\n".join(lines) + "\n\nThe paper reports the router above the best model in all three scenarios "
         "(OCR 0.7234 vs 0.7062, VQA 0.8012 vs 0.7936, Math 0.7914 vs 0.7592).")

# %% [markdown]
# ### Every direction, one heatmap per scenario
# The paper reports one number per scenario; every ordered pair shows whether transfer is symmetric.

# %%
cross = studies.cross_dataset_study(bank, config, routers)
report.table(cross.results, "tab_cross_dataset_all_seeds", cross.provenance)
tab4 = paper_tables.cross_dataset_table(cross)
report.table(tab4, "tab_cross_dataset", cross.provenance)
fig = plots.plot_cross_dataset(cross.results)
report.figure(fig, "fig_cross_dataset", cross.provenance)

# %% [markdown]
# Is the mean learned router above the best single model on the target? Per direction, the per-seed difference
# counts only when its interval over seeds excludes zero. Here the seeds change only the routers' training (every
# source row trains and the target is fixed), so the target's own sampling noise is not in that interval; the cell
# gives the size of one target query for scale.

# %%
from mmr_utils.metrics.seed_noise import noise_aware_count, paired_verdict, verdicts_against

scored = cross.results[cross.results["router"] != "best_single"]
bar = cross.results[cross.results["router"] == "best_single"].set_index(["source", "target"])["Ps"]
mean_router = scored.groupby(["source", "target", "seed"], sort=False)["Ps"].mean()
direction_verdicts = {f"{s} -> {t}": paired_verdict(part.to_numpy() - bar[(s, t)])
                      for (s, t), part in mean_router.groupby(level=["source", "target"], sort=False)}
directions = noise_aware_count(direction_verdicts)
smallest = int(scored["rows"].min())
Markdown(
    f"The mean learned router is above the best single model on the target beyond seed noise in "
    f"**{len(directions['above'])} of {len(direction_verdicts)}** directions "
    f"({', '.join(directions['above']) or 'none'}), below it in {len(directions['below'])} and within seed noise in "
    f"{len(directions['within_noise'])}; the mean difference over directions is "
    f"{sum(v.difference for v in direction_verdicts.values()) / len(direction_verdicts):+.3f}. The smallest target "
    f"has {smallest} test rows, where one query moves Ps by {1 / smallest:.3f}."
)

# %% [markdown]
# ## Table 5 stand-in: trained multimodal, tested with the image masked (Ps)
# The paper's Table 5 trains on the multimodal benchmark and tests on text-only sets (GSM8K, MMLU, ARC), whose
# outcomes for its model pool are **not public**. We ask the same question on data we have: train on text + image
# (mode 22), test on the same datasets with the image channel masked (mode 21). (Text-only *training* is notebook
# 4's comparison.)

# %%
transfer = studies.image_masked_transfer(bank, config, routers)
tab5 = paper_tables.transfer_table(transfer, metric="Ps")
report.table(transfer.results, "tab_image_masked_transfer_all_seeds", transfer.provenance)
report.table(tab5, "tab_image_masked_transfer", transfer.provenance)
tab5.style.format("{:.3f}")

# %%
change = tab5[("change vs multimodal (21 - 22)", "All")]
masked_all = transfer.results[transfer.results["dataset"] == "All"].pivot_table(
    index=["router", "seed"], columns="mode", values="Ps")
mask_verdicts = {r: paired_verdict(part["21"] - part["22"]) for r, part in masked_all.groupby(level="router", sort=False)}
masking = noise_aware_count(mask_verdicts)
Markdown(
    f"Masking the image changes Ps on all test rows by {change.min():+.3f} to {change.max():+.3f} across routers "
    f"(mean {change.mean():+.3f}). Beyond seed noise it lowers Ps for {len(masking['below'])} of "
    f"{len(mask_verdicts)} routers ({', '.join(masking['below']) or 'none'}) and raises it for "
    f"{len(masking['above'])}; {len(masking['within_noise'])} are within seed noise. "
    + ("On this run no router measurably needs the image it was trained with."
       if not masking["below"] else "Those routers rely on the image channel they were trained with.")
)

# %% [markdown]
# ## A subset of models and tasks, tested on unseen datasets
# Per seed: a random pool of `pool_size` models, and one dataset per scenario held out; the router trains on the
# other datasets and routes, zero-shot, among the same models on the held-out ones.

# %%
subset = studies.model_subset_transfer(bank, config, routers, pool_size=pool_size)
report.table(subset.results, "tab_model_subset_transfer", subset.provenance)
subset_table = subset.results.pivot_table(index="seed", columns="router", values="Ps")
subset_table.style.format("{:.3f}")

# %%
above = (subset_table.drop(columns="best_single").gt(subset_table["best_single"], axis=0)).mean()
subset_counts = noise_aware_count(verdicts_against(subset.results, "best_single", metric="Ps"))
Markdown("Share of seeds where each router beats the subset's best single model on the unseen datasets: "
         + ", ".join(f"{r} {v:.0%}" for r, v in above.items())
         + f". Over the seeds (each with its own model subset), {len(subset_counts['above'])} routers are above it "
         f"beyond seed noise ({', '.join(subset_counts['above']) or 'none'}), {len(subset_counts['below'])} below "
         f"and {len(subset_counts['within_noise'])} within seed noise.")

# %% [markdown]
# ## Data efficiency
# Shared nAUC as the training fraction grows, always scored on the same held-out rows; the band is a 95% confidence
# interval of the mean over seeds, so two curves whose bands overlap are not distinguished by this run.

# %%
efficiency = studies.data_efficiency(bank, config.replace(seeds=efficiency_seeds), routers, fractions=fractions)
report.table(efficiency.results, "tab_data_efficiency", efficiency.provenance)
fig = plots.plot_data_efficiency(efficiency.results)
report.figure(fig, "fig_data_efficiency", efficiency.provenance)

# %%
curve = paper_tables.aggregate_seeds(efficiency.results, ["router", "train_fraction"], metrics=("nAUC_shared",))
growth = curve.pivot(index="router", columns="train_fraction", values="nAUC_shared")
gain = growth[max(fractions)] - growth[min(fractions)]
per_seed = efficiency.results.pivot_table(index=["router", "seed"], columns="train_fraction", values="nAUC_shared")
gain_verdicts = {r: paired_verdict(part[max(fractions)] - part[min(fractions)])
                 for r, part in per_seed.groupby(level="router", sort=False)}
grows = noise_aware_count(gain_verdicts)
Markdown(f"From {min(fractions):.0%} to {max(fractions):.0%} of the data, shared nAUC grows by "
         f"{gain.min():+.3f} to {gain.max():+.3f} across routers; the largest gain is **{gain.idxmax()}** "
         f"({gain_verdicts[gain.idxmax()].describe()}). The gain is beyond seed noise for "
         f"{len(grows['above'])} of {len(gain_verdicts)} routers ({', '.join(grows['above']) or 'none'}).")

# %% [markdown]
# ## Recap
# What this run found, computed from the tables above. A difference counts only when its interval over seeds
# excludes zero; with few seeds many stay within seed noise, and that is a finding too.

# %%
def verdict_list(verdicts):
    return ", ".join(f"{name} {v.describe()}" for name, v in verdicts.items())


Markdown("\n".join([
    f"- **New dataset, same scenario.** The mean learned router is above the best single model on the target in "
    f"{len(directions['above'])} of {len(direction_verdicts)} directions beyond seed noise, below it in "
    f"{len(directions['below'])}, within seed noise in {len(directions['within_noise'])}: "
    + ("transfer within a scenario holds on this data." if len(directions["above"]) > len(directions["below"])
       else "on this data a router trained on one dataset does not reliably beat the target's best model."),
    f"- **Image masked.** Ps changes by {change.mean():+.3f} on average over routers when the image is masked "
    f"({verdict_list(mask_verdicts)}).",
    f"- **Model subset, unseen datasets.** Above the subset's best single model beyond seed noise: "
    f"{', '.join(subset_counts['above']) or 'no router'}; within seed noise: "
    f"{', '.join(subset_counts['within_noise']) or 'none'}.",
    f"- **Data efficiency.** Shared nAUC gain from {min(fractions):.0%} to {max(fractions):.0%} of the data: "
    f"{verdict_list(gain_verdicts)}.",
]))

# %% [markdown]
# **Next:** notebook 6 audits the evaluation protocol itself: the same predictions scored by the official code and
# by the fixed one.
#
# ## Exercises
# 1. Set `efficiency_seeds = [0, 1, 2, 3, 4]`. The interval of a mean shrinks about as $1/\sqrt{n}$: look for
#    data-efficiency gains that were "within seed noise" with two seeds and are decided with five (or stay undecided:
#    then the difference is too small for this test set).
# 2. Set `pool_size = 3`, then `8`. With fewer models the subset's best single model is weaker but the routers have
#    fewer good choices: watch which effect wins in the model-subset table.
# 3. Set `scale = 0.08`. The targets grow about threefold, so one query weighs less: check whether the directions
#    where the router was below the target's best model are still below it.

# %% [markdown]
# # 1. Data tour: what a routing benchmark looks like
#
# **What this chapter shows.** The paper's benchmark (Sec. 3, Figure 2, the model pool of its Table 2): seven
# multimodal datasets in three scenarios, ten models, and for every (instance, model) pair whether the model was right
# and what the call cost. **What you will learn:** what an *outcome table* is, why no single model wins everywhere,
# how much a perfect router (the *oracle*) could gain, and how the simulated benchmark this tutorial runs on is
# calibrated to the paper.
#
# MMR-Bench (Ma, Lai, Ye, 2026, arXiv 2601.17814) evaluates **multimodal LLM routers offline**. For every benchmark
# instance $i$ (a question, usually with an image) and every candidate model $k$, an **outcome table** records
# whether the model answered correctly, $y_{i,k} \in \{0, 1\}$, and what the call cost, $c_{i,k}$ (USD).
# A router never calls a model during evaluation: it only predicts, and the table says what would have happened.
#
# **Glossary** (the notation every chapter uses):
#
# | term | meaning |
# |---|---|
# | instance $i$ | one benchmark query: a question, usually with an image, from one dataset |
# | model pool | the $K$ candidate models a router chooses among (here the paper's ten) |
# | outcome $y_{i,k}$ | 1 if model $k$ answered instance $i$ correctly, else 0 |
# | cost $c_{i,k}$ | what that call cost, in USD |
# | scenario | the paper's grouping of the datasets: OCR, General VQA, Math |
# | best single model | the one model with the highest accuracy over the queries scored (a cheaper one wins a tie): what you get without routing |
# | oracle | sends each query to its cheapest correct model (the cheapest model when none is correct): the ceiling for any router on this pool |
#
# Later chapters add a router's predictions, $\hat u_{i,k}$ (utility) and $\hat c_{i,k}$ (cost); $y$ and $c$ are the
# truth the predictions are scored against.
#
# **Data: what is simulated, what is real.** By default the project runs on its embedded *simulated* benchmark: the
# paper's 7 datasets at their real sizes and its 10 models, calibrated (below) to the paper's per-model accuracies,
# mean costs, and its Table 2 rows for the best single model, Random and the Oracle. Its numbers are **not the
# paper's results**; every output says so. Real data: the official release (`make data-official`, pass it as
# `data_root`) and MATH-V's judged outcomes (notebook 7). To switch a chapter to real data, set its `data_root`
# parameter to the table's folder (e.g. `-p data_root data/official` to `python -m tools run-notebook`); `make
# figures DATA=official` (or `mathv`, or a path) runs every chapter that applies into `figures-<name>/`.

# %% tags=["parameters"]
data_root: str = ""  # folder with MMR-Bench.csv (+ images); "" = simulated benchmark at `scale`
scale: float = 0.03  # size of the simulated benchmark (1.0 = the paper's 10,370 instances)
seed: int = 0  # seed of the simulator and of the example picks
out_dir: str = "build/figures-small"  # where figures and tables go (make figures: figures/)

# %% [markdown]
# ## Step 1: load the outcome table
# One call: the simulated benchmark is generated on first use (deterministic in `seed`), or `data_root` is read and
# validated (every error names the file, row and column).

# %%
from IPython.display import Markdown

from mmr_utils.data.loading import load_benchmark
from mmr_utils.paths import ROOT
from mmr_utils.provenance import table_record
from mmr_utils.report import plots
from mmr_utils.report.outputs import Report

out = ROOT / out_dir
report = Report(out)  # every figure and table leaves through it, with its provenance
table = load_benchmark(data_root, scale=scale, seed=seed)
print(table.describe())

# %% [markdown]
# **Audit of the table** (`mmr_utils.data.audit`): coverage per model, duplicate ids, duplicate and near-duplicate
# questions. The counts go into the table's provenance, which every output below records.

# %%
from mmr_utils.data import audit

print(audit.record_audit(table, audit.audit_table(table)).summary())
provenance = {"data": table_record(table),
              "encoder": "none (no features in this notebook)", "settings": {"scale": scale, "seed": seed}}

# %% [markdown]
# ## Composition: scenario -> dataset -> category
# The paper groups its datasets into three scenarios: **OCR** (OCRBench, SEED-Bench-2-Plus), **General VQA**
# (MMStar, RealWorldQA) and **Math** (MathVista, MathVerse, MathVision). The outer ring is the table's category
# column; on the simulated benchmark that is the simulator's *image kind* (chart, table, geometry, ...), not a
# category of the real datasets.

# %%
composition = table.composition()
report.table(composition.set_index(["scenario", "dataset"] + (["category"] if "category" in composition else [])),
                 "tab_composition", provenance)
ring = "simulated image kind" if table.source.get("simulated") else "category"
fig = plots.plot_composition(composition, category_label=ring)
report.figure(fig, "fig_composition", provenance)

# %% [markdown]
# ## Every model, every dataset
# Accuracy per dataset and mean cost per call. A router has room to work only if the best model changes from one
# dataset (or query) to the next, and prices differ.

# %%
summary = table.model_summary()
report.table(summary.set_index(["dataset", "model"]), "tab_model_summary", provenance)
fig = plots.plot_model_overview(summary)
report.figure(fig, "fig_model_overview", provenance)

# %%
per_dataset = summary[summary["dataset"] != "All"]
winners = per_dataset.loc[per_dataset.groupby("dataset")["accuracy"].idxmax(), ["dataset", "model"]]
overall = summary[summary["dataset"] == "All"].set_index("model")
cost_span = overall["mean_cost"].max() / overall["mean_cost"].min()
Markdown(
    f"**{winners['model'].nunique()} different models** are the most accurate on at least one of the "
    f"{len(winners)} datasets ({', '.join(f'{d}: {m}' for d, m in winners.itertuples(index=False))}), and mean "
    f"costs span a factor of **{cost_span:,.0f}**. "
    + ("On this sample no model is most accurate everywhere, the premise of routing (the recap checks which of these "
       "leads are beyond sampling noise)." if winners["model"].nunique() > 1 else
       "One model leads on every dataset here: routing can then only save cost, not gain accuracy.")
)

# %% [markdown]
# ## How much could a perfect router gain?
# The **oracle** sends every query to its cheapest correct model (or the cheapest model when none is correct). Its
# accuracy is the fraction of queries *some* model answers correctly: the ceiling for any router on this pool.

# %%
from mmr_utils.data.simulator.calibration import PAPER_BEST_SINGLE_PS, PAPER_ORACLE_PS
from mmr_utils.metrics.protocol import best_single_model
from mmr_utils.metrics.references import oracle_point

rows = table.complete_rows()
Y, C = table.correct[rows], table.cost[rows]
oracle_cost, oracle_accuracy = oracle_point(Y, C)
best = best_single_model(Y, C)
Markdown(
    f"The best single model, **{table.models[best]}**, is right on {Y[:, best].mean():.1%} of the queries at a mean "
    f"cost of {C[:, best].mean() * 1e3:.3f}e-3 USD; the oracle is right on **{oracle_accuracy:.1%}** at "
    f"**{oracle_cost / C[:, best].mean():.0%}** of that cost. (The paper: best single "
    f"{PAPER_BEST_SINGLE_PS['Full']:.1%}, oracle {PAPER_ORACLE_PS['Full']:.1%} on its test split.)"
)

# %% [markdown]
# ## The simulator's calibration: targets from the paper, and what was achieved
# The simulated benchmark is fitted to the paper, not hand-tuned: each model's per-dataset accuracy and mean cost,
# the Best Single, Oracle and Random rows of Table 2, gpt-5-nano's point in Figure 4 (the paper gives no per-dataset
# accuracies for it, so how they split over the datasets is an assumption, stated in the `note` column) and the
# learned routers' Ps. The table puts each target beside the value achieved, the
# difference and the tolerance (`tolerance` column; for the best single model, two sampling standard deviations of
# the paper's test split). At the small default scale the samples are tiny, so misses are expected; `make figures`
# runs at full scale. The learned routers' rows (`ps_<router>`, `gain_<router>`) need router runs, so they come from
# the calibration step's own full-scale measurement, not from this table. How the fit works, and the assumptions it
# makes, are on [the simulator page](../docs/simulator.md).
#
# **Reading the Random row.** The official Random router runs many trials of a uniformly random model per query, each
# trial one point of the frontier, so its Ps is the *best* trial: `random_ps` is that statistic, `random_mean` the
# plain mean accuracy of the models, and the cell after the table says how far apart they are. The paper's per-dataset
# Random rows and its Figure 4 disagree about how strong gpt-5-nano is; the calibration follows Figure 4, so those
# rows are missed where nano's share of the mean is large (the `note` column, and
# [the simulator page](../docs/simulator.md#gpt-5-nano-and-the-random-rows)).

# %%
if table.source.get("simulated"):
    from mmr_utils.data.simulator.fitting import achieved_vs_target

    calibration = achieved_vs_target(table)
    report.table(calibration.set_index(["group", "metric"]), "tab_calibration", provenance)
    display_frame = calibration.drop(columns="note").set_index(["group", "metric"]).style.format(
        {"target": "{:.4g}", "achieved": "{:.4g}", "difference": "{:+.4f}", "tolerance": "{:.4g}"})
else:
    calibration = None
    display_frame = Markdown("Real data: no calibration to show.")
display_frame

# %%
if calibration is not None:
    family = calibration["metric"].str.replace(r"^(ps|gain)_.*", r"\1_learned", regex=True)
    measured = calibration[calibration["achieved"].notna()]
    met = measured.groupby(family[measured.index], sort=False)["within"].agg(["sum", "size"])
    learned = calibration[family == "ps_learned"]
    worst = measured.loc[measured["difference"].abs().idxmax()]
    notes = calibration.loc[calibration["note"].str.startswith("conflicts"), "note"]
    if learned["achieved"].notna().any():
        learned_text = (f" Learned routers' Ps (calibration step): {int(learned['within'].sum())} of "
                        f"{len(learned)} cells within {learned['tolerance'].max():g} of the paper, largest difference "
                        f"{learned['difference'].abs().max():.3f}.")
    else:
        learned_text = f" Learned routers' Ps: not measured yet ({learned['note'].iat[0]})"
    summary_text = (
        "Targets met: " + ", ".join(f"{m} {int(r['sum'])} of {int(r['size'])}" for m, r in met.iterrows())
        + f". The largest miss is {worst['metric']} on {worst['group']} ({worst['difference']:+.4f})."
        + learned_text
        + (f" Where the paper contradicts itself: {notes.iat[0]}." if len(notes) else "")
    )
    achieved = calibration.pivot_table(index="group", columns="metric", values="achieved")
    if {"random_ps", "random_mean"} <= set(achieved.columns):
        excess = (achieved["random_ps"] - achieved["random_mean"]).dropna()
        per_dataset_excess = excess.drop(index="Full", errors="ignore")
        summary_text += (f" The best Random trial lies {excess.get('Full', float('nan')):+.3f} above the models' mean "
                         f"accuracy on the full set ({per_dataset_excess.min():+.3f} to "
                         f"{per_dataset_excess.max():+.3f} per dataset): read Random's Ps as a best-of-trials number, "
                         f"not an average.")
else:
    summary_text = "Real data: nothing to calibrate."
Markdown(summary_text)

# %% [markdown]
# ## A few instances
# Each simulated dataset renders its own kind of image (OCR crops, charts, geometry, scenes). Below each image: the
# question, the gold answer, and which models got it right.

# %%
if table.has_images.any():
    fig = plots.show_examples(table, rows=7, seed=seed)
    report.figure(fig, "fig_examples", provenance)
else:
    print("this table has no images (text-only)")

# %% [markdown]
# ## Recap: what this table says
# The cell below computes the chapter's take-aways from the table that was loaded. The intervals are 95% sampling
# intervals over the queries (this chapter trains nothing, so there are no seeds): a difference whose interval covers
# zero is called *within sampling noise*, and a reader should not lean on it.

# %%
import numpy as np


def paired_interval(differences):
    """Mean of per-query differences and the half-width of its 95% normal interval."""
    differences = np.asarray(differences, dtype=float)
    return differences.mean(), 1.96 * differences.std(ddof=1) / np.sqrt(len(differences))


headroom, headroom_noise = paired_interval(Y.max(axis=1) - Y[:, best])
datasets = table.instances["dataset"].to_numpy()[rows]
beaten, close = [], []  # datasets where another model beats the overall best single model, beyond noise or not
for name in table.datasets:
    on = datasets == name
    leader = int(Y[on].mean(axis=0).argmax())
    if Y[on, leader].mean() <= Y[on, best].mean():  # the best single model leads (or ties) here
        continue
    lead, lead_noise = paired_interval(Y[on, leader] - Y[on, best])
    label = f"{name} ({table.models[leader]} {lead:+.2f} ± {lead_noise:.2f})"
    (beaten if lead - lead_noise > 0 else close).append(label)
cheap = int(C.mean(axis=0).argmin())
takeaways = [
    f"**Routing headroom.** The oracle is right on {oracle_accuracy:.1%} of the {len(Y)} queries, "
    f"{headroom:+.3f} ± {headroom_noise:.3f} above the best single model ({table.models[best]}), at "
    f"{oracle_cost / C[:, best].mean():.0%} of its mean cost: "
    + (f"a perfect router would be better and {'cheaper' if oracle_cost < C[:, best].mean() else 'dearer'}."
       if headroom - headroom_noise > 0 else "within sampling noise, so this sample shows no room for routing."),
    f"**Who leads per dataset.** Another model beats {table.models[best]} beyond sampling noise on {len(beaten)} of "
    f"{len(table.datasets)} datasets ({', '.join(beaten) or 'none'}) and leads it within noise on {len(close)} "
    f"({', '.join(close) or 'none'}). "
    + ("The premise of routing holds here: the best model changes with the dataset." if beaten else
       "This sample cannot show that the best model changes with the dataset; a larger one may (exercise 1)."),
    f"**Prices.** Mean cost per call spans a factor of {cost_span:,.0f}; the cheapest "
    f"model, {table.models[cheap]}, is right on {Y[:, cheap].mean():.1%} at "
    f"{C[:, cheap].mean() / C[:, best].mean():.1%} of the best single model's cost.",
]
if calibration is not None:
    hits, total = int(measured["within"].sum()), len(measured)
    takeaways.append(
        f"**The simulator against the paper.** {hits} of {total} calibration targets are met here; largest miss "
        f"{worst['metric']} on {worst['group']} ({worst['difference']:+.3f})."
        + (" At this small scale the sampling noise alone exceeds several tolerances; the full-scale run is the test."
           if not data_root and scale < 1 else ""))
Markdown("\n".join(f"{n}. {text}" for n, text in enumerate(takeaways, 1)))

# %% [markdown]
# **Next:** notebook 2 turns each query into the feature vector a router reads.
#
# ## Exercises
# 1. **A bigger sample.** Run with `-p scale 0.3` (papermill, or edit the parameters cell). Watch the ± of the
#    take-aways shrink roughly as one over the square root of the size, and count how many "within sampling noise"
#    datasets become decided: which models lead per dataset is only worth reading once the intervals exclude zero.
# 2. **Another draw of the same benchmark.** Run with `-p seed 1`. The calibration targets do not move, but at the
#    small scale the per-dataset leaders and the largest calibration miss may change: a take-away that flips with the
#    seed was noise to begin with.
# 3. **Real outcomes.** With the official release downloaded (`make data-official`), run with
#    `-p data_root data/official`. The calibration section disappears (there is nothing to calibrate), and the
#    headroom take-away is now the real benchmark's: compare it with the paper's Oracle minus Best Single row.

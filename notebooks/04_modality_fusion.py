# %% [markdown]
# # 4. Modalities and fusion: does the router need the image?
#
# **What this chapter shows.** The paper's modality ablation (Sec. 5.3): the same routers trained on text only,
# image only, or both, and the fusion strategies that combine the two channels. The paper's claim is that
# multimodal routing beats both unimodal variants, most where the question lives in the image.
#
# **What you will learn.** What the official mode flags mean, how a missing channel is handled without changing the
# feature scale, and how to tell a real difference from seed noise.
#
# **Reading the metrics.** Ps (peak score), QNC (quality-neutral cost) and nAUC (normalised area under the
# frontier) are read off a router's cost-accuracy frontier as drawn in
# [the anatomy of a frontier](03_main_results.ipynb#the-anatomy-of-a-frontier) (notebook 3): Ps is a height, QNC a
# ratio of two costs, nAUC an area.
#
# Modes name the channels used for training and for testing (official flags; see
# [notebook 2's glossary](02_multimodal_embedding.ipynb)): `1` = text, `2` = text + image, `3` = image. `11` (text
# only), `33` (image only) and `22` (both) train and test on the same channels; `21` trains on both and tests with the
# image channel **masked** (notebook 5's transfer study).
# A masked channel is replaced by its *training* centroid and every fused vector has unit norm, so train and test
# features stay on one scale (the official code's text-only test features have a different norm than its fused
# training features).
#
# **The fusion strategies** compared in mode 22 ($e^t_i$, $e^v_i$: the unit text and image embeddings of notebook 2):
#
# | strategy | what the router reads | origin |
# |---|---|---|
# | `mean` | $(e^t_i + e^v_i)/2$, renormalised to unit length | official default |
# | `concat` | the two vectors side by side, $[e^t_i; e^v_i]$ | common baseline |
# | `adaptive` | $w_t e^t_i + w_v e^v_i + \tfrac12 e^t_i \odot e^v_i + \tfrac12 \lvert e^t_i - e^v_i\rvert$, weights a softmax (temperature $\eta = 5$) of per-channel confidences from prototype similarity and norm | the official formula |
# | `adaptive_margin` | per-channel confidences from k-means margins, linear weights, the three blocks concatenated | this project's variant |
# | cross-attention | CMR's own: attention over the two channel tokens | CMR only |
#
# Data: the simulated benchmark by default (not the paper's numbers).
#
# **What would count as support.** The paper's claim is that mode 22 beats both unimodal modes. Below, that is
# counted per router, and a win only counts when it is larger than the spread over seeds.

# %% tags=["parameters"]
data_root: str = ""  # folder with MMR-Bench.csv (+ images); "" = simulated benchmark at `scale`
scale: float = 0.03  # size of the simulated benchmark (1.0 = the paper's 10,370 instances)
data_seed: int = 0  # seed of the simulated benchmark, apart from the split/router `seeds`
seeds: list = [0]  # split/model seeds; results are mean and spread over them
encoder: str = "auto"  # auto | clip | offline | tfidf | TEXT+IMAGE
routers: list = ["knn", "kmeans", "kmeans_adaptive", "linear_mf", "mlp", "cmr"]  # routers compared
fusions: list = ["mean", "concat", "adaptive", "adaptive_margin"]  # fusion strategies compared in mode 22
train_fraction: float = 0.2  # share of instances used for training
router_params: dict = {"mlp": {"epochs": 3}, "mlp_mf": {"epochs": 3}, "cmr": {"epochs": 3}}  # per-router settings (official: 100 epochs each)
out_dir: str = "build/figures-small"  # where figures and tables go (make figures: figures/)

# %%
import pandas as pd
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
table = bank.table

# %% [markdown]
# ## Step 1: every router under every mode and fusion
# One call trains each router in each mode (with `mean` fusion) and with each fusion strategy (in mode 22), on every
# seed's split, and scores it on all test rows and per dataset.

# %%
config = RunConfig(train_fraction=train_fraction, seeds=seeds, router_params=router_params)
result = studies.modality_study(bank, config, routers, fusions=fusions)
report.table(result.results, "tab_modality_all_seeds", result.provenance)
overall = result.results[result.results["dataset"] == "All"]

# %% [markdown]
# ## Modes: text only, image only, both, and multimodal-trained / text-tested
# Dots are means over seeds, bars their 95% confidence intervals: overlapping intervals mean this run cannot tell
# the modes apart.

# %%
modes = overall[overall["study"] == "mode"]
tab_modes = paper_tables.pivot_seeds(modes, "router", "mode")
report.table(tab_modes, "tab_modality_modes", result.provenance,
             note="nAUC over the shared cost interval on all test rows, mean over seeds, per modality mode")
fig = plots.plot_metric_bars(modes, x="router", hue="mode", title="Shared nAUC by modality mode")
report.figure(fig, "fig_modality_modes", result.provenance)

# %% [markdown]
# **Reading it.** For each router, compare the `22` bar with the higher of `11` and `33`: the paper's claim is that it
# is above both. The `21` bar (trained on both, tested on text) shows what a multimodal router loses when images stop
# arriving, which notebook 5 studies. The sentence below counts the routers, separating wins larger than the seed
# noise from those that are not.

# %%
from mmr_utils.metrics.seed_noise import noise_aware_count, verdicts_between

comparable = tab_modes.dropna(subset=["11", "33", "22"])
wins = comparable[(comparable["22"] > comparable["11"]) & (comparable["22"] > comparable["33"])]
decided = noise_aware_count(verdicts_between(modes[modes["router"].isin(comparable.index)], "mode", "22", ("11", "33"),
                                             metric="nAUC_shared"))
Markdown(
    f"Multimodal (22) beats both text-only (11) and image-only (33) in mean shared nAUC for **{len(wins)} of "
    f"{len(comparable)}** routers that have all three runs ({', '.join(wins.index) or 'none'}); beyond seed noise "
    f"for {len(decided['above'])} ({', '.join(decided['above']) or 'none'}), within seed noise for "
    f"{len(decided['within_noise'])}, and below a unimodal mode beyond noise for {len(decided['below'])}. "
    f"The paper reports that it does for its routers. "
    f"Mean shared nAUC over routers: 11 {comparable['11'].mean():.3f}, 33 {comparable['33'].mean():.3f}, 22 "
    f"{comparable['22'].mean():.3f}."
)

# %% [markdown]
# ## Where does the image help? Gaps per dataset
# For each router and dataset: shared nAUC of mode 22 minus the better unimodal mode. The paper expects the largest
# gaps where the question lives in the image (MathVerse's vision-only items, OCR).
#
# On the simulated benchmark the routing signal is split by construction (`mmr_utils.data.simulator`): which model
# is best depends partly on the response style the prompt asks for (a preamble written only in the text), partly on
# how degraded the picture is (faded, noisy, blurred: shown only in the image), and partly on the two together. The
# image's share is largest on MathVerse (Vision-Only) and OCRBench, so there the image should add the most to a
# text-only router (22 - 11), while the text adds the least to an image-only one (22 - 33).
#
# **What this result can and cannot show.** On simulated data the modality result checks the simulator and the
# pipeline (that fused features carry both channels' signal and the routers use it), not the paper's claim that
# multimodal cues help: the simulator's cues were built to be channel-specific, so a multimodal win is expected by
# construction; only real outcomes (the official release, or MATH-V in notebook 7) can test the claim.

# %%
gaps = paper_tables.modality_gaps(result)
report.table(gaps, "tab_modality_gaps", result.provenance,
             note="shared nAUC of text + image minus the better of text only and image only, mean over seeds")
fig = plots.plot_modality_gaps(gaps, per_seed=result.results)
report.figure(fig, "fig_modality_gaps", result.provenance)

# %%
mean_gap = gaps.loc["mean over routers"].drop("All")
gaps_vs_text = paper_tables.modality_gaps(result, versus="11")
image_adds = gaps_vs_text.loc["mean over routers"]
image_adds = image_adds.drop(index=[d for d in image_adds.index if d.startswith("All")]).sort_values(ascending=False)
text_adds = paper_tables.modality_gaps(result, versus="33").loc["mean over routers"]
image_led = [d for d, gap in text_adds.items() if not d.startswith("All") and gap < 0]
Markdown(
    f"Averaged over routers, 22 minus the better unimodal mode is largest on **{mean_gap.idxmax()}** "
    f"({mean_gap.max():+.3f}) and smallest on **{mean_gap.idxmin()}** ({mean_gap.min():+.3f}). What the image adds to "
    f"a text-only router (22 - 11) is largest on **{image_adds.index[0]}** ({image_adds.iloc[0]:+.3f}) and "
    f"**{image_adds.index[1]}** ({image_adds.iloc[1]:+.3f}); MathVerse {image_adds.get('MathVerse', float('nan')):+.3f}, "
    f"OCRBench {image_adds.get('OCRBench', float('nan')):+.3f}."
    + (f" On {', '.join(image_led)} the mean of mode 22 is below image-only; where such a gap outlasts more seeds, the "
       f"image carries most of the signal there and the mean fusion dilutes it with the text." if image_led else "")
)

# %% [markdown]
# The same gap against each unimodal mode separately, averaged over routers: what the image adds to text (22 - 11)
# and what the text adds to the image (22 - 33).

# %%
by_mode = pd.DataFrame({"22 - 11 (image adds)": gaps_vs_text.loc["mean over routers"],
                        "22 - 33 (text adds)": text_adds})
by_mode.sort_values("22 - 11 (image adds)", ascending=False).round(4)

# %% [markdown]
# ## Fusion strategies in mode 22

# %%
fusion_rows = overall[overall["mode"] == "22"]
tab_fusion = paper_tables.pivot_seeds(fusion_rows, "router", "fusion")
report.table(tab_fusion, "tab_fusion", result.provenance)
fig = plots.plot_metric_bars(fusion_rows, x="router", hue="fusion", title="Shared nAUC by fusion strategy")
report.figure(fig, "fig_fusion", result.provenance)

# %% [markdown]
# **Reading it.** Each group of bars is one router, each bar one fusion strategy, with the same 95% seed intervals as
# above. A strategy is worth its extra machinery only where its interval clears the `mean` bar's; KMeans-adaptive and
# CMR have a single bar because they fix their own fusion. The cell below names each router's best strategy by its
# mean, and the recap says which of those choices are larger than the seed noise.

# %%
choices = tab_fusion.drop(columns=[c for c in ("cross-attention",) if c in tab_fusion]).dropna(how="all")
best_fusion = choices.idxmax(axis=1)
Markdown("Best fusion per router: " + ", ".join(f"{r} {f}" for r, f in best_fusion.items()) + ".")

# %% [markdown]
# **CMR in the one-channel modes.** CMR always reads two tokens, so when a channel is masked it gets that channel's
# training centroid as a constant; the official CMR feeds zeros for a masked image.

# %% [markdown]
# ## Recap: what this run found
# Computed from the study above. Differences are means over the split seeds with the half-width of their 95% interval
# (per-seed paired differences, each seed's value averaged over the routers that ran both modes); an interval that
# covers zero is *within seed noise*, and with a single seed nothing is decided.

# %%
from mmr_utils.metrics.seed_noise import paired_verdict

mode_rows = result.results[result.results["study"] == "mode"]
n_seeds = mode_rows["seed"].nunique()


def with_noise(verdict, digits=3):
    """A seed-mean difference as text with its interval, or why it is not decided."""
    if n_seeds < 2:
        return f"{verdict.difference:+.{digits}f} (one seed: not decided)"
    return (f"{verdict.difference:+.{digits}f} ± {verdict.noise:.{digits}f}"
            + (" (within seed noise)" if verdict.within_noise else ""))


def mode_gap(dataset, versus):
    """Per-seed gap of mode 22 over mode ``versus`` on ``dataset``, averaged over routers, as a seed-noise verdict."""
    part = mode_rows[(mode_rows["dataset"] == dataset) & mode_rows["router"].isin(comparable.index)]
    wide = part.pivot_table(index=["seed", "router"], columns="mode", values="nAUC_shared")
    return paired_verdict((wide["22"] - wide[versus]).groupby(level="seed").mean())


fusion_verdicts, with_mean = {}, []  # best fusion minus mean, for the routers that ran with the mean fusion
for router, part in fusion_rows.groupby("router"):
    wide = part.pivot_table(index="seed", columns="fusion", values="nAUC_shared")
    if "mean" in wide and router in best_fusion:
        with_mean.append(router)
        if best_fusion[router] != "mean":
            fusion_verdicts[router] = paired_verdict(wide[best_fusion[router]] - wide["mean"])
fusion_decided = noise_aware_count(fusion_verdicts)
kept_mean = [r for r in with_mean if best_fusion[r] == "mean"]
top_image = image_adds.index[0]
takeaways = [
    f"**Both channels against one.** Mode 22 beats both text-only and image-only beyond seed noise for "
    f"{len(decided['above'])} of {len(comparable)} routers and loses to one of them beyond noise for "
    f"{len(decided['below'])}; averaged over routers on all test rows, 22 minus 11 is "
    f"{with_noise(mode_gap('All', '11'))} and 22 minus 33 is {with_noise(mode_gap('All', '33'))} in shared nAUC.",
    f"**Where the image helps.** What the image adds to a text-only router is largest on {top_image}: "
    f"{with_noise(mode_gap(top_image, '11'))}"
    + (f"; on MathVerse, whose questions live in the image, {with_noise(mode_gap('MathVerse', '11'))}."
       if "MathVerse" in image_adds.index and top_image != "MathVerse" else "."),
    f"**Fusion.** Against the official `mean` fusion, another strategy is better beyond seed noise for "
    f"{len(fusion_decided['above'])} of the {len(with_mean)} routers that ran with it "
    f"({', '.join(fusion_decided['above']) or 'none'}) "
    f"and better only within noise for {len(fusion_decided['within_noise'])}; `mean` itself is best for "
    f"{len(kept_mean)} ({', '.join(kept_mean) or 'none'}).",
    ("**What it tests.** This is simulated data, whose cues were built channel-specific: the result checks the "
     "simulator and the pipeline, not the paper's claim, which only real outcomes can test."
     if table.source.get("simulated") else
     "**What it tests.** These are real outcomes: the counts above are evidence on the paper's claim itself."),
]
Markdown("\n".join(f"{n}. {text}" for n, text in enumerate(takeaways, 1)))

# %% [markdown]
# **Next:** notebook 5 moves routers to new datasets, text-only traffic, other models and less data.
#
# ## Exercises
# 1. **More seeds.** `-p seeds "[0, 1, 2]"` (slower: every router runs in every mode and fusion per seed). Which
#    "within seed noise" verdicts of take-aways 1 and 3 become decided? A mode ranking that does not survive more
#    seeds was never there.
# 2. **A weaker text channel.** `-p encoder tfidf` replaces the sentence encoder with word counts. Watch 22 minus 11
#    (what the image adds) grow and 22 minus 33 (what the text adds) shrink: how much the image is worth depends on how
#    good the text features are, not only on the data.
# 3. **Real outcomes.** With the official release (`make data-official`), `-p data_root data/official`. Take-away 4
#    switches, and take-aways 1 and 2 become a test of the paper's claim rather than of the simulator: does mode 22
#    still win, and is the image still worth most on MathVerse and OCRBench?

# %% [markdown]
# # 2. Multimodal embedding: from a query to a feature vector
#
# **What this chapter shows.** The first half of every router in the paper (Sec. 4, "query representation"): how a
# query, its text and optional image, becomes the vector a router reads. It reproduces the paper's feature pipeline
# (CLIP ViT-B/32 text and image embeddings, fused by their mean) and shows what the features look like.
#
# **What you will learn.** Why the two channels are encoded separately; what the modality availability flag is;
# what runs when CLIP weights are not on disk; and how much each channel tells apart the benchmark's datasets,
# computed rather than claimed.
#
# A router sees a query $q_i = (t_i, v_i)$: its text $t_i$ and, when there is one, its image $v_i$. Each channel is
# encoded separately, $e^t_i = f_t(t_i)$ and $e^v_i = f_v(v_i)$ (unit vectors), and a fusion strategy combines them
# into the router's input $x_i$. The paper uses CLIP ViT-B/32, which puts text and images in one space; the official
# default fusion is the mean $x_i = (e^t_i + e^v_i)/2$ (we renormalise it to unit length; notebook 4 compares the
# fusion strategies).
#
# **Glossary** (new terms of this chapter; $y$, $c$ and the rest are in notebook 1's):
#
# | term | meaning |
# |---|---|
# | embedding $e^t_i$, $e^v_i$ | a fixed-length unit vector an encoder computes from the text $t_i$ or the image $v_i$; similar inputs get nearby vectors |
# | channel | one of the two inputs of a query, text or image, each with its own embedding |
# | availability flag | whether query $i$ has a readable image; a missing one is never encoded as a blank picture |
# | fusion | the rule that turns $e^t_i$ and $e^v_i$ into the router's input $x_i$ (mean, concatenation, adaptive weights: notebook 4) |
# | mode `11` | text only: the router is trained and tested on the question text |
# | mode `33` | image only: trained and tested on the image |
# | mode `22` | text and image: trained and tested on both, fused (the paper's default) |
# | mode `21` | trained on both, tested with the image hidden: multimodal training meeting text-only traffic (notebook 5) |
#
# **What differs from the paper.** `encoder="auto"` uses CLIP when its weights are on disk (local folder or Hugging
# Face cache) and otherwise the offline pair: the MiniLM sentence encoder (packaged, 384-d) for text and an
# image-statistics encoder (thumbnail, colour, edge and texture statistics, no downloaded weights) for images. The
# two offline channels do not share a space, unlike CLIP's. **What actually ran is printed below and written into
# every caption.** Data: the simulated benchmark by default (not the paper's numbers).

# %% tags=["parameters"]
data_root: str = ""  # folder with MMR-Bench.csv (+ images); "" = simulated benchmark at `scale`
scale: float = 0.03  # size of the simulated benchmark (1.0 = the paper's 10,370 instances)
seed: int = 0  # seed of the simulator, projections and fusion
encoder: str = "auto"  # auto | clip | offline | tfidf | TEXT+IMAGE (e.g. minilm+imagestats)
out_dir: str = "build/figures-small"  # where figures and tables go (make figures: figures/)

# %% [markdown]
# ## Step 1: encode every question and image once
# An unreadable or missing image is never encoded as a black picture: it is marked absent (the availability flag)
# and the fusion treats it as missing. The vectors are computed once and reused by the other chapters; how they are
# cached and why each item gets its own encoder pass (so that a result never depends on which items were encoded
# together) is in the appendix ([caches](../docs/reproducibility.md#caches),
# [determinism](../docs/reproducibility.md#determinism)).

# %%
from IPython.display import Markdown

from mmr_utils.data import audit
from mmr_utils.features import bank as feature_bank
from mmr_utils.paths import ROOT
from mmr_utils.provenance import study_provenance
from mmr_utils.report import plots
from mmr_utils.report.outputs import Report

out = ROOT / out_dir
report = Report(out)  # every figure and table leaves through it, with its provenance
bank = feature_bank.load_and_embed(data_root, scale=scale, seed=seed, encoder=encoder)
print(audit.record_audit(bank.table, audit.audit_table(bank.table)).summary())  # one-line table audit
table = bank.table
provenance = study_provenance(bank, notebook="02_multimodal_embedding", seeds=[seed])

# %% [markdown]
# ## What was encoded
# Per channel: the encoder and its width, how many inputs were encoded, how many images could be read.

# %%
encoded = feature_bank.embedding_report(bank)
# The saved table keeps what the features are; cache hits and seconds describe this run, so they are shown, not saved.
run_specific = ["cache_hits", "cache_misses", "seconds"]
report.table(encoded.drop(columns=run_specific), "tab_embedding_report", provenance)
encoded

# %% [markdown]
# ## What the features look like
# A 2-D PCA projection of each channel, coloured by dataset. Structure a router can exploit shows up as clusters.

# %%
labels = table.instances["dataset"]
fig = plots.plot_projection(bank.text.values, labels, "Text embeddings (PCA)", seed=seed)
report.figure(fig, "fig_embedding_text", provenance)

# %%
if bank.has_images:
    present = bank.image.present
    fig = plots.plot_projection(bank.image.values[present], labels[present], "Image embeddings (PCA)", seed=seed)
    report.figure(fig, "fig_embedding_image", provenance)

# %% [markdown]
# **Reading the projections.** Two principal components keep only part of the variance of a 256- to 512-dimensional
# vector, so datasets that overlap here may still be apart in the full space, and a tidy picture can hide a channel
# that carries nothing about the models. The projection is for intuition; the next section measures.

# %% [markdown]
# ## How much does each channel separate the datasets?
# A projection can hide structure, so we measure it: a 5-nearest-neighbour classifier predicts each query's dataset
# from one channel, with 5-fold cross-validation. Far above the majority rate means the channel carries what a router
# needs to tell the datasets (and so the models' strengths) apart.

# %%
separability = feature_bank.channel_separability(bank, seed=seed)
report.table(separability, "tab_channel_separability", provenance)
separability.style.format({"knn_accuracy": "{:.3f}", "majority_rate": "{:.3f}"})

# %%
import numpy as np


def accuracy_noise(channel):
    """Half-width of the 95% sampling interval of a channel's cross-validated accuracy (binomial over its rows)."""
    p, rows = separability.loc[channel, "knn_accuracy"], separability.loc[channel, "rows"]
    return 1.96 * np.sqrt(p * (1 - p) / rows)


def versus(channel, other):
    """Accuracy of ``channel`` minus ``other``, its 95% half-width (conservative: the two treated as independent) and
    the verdict: "better", "worse" or "within sampling noise"."""
    difference = separability.loc[channel, "knn_accuracy"] - separability.loc[other, "knn_accuracy"]
    noise = float(np.hypot(accuracy_noise(channel), accuracy_noise(other)))
    verdict = "within sampling noise" if abs(difference) <= noise else "better" if difference > 0 else "worse"
    return difference, noise, verdict


best_channel = separability["knn_accuracy"].idxmax()
fused = "text + image"
if fused in separability.index:
    single = separability.drop(index=fused)["knn_accuracy"].idxmax()
    difference, noise, verdict = versus(fused, single)
    comparison = {"better": "better than", "worse": "worse than",
                  "within sampling noise": "as well as (within sampling noise)"}[verdict]
    fusion_text = (
        f" Both channels together separate the datasets {comparison} the better single channel ({single}): "
        f"{difference:+.2f} ± {noise:.2f} in accuracy. "
        + {"better": "Here each channel adds what the other lacks, which supports fusing them.",
           "worse": f"Here putting the channels together blurs the structure {single} has on its own: separating "
                    "datasets is not the same as routing, so whether fusion pays is for notebook 4 to measure.",
           "within sampling noise": "Here fusing neither helps nor hurts at telling the datasets apart; notebook 4 "
                                    "measures whether it helps routing."}[verdict])
else:
    fusion_text = " Only one channel is present, so there is nothing to fuse."
Markdown(
    f"From the text alone the dataset is recovered **{separability.loc['text', 'knn_accuracy']:.0%}** of the time"
    + (f", from the image alone **{separability.loc['image', 'knn_accuracy']:.0%}**" if "image" in separability.index
       else "") + f" (majority rate {separability['majority_rate'].iloc[0]:.0%}); the best is **{best_channel}**."
    + fusion_text
)

# %% [markdown]
# ## Recap: what the features show
# Computed from the features above. The intervals are 95% sampling intervals over the queries (this chapter has no
# split seeds); a difference whose interval covers zero is *within sampling noise*.

# %%
above_majority = {channel: (separability.loc[channel, "knn_accuracy"] - separability.loc[channel, "majority_rate"],
                            accuracy_noise(channel)) for channel in separability.index}
missing_images = int((~bank.image.present).sum()) if bank.has_images else table.n
takeaways = [
    f"**What ran.** {bank.encoder}; "
    + (f"{missing_images} of {table.n} queries have no readable image." if bank.has_images else
       "no image channel (text-only table)."),
    "**Each channel knows the dataset.** Cross-validated 5-NN accuracy above the majority rate: "
    + ", ".join(f"{channel} {gain:+.2f} ± {noise:.2f}" + (" (within sampling noise)" if abs(gain) <= noise else "")
                for channel, (gain, noise) in above_majority.items()) + ".",
    (f"**Together against alone.** Text and image together separate the datasets {comparison} {single} alone "
     f"({difference:+.2f} ± {noise:.2f})." if fused in separability.index else
     "**Together against alone.** Only one channel: nothing to compare."),
    "**What it means for routing.** Separating datasets is a proxy: a router needs to tell apart queries on which "
    "different models succeed, and notebook 4 measures that directly for every mode and fusion.",
]
Markdown("\n".join(f"{n}. {text}" for n, text in enumerate(takeaways, 1)))

# %% [markdown]
# **Next:** notebook 3 trains the paper's routers on these features and scores them.
#
# ## Exercises
# 1. **Word counts for text.** `-p encoder tfidf`. The text channel becomes a bag of words: does its separability
#    fall or rise? Dataset-specific wording (answer formats, prompt preambles) is easy for word counts to spot, so a
#    weaker encoder in general can still be a good dataset detector.
# 2. **A bigger sample.** `-p scale 0.1` (the first run embeds the new items and takes minutes). The intervals
#    shrink; check whether "together against alone" keeps its verdict, or whether it was sampling noise.
# 3. **Another draw.** `-p seed 1` draws another simulated benchmark and another cross-validation split: the numbers
#    that move are the ones not to lean on.

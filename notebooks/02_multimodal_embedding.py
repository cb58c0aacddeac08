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
# Embeddings are cached by content hash (the question text, the image bytes, the encoder and its revision), so the
# other notebooks reuse them. An unreadable or missing image is never encoded as a black picture: it is marked
# absent (the paper's modality availability flag) and the fusion treats it as missing. Each question and image goes
# through the encoder on its own, not in a batch: a batched pass pads texts to the batch's longest and lets the
# linear algebra pick kernels by batch shape, which changes a vector's last bits (about 1e-7) with its companions, so
# a cache filled bit by bit over several runs would not reproduce a cold run, and the neural routers would drift in
# the third decimal. One item per pass costs about a fifth more time here; `batch_invariant=False` batches (on a GPU).

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
# Widths, how many rows came from the cache, and how many images could be read. (The saved table leaves out the cache
# counts and timings, which describe this run rather than the features, so that `make check-figures` can compare it.)

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
# ## How much does each channel separate the datasets?
# A projection can hide structure, so we measure it: a 5-nearest-neighbour classifier predicts each query's dataset
# from one channel, with 5-fold cross-validation. Far above the majority rate means the channel carries what a router
# needs to tell the datasets (and so the models' strengths) apart.

# %%
separability = feature_bank.channel_separability(bank, seed=seed)
report.table(separability, "tab_channel_separability", provenance)
separability.style.format({"knn_accuracy": "{:.3f}", "majority_rate": "{:.3f}"})

# %%
best_channel = separability["knn_accuracy"].idxmax()
Markdown(
    f"From the text alone the dataset is recovered **{separability.loc['text', 'knn_accuracy']:.0%}** of the time"
    + (f", from the image alone **{separability.loc['image', 'knn_accuracy']:.0%}**" if "image" in separability.index
       else "") + f" (majority rate {separability['majority_rate'].iloc[0]:.0%}); the best is **{best_channel}**. "
    "Both channels carry structure, which is why the paper fuses them rather than choosing one."
)

# %% [markdown]
# ## Recap
# In this notebook we encoded every question and image once (cached by content), recorded which encoder actually
# ran, looked at each channel's structure, and measured how well each channel, and both together, separate the
# benchmark's datasets. **Next:** notebook 3 trains the paper's routers on these features and scores them.

# %% [markdown]
# # 2. Multimodal embedding: from a query to a feature vector
#
# A router sees a query $q_i = (t_i, v_i)$: its text $t_i$ and, when there is one, its image $v_i$. Each channel is
# encoded separately, $e^t_i = f_t(t_i)$ and $e^v_i = f_v(v_i)$ (unit vectors), and a fusion strategy combines them
# into the router's input $x_i$. The paper uses CLIP ViT-B/32, which puts text and images in one space; the official
# default fusion is the mean $x_i = (e^t_i + e^v_i)/2$ (we renormalise it to unit length).
#
# `encoder="auto"` uses CLIP when its weights are on disk (local folder or Hugging Face cache) and otherwise the
# offline pair: the MiniLM sentence encoder (packaged, 384-d) for text and an image-statistics encoder (thumbnail,
# colour, edge and texture statistics, no downloaded weights) for images. **What actually ran is printed and written
# into every caption.** Embeddings are cached by content hash, so the other notebooks reuse them. An unreadable or
# missing image is never encoded as a black picture: it is marked absent (the paper's modality availability flag).

# %% tags=["parameters"]
data_root: str = ""  # folder with MMR-Bench.csv (+ images); "" = simulated benchmark at `scale`
scale: float = 0.03  # size of the simulated benchmark (1.0 = the paper's 10,370 instances)
seed: int = 0  # seed of the simulator, projections and fusion
encoder: str = "auto"  # auto | clip | offline | tfidf | TEXT+IMAGE (e.g. minilm+imagestats)
out_dir: str = "build/figures-small"  # where figures and tables go (make figures: figures/)

# %%
from mmr_utils import plots, studies
from mmr_utils.paths import ROOT

out = ROOT / out_dir
bank = studies.load_and_embed(data_root, scale=scale, seed=seed, encoder=encoder)
table = bank.table
provenance = studies.provenance(bank, notebook="02_multimodal_embedding", seeds=[seed])

# %% [markdown]
# ## What was encoded
# Widths, how many rows came from the cache, and the modality availability flags (rows whose image could be read).

# %%
report = studies.embedding_report(bank)
plots.save_table(report, "tab_embedding_report", provenance, out_dir=out)
report

# %% [markdown]
# ## What the features look like
# A 2-D PCA projection of each channel, coloured by dataset. Datasets (and, within them, image kinds) form
# structure a router can exploit; neither channel alone separates everything.

# %%
labels = table.instances["dataset"]
plots.save_figure(plots.plot_projection(bank.text.values, labels, "Text embeddings (PCA)", seed=seed),
                  "fig_embedding_text", provenance, out_dir=out)

# %%
if bank.has_images:
    present = bank.image.present
    plots.save_figure(plots.plot_projection(bank.image.values[present], labels[present],
                                            "Image embeddings (PCA)", seed=seed),
                      "fig_embedding_image", provenance, out_dir=out)

# %% [markdown]
# ## Headline check
# A second encoding of the same table is served entirely from the cache.

# %%
again = studies.embed_table(table, encoder, seed=seed)

# %%
# NBVAL_CHECK_OUTPUT
misses = studies.embedding_report(again)["cache_misses"].sum()
print(f"rows: {table.n}, cache misses on the second run: {misses}")

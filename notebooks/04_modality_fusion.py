# %% [markdown]
# # 4. Modalities and fusion
#
# Which channel carries the routing signal? Modes name the channels used for training and for testing
# (official flags): `1` = text, `2` = text + image, `3` = image. `11`, `33` and `22` train and test on the same
# channels; `21` trains multimodally and tests with the image channel **masked** (the transfer study of notebook 5).
#
# A masked channel is replaced by its *training* centroid and every fused vector has unit norm, so train and test
# features stay on one scale (the official code's text-only test features have a different norm than its fused
# training features). Fusion strategies in mode 22: `mean` (official default), `concat`, `adaptive`
# (confidence-weighted sum plus product and difference terms, statistics fitted on training rows only), and CMR's
# cross-attention over the two channel tokens.

# %% tags=["parameters"]
data_root: str = ""  # folder with MMR-Bench.csv (+ images); "" = simulated benchmark at `scale`
scale: float = 0.03  # size of the simulated benchmark (1.0 = the paper's 10,370 instances)
data_seed: int = 0  # seed of the simulated benchmark, apart from the split/router `seeds`
seeds: list = [0]  # split/model seeds; results are mean and spread over them
encoder: str = "auto"  # auto | clip | offline | tfidf | TEXT+IMAGE
routers: list = ["knn", "kmeans", "kmeans_adaptive", "linear_mf", "mlp", "cmr"]  # routers compared
train_fraction: float = 0.2  # share of instances used for training
neural_epochs: int = 3  # epochs of MLP / MLPMF / CMR (official: 100)
out_dir: str = "build/figures-small"  # where figures and tables go (make figures: figures/)

# %%
from mmr_utils import plots, studies
from mmr_utils.paths import ROOT

out = ROOT / out_dir
bank = studies.load_and_embed(data_root, scale=scale, seed=data_seed, encoder=encoder)
table = bank.table

# %%
result = studies.modality_study(bank, routers, seeds=seeds, train_fraction=train_fraction,
                                neural_epochs=neural_epochs)
plots.save_table(result.results, "tab_modality_all_seeds", result.provenance, out_dir=out)

# %% [markdown]
# ## Modes: text only, image only, both, and multimodal-trained / text-tested

# %%
modes = result.results[result.results["study"] == "mode"]
tab_modes = studies.pivot_seeds(modes, "router", "mode")
plots.save_table(tab_modes, "tab_modality_modes", result.provenance, out_dir=out)
plots.save_figure(plots.plot_metric_bars(modes, x="router", hue="mode", title="nAUC (shared) by modality mode"),
                  "fig_modality_modes", result.provenance, out_dir=out)
tab_modes.round(3)

# %% [markdown]
# ## Fusion strategies in mode 22

# %%
fusion_rows = result.results[result.results["mode"] == "22"]
tab_fusion = studies.pivot_seeds(fusion_rows, "router", "fusion")
plots.save_table(tab_fusion, "tab_fusion", result.provenance, out_dir=out)
plots.save_figure(plots.plot_metric_bars(fusion_rows, x="router", hue="fusion", title="nAUC (shared) by fusion"),
                  "fig_fusion", result.provenance, out_dir=out)
tab_fusion.round(3)

# %% [markdown]
# ## Headline check
# Every mode was run for the routers that allow it (CMR needs both channels on at least one side).

# %%
# NBVAL_CHECK_OUTPUT
print("modes compared:", sorted(modes["mode"].unique()), "| fusions:", sorted(fusion_rows["fusion"].unique()))

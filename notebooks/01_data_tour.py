# %% [markdown]
# # 1. Data tour: what a routing benchmark looks like
#
# MMR-Bench (Ma, Lai, Ye, 2026, arXiv 2601.17814) evaluates **multimodal LLM routers offline**. For every benchmark
# instance $i$ (a question, usually with an image) and every candidate model $k$, an **outcome table** records
# whether the model answered correctly, $y_{i,k} \in \{0, 1\}$, and what the call cost, $c_{i,k}$ (USD).
# A router never calls a model during evaluation: it only predicts, and the table says what would have happened.
#
# This notebook loads the table, shows its composition (scenario -> dataset -> category, the paper's sunburst),
# each model's accuracy and mean cost per dataset, and a few instances with their images.
#
# **Data.** By default the project runs on its embedded *simulated* benchmark: the paper's 7 datasets at their real
# sizes and its 10 models, calibrated to the published per-dataset accuracies and mean costs. Its numbers are **not the
# paper's**; every output says so. Point `data_root` at the official release (`make data-official`) or at converted
# MATH-V (`make data-mathv`, notebook 7) for real data.

# %% tags=["parameters"]
data_root: str = ""  # folder with MMR-Bench.csv (+ images); "" = simulated benchmark at `scale`
scale: float = 0.03  # size of the simulated benchmark (1.0 = the paper's 10,370 instances)
seed: int = 0  # seed of the simulator and of the example picks
out_dir: str = "build/figures-small"  # where figures and tables go (make figures: figures/)

# %%
from mmr_utils import plots
from mmr_utils.paths import ROOT
from mmr_utils.provenance import table_record
from mmr_utils.sources import load_benchmark

out = ROOT / out_dir
table = load_benchmark(data_root, scale=scale, seed=seed)
provenance = {"data": table_record(table),
              "encoder": "none (no features in this notebook)", "settings": {"scale": scale, "seed": seed}}
print(table.describe())

# %% [markdown]
# ## Composition: scenario -> dataset -> category
# The paper groups its datasets into three scenarios: **OCR** (OCRBench, SEED-Bench-2-Plus), **General VQA**
# (MMStar, RealWorldQA) and **Math** (MathVista, MathVerse, MathVision).

# %%
composition = table.composition()
plots.save_table(composition.set_index(["scenario", "dataset"] + (["category"] if "category" in composition else [])),
                 "tab_composition", provenance, out_dir=out)
plots.save_figure(plots.plot_composition(composition), "fig_composition", provenance, out_dir=out)
composition.groupby(["scenario", "dataset"], sort=False)["instances"].sum()

# %% [markdown]
# ## Every model, every dataset
# No model is best everywhere, and prices differ by two orders of magnitude: that is the room a router has to work in.

# %%
summary = table.model_summary()
plots.save_table(summary.set_index(["dataset", "model"]), "tab_model_summary", provenance, out_dir=out)
plots.save_figure(plots.plot_model_overview(summary), "fig_model_overview", provenance, out_dir=out)
summary[summary["dataset"] == "All"].set_index("model")[["accuracy", "mean_cost"]].sort_values("mean_cost")

# %% [markdown]
# ## A few instances
# Each simulated dataset renders its own kind of image (OCR crops, charts, geometry, scenes); the question text
# reveals some of what matters for routing and the image the rest.

# %%
if table.has_images.any():
    plots.save_figure(plots.show_examples(table, rows=7, seed=seed), "fig_examples", provenance, out_dir=out)
else:
    print("this table has no images (text-only)")

# %% [markdown]
# ## Headline check
# The oracle (cheapest correct model per instance) bounds every router from above.

# %%
# NBVAL_CHECK_OUTPUT
from mmr_utils.evaluation import oracle_point  # noqa: E402

rows = table.complete_rows()
cost, accuracy = oracle_point(table.correct[rows], table.cost[rows])
print(f"instances: {table.n}, models: {len(table.models)}, oracle accuracy: {accuracy:.2f}")

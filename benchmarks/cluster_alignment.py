"""Why KMeans gains nothing from the second channel: what its clusters follow in each mode.

The official KMeans router (K = 20, ``random_state`` 42, ``n_init="auto"``) clusters the training rows' features and
predicts each model's accuracy and cost as the cluster means, so it can only use a latent variable its clusters
resolve. For the simulated benchmark, whose latent variables are known (``simulate_latents``), this prints the
normalised mutual information between the clusters and each latent variable in mode 11 (text), 33 (image) and 22
(mean fusion): the text-only cue (the prompt's response style), the image-only cue (the picture's degradation), the
kind (visible in both channels), the dataset and two wording flags. Averaged over ``--seeds`` 20% training splits.
Also prints, per channel, the share of the embedding's variance that each latent variable explains (between-group
variance / total): a cue the clusters should follow must be a large factor of its channel. Writes
``benchmarks/results/cluster_alignment.md``.

    .venv/bin/python benchmarks/cluster_alignment.py --scale 1.0 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import normalized_mutual_info_score

from mmr_utils._io import atomic_write_text
from mmr_utils.data.simulator.outcomes import simulate_latents
from mmr_utils.data.splits import instance_split
from mmr_utils.features.bank import load_and_embed
from mmr_utils.features.fusion import build_features

RESULTS = Path(__file__).resolve().parent / "results"
LATENTS = ("text_cue_level", "image_cue_level", "kind", "dataset", "generic_question", "multiple_choice")
MODES = {"11": "text only", "33": "image only", "22": "mean fusion"}


def alignment(scale: float, seeds: list[int], data_seed: int, n_clusters: int = 20
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """NMI between the KMeans clusters of the training rows and each latent variable, per mode and split seed; and
    the channels' variance shares (:func:`variance_shares`)."""
    bank = load_and_embed("", scale=scale, seed=data_seed, encoder="offline")
    latents = simulate_latents(scale, data_seed).set_index("dataset_idx")
    order = bank.table.instances["dataset_idx"].to_numpy()
    latents = latents.loc[order].reset_index()
    records = []
    for seed in seeds:
        split = instance_split(bank.table, 0.2, seed=seed)
        blocks = bank.channels(split.train, split.test)
        rows = latents.iloc[split.train]
        for mode in MODES:
            X_train, _, _ = build_features(*blocks, mode=mode, seed=seed, strategy="mean")
            labels = KMeans(n_clusters, random_state=42, n_init="auto").fit(X_train).labels_
            records.append({"seed": seed, "mode": mode, "feature_variance": float(X_train.var(axis=0).sum()),
                            **{name: normalized_mutual_info_score(rows[name], labels) for name in LATENTS}})
    return pd.DataFrame(records), variance_shares(bank, latents)


def variance_shares(bank, latents: pd.DataFrame) -> pd.DataFrame:
    """Per channel (rows) and latent variable (columns): between-group variance of the embedding / its total variance,
    over all rows (the multivariate correlation ratio)."""
    channels = {"text (MiniLM)": bank.text.values, "image (imagestats)": bank.image.values}
    shares = {}
    for channel, values in channels.items():
        values = np.asarray(values, dtype=np.float64)
        centre, total = values.mean(axis=0), values.var(axis=0).sum()
        shares[channel] = {}
        for name in LATENTS:
            labels = latents[name].to_numpy()
            between = sum((labels == level).mean() * ((values[labels == level].mean(axis=0) - centre) ** 2).sum()
                          for level in np.unique(labels))
            shares[channel][name] = between / total
    return pd.DataFrame(shares).T


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--data-seed", type=int, default=0)
    args = parser.parse_args(argv)
    frame, shares = alignment(args.scale, args.seeds, args.data_seed)
    table = frame.groupby("mode")[["feature_variance", *LATENTS]].mean().loc[list(MODES)]
    table.index = [f"{mode} ({MODES[mode]})" for mode in table.index]
    note = (f"# What the KMeans router's clusters follow, per mode (simulated data, scale {args.scale}, data seed "
            f"{args.data_seed})\n\nNormalised mutual information between the official KMeans clusters (K = 20, "
            f"random_state 42) of the 20% training rows and each latent variable of the simulator, mean over split "
            f"seeds {args.seeds}; offline encoders (MiniLM + imagestats). Written by "
            f"benchmarks/cluster_alignment.py.\n\n{table.round(3).to_markdown()}\n\n"
            f"Share of each channel's embedding variance explained by each latent variable (all rows; between-group "
            f"variance / total):\n\n{shares.round(3).to_markdown()}\n")
    atomic_write_text(RESULTS / "cluster_alignment.md", note)
    print(note)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

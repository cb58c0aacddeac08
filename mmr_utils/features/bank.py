"""Features of a table: the per-instance text and image embeddings a study hands to routers (paper Sec. 4-5), in a
:class:`FeatureBank` (channels, encoders, fingerprint) built by :func:`embed_table` / :func:`load_and_embed`, and
what notebook 2 shows about them (:func:`embedding_report`, :func:`channel_separability`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmr_utils.data.table import OutcomeTable
from mmr_utils.features.encoders import EncoderChoice, get_encoders
from mmr_utils.features.encoders.base import Embeddings


@dataclass
class FeatureBank:
    """Per-instance embeddings of one table: the text and image channels, and which encoders produced them."""

    table: OutcomeTable
    choice: EncoderChoice
    text: Embeddings | None
    image: Embeddings | None
    info: dict = field(default_factory=dict)

    @property
    def encoder(self) -> str:
        """What actually ran, for captions and result files."""
        return self.choice.description

    def cache_keys(self) -> dict:
        """Embedding-cache keys (file stems) of this bank's channels, ``None`` if uncached (TF-IDF: fit per split)."""
        keys = {}
        for modality, emb, encoder in (("text", self.text, self.choice.text), ("image", self.image, self.choice.image)):
            try:
                keys[modality] = encoder.cache_key(modality).file_stem() if emb is not None else None
            except NotImplementedError:
                keys[modality] = None
        return keys

    def fingerprint(self) -> str:
        """sha256 (16 hex digits) of what a router trained on this bank could depend on: outcomes, model names,
        dataset of every row, questions (TF-IDF features are fitted from them per split), both channels' vectors and
        presence, and the encoder description. Memoised while the bank holds the same table and channel objects."""
        memo = getattr(self, "_fingerprint_memo", None)
        if memo is not None and all(a is b for a, b in zip(memo[:3], (self.table, self.text, self.image))):
            return memo[3]
        digest = hashlib.sha256()
        table = self.table
        for array in (table.correct, table.cost):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update("\x1f".join(table.instances["dataset_idx"].astype(str)).encode())
        digest.update("\x1f".join(table.models).encode())
        digest.update("\x1f".join(table.instances["question"].astype(str)).encode())
        for emb in (self.text, self.image):
            if emb is not None:
                digest.update(np.ascontiguousarray(emb.values).tobytes())
                digest.update(emb.present.tobytes())
        digest.update(self.encoder.encode())
        value = digest.hexdigest()[:16]
        self._fingerprint_memo = (self.table, self.text, self.image, value)
        return value

    @property
    def has_images(self) -> bool:
        return self.image is not None and bool(self.image.present.any())

    def channels(self, train: np.ndarray, test: np.ndarray):
        """Text and image blocks for the given rows; TF-IDF text is fitted on the training questions only."""
        if self.text is None:
            questions = self.table.instances["question"].tolist()
            self.choice.text.fit([questions[i] for i in train])
            text = self.choice.text.encode_texts(questions)
            t_train, t_test = text.values[train], text.values[test]
        else:
            t_train, t_test = self.text.values[train], self.text.values[test]
        if not self.has_images:
            return t_train, None, None, t_test, None, None
        img = self.image
        return t_train, img.values[train], img.present[train], t_test, img.values[test], img.present[test]


def embed_table(table: OutcomeTable, encoder: str = "auto", *, seed: int = 0, progress: bool = True,
                **encoder_kwargs) -> FeatureBank:
    """Encode every question and image of ``table`` once (cached) with the encoders ``encoder`` names
    (:func:`~mmr_utils.features.encoders.get_encoders`) on :func:`mmr_utils._torch.configure_threads`'s threads; a
    missing or unreadable image is absent. ``progress``: a bar per encoder where someone watches."""
    from mmr_utils._torch import configure_threads

    configure_threads()
    choice = get_encoders(encoder, seed=seed, progress=progress, **encoder_kwargs)
    questions = table.instances["question"].tolist()
    text = None if choice.text.name == "tfidf" else choice.text.encode_texts(questions)
    image = None
    if table.has_images.any():
        image = choice.image.encode_images(table.instances["image_path"].tolist())
    info = {"encoder": choice.info(), "rows": table.n,
            "images_present": int(image.present.sum()) if image is not None else 0}
    return FeatureBank(table, choice, text, image, info)


def embedding_report(bank: FeatureBank) -> pd.DataFrame:
    """One row per channel: encoder, width, rows, unique inputs, cache hits/misses, absent or unreadable images,
    truncated texts, seconds (what notebook 2 shows)."""
    rows = []
    for channel, emb in (("text", bank.text), ("image", bank.image)):
        if emb is None:
            continue
        info = emb.info
        cache = info.get("cache", {})
        rows.append({"channel": channel, "encoder": info.get("encoder"), "model": info.get("model_id"),
                     "dim": emb.dim, "rows": len(emb), "present": int(emb.present.sum()),
                     "unique_inputs": info.get("n_unique"), "cache_hits": cache.get("hits"),
                     "cache_misses": cache.get("misses"), "truncated_texts": info.get("n_truncated"),
                     "unreadable_images": sum(info.get(k, 0) for k in ("n_missing", "n_empty", "n_corrupt")),
                     "device": info.get("device"), "dtype": info.get("dtype"), "seconds": info.get("seconds")})
    return pd.DataFrame(rows).set_index("channel")


def channel_separability(bank: FeatureBank, *, label: str = "dataset", folds: int = 5, seed: int = 0) -> pd.DataFrame:
    """Cross-validated accuracy of a cosine 5-NN classifier predicting ``label`` (e.g. the dataset) from the text
    channel, the image channel and both, beside the majority-class rate (the modality question at feature level)."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    y_all = bank.table.instances[label].astype(str).to_numpy()
    rows = np.ones(bank.table.n, dtype=bool) if not bank.has_images else bank.image.present
    channels = {"text": bank.text.values if bank.text is not None else None,
                "image": bank.image.values if bank.has_images else None}
    if channels["text"] is not None and channels["image"] is not None:
        channels["text + image"] = np.hstack([channels["text"], channels["image"]])
    y = y_all[rows]
    counts = pd.Series(y).value_counts()
    n_folds = int(min(folds, counts.min())) if len(counts) > 1 else 0
    records = []
    for name, values in channels.items():
        if values is None:
            continue
        score = np.nan
        if n_folds >= 2:
            model = KNeighborsClassifier(n_neighbors=min(5, len(y) - 1), metric="cosine")
            cv = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
            score = float(cross_val_score(model, values[rows], y, cv=cv).mean())
        records.append({"channel": name, "rows": int(rows.sum()), "classes": len(counts), "knn_accuracy": score,
                        "majority_rate": float(counts.iloc[0] / len(y))})
    return pd.DataFrame(records).set_index("channel")


def load_and_embed(data_root: str = "", *, scale: float = 1.0, seed: int = 0, encoder: str = "auto",
                   progress: bool = True) -> FeatureBank:
    """A notebook's first step: the outcome table (:func:`mmr_utils.data.loading.load_benchmark`) and its embeddings,
    printing which data and encoder were used. ``seed`` is the data seed (which simulated benchmark, the encoders'
    projections), independent of the studies' split and router seeds."""
    from mmr_utils.data.loading import load_benchmark

    table = load_benchmark(data_root, scale=scale, seed=seed)
    bank = embed_table(table, encoder, seed=seed, progress=progress)
    print(table.describe())
    print("encoder that ran:", bank.encoder)
    return bank

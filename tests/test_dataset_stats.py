"""Episode stats and their aggregation: exact where the maths allows it, a safe envelope where it does not."""

from __future__ import annotations

import json

import numpy as np
import pytest

from station.dataset.stats import (
    STAT_NAMES,
    aggregate_stats,
    downsample_for_stats,
    image_stats,
    numeric_stats,
    sample_indices,
    stats_from_json,
    stats_to_json,
)

QS = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}


def test_numeric_stats_of_vectors_match_numpy():
    rng = np.random.default_rng(1)
    values = rng.normal(size=(57, 6)).astype(np.float32)
    s = numeric_stats(values)
    assert set(s) == set(STAT_NAMES)
    v = values.astype(np.float64)
    np.testing.assert_allclose(s["mean"], v.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(s["std"], v.std(axis=0), atol=1e-12)
    np.testing.assert_array_equal(s["min"], v.min(axis=0))
    np.testing.assert_array_equal(s["max"], v.max(axis=0))
    for name, q in QS.items():
        np.testing.assert_allclose(s[name], np.quantile(v, q, axis=0))
        assert s[name].shape == (6,)
    assert s["count"].dtype == np.int64 and s["count"].tolist() == [57]


def test_numeric_stats_of_a_column_are_shaped_one():
    s = numeric_stats(np.arange(10, dtype=np.int64))
    assert all(s[name].shape == (1,) for name in STAT_NAMES)
    assert s["mean"].tolist() == [4.5] and s["min"].tolist() == [0.0] and s["max"].tolist() == [9.0]


def test_numeric_stats_refuse_empty():
    with pytest.raises(ValueError):
        numeric_stats(np.zeros((0, 6)))


def test_image_stats_equal_per_channel_pixel_stats_scaled_to_unit():
    rng = np.random.default_rng(2)
    samples = [rng.integers(0, 256, size=(12, 16, 3), dtype=np.uint8) for _ in range(7)]
    samples[0][..., 1] = 0  # make one channel lopsided
    s = image_stats(samples)
    pixels = np.concatenate([x.reshape(-1, 3) for x in samples]).astype(np.float64) / 255.0
    for name in STAT_NAMES:
        want_shape = (1,) if name == "count" else (3, 1, 1)
        assert s[name].shape == want_shape, name
    np.testing.assert_allclose(s["mean"].ravel(), pixels.mean(axis=0), atol=1e-12)
    np.testing.assert_allclose(s["std"].ravel(), pixels.std(axis=0), atol=1e-12)
    np.testing.assert_allclose(s["min"].ravel(), pixels.min(axis=0))
    np.testing.assert_allclose(s["max"].ravel(), pixels.max(axis=0))
    for name, q in QS.items():
        np.testing.assert_allclose(s[name].ravel(), np.quantile(pixels, q, axis=0), atol=1e-12)
    assert s["count"].tolist() == [7]


def test_sample_indices_spread_over_the_episode():
    assert sample_indices(0).tolist() == []
    assert sample_indices(5).tolist() == [0, 1, 2, 3, 4]
    idx = sample_indices(1000)
    assert len(idx) == 100 and idx[0] == 0 and idx[-1] == 999 and len(set(idx.tolist())) == 100
    assert len(sample_indices(1000, max_samples=10)) == 10


def test_downsample_for_stats_keeps_small_frames_and_shrinks_large_ones():
    small = np.zeros((48, 64, 3), np.uint8)
    assert downsample_for_stats(small).shape == (48, 64, 3)
    big = np.arange(480 * 640 * 3, dtype=np.uint32).astype(np.uint8).reshape(480, 640, 3)
    out = downsample_for_stats(big)
    assert out.dtype == np.uint8 and out.shape[2] == 3
    assert 100 <= max(out.shape[:2]) <= 200
    assert out.flags.c_contiguous and not np.shares_memory(out, big)


def _split_stats(values: np.ndarray, sizes: list[int]) -> list[dict[str, dict[str, np.ndarray]]]:
    bounds = np.cumsum([0] + sizes)
    return [{"x": numeric_stats(values[a:b])} for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def test_aggregate_is_exact_for_mean_std_min_max_and_an_envelope_for_quantiles():
    rng = np.random.default_rng(3)
    sizes = [5, 40, 13, 1, 77]
    values = rng.normal(loc=3.0, scale=2.0, size=(sum(sizes), 6))
    parts = _split_stats(values, sizes)
    agg = aggregate_stats(parts)["x"]
    whole = numeric_stats(values)
    for name in ("mean", "std", "min", "max"):
        np.testing.assert_allclose(agg[name], whole[name], atol=1e-9)
    assert agg["count"].tolist() == [sum(sizes)] and agg["count"].dtype == np.int64
    np.testing.assert_array_equal(agg["q01"], np.min([p["x"]["q01"] for p in parts], axis=0))
    np.testing.assert_array_equal(agg["q99"], np.max([p["x"]["q99"] for p in parts], axis=0))
    assert np.all(agg["q01"] <= whole["q01"]) and np.all(agg["q99"] >= whole["q99"])
    assert np.all(agg["q10"] <= agg["q50"]) and np.all(agg["q50"] <= agg["q90"])


def test_folding_one_episode_at_a_time_equals_aggregating_all_at_once():
    rng = np.random.default_rng(4)
    sizes = [9, 30, 4, 22]
    parts = _split_stats(rng.normal(size=(sum(sizes), 6)), sizes)
    folded = aggregate_stats([parts[0]])
    for part in parts[1:]:
        folded = aggregate_stats([folded, part])
    at_once = aggregate_stats(parts)
    for name in STAT_NAMES:
        np.testing.assert_allclose(folded["x"][name], at_once["x"][name], rtol=1e-12, atol=1e-12)


def test_aggregate_image_stats_keep_their_shape():
    rng = np.random.default_rng(5)
    eps = [{"cam": image_stats([rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)])} for _ in range(3)]
    agg = aggregate_stats(eps)["cam"]
    assert all(agg[n].shape == ((1,) if n == "count" else (3, 1, 1)) for n in STAT_NAMES)
    assert agg["count"].tolist() == [3]


def test_stats_json_round_trip():
    stats = {
        "action": numeric_stats(np.random.default_rng(6).normal(size=(10, 6))),
        "cam": image_stats([np.zeros((4, 4, 3), np.uint8)]),
    }
    back = stats_from_json(json.loads(json.dumps(stats_to_json(stats))))
    for feature, fstats in stats.items():
        for name, value in fstats.items():
            np.testing.assert_array_equal(back[feature][name], value)
            assert back[feature][name].shape == value.shape
    assert back["action"]["count"].dtype == np.int64

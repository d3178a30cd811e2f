"""Per-episode statistics and their aggregation into meta/stats.json.

Global stats are never recomputed from all rows: the writer folds each new episode into the previous global
stats, so saving episode N costs the same as saving episode 1. Mean, variance, min and max combine exactly
(count-weighted mean, parallel variance); quantiles cannot, so the aggregate keeps a conservative envelope
(lowest q01/q10, highest q90/q99, count-weighted q50), as the format doc asks. The envelope is associative,
so folding one episode at a time gives the same result as aggregating all episodes at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

STAT_NAMES = ("min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99")
QUANTILES: dict[str, float] = {"q01": 0.01, "q10": 0.10, "q50": 0.50, "q90": 0.90, "q99": 0.99}
LOWER_QUANTILES = ("q01", "q10")
UPPER_QUANTILES = ("q90", "q99")
MAX_STATS_SIDE = 150


def numeric_stats(values: np.ndarray) -> dict[str, np.ndarray]:
    """Stats over the rows of `values` ((N,) or (N, D)); each stat shaped (D,) or (1,), count (1,) int64."""
    raw = np.asarray(values)
    if raw.ndim == 1:
        raw = raw[:, None]
    if raw.ndim != 2 or raw.shape[0] == 0:
        raise ValueError(f"numeric_stats needs a non-empty (N,) or (N, D) array, got shape {raw.shape}")
    # Every stat but count is float64, integer features included (list<double> in the episodes table, as the
    # format doc and current LeRobot have it).
    arr = raw.astype(np.float64)
    out: dict[str, np.ndarray] = {
        "min": arr.min(axis=0),
        "max": arr.max(axis=0),
        "mean": arr.mean(axis=0),
        "std": arr.std(axis=0),
        "count": np.array([arr.shape[0]], dtype=np.int64),
    }
    qs = np.quantile(arr, list(QUANTILES.values()), axis=0)
    for i, name in enumerate(QUANTILES):
        out[name] = qs[i]
    return out


def sample_indices(n: int, max_samples: int = 100) -> np.ndarray:
    """Evenly spread frame indices (first and last included) for image stats: all frames when n is small."""
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    k = min(n, max_samples)
    return np.round(np.linspace(0, n - 1, k)).astype(np.int64)


def downsample_for_stats(image: np.ndarray) -> np.ndarray:
    """Shrink a frame to at most ~150 px on its long side by striding (no filtering: stats only).

    Like LeRobot, frames under 300 px are kept as they are. Returns a copy, so the caller may reuse the
    camera buffer.
    """
    step = stats_step(*image.shape[:2])
    return np.ascontiguousarray(image[::step, ::step])


def stats_step(height: int, width: int) -> int:
    """The stride downsample_for_stats uses for a frame of this size."""
    longest = max(height, width)
    return 1 if longest < 2 * MAX_STATS_SIDE else longest // MAX_STATS_SIDE


def _histogram_quantile(cumsum: np.ndarray, q: float) -> float:
    """np.quantile's linear interpolation over the sorted values a 256-bin histogram stands for."""
    n = int(cumsum[-1])
    pos = q * (n - 1)
    lo = int(np.floor(pos))
    hi = min(lo + 1, n - 1)
    v_lo = int(np.searchsorted(cumsum, lo, side="right"))
    v_hi = int(np.searchsorted(cumsum, hi, side="right"))
    return v_lo + (pos - lo) * (v_hi - v_lo)


def image_stats(samples: Sequence[np.ndarray]) -> dict[str, np.ndarray]:
    """Per-channel stats of sampled (H, W, 3) uint8 frames, scaled to [0, 1], each stat shaped (3, 1, 1).

    Works on 256-bin histograms, so it is cheap and exact (quantiles included). `count` is the number of
    frames sampled, as in LeRobot.
    """
    if len(samples) == 0:
        raise ValueError("image_stats needs at least one frame")
    hist = np.zeros((3, 256), dtype=np.int64)
    for img in samples:
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f"image_stats needs (H, W, 3) uint8 frames, got {img.dtype} {img.shape}")
        for c in range(3):
            hist[c] += np.bincount(img[..., c].ravel(), minlength=256)
    levels = np.arange(256, dtype=np.float64)
    stats: dict[str, list[float]] = {name: [] for name in STAT_NAMES if name != "count"}
    for c in range(3):
        h = hist[c]
        n = h.sum()
        nonzero = np.nonzero(h)[0]
        mean = float((levels * h).sum() / n)
        stats["min"].append(float(nonzero[0]))
        stats["max"].append(float(nonzero[-1]))
        stats["mean"].append(mean)
        stats["std"].append(float(np.sqrt((h * (levels - mean) ** 2).sum() / n)))
        cumsum = np.cumsum(h)
        for name, q in QUANTILES.items():
            stats[name].append(_histogram_quantile(cumsum, q))
    out = {name: (np.array(vals, dtype=np.float64) / 255.0).reshape(3, 1, 1) for name, vals in stats.items()}
    out["count"] = np.array([len(samples)], dtype=np.int64)
    return {name: out[name] for name in STAT_NAMES}


def _aggregate_feature(items: Sequence[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    counts = np.array([int(np.asarray(s["count"]).reshape(-1)[0]) for s in items], dtype=np.float64)
    total = counts.sum()
    means = np.stack([np.asarray(s["mean"], dtype=np.float64) for s in items])
    stds = np.stack([np.asarray(s["std"], dtype=np.float64) for s in items])
    w = counts.reshape((-1,) + (1,) * (means.ndim - 1))
    mean = (means * w).sum(axis=0) / total
    var = ((stds**2 + (means - mean) ** 2) * w).sum(axis=0) / total
    out: dict[str, np.ndarray] = {
        "min": np.min(np.stack([np.asarray(s["min"], dtype=np.float64) for s in items]), axis=0),
        "max": np.max(np.stack([np.asarray(s["max"], dtype=np.float64) for s in items]), axis=0),
        "mean": mean,
        "std": np.sqrt(np.maximum(var, 0.0)),
        "count": np.array([int(total)], dtype=np.int64),
    }
    for name in QUANTILES:
        if not all(name in s for s in items):
            continue
        stacked = np.stack([np.asarray(s[name], dtype=np.float64) for s in items])
        if name in LOWER_QUANTILES:
            out[name] = stacked.min(axis=0)
        elif name in UPPER_QUANTILES:
            out[name] = stacked.max(axis=0)
        else:
            out[name] = (stacked * w).sum(axis=0) / total
    return out


def aggregate_stats(
    per_episode: Sequence[dict[str, dict[str, np.ndarray]]],
) -> dict[str, dict[str, np.ndarray]]:
    """Combine stats dicts (feature -> stat -> array) into one; a feature missing from some is combined
    over the ones that have it."""
    keys: list[str] = []
    for stats in per_episode:
        keys.extend(k for k in stats if k not in keys)
    return {key: _aggregate_feature([s[key] for s in per_episode if key in s]) for key in keys}


def stats_to_json(stats: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, Any]]:
    return {
        feature: {name: np.asarray(value).tolist() for name, value in fstats.items()}
        for feature, fstats in stats.items()
    }


def _from_json_value(name: str, value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.int64 if name == "count" else np.float64)


def stats_from_json(d: dict[str, dict[str, Any]]) -> dict[str, dict[str, np.ndarray]]:
    return {feature: {name: _from_json_value(name, v) for name, v in fstats.items()} for feature, fstats in d.items()}

"""Commit cost against dataset size: episode 50 must cost what episode 1 does."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from station.dataset.spec import CameraSpec, DatasetSpec, VideoSettings
from station.dataset.stats import image_stats
from station.dataset.video import encode_video
from station.dataset.writer import DatasetWriter, EpisodeData


def commit_growth(root: Path, episodes: int = 50, frames: int = 30) -> dict:
    """Commit `episodes` short episodes (one small camera) and compare the last commits' time to the first."""
    cam = CameraSpec("front", 64, 48)
    spec = DatasetSpec(fps=30, cameras=(cam,), video=VideoSettings.for_codec("h264"))
    writer = DatasetWriter.create(root, "bench/commits", spec)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, size=(frames, 48, 64, 3), dtype=np.uint8)
    stats = image_stats(list(images[::5]))
    times = []
    with tempfile.TemporaryDirectory(dir=root.parent) as tmp:
        for ep in range(episodes):
            video = Path(tmp) / f"ep{ep}.mp4"
            encode_video(iter(images), video, 30, 64, 48, spec.video)
            action = rng.normal(size=(frames, 6)).astype(np.float32)
            data = EpisodeData(task=f"task {ep % 3}", action=action, state=action * 0.9,
                               videos={"front": video}, image_stats={"front": stats})
            t = time.perf_counter()
            writer.commit_episode(data)
            times.append(time.perf_counter() - t)
    k = max(1, min(5, episodes // 5))
    first = float(np.median(times[:k]))
    last = float(np.median(times[-k:]))
    return {"commit_growth": round(last / first, 2), "first_ms": round(first * 1000, 2),
            "last_ms": round(last * 1000, 2)}

"""Does LeRobot load, merge (and train on) a station dataset with marked / excluded / dropped episodes?

Run with the LeRobot venv's python: lerobot_check.py STATION_ROOT WORKDIR
(docs/lerobot_pack_check.py does the same for a packed dataset and compares values and pixels too.)
"""
import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
from lerobot.datasets.aggregate import aggregate_datasets
from lerobot.datasets.lerobot_dataset import LeRobotDataset


def load_all(repo_id: str, root: Path) -> LeRobotDataset:
    ds = LeRobotDataset(repo_id, root=root, video_backend="pyav")
    n = 0
    for i in range(len(ds)):
        item = ds[i]
        n += 1
    print(f"{repo_id}: loaded {n} frames of {ds.meta.total_frames}, {ds.meta.total_episodes} episodes; "
          f"item keys {sorted(k for k in item if not k.startswith('observation.images'))[:9]}")
    cols = [c for c in ds.meta.episodes.column_names if c.startswith("station/")]
    print(f"  station columns seen by LeRobot's episodes table: {cols}")
    for c in cols:
        values = ds.meta.episodes[c]
        print(f"    {c}: {values if len(values) <= 12 else [*values[:12], '...']}")
    return ds


def record_lerobot_dataset(info: dict[str, Any], root: Path) -> Path:
    """A 2-episode dataset recorded by LeRobot itself (create / add_frame / save_episode), same features."""
    features = {k: {**v, "shape": tuple(v["shape"])} for k, v in info["features"].items()
                if k not in ("timestamp", "frame_index", "episode_index", "index", "task_index")}
    cam_keys = [k for k, v in features.items() if v["dtype"] == "video"]
    # the station's codec (LeRobot's default is AV1): a merge joins the video files as they are, and an AV1
    # file appended to an h264 one silently loses its frames
    codec = features[cam_keys[0]].get("info", {}).get("video.codec", "av1") if cam_keys else "av1"
    lr = LeRobotDataset.create("local/lerobot_recorded", fps=info["fps"], features=features, root=root,
                               robot_type=info["robot_type"], use_videos=True,
                               vcodec="libsvtav1" if codec == "av1" else codec)
    rng = np.random.default_rng(0)
    for ep in range(2):
        for i in range(20):
            frame = {"action": rng.uniform(-10, 10, 6).astype(np.float32),
                     "observation.state": rng.uniform(-10, 10, 6).astype(np.float32), "task": "lerobot task"}
            for k in cam_keys:
                h, w, _ = features[k]["shape"]
                frame[k] = np.full((h, w, 3), (ep * 40 + i * 5) % 255, dtype=np.uint8)
            lr.add_frame(frame)
        lr.save_episode()
    lr.finalize()
    return root


def merge_both_ways(
    a: tuple[str, Path], b: tuple[str, Path], work: Path, load: Callable[..., LeRobotDataset] | None = None
) -> dict[str, LeRobotDataset]:
    """aggregate_datasets a+b and b+a; each merge loaded frame by frame (by `load(repo_id, root, order)`)."""
    out = {}
    for name, (first, second) in (("merged", (a, b)), ("merged_reversed", (b, a))):
        root = work / name
        aggregate_datasets([first[0], second[0]], f"local/{name}", roots=[first[1], second[1]], aggr_root=root)
        out[name] = (load or (lambda r, p, _order: load_all(r, p)))(f"local/{name}", root, (first[0], second[0]))
        for p in sorted((root / "meta/episodes").glob("*/*.parquet")):
            print(f"  {p.relative_to(root)} station columns: "
                  f"{[n for n in pq.read_schema(p).names if n.startswith('station/')]}")
    return out


if __name__ == "__main__":
    station_root, work = Path(sys.argv[1]), Path(sys.argv[2])
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    load_all("local/station", station_root)
    info = json.loads((station_root / "meta/info.json").read_text())
    lr_root = record_lerobot_dataset(info, work / "lerobot_recorded")
    load_all("local/lerobot_recorded", lr_root)
    merge_both_ways(("local/station", station_root), ("local/lerobot_recorded", lr_root), work)

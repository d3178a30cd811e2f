"""Does LeRobot load, merge (and train on) a station dataset with marked / excluded / dropped episodes?

Run with the LeRobot venv's python: check.py STATION_ROOT WORKDIR
"""
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from lerobot.datasets.aggregate import aggregate_datasets
from lerobot.datasets.lerobot_dataset import LeRobotDataset

station_root, work = Path(sys.argv[1]), Path(sys.argv[2])
shutil.rmtree(work, ignore_errors=True)
work.mkdir(parents=True)


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
    if cols:
        for c in cols:
            print(f"    {c}: {ds.meta.episodes[c]}")
    return ds


station = load_all("local/station", station_root)

# A dataset recorded by LeRobot itself, with the same features.
info = json.loads((station_root / "meta/info.json").read_text())
features = {k: {**v, "shape": tuple(v["shape"])} for k, v in info["features"].items()
            if k not in ("timestamp", "frame_index", "episode_index", "index", "task_index")}
lr_root = work / "lerobot_recorded"
lr = LeRobotDataset.create("local/lerobot_recorded", fps=info["fps"], features=features, root=lr_root,
                           robot_type=info["robot_type"], use_videos=True)
cam_keys = [k for k, v in features.items() if v["dtype"] == "video"]
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
load_all("local/lerobot_recorded", lr_root)

merged_root = work / "merged"
aggregate_datasets(["local/station", "local/lerobot_recorded"], "local/merged",
                   roots=[station_root, lr_root], aggr_root=merged_root)
merged = load_all("local/merged", merged_root)
for p in sorted((merged_root / "meta/episodes").glob("*/*.parquet")):
    print(f"  {p.relative_to(merged_root)} station columns: "
          f"{[n for n in pq.read_schema(p).names if n.startswith('station/')]}")

"""Does LeRobot load a PACKED station dataset with the values and pixels the station read before packing?

Two steps, each in its own venv (LeRobot is not part of the project):

1. With the project's venv, the station's own reader on the UNPACKED dataset (a copy taken before
   `station pack`) writes what LeRobot must see: values of the kept episodes, renumbered the way pack
   renumbers them, and a digest of every decoded frame of every camera:

       PYTHONPATH=. /work/main/.venv/bin/python docs/lerobot_pack_check.py expect UNPACKED EXPECTED.npz

2. With the LeRobot venv: LeRobotDataset loads the PACKED dataset frame by frame (pyav backend) and every
   value and pixel is compared with step 1 (pixels also against a plain PyAV decode of the unpacked videos,
   for the max difference); then aggregate_datasets merges it with a LeRobot-recorded dataset in both orders
   and the merges load; then a few lerobot-train steps run on the packed dataset:

       /work/lerobot-venv/bin/python docs/lerobot_pack_check.py check PACKED EXPECTED.npz WORKDIR \\
           [--parts=packed,merge,train] [--stride=1]

   (--stride=N: the merges are compared on every N-th frame and every frame near the join.)
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq

VALUE_KEYS = ("action", "observation.state", "timestamp", "frame_index", "episode_index", "index")


def digest(img: np.ndarray) -> bytes:
    return hashlib.sha1(np.ascontiguousarray(img, dtype=np.uint8).tobytes()).digest()


def decoded_episode(path: Path, start: float, end: float, fps: int) -> list[np.ndarray]:
    """Frames of one episode in a video file, as the station's tests select them (by pts)."""
    half = 0.5 / fps
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [f.to_ndarray(format="rgb24") for f in c.decode(s)
                if start - half <= float(f.pts * s.time_base) < end - half]


# ----- step 1: the station's reader on the unpacked dataset ------------------------------------------


def expect(unpacked: Path, out: Path) -> None:
    from station.dataset.pack import is_excluded
    from station.dataset.reader import DatasetReader

    reader = DatasetReader(unpacked)
    keys = [k for k, f in reader.info["features"].items() if f["dtype"] == "video"]
    rows = reader.episodes()
    kept = [int(r["episode_index"]) for r in rows if not is_excluded(r)]
    values: dict[str, list[np.ndarray]] = {k: [] for k in VALUE_KEYS}
    tasks: list[str] = []
    digests: dict[str, list[bytes]] = {k: [] for k in keys}
    sources: list[list[str | float]] = []  # per kept frame: unpacked video path and episode start per camera
    index = 0
    for new_ep, old_ep in enumerate(kept):
        data = reader.episode_data(old_ep)
        n = len(data["timestamp"])
        values["action"].append(data["action"])
        values["observation.state"].append(data["observation.state"])
        values["timestamp"].append(data["timestamp"])
        values["frame_index"].append(data["frame_index"])
        values["episode_index"].append(np.full(n, new_ep, dtype=np.int64))
        values["index"].append(np.arange(index, index + n, dtype=np.int64))
        tasks.extend(reader.tasks[t] for t in data["task_index"])
        index += n
        row = rows[old_ep]
        for key in keys:
            start, end = row[f"videos/{key}/from_timestamp"], row[f"videos/{key}/to_timestamp"]
            frames = decoded_episode(reader.video_path(old_ep, key), start, end, reader.fps)
            if len(frames) != n:
                raise SystemExit(f"episode {old_ep} {key}: {len(frames)} frames decoded for {n} rows")
            digests[key].extend(digest(f) for f in frames)
        sources.append([old_ep, *(str(reader.video_path(old_ep, k)) for k in keys),
                        *(row[f"videos/{k}/from_timestamp"] for k in keys)])
    np.savez(
        out,
        **{k: np.concatenate(v) for k, v in values.items()},
        task=np.array(tasks),
        cameras=np.array(keys),
        kept=np.array(kept),
        excluded=np.array([int(r["episode_index"]) for r in rows if is_excluded(r)]),
        sources=np.array(json.dumps(sources)),
        fps=np.array(reader.fps),
        **{f"digest:{k}": np.frombuffer(b"".join(v), dtype=np.uint8).reshape(-1, 20) for k, v in digests.items()},
    )
    print(f"expect: {len(rows)} episodes, {len(kept)} kept, {index} frames, {len(keys)} cameras -> {out}")


# ----- step 2: LeRobot on the packed dataset -------------------------------------------------------


def check(packed: Path, expected_path: Path, work: Path, parts: set[str], merge_stride: int) -> None:
    import torch
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    sys.path.insert(0, str(Path(__file__).parent))
    from lerobot_check import load_all, merge_both_ways, record_lerobot_dataset

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    exp = np.load(expected_path)
    keys = [str(k) for k in exp["cameras"]]
    fps = int(exp["fps"])
    n = len(exp["timestamp"])
    t0 = time.monotonic()
    ds = LeRobotDataset("local/packed", root=packed, video_backend="pyav")
    assert len(ds) == n, f"LeRobot sees {len(ds)} frames, the station's reader {n} kept ones"
    assert ds.meta.total_episodes == len(exp["kept"]), (ds.meta.total_episodes, len(exp["kept"]))
    sources = json.loads(str(exp["sources"]))
    first_of_episode = np.flatnonzero(np.diff(exp["episode_index"], prepend=-1))
    value_diff = {k: 0.0 for k in VALUE_KEYS}
    task_mismatch = 0
    pixel_mismatch = {k: 0 for k in keys}
    pixel_max = {k: 0 for k in keys}
    plain: dict[str, list[np.ndarray]] = {}
    for i in range(n if "packed" in parts else 0):
        item = ds[i]
        for k in VALUE_KEYS:
            got = item[k].numpy()
            want = exp[k][i]
            if got.shape != np.shape(want) or got.dtype != np.asarray(want).dtype:
                raise SystemExit(f"frame {i} {k}: LeRobot gives {got.dtype}{got.shape}, station "
                                 f"{np.asarray(want).dtype}{np.shape(want)}")
            value_diff[k] = max(value_diff[k], float(np.max(np.abs(got.astype(np.float64) - want))))
        task_mismatch += item["task"] != str(exp["task"][i])
        ep_pos = int(np.searchsorted(first_of_episode, i, side="right") - 1)
        if first_of_episode[ep_pos] == i:  # a new episode: decode its frames from the unpacked videos
            src = sources[ep_pos]
            length = int(first_of_episode[ep_pos + 1] - i) if ep_pos + 1 < len(first_of_episode) else n - i
            for j, k in enumerate(keys):
                start = float(src[1 + len(keys) + j])
                plain[k] = decoded_episode(Path(src[1 + j]), start, start + length / fps, fps)
        for k in keys:
            img = (item[k] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
            if digest(img) != exp[f"digest:{k}"][i].tobytes():
                pixel_mismatch[k] += 1
            ref = plain[k][i - int(first_of_episode[ep_pos])]
            pixel_max[k] = max(pixel_max[k], int(np.max(np.abs(img.astype(np.int16) - ref.astype(np.int16)))))
        if i % 1000 == 0:
            print(f"  frame {i}/{n} ({time.monotonic() - t0:.0f} s)", flush=True)
    loaded = n if "packed" in parts else 0
    print(f"packed: LeRobot loaded {loaded} frames of {ds.meta.total_episodes} episodes one by one in "
          f"{time.monotonic() - t0:.0f} s (pyav)")
    print(f"  max |LeRobot - station| per value: {value_diff}; task mismatches: {task_mismatch}")
    print(f"  frames whose pixels differ from the station's decode of the unpacked dataset: {pixel_mismatch}")
    print(f"  max pixel difference against a plain PyAV decode of the unpacked videos: {pixel_max}")
    bad: bool = any(value_diff.values()) or task_mismatch or any(pixel_mismatch.values()) or any(pixel_max.values())

    info = json.loads((packed / "meta/info.json").read_text())
    if "merge" not in parts:
        train_on(packed, work, "train" in parts)
        sys.exit(1 if bad else 0)
    lr_root = record_lerobot_dataset(info, work / "lerobot_recorded")
    lr = load_all("local/lerobot_recorded", lr_root)
    lr_items = [lr[i] for i in range(len(lr))]
    lr_ref = [({k: it[k].numpy() for k in VALUE_KEYS[:4]}, it["task"],
               {k: digest((it[k] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()) for k in keys})
              for it in lr_items]
    packed_ref = [({k: exp[k][i] for k in VALUE_KEYS[:4]}, str(exp["task"][i]),
                   {k: exp[f"digest:{k}"][i].tobytes() for k in keys}) for i in range(n)]
    n_eps = {"local/packed": len(exp["kept"]), "local/lerobot_recorded": lr.meta.total_episodes}

    def load_and_compare(repo_id: str, root: Path, order: tuple[str, str]) -> LeRobotDataset:
        """The merge frame by frame: each frame's values and pixels equal its source frame's."""
        m = LeRobotDataset(repo_id, root=root, video_backend="pyav")
        refs = {"local/packed": packed_ref, "local/lerobot_recorded": lr_ref}
        ref = refs[order[0]] + refs[order[1]]
        first_ep = {order[0]: 0, order[1]: n_eps[order[0]]}
        wrong = {"values": 0, "task": 0, "pixels": 0, "episode/index": 0}
        assert len(m) == len(ref), (repo_id, len(m), len(ref))
        # every `merge_stride`-th frame, and every frame of the episodes either side of the join
        junction = len(refs[order[0]])
        near = set(range(max(0, junction - 60), min(len(m), junction + 60)))
        sample = sorted(set(range(0, len(m), merge_stride)) | near | {len(m) - 1})
        for i in sample:
            item = m[i]
            values, task, digests = ref[i]
            wrong["values"] += any(not np.array_equal(item[k].numpy(), v) for k, v in values.items())
            wrong["task"] += item["task"] != task
            wrong["pixels"] += any(
                digest((item[k] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()) != d
                for k, d in digests.items())
            src = order[0] if i < len(refs[order[0]]) else order[1]
            pos = i if src == order[0] else i - len(refs[order[0]])
            src_ep = int(exp["episode_index"][pos]) if src == "local/packed" else None
            if src_ep is not None and int(item["episode_index"]) != first_ep[src] + src_ep:
                wrong["episode/index"] += 1
            wrong["episode/index"] += int(item["index"]) != i
        print(f"{repo_id} ({' + '.join(order)}): {len(m)} frames, {m.meta.total_episodes} episodes; loaded "
              f"{len(sample)} frames one by one, differing from their source: {wrong}")
        if any(wrong.values()):
            mismatched.append(repo_id)
        return m

    mismatched: list[str] = []
    merged = merge_both_ways(("local/packed", packed), ("local/lerobot_recorded", lr_root), work, load_and_compare)
    bad = bad or bool(mismatched)
    for name, m in merged.items():
        if len(m) != n + len(lr):
            bad = True
            print(f"  {name}: {len(m)} frames, expected {n + len(lr)}")
        for p in sorted((work / name / "meta/episodes").glob("*/*.parquet")):
            print(f"  {name}/{p.relative_to(work / name)}: {pq.read_metadata(p).num_rows} rows")

    bad = train_on(packed, work, "train" in parts) or bad
    print("FAILED" if bad else "OK: LeRobot sees the packed dataset as the station saw it unpacked")
    sys.exit(1 if bad else 0)


def train_on(packed: Path, work: Path, train: bool) -> bool:
    """A few lerobot-train steps on the packed dataset; True when they failed."""
    bad = False
    if train:
        out = work / "train"
        cmd = [str(Path(sys.executable).parent / "lerobot-train"), "--dataset.repo_id=local/packed",
               f"--dataset.root={packed}", "--policy.type=act", "--policy.device=cpu",
               "--policy.pretrained_backbone_weights=null", "--policy.push_to_hub=false", "--steps=3",
               "--batch_size=2", "--log_freq=1", "--save_checkpoint=false", "--dataset.video_backend=pyav",
               "--num_workers=0", f"--output_dir={out}", "--wandb.enable=false"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if "loss" in ln or "End of training" in ln]
        print("lerobot-train:", *lines[-5:], sep="\n  ")
        if proc.returncode != 0 or "End of training" not in proc.stdout + proc.stderr:
            bad = True
            print((proc.stdout + proc.stderr)[-3000:])
    return bad


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "expect":
        expect(Path(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) >= 5 and sys.argv[1] == "check":
        opts = dict(a.removeprefix("--").split("=", 1) for a in sys.argv[5:])
        check(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]),
              parts=set(opts.get("parts", "packed,merge,train").split(",")), merge_stride=int(opts.get("stride", 1)))
    else:
        sys.exit(__doc__)

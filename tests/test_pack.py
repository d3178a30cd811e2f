"""station pack: LeRobot's packed layout, identical values and pixels, exclusions, reuse, crash safety."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest

from station.commands.pack import pack_locked
from station.dataset.check import check_dataset
from station.dataset.episode_facts import EXCLUDED, facts_of_table, with_facts
from station.dataset.pack import dataset_files, stage_path
from station.dataset.reader import DatasetReader, episode_files
from station.dataset.spec import CameraSpec, VideoSettings
from station.dataset.stats import aggregate_stats, stats_from_json
from station.dataset.writer import DatasetWriter
from station.errors import DatasetError
from station.saving.lock import DatasetLock
from tests.test_dataset_writer import make_episode, spec_with, tree_digest, write_dataset

EPISODES = [(12, "pick the cube"), (20, "place the cube"), (9, "pick the cube"), (15, "stack"), (11, "pick the cube")]
TINY = {"data_mb": 0.0054, "video_mb": 0.02}  # a few episodes per file, so roll-over happens


def decoded(path: Path) -> list[tuple[float, np.ndarray]]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return [(float(f.pts * s.time_base), f.to_ndarray(format="rgb24")) for f in c.decode(s)]


def episode_frames(reader: DatasetReader, ep: int, key: str) -> list[np.ndarray]:
    row = reader.episodes()[ep]
    start, end = row[f"videos/{key}/from_timestamp"], row[f"videos/{key}/to_timestamp"]
    half = 0.5 / reader.fps
    return [img for t, img in decoded(reader.video_path(ep, key)) if start - half <= t < end - half]


def snapshot(root: Path) -> list[dict]:
    """Per episode: data values, task text, and decoded pixels of every camera — what must survive a pack."""
    reader = DatasetReader(root)
    keys = [k for k, f in reader.info["features"].items() if f["dtype"] == "video"]
    out = []
    for ep, row in enumerate(reader.episodes()):
        data = reader.episode_data(ep)
        out.append({
            "action": data["action"], "state": data["observation.state"], "timestamp": data["timestamp"],
            "frame_index": data["frame_index"], "tasks": [reader.tasks[t] for t in data["task_index"]],
            "row_tasks": row["tasks"], "frames": {k: episode_frames(reader, ep, k) for k in keys},
        })
    return out


def assert_same(before: list[dict], after: list[dict]) -> None:
    assert len(before) == len(after)
    for a, b in zip(before, after, strict=True):
        for key in ("action", "state", "timestamp", "frame_index"):
            np.testing.assert_array_equal(a[key], b[key])
        assert a["tasks"] == b["tasks"] and a["row_tasks"] == b["row_tasks"]
        for cam in a["frames"]:
            assert len(a["frames"][cam]) == len(b["frames"][cam]) == len(a["action"])
            for x, y in zip(a["frames"][cam], b["frames"][cam], strict=True):
                np.testing.assert_array_equal(x, y)


def set_excluded(root: Path, excluded: set[int]) -> None:
    """Mark episodes excluded the way the review commands do: a `station/excluded` bool in the episodes table."""
    for path in episode_files(root):
        table = pq.read_table(path)
        facts = facts_of_table(table)
        for ep, f in zip(table.column("episode_index").to_pylist(), facts, strict=True):
            f.excluded = ep in excluded
            f.note = f"take {ep}"
        pq.write_table(with_facts(table, facts), path)


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    write_dataset(root, spec_with(cameras=(CameraSpec("front", 64, 48), CameraSpec("wrist", 32, 24))), EPISODES)
    return root


def test_pack_rolls_files_over_like_lerobot_and_keeps_values_and_pixels(dataset: Path):
    before = snapshot(dataset)
    old_files = len(dataset_files(dataset))
    result = pack_locked(dataset, **TINY)
    assert check_dataset(dataset) == []
    assert_same(before, snapshot(dataset))
    reader = DatasetReader(dataset)
    rows = reader.episodes()
    assert result.episodes == 5 and len(dataset_files(dataset)) == result.files_after < old_files
    # several episodes per file, file indices counted up from 0 with no gap, episodes in file order
    for prefix in ("data", "videos/observation.images.front", "meta/episodes"):
        locs = [(r[f"{prefix}/chunk_index"], r[f"{prefix}/file_index"]) for r in rows]
        assert locs == sorted(locs) and sorted(set(locs)) == [(0, i) for i in range(len(set(locs)))]
        assert 1 < len(set(locs)) < len(rows), (prefix, locs)
    # within a shared video the next episode starts where the previous one ends
    key = "videos/observation.images.front"
    for a, b in zip(rows, rows[1:], strict=False):
        if (a[f"{key}/file_index"]) == b[f"{key}/file_index"]:
            assert b[f"{key}/from_timestamp"] == a[f"{key}/to_timestamp"]
        assert b[f"{key}/to_timestamp"] - b[f"{key}/from_timestamp"] == pytest.approx(b["length"] / 30)
    # video is copied, not re-encoded: same codec, size and time base as the episode files
    with av.open(str(reader.video_path(0, "front"))) as c:
        s = c.streams.video[0]
        assert (s.codec_context.name, s.width, s.height, s.time_base.denominator) == ("h264", 64, 48, 30 * 512)


def test_excluded_episodes_are_left_out_renumbered_and_stats_recomputed(dataset: Path):
    before = snapshot(dataset)
    set_excluded(dataset, {0, 3})  # the first "pick the cube" and the only "stack"
    result = pack_locked(dataset)
    assert check_dataset(dataset) == []
    assert result.episodes == 3 and result.excluded == 2
    reader = DatasetReader(dataset)
    assert reader.tasks == ["place the cube", "pick the cube"]  # "stack" is gone, order of first appearance
    assert_same([before[i] for i in (1, 2, 4)], snapshot(dataset))
    rows = reader.episodes()
    assert [r["episode_index"] for r in rows] == [0, 1, 2] and not any(r[EXCLUDED] for r in rows)
    assert [r["station/note"] for r in rows] == ["take 1", "take 2", "take 4"]  # the station's facts travel
    assert reader.total_frames == 20 + 9 + 11
    per_episode = [
        {f: {s: np.asarray(r[f"stats/{f}/{s}"]) for s in ("min", "max", "mean", "std", "count")}
         for f in ("action", "index", "episode_index")} for r in rows
    ]
    want = aggregate_stats(per_episode)
    got = stats_from_json(__import__("json").loads((dataset / "meta/stats.json").read_text()))
    for f in want:
        for s in want[f]:
            np.testing.assert_allclose(got[f][s], want[f][s])
    assert got["index"]["max"] == [reader.total_frames - 1] and got["episode_index"]["max"] == [2]


def test_packed_files_are_kept_and_the_writer_appends_to_a_packed_dataset(dataset: Path, tmp_path: Path):
    pack_locked(dataset, **TINY)
    sealed = {p: p.stat().st_ino for p in dataset_files(dataset) if p.parts[-3] in ("data", "observation.images.front")}
    reader = DatasetReader(dataset)
    writer = DatasetWriter.open(dataset, reader.spec())
    for seed in (7, 8):
        writer.commit_episode(make_episode(tmp_path / "spool", reader.spec(), 10, "pick the cube", seed))
    assert check_dataset(dataset) == []  # per-episode files after the packed ones still read in order
    before = snapshot(dataset)
    result = pack_locked(dataset, **TINY)
    assert check_dataset(dataset) == []
    assert_same(before, snapshot(dataset))
    assert result.reused_files >= 2
    kept = [p for p, ino in sealed.items() if p.exists() and p.stat().st_ino == ino]
    assert len(kept) >= len(sealed) - 2  # only the last file of each kind was open to be extended
    again = pack_locked(dataset, **TINY)
    assert again.already_packed


def test_pack_refuses_a_dataset_in_use_or_with_takes_waiting(dataset: Path):
    digest = tree_digest(dataset)
    with DatasetLock(dataset), pytest.raises(DatasetError, match="in use"):
        pack_locked(dataset)
    take = dataset / ".station" / "spool" / "take-0001"
    take.mkdir(parents=True)
    with pytest.raises(DatasetError, match="station recover"):
        pack_locked(dataset)
    take.rmdir()
    assert {k: v for k, v in tree_digest(dataset).items() if k != ".station/lock"} == digest


def test_recording_into_a_dataset_being_packed_is_refused_plainly(dataset: Path):
    with DatasetLock(dataset):
        stage_path(dataset).mkdir()
        with pytest.raises(DatasetError, match="being packed"):
            DatasetLock(dataset).acquire()


def test_av1_videos_pack_without_reencoding(tmp_path: Path):
    root = tmp_path / "ds"
    spec = spec_with(cameras=(CameraSpec("front", 64, 48),), video=VideoSettings.for_codec("libsvtav1"))
    write_dataset(root, spec, episodes=[(8, "wave"), (6, "wave"), (7, "wave")])
    before = snapshot(root)
    pack_locked(root)
    assert check_dataset(root) == []
    assert_same(before, snapshot(root))
    assert len(list((root / "videos").rglob("*.mp4"))) == 1


def lerobot_style_h264(path: Path, frames: int, width: int, height: int) -> None:
    """An h264 file as LeRobot's encode_video_frames writes one: libx264 at its default preset (B-frames),
    g=2, crf=30, yuv420p — its dts start one frame before its pts."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30, options={"g": "2", "crf": "30"})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            img = np.full((height, width, 3), i * 9 % 256, dtype=np.uint8)
            out.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        out.mux(stream.encode())


@pytest.mark.parametrize("packed", [True, False], ids=["packed", "as-recorded"])
def test_a_station_h264_video_can_be_followed_by_lerobots_in_a_merge(dataset: Path, tmp_path: Path, packed: bool):
    """LeRobot's merge (aggregate_datasets) joins video files with ffmpeg's concat demuxer, each file starting
    at the previous one's duration, and remuxes the packets: a station video followed by one of LeRobot's
    h264 videos (dts one frame early) must keep its dts increasing, and every frame must come through."""
    if packed:
        pack_locked(dataset)
    packed = sorted((dataset / "videos" / "observation.images.front").rglob("*.mp4"))[0]
    ours = len(decoded(packed))
    theirs = tmp_path / "lerobot.mp4"
    lerobot_style_h264(theirs, 10, 64, 48)
    listing = tmp_path / "list.ffconcat"
    listing.write_text(f"ffconcat version 1.0\nfile '{packed}'\nfile '{theirs}'\n")
    joined = tmp_path / "joined.mp4"
    with av.open(str(listing), format="concat", options={"safe": "0"}) as src, av.open(str(joined), "w") as dst:
        out = dst.add_stream_from_template(src.streams.video[0], opaque=True)
        out.time_base = src.streams.video[0].time_base
        for packet in src.demux():
            if packet.dts is None:
                continue
            packet.stream = out
            dst.mux(packet)  # raised "non monotonically increasing dts" before the fix
    assert len(decoded(joined)) == ours + 10


# ----- kill -9 at many points ----------------------------------------------------------------------

KILL_POINTS = ["pack-episode:1", "pack-episode:4", "pack-staged:1", "pack-swapped:1", "pack-cleanup:3"]


def station(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "station", *args], capture_output=True, text=True, timeout=120,
                          env=env)


@pytest.mark.parametrize("point", KILL_POINTS)
def test_kill_during_pack_leaves_the_old_or_the_packed_dataset(dataset: Path, point: str):
    old = tree_digest(dataset)
    before = snapshot(dataset)
    killed = station("pack", str(dataset), "--data-mb", "0.0054", "--video-mb", "0.02",
                     env=dict(os.environ, STATION_KILL_AT=point))
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert check_dataset(dataset) == []
    now = {k: v for k, v in tree_digest(dataset).items() if not k.startswith(".station")}
    packed = not any(p.name == "file-004.parquet" for p in (dataset / "data").rglob("*"))
    if point.startswith(("pack-episode", "pack-staged")):
        assert now == {k: v for k, v in old.items() if not k.startswith(".station")} and not packed
    else:
        assert packed
    assert_same(before, snapshot(dataset))
    # whoever opens it next (recover, record --resume, pack) clears the leftovers
    recovered = station("recover", "--root", str(dataset))
    assert recovered.returncode == 0, recovered.stderr
    assert not stage_path(dataset).exists()
    done = station("pack", str(dataset), "--data-mb", "0.0054", "--video-mb", "0.02")
    assert done.returncode == 0, done.stderr
    assert check_dataset(dataset) == [] and not stage_path(dataset).exists()
    assert_same(before, snapshot(dataset))


def test_pack_refuses_an_empty_dataset_plainly(tmp_path: Path):
    root = tmp_path / "empty"
    DatasetWriter.create(root, "test/empty", spec_with())
    with pytest.raises(DatasetError, match="no episodes yet"):
        pack_locked(root)

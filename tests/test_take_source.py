"""A take read back for replay: the same frames from its spool and, once committed, from the dataset."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from station.dataset.spec import CameraSpec, DatasetSpec, VideoSettings
from station.dataset.take_source import DatasetTake, SpoolTake, thumbnail
from station.dataset.writer import DatasetWriter
from station.saving.job import save_episode
from station.saving.spool import CadenceReport, SpoolReader, SpoolWriter, TakeInfo

N = 40
CAM = CameraSpec("front", 32, 24)
JOINTS = ["shoulder_pan.pos", "shoulder_lift.pos", "elbow_flex.pos", "wrist_flex.pos", "wrist_roll.pos",
          "gripper.pos"]


def level(i: int) -> int:
    return 20 + 5 * i  # frame i is a flat grey of this level: its index can be read back from any copy


def record(root: Path) -> Path:
    writer = SpoolWriter.create(root, TakeInfo("pick", 30, "so_follower", JOINTS, (CAM,), time.time()))
    for i in range(N):
        image = np.full((CAM.height, CAM.width, 3), level(i), dtype=np.uint8)
        writer.append(i / 30, np.full(6, i, np.float32), np.full(6, i + 0.5, np.float32), {"front": image})
    return writer.finish(CadenceReport(ticks=N, repeated_frames={"front": 0}))


def index_of(image: np.ndarray) -> int:
    return round((float(image.mean()) - 20) / 5)


def test_a_take_plays_the_same_from_its_spool_and_from_the_dataset(tmp_path: Path):
    root = tmp_path / "ds"
    spec = DatasetSpec(fps=30, cameras=(CAM,), video=VideoSettings.for_codec("h264"))
    writer = DatasetWriter.create(root, "test/replay", spec)
    spool_dir = record(root)

    spooled = SpoolTake(spool_dir)
    assert (spooled.length, spooled.cameras, spooled.fps) == (N, ["front"], 30)
    assert [index_of(spooled.frame("front", i)) for i in (0, 17, 39, 3)] == [0, 17, 39, 3]
    assert spooled.action[5, 0] == 5 and spooled.state[5, 0] == 5.5

    assert save_episode(SpoolReader(spool_dir), writer) == 0  # committed: the spool is removed...
    assert not spool_dir.exists()
    assert index_of(spooled.frame("front", 20)) == 20  # ...and a replay already open plays on
    spooled.close()

    committed = DatasetTake(root, 0)
    order = [*range(N), 35, 2, 3, 30, 0]  # playing forward, then scrubbing back and forth
    assert [index_of(committed.frame("front", i)) for i in order] == order
    assert committed.action.shape == (N, 6) and committed.joint_names == JOINTS
    committed.close()
    thumb = thumbnail(root, 0, max_height=12)
    assert thumb is not None and thumb.shape[0] <= 12 and index_of(thumb) == N // 2

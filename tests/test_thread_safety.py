"""Issue 9 defect 6: no setenv from encoder threads; stalled cameras noted under the loop's lock."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np

import station.dataset.video as video
from station.dataset.spec import VideoSettings
from station.hardware.sim import SimulatedFollower, SimulatedLeader
from station.session.loop import ControlLoop


class WatchedEnviron(dict):
    """os.environ as encoder threads would see it: any write is recorded."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.writes: list[str] = []

    def __setitem__(self, key, value) -> None:
        self.writes.append(key)
        super().__setitem__(key, value)


def test_encoding_never_writes_the_environment(tmp_path, monkeypatch):
    environ = WatchedEnviron((k, v) for k, v in os.environ.items() if k != "SVT_LOG")
    monkeypatch.setattr(video, "os", SimpleNamespace(environ=environ, cpu_count=os.cpu_count))
    frames = (np.full((24, 32, 3), i, np.uint8) for i in range(5))
    assert video.encode_video(frames, tmp_path / "a.mp4", 30, 32, 24, VideoSettings.for_codec("h264")) == 5
    assert environ.writes == []
    assert os.environ.get("SVT_LOG") == "1"  # set once, when the module was imported


class StalledCamera:
    name, width, height, stalled = "front", 8, 6, True

    def latest(self):
        return None


def test_stalled_cameras_are_noted_while_the_loop_holds_its_lock():
    loop = ControlLoop(SimulatedLeader(), SimulatedFollower(), [StalledCamera()], fps=30)
    held: list[bool] = []

    class LockCheckingList(list):
        def append(self, item) -> None:
            held.append(loop._lock.locked())
            super().append(item)

    take = SimpleNamespace(
        cadence=SimpleNamespace(stalled_cameras=LockCheckingList()), next=None,
        add=lambda *args: True,
    )
    loop.swap_take(take)  # type: ignore[arg-type]
    loop.tick(0.0)
    assert held == [True] and take.cadence.stalled_cameras == ["front"]

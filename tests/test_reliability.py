"""Faults an operator meets: a full disk, a stalled camera, a second station, a broken dataset on resume."""

from __future__ import annotations

import errno
import json
import shutil
import subprocess
import sys
import time
from collections import namedtuple
from pathlib import Path
from types import SimpleNamespace

import pytest

import station.saving.job as job_module
from station.dataset.check import check_dataset
from station.dataset.reader import DatasetReader
from station.dataset.spec import CameraSpec, DatasetSpec, VideoSettings
from station.dataset.writer import DatasetWriter
from station.errors import DiskFullError
from station.hardware.interfaces import what_to_check
from station.hardware.sim import PatternCamera, SimulatedFollower, SimulatedLeader
from station.saving.lock import DatasetLock
from station.saving.queue import JobStatus, SaveQueue
from station.session.recorder import Recorder
from station.session.state import Event, Phase


@pytest.fixture
def session(tmp_path, qtbot):
    made = []

    def make(episodes=1, episode_s=0.4, cam_fps=30.0, reset_s=0.0):
        cam = PatternCamera("front", 32, 24, fps=cam_fps)
        cam.start()
        spec = DatasetSpec(fps=30, cameras=(CameraSpec("front", 32, 24),), video=VideoSettings.for_codec("h264"))
        writer = DatasetWriter.create(tmp_path / "ds", "test/faults", spec)
        queue = SaveQueue(writer)
        leader, follower = SimulatedLeader(), SimulatedFollower()
        leader.connect()
        follower.connect()
        rec = Recorder(writer, queue, leader, follower, [cam], 30, episodes, episode_s, reset_s, "pick")
        rec.start()
        made.append((rec, queue, cam))
        qtbot.waitUntil(lambda: rec.not_ready_reason() == "", timeout=5_000)  # the camera has sent a frame
        return rec, queue, cam

    yield make
    for rec, queue, cam in made:
        rec.shutdown()
        queue.shutdown()
        cam.stop()


def test_full_disk_fails_the_save_keeps_the_take_and_retry_works(qtbot, session, monkeypatch):
    rec, queue, _ = session()
    real_encode = job_module.encode_video
    calls = {"n": 0}

    def encode_on_a_full_disk(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(args[1]))
        return real_encode(*args, **kwargs)

    monkeypatch.setattr(job_module, "encode_video", encode_on_a_full_disk)
    with qtbot.waitSignal(queue.job_failed, timeout=20_000):
        rec.fire(Event.RECORD)
    job = queue.jobs[0]
    qtbot.waitUntil(lambda: job.recorded)
    assert job.status is JobStatus.FAILED and "full" in job.error and "free some space" in job.error
    assert job.spool_dir.exists() and (job.spool_dir / "done.json").exists()  # the take is kept
    assert DatasetReader(rec.writer.root).total_episodes == 0
    assert not [p for p in rec.writer.root.rglob("*") if p.name.endswith(".tmp")]
    with qtbot.waitSignal(queue.job_saved, timeout=20_000):  # space freed: Retry
        queue.retry(job)
    assert DatasetReader(rec.writer.root).total_episodes == 1 and check_dataset(rec.writer.root) == []
    assert not job.spool_dir.exists()


def test_no_take_starts_without_room_for_its_spool(qtbot, session, monkeypatch):
    rec, _, _ = session(episode_s=60)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10**9, 10**9 - 10**6, 10**6))
    with pytest.raises(DiskFullError, match="free some space"):
        rec.fire(Event.RECORD)
    problems = []
    rec.problem.connect(lambda p: problems.append(p.text))
    rec.fault.connect(lambda p: problems.append(p.text))
    assert not rec.try_fire(Event.RECORD)
    assert rec.phase is Phase.IDLE and problems and "1.0 MB free" in problems[0] and "MB needed" in problems[0]


class StallableClock:
    """time, with monotonic() able to jump: the whole process stopped (a loaded machine, a suspended VM)."""

    def __init__(self) -> None:
        self.lost = 0.0

    def monotonic(self) -> float:
        return time.monotonic() + self.lost

    def __getattr__(self, name: str) -> object:
        return getattr(time, name)


def test_a_stall_of_the_whole_process_is_not_blamed_on_the_camera_or_the_arm(qtbot, session, monkeypatch):
    """Stopped for 1.5 s, no thread of the process runs: the first watch after it finds the camera's last frame
    and the arm call in progress 1.5 s old, though neither device was silent while the process ran. The take
    goes on. (A camera silent while the process runs still ends the take: the test above.)"""
    import station.hardware.sim as sim_module
    import station.session.recorder as recorder_module

    rec, _, cam = session(episode_s=30)
    said = []
    rec.problem.connect(lambda p: said.append(p.text))
    rec.fault.connect(lambda p: said.append(p.text))
    clock = StallableClock()
    monkeypatch.setattr(recorder_module, "time", clock)  # the recorder and the camera see the same clock
    monkeypatch.setattr(sim_module, "time", clock)
    rec.fire(Event.RECORD)
    qtbot.waitUntil(lambda: rec.loop.take is not None and rec.loop.take.rows >= 3)
    take = rec.loop.take
    real_stuck = rec.loop.stuck
    cam.paused = True  # the process stops: no frame comes, the arm call in progress stays in progress ...
    monkeypatch.setattr(rec.loop, "stuck", lambda: ("follower", 1.5))
    stopped_at = clock.monotonic()
    clock.lost += 1.5  # ... for 1.5 s; then the watch runs first, late
    qtbot.waitUntil(lambda: rec._watched_at > stopped_at + 1.5, timeout=5000)
    cam.paused = False  # the other threads run again: a frame, the arm answers
    monkeypatch.setattr(rec.loop, "stuck", real_stuck)
    rows = take.rows
    qtbot.waitUntil(lambda: take.rows >= rows + 15, timeout=5000)  # half a second more of the same take
    assert rec.phase is Phase.RECORDING and rec.loop.take is take and not rec.machine.cut, said
    assert said == [] and rec.device_failure is None


def test_a_silent_camera_ends_the_take_held_and_flagged_and_no_next_take_starts(qtbot, session):
    rec, _, cam = session(episode_s=30)
    problems = []
    rec.problem.connect(lambda p: problems.append(p.text))
    rec.fault.connect(lambda p: problems.append(p.text))
    rec.fire(Event.RECORD)
    qtbot.waitUntil(lambda: rec.loop.take is not None and rec.loop.take.rows >= 3)
    take = rec.loop.take
    with qtbot.waitSignal(rec.take_cut, timeout=10_000) as cut:
        cam.error = "Input/output error"  # its reader stopped, saying why
        cam.paused = True  # the camera's cable is pulled
    assert cut.args[0].take is take and rec.phase is Phase.STOPPED and rec.machine.cut
    cadence = take.cadence
    assert cadence.stalled_cameras == ["front"] and "camera front sent nothing" in cadence.interrupted
    assert any(p.startswith("Camera front sent nothing for over 1 s (it stopped: Input/output error)")
               and "Check its source, then use Devices > Reconnect cameras" in p
               for p in problems)  # a test pattern has no cable
    # frozen frames for about a second at most, not a whole take of them
    assert cadence.repeated_frames is not None and cadence.repeated_frames["front"] <= 2 * 30
    with qtbot.waitSignal(rec.finished, timeout=20_000):
        rec.fire(Event.KEEP)  # the operator keeps it (flagged)
    assert not rec.try_fire(Event.RECORD)  # no take while the camera has no signal; it says why
    assert "camera front has no signal" in problems[-1]
    cam.paused = False
    qtbot.waitUntil(lambda: not cam.stalled, timeout=5_000)
    rec.devices_reconnected()
    assert rec.not_ready_reason() == ""
    episode = DatasetReader(rec.writer.root).episodes()[0]
    assert episode["length"] == cadence.ticks  # repeated, not dropped: video and rows stay aligned
    assert check_dataset(rec.writer.root) == []


def test_a_silent_camera_is_checked_at_its_cable_its_file_or_its_source():
    def cams(*kinds: str) -> list[SimpleNamespace]:
        return [SimpleNamespace(kind=k) for k in kinds]

    assert what_to_check(cams("v4l2")) == "its cable"
    assert what_to_check(cams("file")) == "its file"
    assert what_to_check(cams("testsrc")) == "its source"
    assert what_to_check(cams("v4l2", "v4l2")) == "their cables"
    assert what_to_check(cams("file", "v4l2")) == "their cables and files"


def station(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "station", *args], capture_output=True, text=True, timeout=120)


def record(root: Path, *extra: str) -> subprocess.CompletedProcess:
    return station("record", "--headless", "--demo", "--root", str(root), "--episodes", "1", "--episode-time", "0.5",
                   "--reset-time", "0", "--camera", "front=testsrc@64x48", "--vcodec", "h264", *extra)


def snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.fixture
def dataset(tmp_path) -> Path:
    root = tmp_path / "ds"
    assert record(root).returncode == 0
    return root


def test_a_second_station_on_the_same_dataset_is_refused(dataset):
    with DatasetLock(dataset):
        before = snapshot(dataset)
        result = record(dataset, "--resume")
        assert result.returncode == 2 and "in use by another station" in result.stderr
        assert snapshot(dataset) == before


@pytest.mark.parametrize("damage", ["info-not-json", "info-missing-key", "episodes-parquet-garbage"])
def test_a_corrupt_dataset_is_not_appended_to(dataset, damage):
    if damage == "info-not-json":
        (dataset / "meta" / "info.json").write_text("{ not json")
    elif damage == "info-missing-key":
        info = json.loads((dataset / "meta" / "info.json").read_text())
        del info["features"]
        (dataset / "meta" / "info.json").write_text(json.dumps(info))
    else:
        path = next((dataset / "meta" / "episodes").rglob("*.parquet"))
        path.write_bytes(b"PAR1 this is not parquet")
    before = snapshot(dataset)
    result = record(dataset, "--resume")
    assert result.returncode == 2, result.stdout + result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert snapshot(dataset) == before


def test_a_disk_filling_up_during_a_reset_keeps_the_last_take_and_stops(qtbot, session, monkeypatch):
    """The next take cannot start: the take held in the reset is kept, not held (with its room) for good."""
    rec, _queue, _ = session(episodes=3, episode_s=0.5, reset_s=0.5)
    problems = []
    rec.problem.connect(lambda p: problems.append(p.text))
    rec.fault.connect(lambda p: problems.append(p.text))
    rec.fire(Event.RECORD)
    qtbot.waitUntil(lambda: rec.phase is Phase.RESETTING, timeout=10_000)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10**9, 10**9 - 10**3, 10**3))  # 1 kB left
    with qtbot.waitSignal(rec.finished, timeout=20_000):  # the reset ends; the next take cannot start
        pass
    assert rec.phase is Phase.STOPPED
    assert any("last take is kept" in p for p in problems), problems
    monkeypatch.undo()
    assert DatasetReader(rec.writer.root).total_episodes == 1


def test_a_disk_filling_up_during_a_take_keeps_it_and_stops(qtbot, session, monkeypatch):
    rec, queue, _ = session(episodes=3, episode_s=0.5)
    problems = []
    rec.problem.connect(lambda p: problems.append(p.text))
    rec.fault.connect(lambda p: problems.append(p.text))
    rec.fire(Event.RECORD)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10**9, 10**9 - 10**3, 10**3))  # 1 kB left
    with qtbot.waitSignal(rec.finished, timeout=20_000):  # the take fills up; the next one cannot start
        pass
    assert rec.phase is Phase.STOPPED
    assert any("take in progress was kept" in p for p in problems), problems
    monkeypatch.undo()
    reader = DatasetReader(rec.writer.root)
    assert reader.total_episodes == 1 and reader.episodes()[0]["length"] == 15

"""A disk that fills up during a take: the take ends at its last whole frame, says so at once, and is saved.

Uses a real, small tmpfs (the tests run as root in CI); without the right to mount one they are skipped.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from station.dataset.check import check_dataset
from station.dataset.episode_facts import read_episode_facts
from station.dataset.quality import CUT_SHORT, dataset_warnings
from station.dataset.reader import DatasetReader
from station.dataset.spec import CameraSpec, DatasetSpec, VideoSettings
from station.dataset.writer import DatasetWriter
from station.hardware.sim import PatternCamera, SimulatedFollower, SimulatedLeader
from station.joints import JOINT_FEATURE_NAMES
from station.saving.queue import JobStatus, SaveQueue
from station.saving.recovery import recover_into_queue
from station.saving.spool import CadenceReport, SpoolReader, SpoolWriter, TakeInfo, frame_stride, to_spool_format
from station.session.recorder import FinishedTake, Recorder
from station.session.state import Event, Phase


@contextlib.contextmanager
def small_disk(tmp_path: Path, size: str):
    where = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@pytest.fixture
def disk(tmp_path):
    with small_disk(tmp_path, "40m") as where:
        yield where


def fill(disk: Path) -> Path:
    """Take every free byte of the disk; returns the filler (delete it to free the space)."""
    filler = disk / "filler"
    chunk = bytes(1 << 20)
    with open(filler, "wb", buffering=0) as f:
        for size in (1 << 20, 4096, 1):
            while True:
                try:
                    if f.write(chunk[:size]) != size:
                        break
                except OSError as e:
                    assert e.errno == errno.ENOSPC
                    break
    return filler


def info(w: int = 64, h: int = 48) -> TakeInfo:
    return TakeInfo(task="stack", fps=30, robot_type="so_follower", joint_names=list(JOINT_FEATURE_NAMES),
                    cameras=[{"name": "front", "width": w, "height": h}], created=time.time())


@pytest.mark.parametrize(("w", "h", "disk_size"), [(64, 48, "1m"), (640, 480, "6m")])  # through the cache; direct
def test_a_write_error_ends_the_spool_at_its_last_whole_frame(tmp_path, w, h, disk_size):
    with small_disk(tmp_path, disk_size) as where:
        failed = threading.Event()
        writer = SpoolWriter.create(where, info(w, h), on_error=lambda _w, _e: failed.set())
        i = 0
        while not failed.is_set() and i < 1000:  # the disk fills in the middle of a frame
            image = np.full((h, w, 3), i % 251, dtype=np.uint8)
            writer.append(i / 30, np.full(6, i, np.float32), np.zeros(6, np.float32), {"front": image})
            i += 1
            if i % 10 == 0:
                failed.wait(0.01)
        assert failed.wait(5), "the full disk was never reported"
        assert 0 < writer.written < i
        path = writer.finish(CadenceReport(fps=30, ticks=i, repeated_frames={"front": 0}))
        done = json.loads((path / "done.json").read_text())
        assert done["frames"] == writer.written and done["cadence"]["ticks"] == writer.written
        assert "could not write to disk (the disk is full)" in done["cadence"]["interrupted"]
        spool = SpoolReader(path)  # complete, and every frame it claims is whole and in its place
        assert spool.complete and spool.frames == writer.written
        assert spool.action[:, 0].tolist() == list(range(spool.frames))
        for k, frame in enumerate(spool.frames_of("front")):
            assert (frame == to_spool_format(np.full((h, w, 3), k % 251, np.uint8), spool.pix_fmt)).all()
        assert spool.info.frame_file(path, "front").stat().st_size == spool.frames * frame_stride(w, h, spool.pix_fmt)


@pytest.fixture
def session(disk, qtbot):
    made = []

    def make(episodes: int = 1, episode_s: float = 30):
        cam = PatternCamera("front", 64, 48, fps=30.0)
        cam.start()
        spec = DatasetSpec(fps=30, cameras=(CameraSpec("front", 64, 48),), video=VideoSettings.for_codec("h264"))
        writer = DatasetWriter.create(disk / "ds", "test/disk_full", spec)
        queue = SaveQueue(writer)
        leader, follower = SimulatedLeader(), SimulatedFollower()
        leader.connect()
        follower.connect()
        rec = Recorder(writer, queue, leader, follower, [cam], 30, episodes, episode_s, 0, "pick")
        rec.start()
        made.append((rec, queue, cam))
        qtbot.waitUntil(lambda: rec.not_ready_reason() == "", timeout=5_000)  # the camera has sent a frame
        return rec, queue

    yield make
    for rec, queue, cam in made:
        rec.shutdown()
        queue.shutdown()
        cam.stop()


def test_a_disk_filling_up_mid_take_ends_it_at_once_and_the_recorded_take_is_saved(qtbot, disk, session):
    rec, queue = session(episodes=3, episode_s=30)
    problems: list[str] = []
    recorded: list[FinishedTake] = []
    rec.problem.connect(lambda p: problems.append(p.text))
    rec.take_recorded.connect(recorded.append)
    rec.fire(Event.RECORD)
    qtbot.waitUntil(lambda: rec.loop.take is not None and rec.loop.take.rows >= 10)
    filler = fill(disk)
    filled_at = time.monotonic()
    # Reported (and the take ended) at once, not when the 30 s take would have ended.
    qtbot.waitUntil(lambda: any("could not write the take to disk" in p for p in problems), timeout=5_000)
    assert time.monotonic() - filled_at < 5
    assert rec.phase is Phase.STOPPED
    qtbot.waitUntil(lambda: len(recorded) == 1, timeout=10_000)
    frames = recorded[0].take.rows
    assert frames >= 10
    assert "ended at its last whole frame" in recorded[0].take.cadence.summary()
    job = queue.jobs[0]
    qtbot.waitUntil(lambda: not job.pending, timeout=20_000)  # saving it may fail too: the disk is full
    os.unlink(filler)
    if job.status is JobStatus.FAILED:
        with qtbot.waitSignal(queue.job_saved, timeout=20_000):
            queue.retry(job)
    reader = DatasetReader(rec.writer.root)
    assert reader.total_episodes == 1 and reader.episodes()[0]["length"] == frames  # what "recorded" said
    assert check_dataset(rec.writer.root) == []
    # the take was cut short: the save job flags it (from the spool's completion record) and `station check` warns
    assert read_episode_facts(rec.writer.root)[0].flags.count(CUT_SHORT) == 1
    assert any("episode 0: cut short" in line for line in dataset_warnings(rec.writer.root))


def test_a_take_cut_by_a_full_disk_is_saved_by_recovery(qtbot, tmp_path, disk):
    """The process dies right after the cut (no save ran): recovery saves exactly the frames on disk."""
    spec = DatasetSpec(fps=30, cameras=(CameraSpec("front", 64, 48),), video=VideoSettings.for_codec("h264"))
    writer = DatasetWriter.create(disk / "ds", "test/disk_full", spec)
    failed = threading.Event()
    spool = SpoolWriter.create(writer.root, info(), on_error=lambda _w, _e: failed.set())
    filler = None
    for i in range(2000):
        if i == 20:
            filler = fill(disk)
        image = np.full((48, 64, 3), i % 251, dtype=np.uint8)
        spool.append(i / 30, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": image})
        if failed.wait(0.001):
            break
    assert failed.is_set() and filler is not None
    path = spool.finish(CadenceReport(fps=30, ticks=spool.frames, repeated_frames={"front": 0}))
    frames = spool.written
    os.unlink(filler)
    queue = SaveQueue(writer)
    try:
        said = recover_into_queue(writer, queue)
        assert any(f"{frames} frames, queued as episode 0" in line for line in said), said
        qtbot.waitUntil(lambda: queue.is_idle, timeout=20_000)
    finally:
        queue.shutdown()
    assert queue.jobs[0].status is JobStatus.DONE and not path.exists()
    assert DatasetReader(writer.root).episodes()[0]["length"] == frames
    assert check_dataset(writer.root) == []
    assert CUT_SHORT in read_episode_facts(writer.root)[0].flags


def test_headless_recording_refuses_a_disk_without_room_for_one_take_before_creating_anything(disk):
    """Bad input changes nothing: no room for the first take's spool is said before the dataset is created."""
    result = subprocess.run(
        [sys.executable, "-m", "station", "record", "--headless", "--demo", "--root", str(disk / "ds"),
         "--episodes", "1", "--episode-time", "60", "--camera", "front=testsrc@640x480", "--vcodec", "h264"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("station record: not enough free disk space") and result.stderr.count("\n") == 1
    assert result.stdout == "" and not (disk / "ds").exists()

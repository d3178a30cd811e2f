"""Whole sessions on emulated SO-101 arms, through the real Feetech SDK on pseudo-terminals."""

from __future__ import annotations

import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from station.config import ArmConfig
from station.dataset.check import check_dataset
from station.dataset.episode_facts import read_episode_facts
from station.dataset.reader import DatasetReader
from station.dataset.spec import CameraSpec, DatasetSpec, VideoSettings
from station.dataset.writer import DatasetWriter
from station.hardware.emulator import EmulatedBus, write_demo_calibration
from station.hardware.sim import PatternCamera
from station.hardware.so101 import connect_arms
from station.saving.queue import SaveQueue
from station.session.recorder import Recorder
from station.session.state import Event


@pytest.fixture
def arms(tmp_path):
    leader, follower = EmulatedBus("leader"), EmulatedBus("follower")
    leader_port, follower_port = leader.start(), follower.start()
    calibration = tmp_path / "calibration"
    write_demo_calibration(calibration)
    yield leader, follower, leader_port, follower_port, calibration
    leader.stop()
    follower.stop()


@contextmanager
def recorder_on(arms, root: Path, episodes: int, episode_s: float, spy=None):
    """A Recorder on the emulated arms (real SDK) and a small pattern camera; everything closed afterwards."""
    _, _, leader_port, follower_port, calibration = arms
    leader, follower = connect_arms(ArmConfig(follower_port, leader_port, calibration))
    if spy is not None:
        leader.read = spy(leader.read)
    cam = PatternCamera("front", 32, 24)
    cam.start()
    spec = DatasetSpec(fps=30, cameras=(CameraSpec("front", 32, 24),), video=VideoSettings.for_codec("h264"))
    writer = DatasetWriter.create(root, "test/emulated", spec)
    queue = SaveQueue(writer)
    rec = Recorder(writer, queue, leader, follower, [cam], 30, episodes, episode_s, 0, "pick")
    rec.start()
    ready = threading.Event()
    for _ in range(500):  # up to 5 s for the camera's first frame: no take starts before it
        if rec.not_ready_reason() == "":
            break
        ready.wait(0.01)
    try:
        yield rec
    finally:
        rec.shutdown()
        queue.shutdown()
        cam.stop()
        follower.disconnect()
        leader.disconnect()


def test_action_is_exactly_what_the_leader_read(qtbot, tmp_path, arms):
    follower_bus = arms[1]
    seen: list[np.ndarray] = []

    def spy(real_read):
        def read() -> np.ndarray:
            value = real_read()
            seen.append(value.copy())
            return value

        return read

    with recorder_on(arms, tmp_path / "ds", episodes=1, episode_s=0.5, spy=spy) as rec:
        finished = qtbot.waitSignal(rec.finished, timeout=30_000)
        with finished:
            rec.fire(Event.RECORD)
    assert not any(follower_bus.torque_enabled().values())  # torque off once the session is over
    data = DatasetReader(tmp_path / "ds").episode_data(0)
    action, state = data["action"], data["observation.state"]
    assert len(action) == 15
    reads = np.stack(seen)
    # A tick the loop could not run (a busy machine) is a filled row: the previous row again. The other rows
    # are, one after another, exactly what the leader read.
    filled = read_episode_facts(tmp_path / "ds")[0].filled_ticks
    p = next(i for i in range(len(reads)) if np.array_equal(reads[i], action[0]))
    advanced = 1
    for i in range(1, len(action)):  # row by row: the leader's next value, or (filled) the previous row
        if p + 1 < len(reads) and np.array_equal(action[i], reads[p + 1]):
            p, advanced = p + 1, advanced + 1
        else:
            assert np.array_equal(action[i], action[i - 1]), i
    assert advanced >= 15 - filled
    assert np.all(np.abs(action[:, :5]) <= 180) and np.all((action[:, 5] >= 0) & (action[:, 5] <= 100))
    assert np.ptp(action[:, 0]) > 0.5  # the scripted person moves the leader
    assert np.abs(state - action).max() < 90  # the follower follows
    assert check_dataset(tmp_path / "ds") == []


def station(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "station", *args], capture_output=True, text=True, timeout=120)


def test_headless_record_from_emulated_arms(tmp_path, arms):
    _, follower_bus, leader_port, follower_port, calibration = arms
    root = tmp_path / "ds"
    result = station("record", "--headless", "--root", str(root), "--follower-port", follower_port,
                     "--leader-port", leader_port, "--calibration-dir", str(calibration), "--episodes", "2",
                     "--episode-time", "1", "--reset-time", "0", "--camera", "front=testsrc@64x48",
                     "--vcodec", "h264")
    assert result.returncode == 0, result.stderr
    assert "episode 1 saved" in result.stdout
    assert check_dataset(root) == []
    assert DatasetReader(root).total_episodes == 2
    assert not any(follower_bus.torque_enabled().values())


def test_bad_port_and_missing_calibration_create_nothing(tmp_path, arms):
    _, follower_bus, leader_port, follower_port, calibration = arms
    root = tmp_path / "ds"
    common = ["record", "--headless", "--root", str(root), "--episodes", "1", "--camera", "front=testsrc@64x48"]
    result = station(*common, "--follower-port", "/dev/ttyNOPE9", "--leader-port", leader_port,
                     "--calibration-dir", str(calibration))
    assert result.returncode == 2 and "/dev/ttyNOPE9" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = station(*common, "--follower-port", follower_port, "--leader-port", leader_port,
                     "--calibration-dir", str(tmp_path / "empty"))
    assert result.returncode == 2 and "station calibrate" in result.stderr
    assert not root.exists()
    assert not any(follower_bus.torque_enabled().values())


def test_a_bus_going_silent_mid_take_keeps_the_take_marks_it_and_takes_torque_off(qtbot, tmp_path, arms):
    leader_bus, follower_bus, leader_port = arms[0], arms[1], arms[2]
    problems: list[str] = []
    recorded = []
    with recorder_on(arms, tmp_path / "ds", episodes=3, episode_s=30) as rec:
        rec.problem.connect(lambda p: problems.append(p.text))
        rec.fault.connect(lambda p: problems.append(p.text))
        rec.take_recorded.connect(recorded.append)
        rec.fire(Event.RECORD)
        qtbot.waitUntil(lambda: rec.loop.take is not None and rec.loop.take.rows >= 10, timeout=10_000)
        with qtbot.waitSignal(rec.take_cut, timeout=30_000):
            leader_bus.silent = True  # the leader's USB cable is pulled
        # said as soon as the tick has waited 0.3 s on it, naming the leader and its port, not the follower
        assert any(p.startswith(f"The leader arm on {leader_port} stopped answering") for p in problems), problems
        qtbot.waitUntil(lambda: not any(follower_bus.torque_enabled().values()), timeout=5_000)
        qtbot.waitUntil(lambda: bool(rec.torque_state), timeout=10_000)
        with qtbot.waitSignal(rec.finished, timeout=30_000):
            rec.fire(Event.KEEP)
    cadence = recorded[0].take.cadence
    assert cadence.interrupted.startswith("leader arm on") and "ended early" in cadence.summary()
    reader = DatasetReader(tmp_path / "ds")
    assert reader.total_episodes == 1 and reader.episodes()[0]["length"] >= 10
    assert check_dataset(tmp_path / "ds") == []


"""The Recorder in-process: takes through the real spool, queue, encoder and writer, driven by events."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import QTimer

from station.bench.synchronous import SynchronousRecorder
from station.dataset.check import check_dataset
from station.dataset.reader import DatasetReader
from station.dataset.spec import CameraSpec, DatasetSpec, VideoSettings
from station.dataset.writer import DatasetWriter
from station.hardware.sim import PatternCamera, SimulatedFollower, SimulatedLeader
from station.saving.queue import HELD_FOR_OPERATOR, SaveQueue
from station.session.recorder import Recorder
from station.session.state import Event, Phase
from widgets.save_queue_presenter import row_view


@pytest.fixture
def make_recorder(tmp_path, qtbot):
    made = []

    def make(episodes=2, episode_s=0.4, reset_s=0.0, synchronous=False, root=None):
        cams = [PatternCamera("front", 32, 24, fps=30), PatternCamera("wrist", 16, 12, fps=15)]
        for c in cams:
            c.start()
        spec = DatasetSpec(fps=30, cameras=tuple(CameraSpec(c.name, c.width, c.height) for c in cams),
                           video=VideoSettings.for_codec("h264"))
        writer = DatasetWriter.create(root or tmp_path / "ds", "test/recorder", spec)
        queue = SaveQueue(writer)
        leader, follower = SimulatedLeader(), SimulatedFollower()
        leader.connect()
        follower.connect()
        kind = SynchronousRecorder if synchronous else Recorder  # the benchmark's baseline, or the real one
        rec = kind(writer, queue, leader, follower, cams, 30, episodes, episode_s, reset_s, "pick")
        made.append((rec, cams, queue))
        rec.start()
        qtbot.waitUntil(lambda: rec.not_ready_reason() == "", timeout=5_000)  # every camera has sent a frame
        return rec

    yield make
    for rec, cams, queue in made:
        rec.shutdown()
        queue.shutdown()
        for c in cams:
            c.stop()


def test_back_to_back_takes_lose_no_tick(qtbot, make_recorder):
    rec = make_recorder(episodes=3)
    recorded = []
    rec.take_recorded.connect(recorded.append)
    with qtbot.waitSignal(rec.finished, timeout=20_000):
        rec.fire(Event.RECORD)
    assert rec.phase is Phase.STOPPED
    reader = DatasetReader(rec.writer.root)
    assert reader.total_episodes == 3
    assert [ep["length"] for ep in reader.episodes()] == [12, 12, 12]  # 0.4 s at 30 fps, exactly
    takes = sorted((ft.take for ft in recorded), key=lambda take: take.first_tick_no)
    assert len(takes) == 3  # else the check below could pass having compared nothing
    for a, b in zip(takes, takes[1:], strict=False):
        assert b.first_tick_no == a.last_tick_no + 1  # the next take starts on the very next tick
    assert check_dataset(rec.writer.root) == []


def test_rerecord_during_reset_discards_the_finished_take(qtbot, make_recorder):
    rec = make_recorder(episodes=2, reset_s=30)
    with qtbot.waitSignal(rec.state_changed, timeout=10_000, check_params_cb=lambda s: s.after is Phase.RESETTING):
        rec.fire(Event.RECORD)
    with qtbot.waitSignal(rec.take_recorded, timeout=10_000):
        pass
    job = rec.queue.jobs[0]
    qtbot.waitUntil(lambda: job.prepared is not None, timeout=10_000)
    assert rec.writer.total_episodes == 0  # held: the reset phase may still throw it away
    rec.fire(Event.RERECORD)
    assert rec.phase is Phase.RESETTING and rec.episode == 0  # the reset countdown starts again
    qtbot.waitUntil(lambda: not job.spool_dir.exists(), timeout=10_000)
    rec.fire(Event.NEXT)
    assert rec.phase is Phase.RECORDING and rec.episode == 0
    rec.task = "place"  # typed during the take: applies to the next take, not this one
    qtbot.waitUntil(lambda: rec.loop.take is not None and rec.loop.take.rows >= 3)
    with qtbot.waitSignal(rec.finished, timeout=20_000):
        rec.fire(Event.STOP)
    reader = DatasetReader(rec.writer.root)
    assert reader.total_episodes == 1 and reader.tasks == ["pick"]  # task recorded as shown at take start
    assert check_dataset(rec.writer.root) == []


def test_rerecord_during_a_take_and_stop_keeps_the_take(qtbot, make_recorder):
    rec = make_recorder(episodes=5, episode_s=30)
    rec.fire(Event.RECORD)
    qtbot.waitUntil(lambda: rec.loop.take is not None and rec.loop.take.rows >= 3)
    rec.fire(Event.RERECORD)
    assert rec.episode == 0 and rec.phase is Phase.RECORDING  # no reset time: recorded again at once
    qtbot.waitUntil(lambda: rec.loop.take is not None and rec.loop.take.rows >= 5)
    with qtbot.waitSignal(rec.finished, timeout=20_000):
        rec.fire(Event.STOP)
    reader = DatasetReader(rec.writer.root)
    assert reader.total_episodes == 1 and reader.episodes()[0]["length"] >= 5
    # the re-recorded take's save (started with the take) was cancelled; the kept one is done
    assert [j.status.value for j in rec.queue.jobs] == ["cancelled", "done"]
    assert len(list((rec.writer.root / ".station" / "spool").iterdir())) == 0


def test_synchronous_mode_saves_before_the_next_take(qtbot, make_recorder):
    rec = make_recorder(episodes=2, synchronous=True)
    with qtbot.waitSignal(rec.finished, timeout=20_000):
        rec.fire(Event.RECORD)
    assert DatasetReader(rec.writer.root).total_episodes == 2
    assert rec.queue.jobs == []  # nothing went through the background queue


def test_arm_error_stops_the_take_keeps_it_and_takes_torque_off(qtbot, make_recorder):
    rec = make_recorder(episodes=3, episode_s=30)
    rec.fire(Event.RECORD)
    qtbot.waitUntil(lambda: rec.loop.take is not None and rec.loop.take.rows >= 4)

    def broken():
        raise RuntimeError("no reply from motor 3 on /dev/ttyACM0")

    problems = []
    rec.problem.connect(lambda p: problems.append(p.text))
    rec.fault.connect(lambda p: problems.append(p.text))
    rec.leader.read = broken  # type: ignore[method-assign]
    with qtbot.waitSignal(rec.take_cut, timeout=20_000) as cut:  # the take ends, held for Keep / Drop
        pass
    assert rec.phase is Phase.STOPPED and rec.machine.cut
    # the save queue's record says what the take waits for: the operator, not a reset (there is none)
    assert cut.args[0].job.held and cut.args[0].job.held_for == HELD_FOR_OPERATOR
    qtbot.waitUntil(lambda: "Keep or Drop" in row_view(cut.args[0].job, None, 30).words, timeout=10_000)
    assert cut.args[0].take.cadence.interrupted.startswith("leader arm stopped answering")
    said = next(p for p in problems if "motor 3" in p)
    assert said.startswith("The leader arm stopped answering") and "Devices > Connect arms" in said
    qtbot.waitUntil(lambda: "Follower torque off, confirmed." in problems, timeout=5000)  # read back
    assert not rec.follower.torque_enabled  # type: ignore[attr-defined]
    assert not rec.try_fire(Event.RECORD)  # no take over an undecided one, nor with an arm in error
    assert rec.writer.total_episodes == 0
    with qtbot.waitSignal(rec.finished, timeout=20_000):
        rec.fire(Event.KEEP)
    assert DatasetReader(rec.writer.root).total_episodes == 1
    assert rec.device_failure is not None and "leader" in rec.device_failure


def test_back_to_back_takes_lose_no_tick_even_when_the_session_thread_is_busy(qtbot, make_recorder):
    rec = make_recorder(episodes=2, episode_s=0.3)
    recorded = []
    rec.take_recorded.connect(recorded.append)
    blocked = threading.Event()

    def busy_window() -> None:  # a slow repaint just as the first take fills up
        blocked.wait(0.4)

    QTimer.singleShot(250, busy_window)
    with qtbot.waitSignal(rec.finished, timeout=20_000):
        rec.fire(Event.RECORD)
    first, second = sorted((ft.take for ft in recorded), key=lambda take: take.first_tick_no)
    assert (first.rows, second.rows) == (9, 9)
    assert second.first_tick_no == first.last_tick_no + 1  # the loop switched by itself


def test_synchronous_mode_records_nothing_while_saving(qtbot, make_recorder):
    rec = make_recorder(episodes=2, synchronous=True)
    recorded = []
    rec.take_recorded.connect(recorded.append)
    with qtbot.waitSignal(rec.finished, timeout=20_000):
        rec.fire(Event.RECORD)
    first, second = sorted((ft.take for ft in recorded), key=lambda take: take.first_tick_no)
    assert len(rec.sync_save_s) == 2
    # the next take's first row comes only after the inline save: the operator waited for it
    assert second.cadence.first_tick - first.cadence.last_tick >= rec.sync_save_s[0]


def test_a_disk_that_falls_behind_the_cameras_is_said_once_and_the_take_is_kept(qtbot, make_recorder, monkeypatch):
    import time

    import station.saving.spool as spool
    from station.session.problems import About

    slow = threading.Event()
    slow.set()
    write_all = spool.write_all

    def slow_write(f, data):  # a disk that takes a row in 0.15 s while `slow`: the loop records 30 a second
        if slow.is_set():
            time.sleep(0.05)
        write_all(f, data)

    monkeypatch.setattr(spool, "write_all", slow_write)
    rec = make_recorder(episodes=1, episode_s=8.0)
    problems = []
    rec.problem.connect(problems.append)
    with qtbot.waitSignal(rec.problem, timeout=10_000, check_params_cb=lambda p: p.about is About.DISK_SLOW):
        rec.fire(Event.RECORD)
    slow.clear()  # the disk catches up
    assert rec.phase is Phase.RECORDING and "faster disk" in problems[-1].text
    with qtbot.waitSignal(rec.finished, timeout=20_000):
        pass
    assert [p.about for p in problems] == [About.DISK_SLOW]  # said once
    assert rec.writer.total_episodes == 1 and check_dataset(rec.writer.root) == []

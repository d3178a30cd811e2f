"""The session flow an operator drives with keys (issue 10): re-record, stop, quit, warm-up, faults, numbering.

Each test drives keys (or the actions they trigger) at the boundary where the flow once broke, and waits on
signals or conditions, never on sleeps.
"""

from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QMessageBox
from test_gui_window import Station, with_prepare

from station.config import CameraSource, SessionConfig
from station.dataset.check import check_dataset
from station.dataset.reader import DatasetReader
from station.errors import DiskFullError
from station.hardware.sim import PatternCamera, SimulatedFollower, SimulatedLeader
from station.saving.queue import JobStatus
from station.saving.recovery import find_spools
from station.session.devices import Devices
from station.session.state import Phase, Take


class PluggableCamera(PatternCamera):
    """A test-pattern camera whose cable can be pulled (no frames) and put back (reopening it works again)."""

    def start(self) -> None:
        self.paused = False
        super().start()


@pytest.fixture
def station(qtbot, tmp_path, no_leaked_windows):
    s = Station(qtbot, tmp_path)
    yield s
    s.close_all()


def key(qtbot, window, k: Qt.Key) -> None:
    """A key pressed in the window, the keyboard on its live views (shortcuts are application-wide)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    if QApplication.focusWidget() is not window.home_focus:
        window.home_focus.setFocus(Qt.FocusReason.OtherFocusReason)
        qtbot.waitUntil(window.home_focus.hasFocus, timeout=3000)
    qtbot.keyClick(window.home_focus, k)


def rows_at_least(qtbot, recorder, n: int = 3) -> None:
    qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= n, timeout=5000)


def test_rerecord_in_a_take_throws_it_away_then_a_reset_then_the_same_episode_without_error_logs(
        station, qtbot, caplog):
    window, controller = station.open(reset_time_s=1.0)
    recorder = controller.session.recorder
    key(qtbot, window, Qt.Key.Key_Space)
    rows_at_least(qtbot, recorder)
    job = controller.session.queue.jobs[0]
    with caplog.at_level(logging.WARNING):
        key(qtbot, window, Qt.Key.Key_Left)  # ←: thrown away, and a reset phase to put the scene back
        assert recorder.phase is Phase.RESETTING and recorder.episode == 0
        assert "thrown away" in window.session_bar.cadence_label.text()
        assert "Next: episode 0" in window.session_bar.episode_label.text()
        with qtbot.waitSignal(recorder.state_changed, timeout=10_000,
                              check_params_cb=lambda step: step.after is Phase.RECORDING):
            pass  # the reset's time runs out: episode 0 is recorded again
        qtbot.waitUntil(lambda: job.status is JobStatus.CANCELLED
                        and not controller.session.queue.has_worker(job), timeout=10_000)
        rows_at_least(qtbot, recorder)
        key(qtbot, window, Qt.Key.Key_R)  # R, the same, a second time
        qtbot.waitUntil(lambda: controller.session.queue.is_idle, timeout=10_000)
    assert recorder.episode == 0 and recorder.machine.kept == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # a cancelled job is not an error


def test_rerecord_in_a_reset_throws_the_last_take_away_and_the_countdown_starts_again(station, qtbot):
    window, controller = station.open(reset_time_s=30.0)
    recorder = controller.session.recorder
    key(qtbot, window, Qt.Key.Key_Space)
    rows_at_least(qtbot, recorder)
    key(qtbot, window, Qt.Key.Key_N)
    assert recorder.phase is Phase.RESETTING and recorder.machine.held
    job = controller.session.queue.jobs[0]
    key(qtbot, window, Qt.Key.Key_Left)
    assert recorder.phase is Phase.RESETTING and recorder.machine.kept == 0 and recorder.episode == 0
    assert job.status is JobStatus.CANCELLED
    assert recorder.phase_remaining_s() > 29  # the reset countdown started again
    assert "thrown away" in window.session_bar.cadence_label.text()
    assert not window.keys["rerecord"].isEnabled()  # nothing finished left to throw away


def test_stop_is_not_a_dead_end_and_the_last_take_can_still_be_thrown_away(station, qtbot):
    window, controller = station.open(episodes=1, reset_time_s=30.0)
    recorder = controller.session.recorder
    key(qtbot, window, Qt.Key.Key_Space)
    rows_at_least(qtbot, recorder)
    key(qtbot, window, Qt.Key.Key_Right)  # the last planned take: the session stops, the take held
    assert recorder.phase is Phase.STOPPED and recorder.machine.held
    assert window.keys["record"].isEnabled() and window.keys["rerecord"].isEnabled()
    key(qtbot, window, Qt.Key.Key_Left)  # thrown away after all
    assert controller.session.queue.jobs[0].status is JobStatus.CANCELLED and recorder.machine.kept == 0
    key(qtbot, window, Qt.Key.Key_Space)  # Space records more: episode 0 again
    assert recorder.phase is Phase.RECORDING and recorder.episode == 0
    rows_at_least(qtbot, recorder)
    key(qtbot, window, Qt.Key.Key_Escape)  # an accidental stop
    assert recorder.phase is Phase.STOPPED
    key(qtbot, window, Qt.Key.Key_Space)  # the session goes on
    assert recorder.phase is Phase.RECORDING and recorder.episode == 1
    assert "1 of 1 kept" in window.session_bar.episode_label.text()
    rows_at_least(qtbot, recorder)
    key(qtbot, window, Qt.Key.Key_Q)
    key(qtbot, window, Qt.Key.Key_Q)  # Q again does nothing harmful
    queue = controller.session.queue
    window.keys["quit"].trigger()  # quitting keeps the held last take and waits for the saves
    try:
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=30_000)
    except Exception as e:  # say what the saves were doing
        jobs = [(j.status.value, j.stage, j.held, j.recorded, j.error) for j in queue.jobs]
        raise AssertionError(f"still open: jobs {jobs}, finished takes {len(recorder.finished_takes)}, "
                             f"phase {recorder.phase}") from e
    assert DatasetReader(station.tmp_path / "ds").total_episodes == 2
    assert check_dataset(station.tmp_path / "ds") == []


def test_quit_during_a_take_asks_and_esc_cancels_then_throw_away_leaves_nothing(station, qtbot):
    window, controller = station.open()
    recorder = controller.session.recorder
    key(qtbot, window, Qt.Key.Key_Space)
    rows_at_least(qtbot, recorder)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    question = controller.quitting.question
    assert question is not None and question.isVisible()
    assert "keep" in question.informativeText().lower() and "throw" in question.informativeText().lower()
    qtbot.keyClick(question, Qt.Key.Key_Escape)  # cancel: the take goes on
    qtbot.waitUntil(lambda: controller.quitting.question is None, timeout=3000)
    assert recorder.phase is Phase.RECORDING and window.isVisible()
    rows = recorder.loop.take.rows
    qtbot.waitUntil(lambda: recorder.loop.take.rows > rows + 3, timeout=5000)
    window.close()  # the close box asks the same
    question = controller.quitting.question
    assert question is not None
    asked = question.text()
    assert asked.startswith("A take is being recorded (")
    qtbot.waitUntil(lambda: question.text() != asked, timeout=5000)  # its time goes on while asking
    qtbot.mouseClick(question.throw_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    root = station.tmp_path / "ds"
    assert DatasetReader(root).total_episodes == 0
    assert find_spools(root) == ([], [])


@pytest.mark.parametrize("episodes", [1, 3])  # the take ends into a stop (the last planned) or into a reset
def test_a_take_that_ends_while_quit_asks_stays_held_until_answered_and_throw_away_throws_it(
        station, qtbot, episodes):
    window, controller = station.open(episodes=episodes, episode_time_s=1.0, reset_time_s=0.5)
    recorder = controller.session.recorder
    controller.session.recorder.hold_after_stop_s = 0.5
    key(qtbot, window, Qt.Key.Key_Space)
    rows_at_least(qtbot, recorder)
    window.close()  # quit asks about the take in progress ...
    question = controller.quitting.question
    assert question is not None and question.isVisible()
    with qtbot.waitSignal(recorder.state_changed, timeout=5000):  # ... whose time runs out meanwhile
        pass
    assert recorder.phase is not Phase.RECORDING and recorder.machine.held and recorder.countdown_held
    assert "ended" in question.text()
    qtbot.wait(800)  # longer than the reset / the hold: the answer still decides, no next take starts
    assert recorder.machine.held and recorder.phase is not Phase.RECORDING
    qtbot.mouseClick(question.throw_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    root = station.tmp_path / "ds"
    assert DatasetReader(root).total_episodes == 0
    assert find_spools(root) == ([], [])


def test_with_no_reset_time_a_take_that_ends_while_quit_asks_starts_no_next_take_until_answered(station, qtbot):
    window, controller = station.open(episodes=3, episode_time_s=1.0, reset_time_s=0)
    recorder = controller.session.recorder
    key(qtbot, window, Qt.Key.Key_Space)
    rows_at_least(qtbot, recorder)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)  # asks about the take ...
    question = controller.quitting.question
    assert question is not None and question.isVisible()
    with qtbot.waitSignal(recorder.state_changed, timeout=5000) as ended:  # ... whose time runs out meanwhile
        pass
    assert ended.args[0].before is Phase.RECORDING and Take.START not in ended.args[0].takes
    assert recorder.phase is not Phase.RECORDING and recorder.machine.held and recorder.loop.take is None
    assert "ended" in question.text() and recorder.machine.kept == 1
    qtbot.keyClick(question, Qt.Key.Key_Escape)  # cancel: the session goes on with the next take
    qtbot.waitUntil(lambda: recorder.phase is Phase.RECORDING, timeout=3000)
    assert not recorder.machine.held and recorder.machine.kept == 1
    rows_at_least(qtbot, recorder)
    window.close()
    question = controller.quitting.question
    assert question is not None
    qtbot.mouseClick(question.keep_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=20_000)
    root = station.tmp_path / "ds"
    assert DatasetReader(root).total_episodes == 2  # the take that ended while asked, and the one kept on quit
    assert find_spools(root) == ([], [])


def test_reset_from_ready_is_a_warm_up_that_never_starts_a_take_by_itself(station, qtbot):
    window, controller = station.open(reset_time_s=0.5)
    recorder = controller.session.recorder
    key(qtbot, window, Qt.Key.Key_Down)  # ↓: reset
    assert recorder.phase is Phase.RESETTING and recorder.machine.warmup
    assert window.session_bar.episode_label.text().startswith("Warm-up")
    with qtbot.waitSignal(recorder.state_changed, timeout=10_000) as blocker:
        pass
    assert blocker.args[0].after is Phase.IDLE and recorder.phase is Phase.IDLE
    assert controller.session.queue.jobs == [] and recorder.loop.take is None


def camera_station(station, qtbot, **kw):
    window, controller = station.open(**kw)
    cam = PluggableCamera("front", 32, 24)
    old = controller.devices.cameras[0]
    old.stop()
    cam.start()
    controller.devices.cameras[0] = cam
    controller.session.recorder.cameras[0] = cam
    controller.session.recorder.loop.cameras[0] = cam
    qtbot.waitUntil(lambda: cam.latest() is not None, timeout=3000)
    return window, controller, cam


def test_no_take_starts_while_a_camera_has_no_signal_and_it_reconnects_from_the_window(station, qtbot):
    window, controller, cam = camera_station(station, qtbot)
    recorder = controller.session.recorder
    cam.paused = True  # the cable is out
    qtbot.waitUntil(lambda: cam.stalled, timeout=3000)
    key(qtbot, window, Qt.Key.Key_Space)
    assert recorder.phase is Phase.IDLE
    said = window.messages.texts()[-1]
    assert "No take started" in said and "camera front has no signal" in said
    window.reconnect_cameras_action.trigger()  # Devices > Reconnect cameras: reopened without a restart
    qtbot.waitUntil(lambda: not cam.stalled, timeout=3000)
    key(qtbot, window, Qt.Key.Key_Space)
    assert recorder.phase is Phase.RECORDING


def test_a_camera_pulled_mid_take_ends_it_held_flagged_and_stops_the_next_take(station, qtbot):
    window, controller, cam = camera_station(station, qtbot, episodes=3, reset_time_s=0.0)
    recorder = controller.session.recorder
    key(qtbot, window, Qt.Key.Key_Space)
    rows_at_least(qtbot, recorder, 5)
    with qtbot.waitSignal(recorder.take_cut, timeout=10_000):
        cam.paused = True
    assert recorder.phase is Phase.STOPPED and recorder.loop.take is None  # no automatic next take
    job = controller.session.queue.jobs[0]
    assert job.held
    banner = next(b for b in window.messages.banners if "cut short" in b.text)
    assert any("Reconnect cameras" in b.text() for bb in window.messages.banners for b in bb.buttons)
    keep = next(b for b in banner.buttons if b.text() == "Keep it")
    with qtbot.waitSignal(controller.session.queue.job_saved, timeout=30_000):
        qtbot.mouseClick(keep, Qt.MouseButton.LeftButton)
    assert job.cadence is not None and job.cadence.stalled_cameras == ["front"]
    assert "camera front sent nothing" in job.cadence.interrupted
    assert check_dataset(station.tmp_path / "ds") == []


def test_episode_numbers_come_from_the_queue_after_a_failed_take_is_discarded(station, qtbot, monkeypatch):
    calls = {"n": 0}

    def fail_first(original):
        def prepare(spool, video, reporter):
            calls["n"] += 1
            if calls["n"] == 1:
                raise DiskFullError("the disk is full")
            return original(spool, video, reporter)

        return prepare

    window, controller = station.open(episodes=5, reset_time_s=30.0,
                                      queue_factory=with_prepare(monkeypatch, fail_first))
    recorder, queue = controller.session.recorder, controller.session.queue
    key(qtbot, window, Qt.Key.Key_Space)
    rows_at_least(qtbot, recorder)
    key(qtbot, window, Qt.Key.Key_N)
    assert "Next: episode 1" in window.session_bar.episode_label.text()
    qtbot.waitUntil(lambda: queue.jobs[0].status is JobStatus.FAILED, timeout=10_000)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    controller.discard(0)
    assert queue.jobs[0].status is JobStatus.CANCELLED
    # the session bar, the panel and the recorder agree with the dataset: the next take is episode 0
    qtbot.waitUntil(lambda: "Next: episode 0  ·  0 of 5 kept" in window.session_bar.episode_label.text(), timeout=3000)
    assert recorder.episode == 0 and recorder.machine.kept == 0
    key(qtbot, window, Qt.Key.Key_Space)
    assert queue.expected_episode(recorder.loop.take.job) == 0
    assert window.session_bar.episode_label.text().startswith("Episode 0")


def test_headless_device_failure_keeps_the_take_says_one_line_and_exits_3(tmp_path, monkeypatch, capsys, qapp):
    import station.session.devices as devices_module
    from station.commands.record import run_headless

    cam = PluggableCamera("front", 32, 24)

    def open_devices(_config):
        leader, follower = SimulatedLeader(), SimulatedFollower()
        leader.connect()
        follower.connect()
        cam.start()
        return Devices(leader, follower, [cam], simulated=True)

    monkeypatch.setattr(devices_module, "open_devices", open_devices)
    from PySide6.QtCore import QTimer

    QTimer.singleShot(1500, lambda: setattr(cam, "paused", True))  # pulled mid-take
    config = SessionConfig(root=tmp_path / "ds", repo_id="local/h", episodes=3, episode_time_s=30, reset_time_s=0,
                           fps=30, vcodec="h264", demo=True, cameras=[CameraSource("front", "testsrc", 32, 24)])
    assert run_headless(config) == 3
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if "camera front" in line]
    assert len(lines) == 1 and "kept (flagged)" in lines[0]
    assert "episode 0 saved" in out
    cam.stop()
    reader = DatasetReader(tmp_path / "ds")
    assert reader.total_episodes == 1
    assert check_dataset(tmp_path / "ds") == []


def test_settings_file_is_per_test(station):
    # guard: the station fixture's settings live in the test's own folder (the remembered task is per dataset)
    settings = QSettings(str(station.tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert settings.allKeys() == []

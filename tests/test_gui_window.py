"""The station window with simulated arms and small test-pattern cameras: actions, keys, saves, quitting."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QSettings, Qt
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox

from station.config import CameraSource, SessionConfig
from station.dataset.reader import DatasetReader
from station.errors import DiskFullError, HardwareError
from station.hardware.sim import PatternCamera, SimulatedFollower, SimulatedLeader
from station.joints import JOINT_FEATURE_NAMES
from station.saving.job import Cancelled, prepare_episode, prepare_live
from station.saving.queue import JobStatus, SaveQueue
from station.saving.recovery import find_spools
from station.session.devices import Devices
from station.session.state import TRANSITIONS, Event, Phase
from widgets import device_actions
from widgets.app import build_window
from widgets.save_queue_model import STAGE

EVENT_ACTIONS = {"record": Event.RECORD, "next": Event.NEXT, "rerecord": Event.RERECORD,
                 "reset": Event.RESET, "stop": Event.STOP}


def sim_devices() -> Devices:
    leader, follower = SimulatedLeader(), SimulatedFollower()
    leader.connect()
    follower.connect()
    cams = [PatternCamera("front", 32, 24), PatternCamera("wrist", 16, 12)]
    for cam in cams:
        cam.start()
    return Devices(leader, follower, list(cams), simulated=True)


class Station:
    """A window and controller on simulated hardware, closed (quitting anyway) at the end of the test."""

    def __init__(self, qtbot, tmp_path: Path) -> None:
        self.qtbot = qtbot
        self.tmp_path = tmp_path
        self.opened: list = []

    def open(self, root: Path | None = None, episodes: int = 3, episode_time_s: float = 30.0,
             reset_time_s: float = 30.0, resume: bool = False, queue_factory=None, task: str = "stack"):
        config = SessionConfig(
            root=root or self.tmp_path / "ds", repo_id="local/gui_test", task=task, episodes=episodes,
            episode_time_s=episode_time_s, reset_time_s=reset_time_s, fps=30, vcodec="h264", resume=resume,
            cameras=[CameraSource("front", "testsrc", 32, 24), CameraSource("wrist", "testsrc", 16, 12)],
        )
        settings = QSettings(str(self.tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window, controller = build_window(config, settings, devices=sim_devices(), queue_factory=queue_factory)
        self.qtbot.addWidget(window)
        self.opened.append((window, controller))
        controller.restore_settings()  # as the app does: placed on the screen, remembered layout if usable
        window.show()
        self.qtbot.waitExposed(window)
        controller.start()
        return window, controller

    def close_all(self) -> None:
        for _window, controller in self.opened:
            controller.quit_anyway()
            controller.shutdown()


@pytest.fixture
def station(qtbot, tmp_path, no_leaked_windows):
    s = Station(qtbot, tmp_path)
    yield s
    s.close_all()


def enabled_events(window) -> set[Event]:
    return {e for name, e in EVENT_ACTIONS.items() if window.keys[name].isEnabled()}


def assert_controls_follow_table(window, machine) -> None:
    allowed = {e for e in EVENT_ACTIONS.values() if machine.allowed(e)}
    assert enabled_events(window) == allowed
    for name, e in EVENT_ACTIONS.items():
        assert window.controls.buttons[name].isEnabled() == (e in allowed), name


def test_window_builds_with_simulated_hardware_and_shows_live_data(station, qtbot):
    window, controller = station.open()
    assert controller.session is not None
    qtbot.waitUntil(lambda: all(v.frames_drawn > 2 for v in window.cameras.views), timeout=5000)
    def points() -> int:
        x, _y = window.joints.leader_curves[0].getData()
        return 0 if x is None else len(x)

    qtbot.waitUntil(lambda: points() > 3, timeout=5000)
    assert [v.name for v in window.cameras.views] == ["front", "wrist"]
    assert window.session_bar.phase_label.text() == "READY"
    assert "Demo set-up" in " ".join(window.messages.texts())
    qtbot.waitUntil(lambda: "of 30 Hz" in window.status.loop_label.text(), timeout=3000)
    assert "simulated" in window.status.arms_label.text()
    assert "GB free" in window.status.disk_label.text()
    assert window.keys["record"].shortcutContext() == Qt.ShortcutContext.ApplicationShortcut
    assert "Space" in window.keys["record"].toolTip()


def test_camera_without_frames_shows_no_signal(station, qtbot):
    window, controller = station.open()
    assert controller.devices is not None
    cam = controller.devices.cameras[0]
    assert isinstance(cam, PatternCamera)
    cam.paused = True
    qtbot.waitUntil(lambda: window.cameras.views[0].canvas.no_signal != "", timeout=3000)
    cam.paused = False
    qtbot.waitUntil(lambda: window.cameras.views[0].canvas.no_signal == "", timeout=3000)


def test_each_action_fires_its_transition_and_controls_follow_the_table(station, qtbot):
    window, controller = station.open()
    recorder = controller.session.recorder
    assert_controls_follow_table(window, recorder.machine)
    assert set(TRANSITIONS) >= {(Phase.IDLE, e) for e in EVENT_ACTIONS.values() if recorder.allowed(e)}
    steps = [("record", Phase.RECORDING), ("rerecord", Phase.RESETTING), ("next", Phase.RECORDING),
             ("reset", Phase.RESETTING), ("rerecord", Phase.RESETTING), ("next", Phase.RECORDING),
             ("next", Phase.RESETTING), ("stop", Phase.STOPPED), ("record", Phase.RECORDING),
             ("stop", Phase.STOPPED), ("rerecord", Phase.STOPPED)]
    for name, phase in steps:
        with qtbot.waitSignal(recorder.state_changed, timeout=2000) as blocker:
            window.keys[name].trigger()
        assert blocker.args[0].event is EVENT_ACTIONS[name]
        assert recorder.phase is phase
        assert_controls_follow_table(window, recorder.machine)
        assert window.session_bar.phase_label.text().endswith(phase.name if phase is not Phase.RESETTING
                                                               else "RESET")
        if phase is Phase.RECORDING:  # a take with rows (an empty one is not kept, so not held)
            qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= 2, timeout=3000)


def test_a_take_recorded_with_the_actions_lands_in_the_dataset_with_the_task_shown(station, qtbot):
    window, controller = station.open(episodes=1, reset_time_s=1.0)
    recorder = controller.session.recorder
    edit = window.session_bar.task_edit
    edit.setText("put the red cube in the box")
    edit.returnPressed.emit()
    assert recorder.task == "put the red cube in the box"
    window.keys["record"].trigger()
    assert edit.isReadOnly()
    qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= 10, timeout=5000)
    with qtbot.waitSignal(recorder.finished, timeout=30000):
        window.keys["next"].trigger()  # the only episode: next ends the session, the take held for 1 s
        assert recorder.machine.held and "to throw it away (←)" in window.session_bar.countdown_label.text()
    assert recorder.phase is Phase.STOPPED
    reader = DatasetReader(controller.config.root)
    assert reader.total_episodes == 1
    assert reader.tasks == ["put the red cube in the box"]
    model = window.queue_model
    # "saved as episode 0", then the take's quality flags if it has any
    assert model.rowCount() == 1 and model.index(0, STAGE).data().startswith("saved as episode 0")
    assert "Last take:" in window.session_bar.cadence_label.text()
    qtbot.waitUntil(lambda: "All takes saved" in window.queue_panel.summary.text(), timeout=3000)


def test_save_queue_model_passes_the_model_tester(station, qtbot, qtmodeltester):
    window, controller = station.open(episodes=3, reset_time_s=0.0)
    model = window.queue_model
    qtmodeltester.check(model)  # and keeps checking the rows inserted and changed below
    recorder = controller.session.recorder
    window.keys["record"].trigger()
    for _ in range(2):
        qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= 3, timeout=5000)
        window.keys["next"].trigger()
    with qtbot.waitSignal(recorder.finished, timeout=30000):
        qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= 3, timeout=5000)
        window.keys["stop"].trigger()
    assert model.rowCount() == 3
    assert [model.index(r, 0).data() for r in range(3)] == ["0", "1", "2"]
    qtmodeltester.check(model)


def with_prepare(monkeypatch, wrap):
    """A queue factory whose prepare functions (from a finished spool, and while recording) are wrapped by
    `wrap`."""
    return lambda writer: SaveQueue(writer, prepare=wrap(prepare_episode), prepare_live=wrap(prepare_live))


def test_a_failed_save_shows_its_reason_and_retry_saves_it(station, qtbot, monkeypatch):
    calls = {"n": 0}

    def fail_once(original):
        def prepare(spool, video, reporter):
            calls["n"] += 1
            if calls["n"] == 1:
                raise DiskFullError("the disk holding the dataset is full: free some space, then press Retry")
            return original(spool, video, reporter)

        return prepare

    window, controller = station.open(episodes=1, reset_time_s=1.0,  # the last take is held 1 s after it ends
                                      queue_factory=with_prepare(monkeypatch, fail_once))
    queue = controller.session.queue
    recorder = controller.session.recorder
    with qtbot.waitSignal(queue.job_failed, timeout=10000):
        window.keys["record"].trigger()
        qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= 5, timeout=5000)
        window.keys["next"].trigger()
    qtbot.waitUntil(lambda: recorder.phase is Phase.STOPPED and not recorder.finished_takes, timeout=5000)
    model = window.queue_model
    assert model.index(0, STAGE).data().startswith("failed: the disk holding the dataset is full")
    assert any("could not be saved" in t and "disk holding" in t for t in window.messages.texts())
    panel = window.queue_panel
    assert panel.selected_row() == 0 and panel.retry_button.isEnabled() and panel.discard_button.isEnabled()
    with qtbot.waitSignal(queue.job_saved, timeout=30000):
        qtbot.mouseClick(panel.retry_button, Qt.MouseButton.LeftButton)
    assert queue.jobs[0].status is JobStatus.DONE
    assert DatasetReader(controller.config.root).total_episodes == 1
    assert not panel.retry_button.isEnabled()


class Gate:
    """Wraps prepare functions to wait for the test to open the gate, giving up when the take is cancelled."""

    def __init__(self) -> None:
        self.open = threading.Event()

    def wrap(self, original):
        def prepare(spool, video, reporter):
            reporter.stage("encoding front")
            while not self.open.wait(0.01):
                if reporter.cancelled:
                    raise Cancelled()
            return original(spool, video, reporter)

        return prepare


def test_quit_with_saves_pending_shows_progress_and_waits_for_them(station, qtbot, monkeypatch):
    gate = Gate()
    window, controller = station.open(queue_factory=with_prepare(monkeypatch, gate.wrap))
    try:
        recorder = controller.session.recorder
        window.keys["record"].trigger()
        qtbot.waitUntil(lambda: recorder.loop.take.rows >= 5, timeout=5000)
        window.keys["next"].trigger()  # into the reset phase: the take is held, its save waits at the gate
        qtbot.waitUntil(lambda: len(controller.session.queue.jobs) == 1, timeout=5000)
        window.keys["quit"].trigger()
        assert window.isVisible()
        dialog = controller.quitting.dialog
        assert dialog is not None and dialog.isVisible()
        assert recorder.phase is Phase.STOPPED
        assert dialog.label.text().startswith("Quitting when saving is done: 1 take to save, 0 of 1 saved…")
        assert not enabled_events(window)
    finally:
        gate.open.set()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30000)
    assert DatasetReader(station.tmp_path / "ds").total_episodes == 1


def test_quit_anyway_leaves_the_take_for_recovery_and_the_next_start_saves_it(station, qtbot, monkeypatch):
    gate = Gate()
    window, controller = station.open(queue_factory=with_prepare(monkeypatch, gate.wrap))
    recorder = controller.session.recorder
    window.keys["record"].trigger()
    qtbot.waitUntil(lambda: recorder.loop.take.rows >= 5, timeout=5000)
    window.keys["quit"].trigger()  # during a take: keep it, throw it away, or cancel?
    question = controller.quitting.question
    assert question is not None and question.isVisible()
    qtbot.mouseClick(question.keep_button, Qt.MouseButton.LeftButton)  # kept; its save waits at the gate
    assert controller.quitting.dialog is not None
    qtbot.waitUntil(lambda: len(controller.session.queue.jobs) == 1, timeout=5000)
    job = controller.session.queue.jobs[0]
    qtbot.waitUntil(lambda: job.recorded, timeout=5000)  # the take kept has ended: the dialog says so, as the panel
    assert "Episode 0: recording" not in controller.quitting.dialog.label.text()
    qtbot.mouseClick(controller.quitting.dialog.quit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10000)
    root = station.tmp_path / "ds"
    complete, partial = find_spools(root)
    assert len(complete) == 1 and not partial

    gate.open.set()
    window2, controller2 = station.open(resume=True)
    assert "1 take from the last session was not saved: saving it now as episode 0." in window2.messages.texts()
    assert window2.queue_model.rowCount() == 1
    qtbot.waitUntil(lambda: controller2.session.queue.jobs[0].status is JobStatus.DONE, timeout=30000)
    assert DatasetReader(root).total_episodes == 1
    assert not any("from the last session" in t for t in window2.messages.texts())  # saved: said no more
    assert controller2.session.recorder.episode == 1  # the next take is numbered after the recovered one


def focus(qtbot, widget) -> None:
    window = widget.window()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    widget.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(widget.hasFocus, timeout=3000)


def test_keys_work_from_any_focused_widget_but_type_in_the_task_field(station, qtbot):
    window, controller = station.open()
    recorder = controller.session.recorder
    table = window.queue_panel.table
    focus(qtbot, table)
    qtbot.keyClick(table, Qt.Key.Key_Space)
    assert recorder.phase is Phase.RECORDING
    qtbot.waitUntil(lambda: recorder.loop.take.rows >= 3, timeout=5000)
    qtbot.keyClick(table, Qt.Key.Key_N)
    assert recorder.phase is Phase.RESETTING

    edit = window.session_bar.task_edit
    assert not edit.isReadOnly()
    focus(qtbot, edit)
    edit.selectAll()
    qtbot.keyClicks(edit, "Rest n Queue")  # R (re-record), Space (record), N (next), Q (stop) all type here
    qtbot.keyClick(edit, Qt.Key.Key_Left)
    qtbot.keyClick(edit, Qt.Key.Key_Right)
    assert edit.text() == "Rest n Queue"
    assert recorder.phase is Phase.RESETTING
    qtbot.keyClick(edit, Qt.Key.Key_Escape)  # leaves the field (and keeps the text); it does not stop
    assert recorder.phase is Phase.RESETTING and not edit.hasFocus()
    assert recorder.task == "Rest n Queue"

    plots = window.joints
    focus(qtbot, plots)
    qtbot.keyClick(plots, Qt.Key.Key_Right)  # next: the reset ends, the next take starts
    assert recorder.phase is Phase.RECORDING
    qtbot.keyClick(plots, Qt.Key.Key_R)  # re-record in a take: thrown away, then a reset phase
    assert recorder.phase is Phase.RESETTING and recorder.episode == 1
    qtbot.keyClick(plots, Qt.Key.Key_Escape)
    assert recorder.phase is Phase.STOPPED


def test_an_open_menus_letters_pick_its_items_and_never_act_on_the_take(station, qtbot):
    window, controller = station.open()
    recorder = controller.session.recorder
    focus(qtbot, window.joints)
    qtbot.keyClick(window.joints, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= 3, timeout=5000)
    reconnects = []
    window.reconnect_cameras_action.triggered.connect(lambda: reconnects.append(1))
    devices = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Devices")
    devices.popup(window.mapToGlobal(QPoint(0, 0)))
    qtbot.waitUntil(devices.isVisible, timeout=3000)
    qtbot.keyClick(devices, Qt.Key.Key_R)  # Reconnect cameras' letter: not Re-record, which throws the take away
    qtbot.waitUntil(lambda: reconnects == [1], timeout=3000)
    assert recorder.phase is Phase.RECORDING and not devices.isVisible()
    review = window.findChild(QMenu, "reviewMenu")
    review.popup(window.mapToGlobal(QPoint(0, 0)))
    qtbot.waitUntil(review.isVisible, timeout=3000)
    qtbot.keyClick(review, Qt.Key.Key_Escape)  # closes the menu; it does not stop the session
    qtbot.waitUntil(lambda: not review.isVisible(), timeout=3000)
    assert recorder.phase is Phase.RECORDING
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Escape)  # with the menu closed, Esc stops
    assert recorder.phase is Phase.STOPPED


def test_clicking_a_save_queue_row_does_not_take_the_recording_keys(station, qtbot):
    window, controller = station.open()
    recorder = controller.session.recorder
    table = window.queue_panel.table
    plots = window.joints
    focus(qtbot, plots)
    qtbot.keyClick(plots, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: recorder.loop.take.rows >= 3, timeout=5000)
    qtbot.keyClick(plots, Qt.Key.Key_N)  # kept: its row is in the queue
    qtbot.waitUntil(lambda: table.model().rowCount() >= 1, timeout=5000)
    row = table.visualRect(table.model().index(0, 1)).center()
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=row)  # the operator picks a row
    assert table.selectionModel().hasSelection()  # selected by the mouse, as before
    assert not table.hasFocus()  # it never takes the keyboard's focus
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Right)  # next: the next take starts
    assert recorder.phase is Phase.RECORDING
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_Escape)
    assert recorder.phase is Phase.STOPPED


def test_an_unusable_root_is_said_in_the_window_with_a_way_out(station, qtbot, tmp_path):
    root = tmp_path / "not-a-dataset"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    window, controller = station.open(root=root)
    assert controller.session is None
    texts = " ".join(window.messages.texts())
    assert "not a LeRobot dataset" in texts
    assert not enabled_events(window)
    assert window.session_bar.phase_label.text() == "NO SESSION"
    assert (root / "notes.txt").read_text() == "mine"


def test_an_existing_dataset_can_be_appended_to_from_the_banner(station, qtbot, tmp_path):
    root = tmp_path / "ds"
    window, controller = station.open(root=root)
    controller.quit_anyway()
    window2, controller2 = station.open(root=root)
    assert controller2.session is None
    banner = next(b for b in window2.messages.banners if "already holds a dataset" in b.text)
    assert "to be saved" not in banner.text  # no take was left unsaved (widgets.presenters.waiting_takes_words)
    append = next(b for b in banner.buttons if b.text() == "Append to it")
    qtbot.mouseClick(append, Qt.MouseButton.LeftButton)
    assert controller2.session is not None and controller2.session.config.resume
    assert window2.keys["record"].isEnabled()


def test_an_arm_error_stops_the_take_and_says_so(station, qtbot):
    window, controller = station.open()
    recorder = controller.session.recorder
    window.keys["record"].trigger()
    qtbot.waitUntil(lambda: recorder.loop.take.rows >= 3, timeout=5000)
    follower = controller.devices.follower

    def unplugged():
        raise HardwareError("the follower arm on /dev/ttyACM0 stopped answering")

    follower.read = unplugged
    qtbot.waitUntil(lambda: recorder.phase is Phase.STOPPED, timeout=5000)
    qtbot.waitUntil(lambda: any(t.startswith("The follower arm stopped answering") for t in window.messages.texts())
                    and "Follower torque off, confirmed." in window.messages.texts(), timeout=3000)
    assert not follower.torque_enabled
    arm = next(t for t in window.messages.texts() if t.startswith("The follower arm stopped answering"))
    assert not arm.endswith("Switching the follower's torque off…")  # read back: its own banner says how it went
    assert "Connect arms" in arm
    qtbot.waitUntil(lambda: "error" in window.status.arms_label.text(), timeout=3000)
    assert window.joints.plots and window.joints.overlay.no_data  # the lines stand still: said over them
    # the take so far is held for Keep / Drop, not kept silently; Space says why nothing starts
    banner = next(b for b in window.messages.banners if "cut short" in b.text)
    assert recorder.machine.cut and controller.session.queue.jobs[0].held
    window.keys["record"].trigger()
    assert recorder.phase is Phase.STOPPED
    assert any("No take started" in t for t in window.messages.texts())
    device_actions.disconnect_arms(controller)  # refused: said is what is in the way, the answer about the take
    assert any(t.startswith("The arms can be disconnected once you keep or drop the take cut short")
               for t in window.messages.texts())
    drop = next(b for b in banner.buttons if b.text() == "Drop it")
    qtbot.mouseClick(drop, Qt.MouseButton.LeftButton)
    assert not recorder.machine.cut and controller.session.queue.jobs[0].status is JobStatus.CANCELLED
    # connected again: the arms run, and what was said about the torque before goes with the arm's banner
    assert device_actions.connect_arms(controller, None)
    qtbot.waitUntil(lambda: not any("torque" in t or "stopped answering" in t for t in window.messages.texts()),
                    timeout=3000)


def test_no_display_says_how_to_run_headless(monkeypatch, capsys):
    import argparse

    from widgets.app import run_window

    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert run_window(argparse.Namespace()) == 2
    err = capsys.readouterr().err
    assert "--headless" in err and "Traceback" not in err
    assert err.startswith("station: no display")  # the error line of the command that ran: `station` ...
    assert run_window(argparse.Namespace(command="record")) == 2
    assert capsys.readouterr().err.startswith("station record: no display")  # ... or `station record`


def test_the_countdown_holds_while_the_task_is_typed_and_the_next_take_records_it(station, qtbot):
    window, controller = station.open(reset_time_s=1.0)
    recorder = controller.session.recorder
    window.keys["record"].trigger()
    qtbot.waitUntil(lambda: recorder.loop.take.rows >= 3, timeout=5000)
    window.keys["next"].trigger()
    assert recorder.phase is Phase.RESETTING
    edit = window.session_bar.task_edit
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    qtbot.keyClick(window.joints, Qt.Key.Key_F2)  # F2: the cursor in the task field, its text selected
    qtbot.waitUntil(edit.hasFocus, timeout=3000)
    assert recorder.countdown_held and not recorder._phase_timer.isActive()
    qtbot.keyClicks(edit, "wipe the table")  # letters and Space type; none is a shortcut
    qtbot.keyClick(edit, Qt.Key.Key_Down)  # nor is ↓ (reset)
    qtbot.waitUntil(lambda: "held while you type" in window.session_bar.countdown_label.text(), timeout=3000)
    assert recorder.phase is Phase.RESETTING and edit.text() == "wipe the table"
    with qtbot.waitSignal(recorder.state_changed, timeout=10_000,
                          check_params_cb=lambda step: step.after is Phase.RECORDING):
        qtbot.keyClick(edit, Qt.Key.Key_Return)  # the countdown goes on; the next take records the new task
        assert not recorder.countdown_held and recorder.task == "wipe the table"
    assert edit.text() == "wipe the table" and edit.isReadOnly()
    assert recorder.loop.take.spool.info.task == "wipe the table"


def test_record_pressed_while_typing_takes_the_typed_task(station, qtbot):
    window, controller = station.open(reset_time_s=30.0)
    recorder = controller.session.recorder
    window.keys["record"].trigger()
    qtbot.waitUntil(lambda: recorder.loop.take.rows >= 3, timeout=5000)
    window.keys["next"].trigger()
    edit = window.session_bar.task_edit
    focus(qtbot, edit)
    edit.selectAll()
    qtbot.keyClicks(edit, "half typed")
    window.controls.buttons["record"].click()  # the mouse on Record while the text is not committed
    assert recorder.phase is Phase.RECORDING
    assert recorder.loop.take.spool.info.task == "half typed" == edit.text()  # shown = recorded


def test_settings_remember_the_task_per_dataset_and_the_layout(station, qtbot, tmp_path, monkeypatch):
    from widgets.main_window import MainWindow

    monkeypatch.setattr(MainWindow, "available_rect", lambda self: (0, 0, 1366, 768))
    default = SessionConfig.__dataclass_fields__["task"].default
    window, controller = station.open(root=tmp_path / "a", task=default)
    qtbot.waitUntil(window.layout_usable, timeout=3000)
    edit = window.session_bar.task_edit
    edit.setText("fold the towel")
    edit.returnPressed.emit()
    controller.quit_anyway()
    settings = QSettings(str(station.tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    assert settings.value("window/geometry") is not None and settings.value("window/state") is not None
    window_b, controller_b = station.open(root=tmp_path / "b", task=default)  # another dataset
    assert controller_b.session.recorder.task == default and window_b.session_bar.task_edit.text() == default
    controller_b.quit_anyway()
    window_a, controller_a = station.open(root=tmp_path / "a", task=default, resume=True)  # resuming A
    assert controller_a.session.recorder.task == "fold the towel"
    assert window_a.session_bar.task_edit.text() == "fold the towel"


def test_keys_are_shortcuts_from_the_start_not_typing_in_the_task_field(station, qtbot):
    window, controller = station.open()
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    focused = QApplication.focusWidget()
    assert focused is not None and focused is not window.session_bar.task_edit
    qtbot.keyClick(focused, Qt.Key.Key_Space)
    assert controller.session.recorder.phase is Phase.RECORDING
    assert window.session_bar.task_edit.text() == "stack"


def test_a_bug_in_a_slot_is_said_in_one_line_not_a_traceback_dialog(station, qtbot):
    from widgets.app import plain_words_hook

    window, controller = station.open()
    try:
        raise ValueError("bad frame size")
    except ValueError as e:
        plain_words_hook(controller)(type(e), e, e.__traceback__)
    texts = " ".join(window.messages.texts())
    assert "Something went wrong inside the station (ValueError: bad frame size)" in texts
    assert "Traceback" not in texts


def test_discarding_a_failed_take_asks_then_drops_it(station, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    def always_fail(_original):
        def prepare(spool, video, reporter):
            raise DiskFullError("the disk holding the dataset is full: free some space, then press Retry")

        return prepare

    window, controller = station.open(episodes=1, queue_factory=with_prepare(monkeypatch, always_fail))
    queue, recorder = controller.session.queue, controller.session.recorder
    with qtbot.waitSignal(queue.job_failed, timeout=10000):
        window.keys["record"].trigger()
        qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= 3, timeout=5000)
        window.keys["next"].trigger()
    qtbot.waitUntil(lambda: recorder.phase is Phase.STOPPED and not recorder.finished_takes, timeout=5000)
    asked: list[str] = []

    def answer(_parent, _title, text, *args, **kwargs):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", answer)
    qtbot.mouseClick(window.queue_panel.discard_button, Qt.MouseButton.LeftButton)
    assert asked and "cannot be undone" in asked[0]
    assert queue.jobs[0].status is JobStatus.CANCELLED
    assert window.queue_model.index(0, 0).data() == "—"
    panel = window.queue_panel
    qtbot.waitUntil(lambda: panel.visible_rows() == 0, timeout=2000)  # row changes are announced together
    assert panel.thrown_away_button.text() == "▸ 1 thrown away"
    panel.thrown_away_button.click()
    assert panel.visible_rows() == 1 and panel.kept.index(0, STAGE).data().startswith("thrown away")
    qtbot.waitUntil(lambda: not queue.jobs[0].spool_dir.exists(), timeout=5000)


def crash_cut_take(root: Path, rows: int = 12) -> Path:
    """A take the way a crash leaves it: rows and frames on disk, never finished (no done.json)."""
    import time as _time

    import numpy as np

    from station.saving.spool import SpoolWriter, TakeInfo

    info = TakeInfo("stack", 30, "so_follower", list(JOINT_FEATURE_NAMES),  # the dataset's own joints
                    [{"name": "front", "width": 32, "height": 24}, {"name": "wrist", "width": 16, "height": 12}],
                    _time.time())
    writer = SpoolWriter.create(root, info)
    for i in range(rows):
        a = np.full(6, i, np.float32)
        images = {"front": np.zeros((24, 32, 3), np.uint8), "wrist": np.zeros((12, 16, 3), np.uint8)}
        writer.append(i / 30, a, a, images)
    writer._queue.put(None)  # the process dies here: no finish()
    writer._thread.join()
    writer._close()
    return writer.directory


@pytest.mark.parametrize("choice, episodes", [("Keep it", 1), ("Drop it", 0)])
def test_the_operator_keeps_or_drops_a_take_cut_short_by_a_crash(station, qtbot, choice, episodes):
    window, controller = station.open()
    controller.quit_anyway()
    controller.shutdown()
    root = station.tmp_path / "ds"
    spool = crash_cut_take(root)

    window2, controller2 = station.open(resume=True)
    queue = controller2.session.queue
    banner = next(b for b in window2.messages.banners if "cut short by a crash" in b.text)
    assert "12 frames" in banner.text
    job = queue.jobs[0]
    qtbot.waitUntil(lambda: job.prepared is not None, timeout=10_000)
    assert DatasetReader(root).total_episodes == 0  # nothing is committed before the operator decides
    button = next(b for b in banner.buttons if b.text() == choice)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not job.pending, timeout=10_000)
    assert DatasetReader(root).total_episodes == episodes
    if episodes:
        assert DatasetReader(root).episodes()[0]["length"] == 12
        from station.dataset.episode_facts import read_episode_facts

        assert "cut-short" in read_episode_facts(root)[0].flags  # as a take cut by a device or a full disk
    assert not spool.exists()


def test_a_take_cut_short_by_a_crash_is_asked_about_again_after_another_crash_before_the_answer(station, qtbot):
    window, controller = station.open()
    controller.quit_anyway()
    controller.shutdown()
    root = station.tmp_path / "ds"
    crash_cut_take(root)
    window2, controller2 = station.open(resume=True)
    assert any("cut short by a crash" in t for t in window2.messages.texts())
    controller2.quit_anyway()  # as a crash would: the question not answered
    controller2.shutdown()

    window3, controller3 = station.open(resume=True)
    assert any("cut short by a crash" in t for t in window3.messages.texts())  # asked again, not saved silently
    job = controller3.session.queue.jobs[0]
    assert job.held and job.pending and DatasetReader(root).total_episodes == 0


def record_with_a_failing_live_save(station, qtbot, error: OSError):
    """The window recording a take whose live save has failed with `error`."""

    def live_encoder_that_fails(spool, video, reporter):
        reporter.stage("encoding front")
        raise error

    window, controller = station.open(
        queue_factory=lambda writer: SaveQueue(writer, prepare_live=live_encoder_that_fails))
    with qtbot.waitSignal(controller.session.queue.job_failed, timeout=10_000):
        window.keys["record"].trigger()
    return window, controller


def test_quit_finishes_after_a_live_save_failed_mid_take_and_was_discarded(station, qtbot, monkeypatch):
    """Issue 9 defect 1 in the window: the live save fails while its take is still recorded, the operator discards
    it, the take ends; Ctrl+Q must then close the window (the queue's worker is released, so `idle` comes)."""

    window, controller = record_with_a_failing_live_save(station, qtbot, OSError(5, "Input/output error"))
    queue = controller.session.queue
    recorder = controller.session.recorder
    assert recorder.phase is Phase.RECORDING  # the take goes on; its save has failed
    monkeypatch.setattr("widgets.controller.QMessageBox.question",
                        lambda *_a, **_k: QMessageBox.StandardButton.Yes)
    window.queue_panel.table.selectRow(0)
    qtbot.mouseClick(window.queue_panel.discard_button, Qt.MouseButton.LeftButton)
    assert queue.jobs[0].status is JobStatus.CANCELLED
    window.keys["next"].trigger()  # the take ends: a reset follows
    qtbot.waitUntil(lambda: recorder.phase is Phase.RESETTING, timeout=5000)
    window.keys["quit"].trigger()  # stops the reset and waits for the saves: there is none left to wait for
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=30_000)
    assert queue.workers == 0 and find_spools(station.tmp_path / "ds") == ([], [])


def test_quit_with_takes_waiting_behind_a_failed_save_asks_instead_of_waiting_for_ever(station, qtbot):
    calls = {"n": 0}

    def first_live_save_fails(spool, video, reporter):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(1, "Operation not permitted")
        return prepare_live(spool, video, reporter)

    window, controller = station.open(
        reset_time_s=0.0, queue_factory=lambda writer: SaveQueue(writer, prepare_live=first_live_save_fails))
    queue, recorder = controller.session.queue, controller.session.recorder
    with qtbot.waitSignal(queue.job_failed, timeout=10_000):
        window.keys["record"].trigger()
    qtbot.waitUntil(lambda: recorder.loop.take.rows >= 3, timeout=5000)
    window.keys["next"].trigger()  # a second take, whose save waits for the failed one ahead of it
    qtbot.waitUntil(lambda: len(queue.jobs) == 2 and recorder.loop.take.rows >= 3, timeout=5000)
    window.keys["quit"].trigger()  # during the second take: keep it
    qtbot.mouseClick(controller.quitting.question.keep_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: controller.quitting.failed_question is not None, timeout=30_000)
    assert queue.jobs[1].pending and queue.stuck_on is queue.jobs[0]  # it would wait for ever
    assert "1 take could not be saved" in controller.quitting.failed_question.text()
    qtbot.mouseClick(controller.quitting.failed_question.back_button, Qt.MouseButton.LeftButton)
    assert window.isVisible() and controller.quitting.dialog is None  # back to Retry or Discard it


def test_quit_with_a_failed_save_asks_before_leaving_it_for_the_next_start(station, qtbot):
    """Nothing left to wait for, but a take not saved: quitting says so (it closed silently), Go back stays."""

    window, controller = record_with_a_failing_live_save(station, qtbot, OSError(28, "No space left on device"))
    recorder = controller.session.recorder
    window.keys["next"].trigger()  # the take ends, its save has failed
    qtbot.waitUntil(lambda: recorder.phase is Phase.RESETTING, timeout=5000)
    window.keys["quit"].trigger()
    qtbot.waitUntil(lambda: controller.quitting.failed_question is not None, timeout=30_000)
    question = controller.quitting.failed_question
    assert "1 take could not be saved" in question.text() and window.isVisible()
    qtbot.mouseClick(question.back_button, Qt.MouseButton.LeftButton)  # to Retry or Discard it first
    assert controller.quitting.failed_question is None and window.isVisible()
    window.keys["quit"].trigger()
    qtbot.waitUntil(lambda: controller.quitting.failed_question is not None, timeout=5000)
    qtbot.mouseClick(controller.quitting.failed_question.quit_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=10_000)
    complete, partial = find_spools(station.tmp_path / "ds")
    assert len(complete) == 1 and not partial  # left on disk for the next start


def f2_in_a_take(station, qtbot):
    """A session recording its first take ("stack"), the task field opened with F2: (window, recorder, edit)."""
    window, controller = station.open(reset_time_s=1.0)
    recorder = controller.session.recorder
    edit = window.session_bar.task_edit
    window.keys["record"].trigger()
    qtbot.waitUntil(lambda: recorder.loop.take is not None and recorder.loop.take.rows >= 3, timeout=5000)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    qtbot.keyClick(window.joints, Qt.Key.Key_F2)
    qtbot.waitUntil(edit.hasFocus, timeout=3000)
    return window, recorder, edit


def test_f2_during_a_take_types_the_next_takes_task_and_no_letter_reaches_the_takes_keys(station, qtbot):
    window, recorder, edit = f2_in_a_take(station, qtbot)
    take = recorder.loop.take
    assert not edit.isReadOnly() and not recorder.countdown_held  # the take runs its course
    assert any("this take keeps “stack”" in b.text for b in window.messages.banners)
    assert "Enter or Esc: the keys again" in window.session_bar.hint_label.text()
    qtbot.keyClicks(edit, "Reach n Quit")  # R (re-record), N (next), Q (stop) and Space only type
    assert recorder.phase is Phase.RECORDING and recorder.loop.take is take
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert recorder.task == "Reach n Quit" and take.spool.info.task == "stack"  # this take keeps its task
    assert edit.isReadOnly() and not edit.hasFocus()  # every key a shortcut again
    assert "keep the take" in window.session_bar.hint_label.text()
    assert any("The next take records “Reach n Quit”; this one keeps “stack”" in b.text
               for b in window.messages.banners)
    with qtbot.waitSignal(recorder.state_changed, timeout=10_000,
                          check_params_cb=lambda step: step.after is Phase.RECORDING):
        window.keys["next"].trigger()  # keep it; the reset of 1 s runs out
    assert recorder.loop.take.spool.info.task == "Reach n Quit"


def test_what_f2_said_of_this_take_goes_when_the_take_ends_while_typing(station, qtbot):
    window, recorder, edit = f2_in_a_take(station, qtbot)
    qtbot.keyClicks(edit, "wipe")
    assert any("this take keeps" in b.text for b in window.messages.banners)
    assert recorder.try_fire(Event.TIME_UP)  # the take's time runs out while the text is being typed
    qtbot.waitUntil(lambda: recorder.phase is Phase.RESETTING, timeout=5000)
    assert not any("this take" in b.text or "this one" in b.text for b in window.messages.banners)  # past now
    assert edit.hasFocus() and "Typing the task" in window.session_bar.hint_label.text()


def test_f2_during_a_take_then_another_window_gives_the_take_its_keys_back(station, qtbot):
    from PySide6.QtWidgets import QWidget

    window, _recorder, edit = f2_in_a_take(station, qtbot)
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    other.activateWindow()  # the operator looks at another window, the text unchanged
    qtbot.waitUntil(lambda: QApplication.activeWindow() is other, timeout=3000)
    assert edit.isReadOnly() and window.focusWidget() is not edit
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=3000)
    assert not edit.hasFocus() and "keep the take" in window.session_bar.hint_label.text()
    qtbot.keyClick(window.focusWidget() or window, Qt.Key.Key_F2)  # a second F2 names the take's own task
    assert any("this take keeps “stack”" in b.text for b in window.messages.banners)

"""The Devices menu: arms and cameras change without a restart; a device that will not open changes nothing."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from station.config import CameraSource
from station.hardware.cameras import V4L2Device, V4L2Mode
from station.session.devices import Devices
from tests.test_gui_window import Station, sim_devices
from widgets import device_actions
from widgets.banners import DEVICES
from widgets.calibration_dialog import CalibrationDialog
from widgets.device_choices import (
    TEST_PATTERN,
    camera_choices,
    device_advice,
    setting_label,
    sources_problem,
)
from widgets.devices_dialogs import ArmsDialog, CamerasDialog


def test_choices_and_advice_without_a_window(tmp_path):
    assert [c.source for c in camera_choices(30, str(tmp_path / "video*"))] == [TEST_PATTERN]
    sources, problem = sources_problem([("front", "testsrc", (640, 480, None)), ("wrist", "/dev/video2", None),
                                        ("top", "/dev/video4", (1280, 720, "YUYV"))])
    assert problem == "" and sources[0] == CameraSource("front", "testsrc", 640, 480)
    assert sources[2] == CameraSource("top", "/dev/video4", 1280, 720, "YUYV")
    assert sources_problem([("a", "testsrc", None), ("a", "testsrc", None)])[1] == "two cameras have the same name"
    assert "bad camera name" in sources_problem([("front cam", "testsrc", None)])[1]
    assert "Devices > Cameras" in device_advice("camera front cannot open /dev/video9: No such device")
    assert "Devices > Connect arms" in device_advice("the follower arm on /dev/ttyACM0 did not answer")


@pytest.fixture
def station(qtbot, tmp_path, no_leaked_windows):
    s = Station(qtbot, tmp_path)
    yield s
    s.close_all()


def test_arms_dialog_lists_the_ports_present(qtbot):
    dialog = ArmsDialog(None, list_ports=lambda: ["/dev/ttyACM0", "/dev/ttyACM1"])
    qtbot.addWidget(dialog)
    assert dialog.follower_port.currentText() == "/dev/ttyACM0" and dialog.leader_port.currentText() == "/dev/ttyACM1"
    assert dialog.connect_button.isEnabled()
    dialog.leader_port.setCurrentText("/dev/ttyACM0")
    assert not dialog.connect_button.isEnabled() and "same port" in dialog.problem.text()
    dialog.leader_port.setCurrentText("/dev/pts/7")  # a port not listed (an emulator's) can be typed
    arms = dialog.arms()
    assert arms is not None and arms.leader_port == "/dev/pts/7"
    only_the_pcs = ArmsDialog(None, list_ports=lambda: ["/dev/ttyS0", "/dev/ttyS1"])
    qtbot.addWidget(only_the_pcs)  # no USB adapter plugged in: no port is guessed, none can be connected
    assert only_the_pcs.follower_port.currentText() == "" and only_the_pcs.leader_port.currentText() == ""
    assert only_the_pcs.follower_port.count() == 2 and not only_the_pcs.connect_button.isEnabled()


def test_cameras_change_from_the_window_and_a_wrong_source_changes_nothing(station, qtbot, tmp_path):
    window, controller = station.open()
    window.cameras_action.trigger()
    dialog = window.device_dialog
    assert isinstance(dialog, CamerasDialog)
    assert [r[:2] for r in dialog.rows()] == [("front", "testsrc"), ("wrist", "testsrc")]
    dialog.reject()
    working = controller.session
    assert not device_actions.set_cameras(controller, (CameraSource("front", str(tmp_path / "missing.mp4")),
                                                       CameraSource("wrist", "testsrc", 16, 12)))
    texts = " ".join(window.messages.texts())
    assert "Devices > Cameras" in texts and "connected again" in texts
    assert sum("missing.mp4" in t for t in window.messages.texts()) == 1  # said once, not twice side by side
    assert controller.session is not None and controller.session is not working
    assert [c.name for c in controller.devices.cameras] == ["front", "wrist"]
    # the same names and sizes from other sources: the session goes on in the same dataset
    assert device_actions.set_cameras(controller, (CameraSource("front", "testsrc", 32, 24),
                                                   CameraSource("wrist", "testsrc", 16, 12)))
    assert not any("missing.mp4" in t for t in window.messages.texts())  # the failed change is past
    assert controller.session.config.root == tmp_path / "ds"
    assert [type(c).__name__ for c in controller.devices.cameras] != ["PatternCamera", "PatternCamera"]


def test_disconnect_and_connect_the_arms_without_a_restart(station, qtbot):
    window, controller = station.open()
    window.disconnect_arms_action.trigger()
    assert controller.session is None and controller.devices is None
    assert DEVICES in window.messages.topics()
    assert device_actions.connect_arms(controller, None)  # the simulated arms (the test station is a demo)
    assert controller.session is not None and controller.session.recorder.loop.running
    qtbot.waitUntil(lambda: DEVICES not in window.messages.topics(), timeout=3000)


def test_calibration_releases_the_arms_and_connects_them_again(station, qtbot, monkeypatch):
    def real_looking() -> Devices:
        devices = sim_devices()
        devices.simulated = False  # as real arms: their ports must be released for calibration
        return devices

    window, controller = station.open()
    controller.devices.close()
    controller._close_session()
    controller.devices = real_looking()
    controller._open_session(controller.config)
    window.calibrate_action.trigger()
    dialog = controller._cal_dialog
    assert isinstance(dialog, CalibrationDialog) and dialog.isVisible()
    assert controller.session is None and controller.devices is None  # the ports are free for the dialog
    dialog.port.setText("/dev/ttyCAL")
    dialog.arm_id.setText("f7")
    dialog.done(QDialog.DialogCode.Rejected)
    assert controller.session is not None and controller.devices is not None
    assert controller.settings.value("calibration/port") == "/dev/ttyCAL"
    assert controller.settings.value("calibration/id") == "f7"


def test_a_wrong_camera_at_start_points_to_the_cameras_menu_and_is_fixed_there(qtbot, tmp_path, no_leaked_windows):
    from PySide6.QtCore import QSettings

    from station.config import SessionConfig
    from widgets.app import build_window

    config = SessionConfig(root=tmp_path / "ds", repo_id="local/cams", fps=30, vcodec="h264",
                           cameras=(CameraSource("front", str(tmp_path / "no-such-video.mp4")),))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window, controller = build_window(config, settings)
    qtbot.addWidget(window)
    try:
        window.show()
        controller.start()
        assert controller.session is None
        said = " ".join(window.messages.texts())
        assert "Devices > Cameras" in said and "cables" not in said
        assert device_actions.set_cameras(controller, (CameraSource("front", "testsrc", 32, 24),))
        assert controller.session is not None and controller.session.recorder.loop.running
        qtbot.waitUntil(lambda: DEVICES not in window.messages.topics(), timeout=3000)
    finally:
        controller.quit_anyway()
        controller.shutdown()


# What the driver of a common USB webcam lists, and a node that cannot be opened, and a metadata node.
WEBCAM = V4L2Device("/dev/video0", "HD Webcam", "uvcvideo", True, [
    V4L2Mode("YUYV", "YUYV 4:2:2", [(640, 480, [30.0, 15.0]), (1280, 720, [10.0, 5.0])]),
    V4L2Mode("MJPG", "Motion-JPEG", [(640, 480, [30.0, 15.0]), (1280, 720, [60.0, 30.0])]),
])
FAKE_DEVICES = [WEBCAM, V4L2Device("/dev/video1", "HD Webcam", "uvcvideo", False),
                V4L2Device("/dev/video2", "", "", False, error="Permission denied")]


@pytest.fixture
def webcam(monkeypatch):
    monkeypatch.setattr("station.hardware.cameras.list_v4l2_devices", lambda pattern="/dev/video*": FAKE_DEVICES)


def test_a_v4l2_device_offers_its_modes_and_marks_those_too_slow_for_the_dataset(webcam):
    pattern, cam, busy = camera_choices(30)
    assert pattern.source == TEST_PATTERN and [m.label for m in pattern.modes] == ["640x480", "1280x720", "320x240"]
    assert (cam.label, cam.source, cam.problem) == ("HD Webcam (/dev/video0)", "/dev/video0", "")
    assert [m.label for m in cam.modes] == [
        "1280x720 · YUYV 4:2:2 · max 10 fps — slower than the dataset's 30 fps",
        "640x480 · YUYV 4:2:2 · 30, 15 fps",
        "1280x720 · MJPG (Motion-JPEG) · 60, 30 fps",
        "640x480 · MJPG (Motion-JPEG) · 30, 15 fps",
    ]
    assert cam.default_mode().key == (640, 480, "MJPG")
    assert busy.problem == "/dev/video2 cannot be opened (Permission denied)"  # the metadata node is not listed
    # at 10 fps the slow mode serves; at 60 only MJPG 720p does
    assert not camera_choices(10)[1].modes[0].problem
    assert [m.key for m in camera_choices(60)[1].modes if not m.problem] == [(1280, 720, "MJPG")]
    # a mode too slow, or one the device does not offer, is refused in one line; a good one is taken
    choices = camera_choices(30)
    slow = sources_problem([("front", "/dev/video0", (1280, 720, "YUYV"))], choices)[1]
    assert slow == ("camera front: 1280x720 · YUYV cannot be used (max 10 fps — slower than the dataset's 30 fps): "
                    "choose another mode")
    assert "does not offer 800x600 · MJPG" in sources_problem([("f", "/dev/video0", (800, 600, "MJPG"))], choices)[1]
    assert "cannot be opened" in sources_problem([("f", "/dev/video2", None)], choices)[1]
    good = sources_problem([("front", "/dev/video0", (640, 480, "YUYV"))], choices)
    assert good == ((CameraSource("front", "/dev/video0", 640, 480, "YUYV"),), "")
    assert setting_label("/dev/video0", None) == "default: 640x480 · MJPG when offered"
    assert setting_label("/dev/video0", (800, 600, None)) == "800x600 · MJPG when offered"
    assert setting_label("clip.mp4", None) == "its own size"


def test_the_cameras_dialog_picks_a_source_then_a_mode_and_gives_the_camera_source(qtbot, webcam, tmp_path):
    given = (CameraSource("front", "/dev/video0", 640, 480, "YUYV"), CameraSource("wrist", "testsrc", 320, 240))
    dialog = CamerasDialog(given, 30)
    qtbot.addWidget(dialog)
    assert dialog.sources() == given and dialog.apply_button.isEnabled()  # what is in use comes back unchanged
    source, mode = dialog._boxes(1)
    source.setCurrentIndex(source.findData("/dev/video0"))  # the test pattern -> the webcam: its own modes
    assert mode.itemText(0) == "1280x720 · YUYV 4:2:2 · max 10 fps — slower than the dataset's 30 fps"
    keys = [mode.itemData(i) for i in range(mode.count())]
    assert len(keys) == 4 and mode.currentData() == (640, 480, "MJPG")
    slow = keys.index((1280, 720, "YUYV"))
    assert not mode.model().item(slow).isEnabled()
    assert "slower than the dataset" in mode.itemData(slow, Qt.ItemDataRole.ToolTipRole)
    mode.setCurrentIndex(slow)  # as a remembered setting could: said, and Connect refuses it
    assert "cannot be used" in dialog.problem.text() and not dialog.apply_button.isEnabled()
    mode.setCurrentIndex(keys.index((1280, 720, "MJPG")))
    assert dialog.apply_button.isEnabled() and dialog.problem.text() == ""
    assert dialog.sources()[1] == CameraSource("wrist", "/dev/video0", 1280, 720, "MJPG")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    source.setEditText(str(clip))  # a video file: nothing to choose
    assert mode.count() == 1 and mode.currentText() == "its own size" and not mode.isEnabled()
    assert dialog.sources()[1] == CameraSource("wrist", str(clip))
    source.setCurrentIndex(source.findData(TEST_PATTERN))
    assert [mode.itemText(i) for i in range(mode.count())] == ["640x480", "1280x720", "320x240"]
    dialog.refresh_cameras()  # a second look keeps each row as it is
    assert dialog.sources() == (given[0], CameraSource("wrist", "testsrc", 640, 480))
    busy = source.findData("/dev/video2")
    assert not source.model().item(busy).isEnabled()


def test_a_camera_given_without_a_format_keeps_the_automatic_choice(qtbot, webcam):
    given = (CameraSource("front", "/dev/video0"), CameraSource("side", "/dev/video0", 800, 600))
    dialog = CamerasDialog(given, 30)
    qtbot.addWidget(dialog)
    assert dialog.sources() == given
    assert dialog._boxes(0)[1].currentText() == "default: 640x480 · MJPG when offered"
    assert dialog._boxes(1)[1].currentText() == "800x600 · MJPG when offered"


def test_cameras_the_open_dataset_does_not_fit_are_shown_as_they_are_with_the_reason(station):
    window, controller = station.open()
    assert device_actions.set_cameras(controller, (CameraSource("front", "testsrc", 32, 24),
                                                   CameraSource("wrist", "testsrc", 48, 36)))
    assert controller.session is None  # the dataset records wrist at 16x12: File > New dataset is offered
    assert any("not 48x36" in text for text in window.messages.texts())
    assert "48x36" in window.cameras.views[1].title.text()  # the tile tells the size the camera now gives

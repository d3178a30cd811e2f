"""The Devices menu: arms and cameras change without a restart; a device that will not open changes nothing."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QDialog

from station.config import CameraSource
from station.session.devices import Devices
from tests.test_gui_window import Station, sim_devices
from widgets import device_actions
from widgets.banners import DEVICES
from widgets.calibration_dialog import CalibrationDialog
from widgets.device_choices import TEST_PATTERN, camera_choices, device_advice, sources_problem
from widgets.devices_dialogs import ArmsDialog, CamerasDialog


def test_choices_and_advice_without_a_window(tmp_path):
    assert [c.source for c in camera_choices(str(tmp_path / "video*"))] == [TEST_PATTERN]
    sources, problem = sources_problem([("front", "testsrc", (640, 480)), ("wrist", "/dev/video2", None)])
    assert problem == "" and sources[0] == CameraSource("front", "testsrc", 640, 480)
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
    assert controller.session is not None and controller.session is not working
    assert [c.name for c in controller.devices.cameras] == ["front", "wrist"]
    # the same names and sizes from other sources: the session goes on in the same dataset
    assert device_actions.set_cameras(controller, (CameraSource("front", "testsrc", 32, 24),
                                                   CameraSource("wrist", "testsrc", 16, 12)))
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

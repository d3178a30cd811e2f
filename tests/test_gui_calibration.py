"""Arms > Calibrate: the dialog drives CalibrationProcedure on an emulated arm, off the GUI thread."""

from __future__ import annotations

import pytest

from station.hardware.calibration import Step, load_calibration
from station.hardware.emulator import EmulatedBus
from widgets.calibration_dialog import CalibrationDialog

MIDDLE_POSE = {1: 3000, 2: 1500, 3: 2047, 4: 2500, 5: 1800, 6: 2200}


def now_text(dialog: CalibrationDialog) -> str:
    item = dialog.table.item(0, 2)  # shoulder_pan, present position
    return "" if item is None else item.text()


@pytest.fixture
def arm():
    emu = EmulatedBus("follower")
    emu.start()
    yield emu
    emu.stop()


def test_calibration_dialog_walks_the_steps_and_saves_lerobot_file(qtbot, arm, tmp_path, no_leaked_windows):
    dialog = CalibrationDialog()
    qtbot.addWidget(dialog)
    dialog.port.setText(arm.port)
    dialog.arm_id.setText("f1")
    dialog.directory.setText(str(tmp_path))
    dialog.show()
    assert not dialog.middle_button.isEnabled()
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.step is Step.POSE_MIDDLE, timeout=5000)
    assert not any(arm.torque_enabled().values())
    for motor_id, steps in MIDDLE_POSE.items():
        arm.set_actual_position(motor_id, steps)
    dialog.middle_button.click()
    qtbot.waitUntil(lambda: dialog.step is Step.SWEEP, timeout=5000)
    dialog.finish_button.click()  # nothing moved yet: the reason is shown and the sweep goes on
    qtbot.waitUntil(lambda: "did not move" in dialog.error.text(), timeout=5000)
    assert dialog.step is Step.SWEEP
    arm.set_actual_position(1, MIDDLE_POSE[1] + 53)  # the sweep is polled on: its next reading shows, the reason stays
    qtbot.waitUntil(lambda: now_text(dialog) == "2100", timeout=5000)
    assert "did not move" in dialog.error.text()
    for delta in (-200, 150):
        for motor_id, steps in MIDDLE_POSE.items():
            arm.set_actual_position(motor_id, steps + delta)
        qtbot.waitUntil(lambda d=delta: now_text(dialog) == str(2047 + d), timeout=5000)
    dialog.finish_button.click()
    qtbot.waitUntil(lambda: dialog.step is Step.DONE, timeout=5000)
    assert dialog.saved_path == tmp_path / "robots" / "so_follower" / "f1.json"
    assert "saved" in dialog.instructions.text()
    cal = load_calibration(tmp_path / "robots" / "so_follower" / "f1.json", "follower", "f1")
    assert cal["shoulder_pan"].range_min == 1847 and cal["shoulder_pan"].range_max == 2197
    dialog.close_button.click()
    assert not dialog.isVisible()


def test_calibration_dialog_says_why_it_cannot_start(qtbot, tmp_path, no_leaked_windows):
    dialog = CalibrationDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.port.setText("")
    dialog.start_button.click()
    assert "serial port" in dialog.error.text()
    dialog.port.setText(str(tmp_path / "no-such-port"))
    dialog.start_button.click()
    qtbot.waitUntil(lambda: dialog.error.text() != "" and dialog.start_button.isEnabled(), timeout=5000)
    assert dialog.step is Step.IDLE
    dialog.reject()

"""The Devices menu: connect or disconnect the arms, change the cameras, calibrate, without a restart.

Changing devices closes the session (its saves must be finished) and opens it again on the new devices; when
the new ones cannot be opened, the window says why and goes back to the devices that worked. Calibration
releases the arms for the dialog and reconnects them when it closes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QDialog

from station.config import ArmConfig, CameraSource, SessionConfig
from station.session.state import Phase
from widgets.banners import DEVICES
from widgets.calibration_dialog import CalibrationDialog
from widgets.devices_dialogs import ArmsDialog, CamerasDialog
from widgets.messages import Level

if TYPE_CHECKING:
    from widgets.controller import Controller

CALIBRATION_KEYS = ("role", "port", "id", "folder")


def _is_dataset(root: Path) -> bool:
    return (root / "meta" / "info.json").is_file()


def _busy(ctrl: Controller, what: str) -> bool:
    s = ctrl.session
    if s is not None and not ctrl._can_switch():
        if s.recorder.machine.cut:  # the saves wait for that answer: say what is really in the way
            ctrl.say(f"{what} once you keep or drop the take cut short (→ keeps it, ← drops it) and its save "
                     "is finished.", Level.WARNING, topic=DEVICES + ":busy")
            return True
        recording = s.recorder.phase in (Phase.RECORDING, Phase.RESETTING)
        ctrl.say(f"{what} once the session is stopped" + (" and" if recording else ":")
                 + " its saves finished (the save queue shows them).", Level.WARNING, topic=DEVICES + ":busy")
        return True
    return False


def reopen(ctrl: Controller, config: SessionConfig) -> bool:
    """Close the session and devices, open them as `config` says; on failure, back to what was open."""
    before = ctrl.config
    had_devices = ctrl.devices is not None
    release(ctrl)
    ctrl.config = config
    if ctrl._open_devices():
        ctrl._open_session(replace(config, resume=_is_dataset(config.root)))
        ctrl.window.messages.clear_all(DEVICES)  # an earlier refusal or failed change is past
        return True
    failure = [(b.text, b.level) for b in ctrl.window.messages.banners if b.topic == DEVICES]
    if had_devices:
        ctrl.config = before
        back = ctrl._open_devices()
        if back:
            ctrl._open_session(replace(before, resume=_is_dataset(before.root)))
            # the reason stays said, now about the devices asked for; the banner of the ones back goes
            ctrl.window.messages.clear(DEVICES)
        for text, level in failure:
            after = " The devices in use before are connected again." if back else \
                " The devices in use before could not be connected again either."
            ctrl.say(text + after, level, topic=DEVICES + ":failed")
    return False


def release(ctrl: Controller) -> None:
    """Close the session and the devices: the serial ports and cameras are free for others."""
    ctrl._close_session()
    if ctrl.devices is not None:
        ctrl.devices.close()
        ctrl.devices = None
    ctrl._refresh_all()


def choose_arms(ctrl: Controller) -> None:
    if _busy(ctrl, "The arms can change"):
        return
    dialog = ArmsDialog(ctrl.config.arms, ctrl.window)
    ctrl.window.device_dialog = dialog
    dialog.finished.connect(lambda result: connect_arms(ctrl, dialog.arms())
                            if result == QDialog.DialogCode.Accepted else None)
    dialog.open()


def connect_arms(ctrl: Controller, arms: ArmConfig | None) -> bool:
    """Real arms on these ports, or (None) the simulated ones."""
    return reopen(ctrl, replace(ctrl.config, arms=arms, demo=arms is None))


def disconnect_arms(ctrl: Controller) -> None:
    if _busy(ctrl, "The arms can be disconnected"):
        return
    release(ctrl)
    ctrl.say("Arms and cameras disconnected: their ports are free (to calibrate, or for another program). "
             "Devices > Connect arms… connects them again.", Level.INFO, topic=DEVICES)


def choose_cameras(ctrl: Controller) -> None:
    if _busy(ctrl, "The cameras can change"):
        return
    dialog = CamerasDialog(tuple(ctrl.config.cameras), ctrl.config.fps, ctrl.window)
    ctrl.window.device_dialog = dialog
    dialog.finished.connect(lambda result: set_cameras(ctrl, dialog.sources())
                            if result == QDialog.DialogCode.Accepted else None)
    dialog.open()


def set_cameras(ctrl: Controller, sources: tuple[CameraSource, ...]) -> bool:
    return reopen(ctrl, replace(ctrl.config, cameras=sources))


def calibrate(ctrl: Controller) -> None:
    """The calibration dialog, with the arms released for it (and connected again when it closes)."""
    if _busy(ctrl, "An arm can be calibrated"):
        return
    give_back = ctrl.devices is not None and not ctrl.devices.simulated
    config = ctrl.config
    if give_back:
        release(ctrl)
    dialog = CalibrationDialog(ctrl.window, config.arms)
    remembered = {k: ctrl.settings.value(f"calibration/{k}") for k in CALIBRATION_KEYS}
    if isinstance(remembered["role"], str):
        dialog.role.setCurrentText(remembered["role"])
    if config.arms is None:  # without arms given, the port, id and folder used last time
        for key, widget in (("port", dialog.port), ("id", dialog.arm_id), ("folder", dialog.directory)):
            value = remembered[key]
            if isinstance(value, str) and value:
                widget.setText(value)
    ctrl._cal_dialog = dialog

    def closed(_result: int) -> None:
        for key, text in (("role", dialog.role.currentText()), ("port", dialog.port.text()),
                          ("id", dialog.arm_id.text()), ("folder", dialog.directory.text())):
            ctrl.settings.setValue(f"calibration/{key}", text)
        ctrl._cal_dialog = None
        if give_back and not ctrl._closed:
            reopen(ctrl, config)

    dialog.finished.connect(closed)
    dialog.open()

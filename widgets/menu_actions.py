"""The menus' commands: new or open a dataset (widgets.dataset_actions), connect the arms, reconnect cameras,
calibrate, keys, about.

Each is a small step over the controller's session life cycle (switch session, reopen devices); none runs
anything slow on the GUI thread beyond opening a device.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from station.errors import StationError
from station.hardware.interfaces import what_to_check
from widgets import dataset_actions, device_actions
from widgets.about import about_html
from widgets.keymap import keys_help_html
from widgets.messages import Level
from widgets.pack_action import ask_pack
from widgets.push_action import push_open_dataset

if TYPE_CHECKING:
    from widgets.controller import Controller

log = logging.getLogger(__name__)


class MenuActions(QObject):
    def __init__(self, controller: Controller) -> None:
        super().__init__(controller)
        self.c = controller
        w = controller.window
        w.new_dataset_action.triggered.connect(self.new_dataset)
        w.open_dataset_action.triggered.connect(self.open_dataset)
        w.pack_action.triggered.connect(lambda _checked=False: ask_pack(controller))
        w.push_action.triggered.connect(lambda _checked=False: push_open_dataset(controller))
        w.connect_arms_action.triggered.connect(self.connect_arms)
        w.calibrate_action.triggered.connect(self.calibrate)
        w.disconnect_arms_action.triggered.connect(lambda: device_actions.disconnect_arms(controller))
        w.cameras_action.triggered.connect(lambda: device_actions.choose_cameras(controller))
        w.reset_layout_action.triggered.connect(w.reset_layout)
        w.keys_help_action.triggered.connect(self.show_keys)
        w.about_action.triggered.connect(self.show_about)
        reconnect = getattr(w, "reconnect_cameras_action", None)
        if reconnect is not None:
            reconnect.triggered.connect(self.reconnect_cameras)

    def new_dataset(self) -> None:
        dataset_actions.new_dataset(self.c)

    def open_dataset(self) -> None:
        dataset_actions.open_dataset(self.c)

    def connect_arms(self) -> None:
        device_actions.choose_arms(self.c)

    def reconnect_cameras(self) -> None:
        """Reopen every camera that sends nothing, without a restart (the arms and the session stay)."""
        c = self.c
        if c.devices is None:
            c.say("No cameras are open: use Devices > Cameras….", Level.WARNING)
            return
        silent = [cam for cam in c.devices.cameras if cam.stalled]
        if not silent:
            c.say("Every camera is sending.", Level.INFO)
            return
        failed, broken = [], []
        for cam in silent:
            try:
                cam.stop()
                cam.start()
            except (StationError, OSError) as e:
                log.warning("reopening camera %s failed: %s", cam.name, e)
                failed.append(f"{cam.name} ({e})")
                broken.append(cam)
        if c.session is not None:
            c.session.recorder.devices_reconnected()
        if failed:
            c.say("Could not reopen camera " + ", ".join(failed) + f": check {what_to_check(broken)}, then try again.")
        else:
            c.say("Reopened camera " + ", ".join(cam.name for cam in silent) + ": Space records once it sends.",
                  Level.INFO)

    def calibrate(self) -> None:
        device_actions.calibrate(self.c)

    def show_keys(self) -> None:
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keys", keys_help_html(), QMessageBox.StandardButton.Close,
                          self.c.window)
        box.open()

    def show_about(self) -> None:
        QMessageBox.about(self.c.window, "About Station", about_html())

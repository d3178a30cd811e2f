"""File > New dataset and File > Open, from the dialog to the switch. The working session closes only once the
new one can open: an unusable choice is said and changes nothing.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QFileDialog

from station.config import SessionConfig
from station.errors import StationError
from station.session.builder import dataset_spec
from widgets.banners import DATASET
from widgets.dataset_summary import (
    DatasetSummary,
    Verdict,
    camera_words,
    connected_spec,
    mapping_problem,
    read_summary,
    verdict,
)
from widgets.messages import Level
from widgets.new_dataset_dialog import NewDatasetDialog
from widgets.open_dataset_dialog import OpenDatasetDialog

if TYPE_CHECKING:
    from widgets.controller import Controller


def _key(root: Path) -> str:
    return "datasets/" + str(root.resolve()).replace("/", "|")


def remember_repo_id(settings: QSettings, root: Path, repo_id: str) -> None:
    """The name a dataset folder was recorded under (the folder does not hold it): shown when it is opened."""
    settings.setValue(_key(root), repo_id)


def remembered_repo_id(settings: QSettings, root: Path) -> str | None:
    value = settings.value(_key(root))
    return value if isinstance(value, str) else None


def _busy(ctrl: Controller) -> bool:
    if ctrl.session is not None and not ctrl._can_switch():
        ctrl.say("Stop the session and let its saves finish before opening another dataset.", Level.WARNING,
                 topic=DATASET + "switch")
        return True
    return False


def new_dataset(ctrl: Controller) -> None:
    if _busy(ctrl):
        return
    devices = ctrl.devices
    cameras = camera_words(list(devices.camera_specs)) if devices is not None else "none connected"
    arms = "simulated (demo)" if devices is not None and devices.simulated else (
        f"follower {ctrl.config.arms.follower_port}, leader {ctrl.config.arms.leader_port}"
        if ctrl.config.arms is not None else "not connected")
    dialog = NewDatasetDialog(ctrl.config, cameras + "  (change them from the Devices menu)", arms, ctrl.window)
    ctrl.window.dataset_dialog = dialog
    dialog.finished.connect(lambda result: _create(ctrl, dialog) if result == QDialog.DialogCode.Accepted else None)
    dialog.open()


def _create(ctrl: Controller, dialog: NewDatasetDialog) -> None:
    config = dialog.config()
    try:
        config.root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        ctrl.say(f"Cannot create the folder {config.root}: {e.strerror or e}.", topic=DATASET + "open")
        return
    switch_to(ctrl, config)


def open_dataset(ctrl: Controller, root: Path | None = None) -> None:
    """Choose a dataset folder, show what it holds and whether the station fits it, then switch if asked."""
    if _busy(ctrl):
        return
    if root is None:
        path = QFileDialog.getExistingDirectory(ctrl.window, "Open a dataset to add episodes to",
                                                str(ctrl.config.root.parent))
        if not path:
            return
        root = Path(path)
    try:
        summary = read_summary(root, remembered_repo_id(ctrl.settings, root))
    except StationError as e:
        ctrl.say(f"{root} cannot be opened as a dataset: {e}. Your current dataset stays open.",
                 topic=DATASET + "open")
        return
    devices = ctrl.devices
    if devices is None:
        judged = Verdict(None, None)  # nothing connected to compare with: the devices are checked on opening
        connected = None
    else:
        connected = connected_spec(summary, dataset_spec(ctrl.config, devices))
        judged = verdict(summary, connected)
    names = [c.name for c in devices.cameras] if devices is not None else []
    check = (lambda mapping: mapping_problem(summary, connected, mapping)) if connected is not None else None
    dialog = OpenDatasetDialog(summary, judged, names, check, ctrl.window)
    ctrl.window.dataset_dialog = dialog
    dialog.finished.connect(
        lambda result: _open(ctrl, summary, dialog.mapping()) if result == QDialog.DialogCode.Accepted else None)
    dialog.open()


def _open(ctrl: Controller, summary: DatasetSummary, mapping: dict[str, str] | None) -> None:
    config = replace(ctrl.config, root=summary.root, repo_id=summary.repo_id, resume=True, vcodec=summary.vcodec)
    if mapping and ctrl.devices is not None:
        for cam in ctrl.devices.cameras:  # the connected sources record under the dataset's camera names
            cam.name = mapping.get(cam.name, cam.name)
        config = replace(config, cameras=tuple(replace(c, name=mapping.get(c.name, c.name)) for c in config.cameras))
    switch_to(ctrl, config)


def switch_to(ctrl: Controller, config: SessionConfig) -> None:
    """Close the working session and open `config`; if that fails, the working dataset is opened again."""
    before = ctrl.config if ctrl.session is not None else None
    ctrl._switch(config)
    if ctrl.session is None and before is not None and before.root != config.root:
        failed = [b for b in ctrl.window.messages.banners if b.topic.startswith(DATASET)]
        kept = [(b.text, b.level) for b in failed]
        ctrl._switch(replace(before, resume=True))
        for text, level in kept:  # what went wrong stays said, after the working dataset reopened
            ctrl.say(text, level, topic=DATASET + "open")
    if ctrl.session is not None:
        remember_repo_id(ctrl.settings, ctrl.session.config.root, ctrl.session.config.repo_id)

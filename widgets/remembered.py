"""What the window remembers between runs (QSettings): its layout, and the last task typed for each dataset.

The task belongs to the dataset: resuming dataset A offers the task last typed for A, never the one typed for
dataset B. --task on the command line wins over what was remembered.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from PySide6.QtCore import QSettings

from station.config import SessionConfig

if TYPE_CHECKING:
    from widgets.main_window import MainWindow

DEFAULT_TASK: str = SessionConfig.__dataclass_fields__["task"].default  # type: ignore[assignment]


class Remembered:
    def __init__(self, settings: QSettings, config: SessionConfig) -> None:
        self.settings = settings
        self.given_task = config.task if config.task != DEFAULT_TASK else None  # --task on the command line

    @staticmethod
    def _task_key(root: Path) -> str:
        return "tasks/" + quote(str(root.resolve()), safe="")

    def remember_task(self, root: Path, task: str) -> None:
        self.settings.setValue(self._task_key(root), task)

    def task_for(self, config: SessionConfig) -> SessionConfig:
        """--task if given, else the task last typed for this dataset, else the default."""
        if self.given_task is not None:
            return replace(config, task=self.given_task)
        last = self.settings.value(self._task_key(config.root))
        if isinstance(last, str) and last.strip():
            return replace(config, task=last)
        return replace(config, task=DEFAULT_TASK)

    def restore(self, window: MainWindow) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            window.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if state is not None:
            window.restoreState(state)
        splitter = self.settings.value("window/splitter")
        if splitter is not None:
            window.splitter.restoreState(splitter)

    def save(self, window: MainWindow, config: SessionConfig) -> None:
        self.settings.setValue("window/geometry", window.saveGeometry())
        self.settings.setValue("window/state", window.saveState())
        self.settings.setValue("window/splitter", window.splitter.saveState())
        self.remember_task(config.root, config.task)
        self.settings.setValue("session/root", str(config.root))
        self.settings.sync()

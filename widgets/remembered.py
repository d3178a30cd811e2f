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

from station.config import SessionConfig, default_of
from station.dataset.reader import last_task

if TYPE_CHECKING:
    from widgets.main_window import MainWindow

DEFAULT_TASK: str = default_of(SessionConfig, "task")


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
        """The task a session on `config`'s dataset starts with.

        A new dataset: the task chosen for it (--task, or File > New). An existing one: --task if given, else
        the task last typed for this dataset, else the last task the dataset itself holds, else the default.
        """
        if not config.resume and config.task != DEFAULT_TASK:
            return config
        if self.given_task is not None:
            return replace(config, task=self.given_task)
        last = self.settings.value(self._task_key(config.root))
        if isinstance(last, str) and last.strip():
            return replace(config, task=last)
        return replace(config, task=last_task(config.root) or DEFAULT_TASK)

    def restore(self, window: MainWindow) -> None:
        window.place(self.settings.value("window/geometry"))
        window.restore_layout(self.settings.value("window/state"), self.settings.value("window/splitter"))

    def save(self, window: MainWindow, config: SessionConfig) -> None:
        for key, value in zip(("window/geometry", "window/state", "window/splitter"),
                              window.layout_to_remember(), strict=True):
            if value is None:
                self.settings.remove(key)  # what does not fit the screen, or squashes the live view, is forgotten
            else:
                self.settings.setValue(key, value)
        self.remember_task(config.root, config.task)
        self.settings.setValue("session/root", str(config.root))
        self.settings.sync()

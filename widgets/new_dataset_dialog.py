"""File > New dataset: one dialog for the folder (created if missing), its name, task, rate, video and timing.

The name is checked by the same rule as the command line's --repo-id; the cameras and arms are the ones
connected (change them from the Devices menu).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from station.config import SessionConfig
from station.dataset.repo_id import folder_repo_id
from widgets.dataset_summary import CODEC_WORDS, new_dataset_problems

VCODECS = (("libsvtav1", CODEC_WORDS["libsvtav1"] + ": smaller files, slower to save"),
           ("h264", CODEC_WORDS["libx264"] + ": faster to save, larger files"))


class NewDatasetDialog(QDialog):
    def __init__(self, config: SessionConfig, cameras: str, arms: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("newDatasetDialog")
        self.setWindowTitle("New dataset")
        self.base = config
        self.folder = QLineEdit(str(config.root.parent / "new_dataset"))
        self.folder.setObjectName("newFolder")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.repo_id = QLineEdit(folder_repo_id(Path(self.folder.text()).name))
        self.repo_id.setObjectName("newRepoId")
        self.repo_id.setPlaceholderText("user/name, e.g. alice/pick_cube")
        self._repo_id_edited = False
        self.repo_id.textEdited.connect(self._on_repo_id_edited)
        self.task = QLineEdit(config.task)
        self.fps = QSpinBox()
        self.fps.setRange(1, 120)
        self.fps.setValue(config.fps)
        self.fps.setSuffix(" fps")
        self.vcodec = QComboBox()
        for value, words in VCODECS:
            self.vcodec.addItem(words, value)
        self.vcodec.setCurrentIndex(max(0, self.vcodec.findData(config.vcodec)))
        self.episodes = QSpinBox()
        self.episodes.setRange(1, 100_000)
        self.episodes.setValue(config.episodes)
        self.take_s = QDoubleSpinBox()
        self.take_s.setRange(1, 3600)
        self.take_s.setValue(config.episode_time_s)
        self.take_s.setSuffix(" s")
        self.reset_s = QDoubleSpinBox()
        self.reset_s.setRange(0, 3600)
        self.reset_s.setValue(config.reset_time_s)
        self.reset_s.setSuffix(" s")
        form = QFormLayout()
        form.addRow("Folder:", folder_row)
        form.addRow("Name:", self.repo_id)
        form.addRow("Task:", self.task)
        form.addRow("Rate:", self.fps)
        form.addRow("Video:", self.vcodec)
        form.addRow("Takes:", self.episodes)
        form.addRow("Take length:", self.take_s)
        form.addRow("Reset time:", self.reset_s)
        form.addRow("Cameras:", QLabel(cameras))
        form.addRow("Arms:", QLabel(arms))
        self.problems = QLabel()
        self.problems.setObjectName("newDatasetProblems")
        self.problems.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.create_button = self.buttons.addButton("Create", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.problems)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(560)
        for edit in (self.folder, self.repo_id, self.task):
            edit.textChanged.connect(self._check)
        self.folder.textChanged.connect(self._follow_folder)
        self._check()

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Folder for the new dataset (or its parent)",
                                                str(Path(self.folder.text()).parent))
        if path:
            self.folder.setText(path)

    def _on_repo_id_edited(self, _text: str) -> None:
        self._repo_id_edited = True

    def _follow_folder(self, text: str) -> None:
        if not self._repo_id_edited:  # the name follows the folder until the operator types one
            self.repo_id.setText(folder_repo_id(Path(text.strip() or ".").name))

    def current_problems(self) -> list[str]:
        return new_dataset_problems(self.folder.text(), self.repo_id.text(), self.task.text())

    def _check(self, *_args: object) -> None:
        problems = self.current_problems()
        self.problems.setText("\n".join(problems))
        self.create_button.setEnabled(not problems)

    def config(self) -> SessionConfig:
        """The session the dialog describes (valid: the dialog only accepts when it has no problem)."""
        return replace(
            self.base, root=Path(self.folder.text().strip()).expanduser(), repo_id=self.repo_id.text().strip(),
            task=self.task.text().strip(), fps=self.fps.value(), vcodec=str(self.vcodec.currentData()),
            episodes=self.episodes.value(), episode_time_s=self.take_s.value(), reset_time_s=self.reset_s.value(),
            resume=False,
        )

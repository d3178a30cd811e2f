"""Shown when quitting with saves pending: their progress, and a way to quit anyway.

Window-modal but not a nested event loop (opened with `open()`): the GUI timer keeps running, and the
controller closes the window when the last save commits.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from station.saving.queue import SaveQueue


class QuitDialog(QDialog):
    quit_anyway = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quitDialog")
        self.setWindowTitle("Saving before quitting")
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        note = QLabel("Quit anyway leaves the unsaved takes on disk; the next start (or `station recover`) "
                      "saves them.")
        note.setWordWrap(True)
        self.quit_button = QPushButton("Quit anyway")
        self.quit_button.setObjectName("quitAnywayButton")
        self.quit_button.setAutoDefault(False)
        self.quit_button.clicked.connect(self.quit_anyway)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.quit_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(note)
        layout.addLayout(buttons)
        self.resize(460, 160)
        self._first_total: int | None = None

    def show_progress(self, queue: SaveQueue, finishing: Sequence[object]) -> None:
        pending = [j for j in queue.jobs if j.pending]
        # takes still being made durable that the queue does not list yet
        unlisted = [ft for ft in finishing if getattr(ft, "job", None) not in queue.jobs]
        left = len(pending) + len(unlisted)
        if self._first_total is None:
            self._first_total = left
        total = max(1, self._first_total)
        partial = sum(j.progress for j in pending) * 0.95
        self.bar.setValue(int(1000 * min(1.0, (total - left + partial) / total)))
        if left:
            self.label.setText(f"Waiting for {left} take{'s' if left != 1 else ''} to be saved "
                               "before quitting…")
        else:
            self.label.setText("All takes saved.")

    def reject(self) -> None:  # Escape or the close box: keep waiting (the operator chose to quit)
        pass

"""The status bar: control-loop rate achieved against target, arm state, free disk at the dataset root."""

from __future__ import annotations

from PySide6.QtWidgets import QStatusBar, QWidget

from station.dataset.fsutil import size_in_words
from station.thresholds import LOW_DISK_BYTES
from widgets.elided_label import ElidedLabel


class StationStatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusBar")
        # messages never widen the window: a long one is cut, and shown whole as a tooltip
        self.loop_label = ElidedLabel()
        self.loop_label.setObjectName("loopLabel")
        self.arms_label = ElidedLabel()
        self.arms_label.setObjectName("armsLabel")
        self.disk_label = ElidedLabel()
        self.disk_label.setObjectName("diskLabel")
        for label in (self.loop_label, self.arms_label, self.disk_label):
            self.addPermanentWidget(label, 1 if label is self.arms_label else 0)

    def show_loop(self, achieved: float, target: int, running: bool) -> None:
        if not running:
            self.loop_label.setText("Control loop: stopped")
            self.loop_label.setStyleSheet("color:#c62828;")
            return
        slow = achieved < 0.95 * target
        self.loop_label.setText(f"Control loop: {achieved:4.1f} of {target} Hz")
        self.loop_label.setStyleSheet("color:#c62828; font-weight:bold;" if slow else "")

    def show_arms(self, text: str, ok: bool) -> None:
        self.arms_label.setText(f"Arms: {text}")
        self.arms_label.setStyleSheet("" if ok else "color:#c62828; font-weight:bold;")

    def show_disk(self, free_bytes: float | None, root: str) -> None:
        if free_bytes is None:
            self.disk_label.setText("Disk: —")
            return
        low = free_bytes < LOW_DISK_BYTES
        self.disk_label.setText(f"Disk: {size_in_words(free_bytes)} free at {root}")  # "42 MB", not "0.0 GB"
        self.disk_label.setStyleSheet("color:#c62828; font-weight:bold;" if low else "")

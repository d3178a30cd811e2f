"""Camera views: the latest frame of each camera, drawn when the GUI timer pulls it.

A QImage wrapping the camera's frame (read-only, never modified; a yuv420p frame is converted to RGB at its
own size first, about 0.3 ms at 640x480), painted scaled into the widget:
measured at about 0.5 ms per 640x480 frame, against about 1.4 ms for a pyqtgraph ImageItem (see gui_bench).
No Qt signal per frame: `show_frame` is called by the controller's timer with whatever the mailbox holds.
"""

from __future__ import annotations

import time

import av
import numpy as np
from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from station.hardware.interfaces import Frame, image_format
from station.thresholds import STALL_AFTER_S
from widgets.elided_label import ElidedLabel


class RateMeter:
    """Events per second over the last second or so."""

    def __init__(self) -> None:
        self._times: list[float] = []

    def tick(self, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        self._times.append(now)
        if len(self._times) > 240:
            del self._times[:120]

    def rate(self, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        recent = [t for t in self._times if now - t <= 1.0]
        if len(recent) < 2:
            return 0.0
        return (len(recent) - 1) / max(1e-6, recent[-1] - recent[0])


class FrameCanvas(QWidget):
    """Paints one camera frame, letterboxed, or a 'no signal' card."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("frameCanvas")
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self._array: np.ndarray | None = None  # kept referenced: the QImage does not own its pixels
        self._image: QImage | None = None
        self._aspect = 4 / 3
        self.no_signal = ""  # non-empty: the reason shown instead of the picture

    def set_frame(self, image: np.ndarray) -> None:
        """Show an RGB image, or a camera's yuv420p image converted to RGB here (only the frames drawn are)."""
        if image_format(image) != "rgb24":
            image = av.VideoFrame.from_numpy_buffer(np.ascontiguousarray(image), format=image_format(image)) \
                .reformat(format="rgb24").to_ndarray()  # same size: 0.3 ms at 640x480; QPainter scales
        h, w = image.shape[:2]
        if not image.flags.c_contiguous:
            image = np.ascontiguousarray(image)
        self._array = image
        self._image = QImage(image.data, w, h, image.strides[0], QImage.Format.Format_RGB888)
        self._aspect = w / h
        self.update()

    def set_no_signal(self, reason: str) -> None:
        if reason != self.no_signal:
            self.no_signal = reason
            self.update()

    def _target(self) -> QRect:
        r = self.rect()
        if r.width() / max(1, r.height()) > self._aspect:
            w = int(r.height() * self._aspect)
            return QRect(r.x() + (r.width() - w) // 2, r.y(), w, r.height())
        h = int(r.width() / self._aspect)
        return QRect(r.x(), r.y() + (r.height() - h) // 2, r.width(), h)

    def paintEvent(self, event: QPaintEvent) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(24, 24, 24))
        if self._image is not None:
            p.drawImage(self._target(), self._image)
        if self.no_signal:
            if self._image is not None:
                p.fillRect(self.rect(), QColor(0, 0, 0, 170))
            p.setPen(QColor(255, 200, 80))
            font = QFont(self.font())
            font.setPointSizeF(max(12.0, self.height() / 14))
            font.setBold(True)
            p.setFont(font)
            p.drawText(QRectF(self.rect()), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       f"NO SIGNAL\n{self.no_signal}")
        p.end()


class CameraView(QWidget):
    """One camera: its name, capture and display rates, and the picture."""

    def __init__(self, name: str, width: int, height: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"camera_{name}")
        self.name = name
        self.title = ElidedLabel(name)  # a long title never widens the window
        self.title.setObjectName("cameraTitle")
        self.canvas = FrameCanvas()
        self.canvas._aspect = width / max(1, height)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.canvas, 1)
        self.display_meter = RateMeter()
        self.frames_drawn = 0
        self._last_seq: int | None = None
        self._size = f"{width}x{height}"

    @property
    def display_fps(self) -> float:
        return self.display_meter.rate()

    def show_frame(self, frame: Frame | None, stalled: bool) -> bool:
        """Draw the mailbox's frame if it is new; returns True if something was drawn."""
        if frame is None:
            self.canvas.set_no_signal("no frame received yet")
            return False
        self.canvas.set_no_signal(f"no new frame for over {STALL_AFTER_S:g} s: check the cable" if stalled else "")
        if frame.seq == self._last_seq:
            return False
        self._last_seq = frame.seq
        self.canvas.set_frame(frame.image)
        self.display_meter.tick()
        self.frames_drawn += 1
        return True

    def show_rates(self, capture_fps: float) -> None:
        self._set_title(
            f"<b>{self.name}</b>&nbsp;&nbsp;{self._size}&nbsp;&nbsp;capture {capture_fps:.0f} · "
            f"display {self.display_fps:.0f} fps"  # whole numbers: fits a 1280 px window's tile, changes less
        )


    def _set_title(self, text: str) -> None:
        if self.title.text() != text:
            self.title.setText(text)


class CameraGrid(QWidget):
    """The camera views in a grid, two per row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cameraGrid")
        self._layout = QGridLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(6)
        self.views: list[CameraView] = []
        self._empty = QLabel("No cameras: add one with Devices > Cameras…")
        self._empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._layout.addWidget(self._empty, 0, 0)

    def set_cameras(self, cameras: list[tuple[str, int, int]]) -> None:
        for view in self.views:
            self._layout.removeWidget(view)
            view.deleteLater()
        self.views = []
        self._empty.setVisible(not cameras)
        columns = 1 if len(cameras) == 1 else 2
        for i, (name, w, h) in enumerate(cameras):
            view = CameraView(name, w, h)
            self._layout.addWidget(view, i // columns, i % columns)
            self.views.append(view)

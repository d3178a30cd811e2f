"""Camera views: the latest frame of each camera, drawn when the GUI timer pulls it.

A QImage wrapping the camera's frame (read-only, never modified; a yuv420p frame is converted to RGB at the
size it is drawn, see FrameCanvas.set_frame), painted into the widget: measured at about 0.5 ms per 640x480
RGB frame, against about 1.4 ms for a pyqtgraph ImageItem (see gui_bench).
No Qt signal per frame: `show_frame` is called by the controller's timer with whatever the mailbox holds.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from av.video.reformatter import VideoReformatter
from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QVBoxLayout, QWidget

from station.dataset.video import video_frame
from station.hardware.interfaces import Frame, image_format, image_size
from station.thresholds import STALL_AFTER_S
from widgets.elided_label import ElidedLabel
from widgets.no_signal import paint_no_signal

# Qt's RGB32 pixels are 0xffRRGGBB words: these bytes in memory (what QPainter draws without converting)
RGB32_BYTES = "bgra" if sys.byteorder == "little" else "argb"


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
        self._reformatter = VideoReformatter()  # keeps its swscale context from frame to frame
        self.no_signal = ""  # non-empty: the reason shown instead of the picture

    def set_frame(self, image: np.ndarray) -> None:
        """Show an RGB image (QPainter scales it when painting), or a camera's yuv420p image converted here, only
        for the frames drawn, straight to the size it is drawn at: one swscale pass to Qt's own RGB32 layout.
        Measured per 1280x720 frame drawn at 704x396: 0.6 ms of CPU and 0.8-1.0 ms on the GUI thread, against
        1.1-1.7 ms and 4-5.5 ms converting at full size to RGB24 and letting QPainter scale it. On the GUI
        thread itself (threads=1): swscale's own slice threads run at normal priority, behind the encoders, and
        the GUI thread waited for them (three 1280x720 cameras while saving: 2.5 ms a frame on average, 12 ms
        at the 99th percentile, against 1.2 and 3.6 ms converting alone)."""
        w, h = image_size(image)
        self._aspect = w / h
        if image_format(image) != "rgb24":
            target = self._target()
            tw, th = max(2, target.width()), max(2, target.height())
            source = video_frame(image, image_format(image))
            image = self._reformatter.reformat(source, width=tw, height=th, format=RGB32_BYTES,
                                               interpolation="BILINEAR", threads=1).to_ndarray()
            fmt = QImage.Format.Format_RGB32
        else:
            fmt = QImage.Format.Format_RGB888
        if not image.flags.c_contiguous:
            image = np.ascontiguousarray(image)
        self._array = image
        self._image = QImage(image.data, image.shape[1], image.shape[0], image.strides[0], fmt)
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
            paint_no_signal(p, QRectF(self.rect()), self.font(), max(12.0, self.height() / 14), "NO SIGNAL",
                            self.no_signal, veil=self._image is not None)
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
        self._rates = ("", "")  # (capture, shown) as last said

    @property
    def display_fps(self) -> float:
        return self.display_meter.rate()

    def show_frame(self, frame: Frame | None, stalled: bool, check: str = "its cable") -> bool:
        """Draw the mailbox's frame if it is new; returns True if something was drawn. `check`: what the
        operator looks at if the camera stalled (station.hardware.interfaces.what_to_check)."""
        if frame is None:
            self.canvas.set_no_signal("no frame received yet")
            return False
        self.canvas.set_no_signal(f"no new frame for over {STALL_AFTER_S:g}\u00a0s: check {check}" if stalled else "")
        if frame.seq == self._last_seq:
            return False
        self._last_seq = frame.seq
        self.canvas.set_frame(frame.image)
        self.display_meter.tick()
        self.frames_drawn += 1
        return True

    def show_rates(self, capture_fps: float) -> None:
        # whole numbers, and short: fits a tile of three in a 1280 px window ("capture 30 · display 30 fps"
        # lost its "fps" there), changes less
        self._rates = (f"{capture_fps:.0f} fps", f"shown {self.display_fps:.0f}")
        self._fit_title()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_title()

    def _fit_title(self) -> None:
        """The fullest title that fits the tile: the size goes first, then the rate shown. Rich text is clipped,
        not elided, so a narrow tile used to show "shown 2" for "shown 30"; the whole title is the tooltip."""
        capture, shown = self._rates
        both = f"{capture} · {shown}" if capture else ""  # no rates yet: the name and the size
        variants = [(self._size, both), ("", both), ("", capture), ("", "")]
        bold = QFont(self.title.font())
        bold.setBold(True)
        room = self.title.contentsRect().width() or self.width()
        gap = "\u00a0\u00a0"
        for size, rates in variants:
            plain = gap.join(part for part in (self.name, size, rates) if part)
            if QFontMetrics(bold).horizontalAdvance(plain) <= room or not rates:
                break
        rich = "&nbsp;&nbsp;".join(part for part in (f"<b>{self.name}</b>", size, rates) if part)
        if self.title.text() != rich:
            self.title.setText(rich)
            self.title.setToolTip(f"{self.name}  {self._size}  capture {capture} · {shown}")


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

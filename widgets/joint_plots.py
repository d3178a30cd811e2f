"""Six joint plots, leader (action) and follower (state) overlaid, the last ~10 s scrolling, with numbers.

pyqtgraph lays the plots out and draws their axes, grids and titles; the curves are ours, painted by one
widget over pyqtgraph's view (`CurvesOverlay`): a picture of the plots taken when a range, the layout or the
size changes, and each frame the curves and numbers over it, in one paint. Each frame used to repaint the
plots through Qt's walk over pyqtgraph's items: about 150 calls into Python a frame (bounding rectangles,
paints), each one taking the GIL back from the camera, spool and save threads on the GUI thread (measured
with three 1280x720 cameras: 4.9 ms of the GUI thread's CPU a frame, and most of the event loop's stalls over
30 ms; see docs/performance.md). The lines are polylines whose points numpy places in the widget's
(device-independent) pixels inside a QPolygonF's own memory, with 1-px pens drawn twice one pixel apart (a
wide pen goes through Qt's stroker).
The y ranges are set by hand twice a second (one plot a frame) with some hysteresis instead of auto-ranging
on every frame.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pyqtgraph.functions as pgfn
from PySide6.QtCore import QEvent, QObject, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPaintEvent, QPen, QPolygonF, QTransform
from PySide6.QtWidgets import QWidget

from station.joints import JOINTS
from widgets.no_signal import paint_no_signal

WINDOW_S = 10.0
LEADER_COLOUR = "#4da3ff"
FOLLOWER_COLOUR = "#ffa94d"
WIDEST_NUMBER = "-000.0"  # the widest a joint's number is said (degrees, or the gripper's percent)
PLOTS_BACKGROUND = "#1c1f24"
NUMBERS_BACKDROP = QColor(PLOTS_BACKGROUND)
NUMBERS_BACKDROP.setAlpha(215)  # the lines show faintly through the numbers' box, never across their digits
RANGE_EVERY = 15  # frames between two y-range checks of a plot (the plots take turns, one a frame)


class Curve:
    """One line's samples, x in seconds before the newest sample (what the tests and the plot read)."""

    def __init__(self) -> None:
        self.x: np.ndarray | None = None
        self.y: np.ndarray | None = None

    def getData(self) -> tuple[np.ndarray | None, np.ndarray | None]:  # noqa: N802  (pyqtgraph's name)
        return self.x, self.y


class JointLines:
    """A joint's leader and follower lines and their latest values, painted into its plot's view box."""

    def __init__(self, leader: Curve, follower: Curve) -> None:
        self.curves = [(follower, QPen(QColor(FOLLOWER_COLOUR), 1)), (leader, QPen(QColor(LEADER_COLOUR), 1))]
        self.leader, self.follower = leader, follower
        self.font = QFont()
        self.font.setPointSizeF(11)
        self.font.setBold(True)
        self._metrics = QFontMetricsF(self.font)
        self._polygons: dict[int, tuple[QPolygonF, np.ndarray]] = {}

    def _polygon(self, n: int) -> tuple[QPolygonF, np.ndarray]:
        held = self._polygons.get(n)
        if held is None:
            polygon = pgfn.create_qpolygonf(n)
            held = self._polygons[n] = (polygon, pgfn.ndarray_from_qpolygonf(polygon))
            if len(self._polygons) > 8:  # sizes vary only while the buffer fills
                self._polygons = {n: held}
        return held

    def paint(self, p: QPainter, to_pixels: QTransform, box: QRectF) -> None:
        """Lines placed by `to_pixels` (data -> the painter's pixels; the plots never rotate), numbers in the
        view box's top-left corner."""
        for curve, pen in self.curves:
            if curve.x is None or curve.y is None or len(curve.x) < 2:
                continue
            polygon, xy = self._polygon(len(curve.x))
            xy[:, 0] = to_pixels.m11() * curve.x + to_pixels.dx()
            xy[:, 1] = to_pixels.m22() * curve.y + to_pixels.dy()
            p.setPen(pen)
            p.drawPolyline(polygon)
            p.translate(0, 1)  # a second 1-px line under the first: looks 2 px wide at a fifth of the cost
            p.drawPolyline(polygon)
            p.translate(0, -1)
        self._paint_numbers(p, box)

    def _paint_numbers(self, p: QPainter, box: QRectF) -> None:
        if self.leader.y is None or self.follower.y is None or not len(self.leader.y):
            return
        p.setFont(self.font)
        baseline = box.top() + 4 + self._metrics.ascent()
        leader, gap, follower = self.number_words(box.width() - 8)
        width = self._metrics.horizontalAdvance(leader + gap + follower)
        p.fillRect(QRectF(box.left() + 1, box.top() + 2, min(width + 6, box.width() - 2), self._metrics.height() + 4),
                   NUMBERS_BACKDROP)
        p.setPen(self.curves[1][1].color())
        p.drawText(QPointF(box.left() + 4, baseline), leader)
        p.setPen(self.curves[0][1].color())
        p.drawText(QPointF(box.left() + 4 + self._metrics.horizontalAdvance(leader + gap), baseline), follower)

    def number_words(self, room: float) -> tuple[str, str, str]:
        """The latest values as (leader, gap, follower): "leader 36.0", "   ", "follower 35.2", or "L 36.0",
        "  ", "F 35.2" where the long words with the widest numbers a joint shows do not fit `room` pixels (a
        narrow window cut the follower's number off). Chosen by the widest numbers, not the ones shown: by
        these, the words switched between the two forms from frame to frame as the numbers moved."""
        assert self.leader.y is not None and self.follower.y is not None
        values = f"{float(self.leader.y[-1]):.1f}", f"{float(self.follower.y[-1]):.1f}"
        for (leader_word, follower_word), gap in ((("leader ", "follower "), "   "), (("L ", "F "), "  ")):
            widest = leader_word + WIDEST_NUMBER + gap + follower_word + WIDEST_NUMBER
            if self._metrics.horizontalAdvance(widest) <= room:
                break
        return leader_word + values[0], gap, follower_word + values[1]


class CurvesOverlay(QWidget):
    """Covers the plots' viewport, so that Qt never repaints pyqtgraph's items for a new frame: paints a
    picture of the plots and the lines over it. The picture is taken again, whole, when the size, a plot's
    range or a view box's place changes (its axes and grid move); a title or label changed after the window
    is shown needs `invalidate()`. Whole, not one plot's part: rendering a part still paints every plot's
    axes (pyqtgraph sets its own clip), drawing their text again over itself, for nearly the cost of the whole
    (measured 2.8 against 3.9 ms). Opaque, so that repainting it repaints nothing under it; never takes the
    mouse or the keyboard. (Not the scene's `changed` signal: connected, it makes Qt report the whole scene
    changed whenever a view box's transform does, the transform's item having no area of its own.)"""

    def __init__(self, plots: JointPlots) -> None:
        super().__init__(plots.viewport())
        self._plots = plots
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.backdrop: QImage | None = None
        self.backdrops_taken = 0
        self.no_data = ""  # non-empty: why the lines no longer move, said over them
        self.paints = 0
        self._boxes: list[tuple[QRectF, QTransform]] = []  # each plot's view box and data -> pixels
        self.setGeometry(plots.viewport().rect())
        plots.viewport().installEventFilter(self)

    def watch(self, plot: pg.PlotItem) -> None:
        box = plot.getViewBox()
        box.sigRangeChanged.connect(self.invalidate)
        box.sigResized.connect(self.invalidate)  # an axis or a title shown or hidden moves it within its plot
        plot.geometryChanged.connect(self.invalidate)

    def invalidate(self, *_: object) -> None:
        self.backdrop = None
        self.update()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.Resize and isinstance(watched, QWidget):
            self.setGeometry(watched.rect())
            self.invalidate()
        return False

    def _take_backdrop(self) -> QImage:
        view = self._plots
        ratio = self.devicePixelRatioF()
        image = QImage(max(1, round(self.width() * ratio)), max(1, round(self.height() * ratio)),
                       QImage.Format.Format_RGB32)
        image.setDevicePixelRatio(ratio)
        image.fill(view.backgroundBrush().color())
        p = QPainter(image)
        view.render(p, QRectF(self.rect()), self.rect())  # the scene as the viewport shows it, without us
        p.end()
        to_view = view.viewportTransform()
        self._boxes = [
            (to_view.mapRect(plot.getViewBox().sceneBoundingRect()),
             plot.getViewBox().childGroup.sceneTransform() * to_view)
            for plot in view.plots
        ]
        self.backdrop = image
        self.backdrops_taken += 1
        return image

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        image = self.backdrop
        if (image is None or image.deviceIndependentSize().toSize() != self.size()
                or image.devicePixelRatio() != self.devicePixelRatioF()):
            image = self._take_backdrop()
        p = QPainter(self)
        p.drawImage(0, 0, image)
        self.paints += 1
        for lines, (box, to_pixels) in zip(self._plots.lines, self._boxes, strict=False):
            p.setClipRect(box)
            lines.paint(p, to_pixels, box)
        if self.no_data:
            p.setClipping(False)
            paint_no_signal(p, QRectF(self.rect()), self.font(),
                            max(12.0, min(18.0, self.height() / 18)), "NO NEW JOINT DATA", self.no_data)
        p.end()


class JointPlots(pg.GraphicsLayoutWidget):
    def __init__(self, parent: QWidget | None = None, columns: int = 2) -> None:
        super().__init__(parent)
        self.setObjectName("jointPlots")
        self.setBackground(PLOTS_BACKGROUND)
        self.setToolTip(f"Each joint over the last {WINDOW_S:.0f} s: the leader (L, blue) and the follower (F, "
                        "orange), with their latest values")
        self.plots: list[pg.PlotItem] = []
        self.leader_curves: list[Curve] = []
        self.follower_curves: list[Curve] = []
        self.lines: list[JointLines] = []
        self._ranges: list[tuple[float, float]] = []
        for i, name in enumerate(JOINTS):
            plot = self.addPlot(row=i // columns, col=i % columns)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.disableAutoRange()
            plot.setXRange(-WINDOW_S, 0, padding=0)
            plot.setYRange(-10, 10, padding=0)
            plot.getAxis("left").setWidth(36)
            unit = "%" if name == "gripper" else "°"
            plot.setTitle(f"<span style='font-size:11pt'><b>{name}</b> ({unit})</span>")
            leader, follower = Curve(), Curve()
            self.leader_curves.append(leader)
            self.follower_curves.append(follower)
            self.lines.append(JointLines(leader, follower))
            self.plots.append(plot)
            self._ranges.append((-10.0, 10.0))
        self._frames = 0
        self.overlay = CurvesOverlay(self)
        for plot in self.plots:
            self.overlay.watch(plot)

    def set_no_data(self, reason: str) -> None:
        """Say over the plots why their lines stopped (the control loop stopped), or "" once they move again."""
        if reason != self.overlay.no_data:
            self.overlay.no_data = reason
            self.overlay.update()

    def show_history(self, t: np.ndarray, action: np.ndarray, state: np.ndarray) -> None:
        """Draw the buffered samples (oldest first); x is seconds before the newest sample."""
        if len(t) == 0:
            return
        keep = t >= t[-1] - WINDOW_S
        x = (t[keep] - t[-1]).astype(np.float64)
        a, s = action[keep], state[keep]
        for j in range(len(JOINTS)):
            self.leader_curves[j].x = self.follower_curves[j].x = x
            self.leader_curves[j].y = a[:, j]
            self.follower_curves[j].y = s[:, j]
        self.overlay.update()
        j = self._frames % RANGE_EVERY  # one plot's range a frame: a new range redraws its axes and grid
        if j < len(self.plots):
            self._fit_range(j, a[:, j], s[:, j])
        self._frames += 1

    def _fit_range(self, j: int, a: np.ndarray, s: np.ndarray) -> None:
        lo, hi = float(min(a.min(), s.min())), float(max(a.max(), s.max()))
        span = max(10.0, hi - lo)
        want_lo, want_hi = lo - 0.1 * span, hi + 0.45 * span  # room for the numbers
        cur_lo, cur_hi = self._ranges[j]
        outside = want_lo < cur_lo or want_hi > cur_hi
        too_loose = (cur_hi - cur_lo) > 2.0 * (want_hi - want_lo)
        if outside or too_loose:
            self._ranges[j] = (want_lo, want_hi)
            self.plots[j].setYRange(want_lo, want_hi, padding=0)

"""Six joint plots, leader (action) and follower (state) overlaid, the last ~10 s scrolling, with numbers.

pyqtgraph lays the plots out (axes, grids, titles: cached as pixmaps, redrawn only when a range changes);
the curves are ours. Each joint's leader and follower are one `CurvePair` item painting two polylines whose
points numpy places in device pixels inside a QPolygonF's own memory, with 1-px pens drawn twice one pixel
apart (a wide pen goes through Qt's stroker: measured 2.4 ms of the 4.2 ms a frame of pyqtgraph's own curve
items cost, against about 1.3 ms for the whole widget now). That time was spent holding the GIL on the GUI
thread, where it delayed the control loop (see docs/performance.md). The latest values are drawn in each
view box's corner by the same item (an HTML text item cost 1.5 ms an update), and the y ranges are set by
hand twice a second (one plot a frame) with some hysteresis instead of auto-ranging on every frame.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pyqtgraph.functions as pgfn
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from station.joints import JOINTS

WINDOW_S = 10.0
LEADER_COLOUR = "#4da3ff"
FOLLOWER_COLOUR = "#ffa94d"
RANGE_EVERY = 15  # frames between two y-range checks of a plot (the plots take turns, one a frame)


class Curve:
    """One line's samples, x in seconds before the newest sample (what the tests and the plot read)."""

    def __init__(self) -> None:
        self.x: np.ndarray | None = None
        self.y: np.ndarray | None = None

    def getData(self) -> tuple[np.ndarray | None, np.ndarray | None]:  # noqa: N802  (pyqtgraph's name)
        return self.x, self.y


class CurvePair(pg.GraphicsObject):
    """A joint's leader and follower lines, painted in one call; bounded by the plot's x window and y range."""

    def __init__(self, leader: Curve, follower: Curve) -> None:
        super().__init__()
        self.curves = [(follower, QPen(QColor(FOLLOWER_COLOUR), 1)), (leader, QPen(QColor(LEADER_COLOUR), 1))]
        self.leader, self.follower = leader, follower
        self.y_range = (-10.0, 10.0)
        self.font = QFont()
        self.font.setPointSizeF(11)
        self.font.setBold(True)
        self._metrics = QFontMetricsF(self.font)
        self._polygons: dict[int, tuple[QPolygonF, np.ndarray]] = {}

    def set_range(self, lo: float, hi: float) -> None:
        self.prepareGeometryChange()
        self.y_range = (lo, hi)

    def changed(self) -> None:
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802
        lo, hi = self.y_range
        return QRectF(-WINDOW_S, lo, WINDOW_S, hi - lo)

    def _polygon(self, n: int) -> tuple[QPolygonF, np.ndarray]:
        held = self._polygons.get(n)
        if held is None:
            polygon = pgfn.create_qpolygonf(n)
            held = self._polygons[n] = (polygon, pgfn.ndarray_from_qpolygonf(polygon))
            if len(self._polygons) > 8:  # sizes vary only while the buffer fills
                self._polygons = {n: held}
        return held

    def paint(self, p: QPainter, option: QStyleOptionGraphicsItem | None = None, widget: QWidget | None = None) -> None:
        t = p.transform()  # data -> device pixels; the plots never rotate
        p.resetTransform()
        for curve, pen in self.curves:
            if curve.x is None or curve.y is None or len(curve.x) < 2:
                continue
            polygon, xy = self._polygon(len(curve.x))
            xy[:, 0] = t.m11() * curve.x + t.dx()
            xy[:, 1] = t.m22() * curve.y + t.dy()
            p.setPen(pen)
            p.drawPolyline(polygon)
            p.translate(0, 1)  # a second 1-px line under the first: looks 2 px wide at a fifth of the cost
            p.drawPolyline(polygon)
            p.translate(0, -1)
        self._paint_numbers(p, t.m11() * -WINDOW_S + t.dx(), t.m22() * self.y_range[1] + t.dy())
        p.setTransform(t)

    def _paint_numbers(self, p: QPainter, left: float, top: float) -> None:
        """The latest leader and follower values in the plot's top-left corner."""
        if self.leader.y is None or self.follower.y is None or not len(self.leader.y):
            return
        p.setFont(self.font)
        baseline = top + 4 + self._metrics.ascent()
        leader = f"leader {float(self.leader.y[-1]):.1f}"
        p.setPen(self.curves[1][1].color())
        p.drawText(QPointF(left + 4, baseline), leader)
        p.setPen(self.curves[0][1].color())
        p.drawText(QPointF(left + 4 + self._metrics.horizontalAdvance(leader + "   "), baseline),
                   f"follower {float(self.follower.y[-1]):.1f}")


class JointPlots(pg.GraphicsLayoutWidget):
    def __init__(self, parent: QWidget | None = None, columns: int = 2) -> None:
        super().__init__(parent)
        self.setObjectName("jointPlots")
        self.setBackground("#1c1f24")
        self.plots: list[pg.PlotItem] = []
        self.leader_curves: list[Curve] = []
        self.follower_curves: list[Curve] = []
        self.pairs: list[CurvePair] = []
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
            for side in ("left", "bottom"):  # axes and grid change twice a second at most: blit them
                plot.getAxis(side).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            unit = "%" if name == "gripper" else "°"
            plot.setTitle(f"<span style='font-size:11pt'><b>{name}</b> ({unit})</span>")
            leader, follower = Curve(), Curve()
            pair = CurvePair(leader, follower)
            plot.addItem(pair)
            self.leader_curves.append(leader)
            self.follower_curves.append(follower)
            self.pairs.append(pair)
            self.plots.append(plot)
            self._ranges.append((-10.0, 10.0))
        self._frames = 0

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
            self.pairs[j].changed()
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
            self.pairs[j].set_range(want_lo, want_hi)

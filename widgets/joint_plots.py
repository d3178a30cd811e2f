"""Six joint plots, leader (action) and follower (state) overlaid, the last ~10 s scrolling, with numbers.

Curves are created once and fed with setData(skipFiniteCheck=True) from the control loop's ring buffer,
which the controller's timer copies (`JointHistory.snapshot`). What is expensive in pyqtgraph is layout, not
lines: the numbers are text items drawn inside each view box (changing them relays nothing out) and the
y ranges are set by hand twice a second with some hysteresis instead of auto-ranging on every frame.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QGraphicsItem, QWidget

from station.joints import JOINTS

WINDOW_S = 10.0
LEADER_COLOUR = "#4da3ff"
FOLLOWER_COLOUR = "#ffa94d"
NUMBERS_EVERY = 3  # frames between updates of the numbers
RANGE_EVERY = 15  # frames between y-range checks


class JointPlots(pg.GraphicsLayoutWidget):
    def __init__(self, parent: QWidget | None = None, columns: int = 2) -> None:
        super().__init__(parent)
        self.setObjectName("jointPlots")
        self.setBackground("#1c1f24")
        self.plots: list[pg.PlotItem] = []
        self.leader_curves: list[pg.PlotCurveItem] = []
        self.follower_curves: list[pg.PlotCurveItem] = []
        self.numbers: list[pg.TextItem] = []
        self._ranges: list[tuple[float, float]] = []
        leader_pen = pg.mkPen(LEADER_COLOUR, width=2)
        follower_pen = pg.mkPen(FOLLOWER_COLOUR, width=2)
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
            # bare curve items: PlotDataItem's extra machinery (downsampling, symbols) costs per setData
            leader, follower = pg.PlotCurveItem(pen=leader_pen), pg.PlotCurveItem(pen=follower_pen)
            plot.addItem(leader)
            plot.addItem(follower)
            self.leader_curves.append(leader)
            self.follower_curves.append(follower)
            text = pg.TextItem(anchor=(0, 0))
            text.setParentItem(plot.getViewBox())  # in view-box pixels: stays in the corner whatever the range
            text.setPos(4, 2)
            self.numbers.append(text)
            self.plots.append(plot)
            self._ranges.append((-10.0, 10.0))
        self._frames = 0

    @staticmethod
    def _numbers_html(leader: float, follower: float) -> str:
        return (f"<span style='font-size:11pt; font-weight:bold'>"
                f"<span style='color:{LEADER_COLOUR}'>leader {leader:6.1f}</span>&nbsp;&nbsp;"
                f"<span style='color:{FOLLOWER_COLOUR}'>follower {follower:6.1f}</span></span>")

    def show_history(self, t: np.ndarray, action: np.ndarray, state: np.ndarray) -> None:
        """Draw the buffered samples (oldest first); x is seconds before the newest sample."""
        if len(t) == 0:
            return
        keep = t >= t[-1] - WINDOW_S
        x = (t[keep] - t[-1]).astype(np.float64)
        a, s = action[keep], state[keep]
        for j in range(len(JOINTS)):
            self.leader_curves[j].setData(x, a[:, j], skipFiniteCheck=True)
            self.follower_curves[j].setData(x, s[:, j], skipFiniteCheck=True)
        if self._frames % NUMBERS_EVERY == 0:
            for j in range(len(JOINTS)):
                self.numbers[j].setHtml(self._numbers_html(float(a[-1, j]), float(s[-1, j])))
        if self._frames % RANGE_EVERY == 0:
            self._fit_ranges(a, s)
        self._frames += 1

    def _fit_ranges(self, a: np.ndarray, s: np.ndarray) -> None:
        lo = np.minimum(a.min(axis=0), s.min(axis=0))
        hi = np.maximum(a.max(axis=0), s.max(axis=0))
        for j, plot in enumerate(self.plots):
            span = max(10.0, float(hi[j] - lo[j]))
            want_lo, want_hi = float(lo[j]) - 0.1 * span, float(hi[j]) + 0.45 * span  # room for the numbers
            cur_lo, cur_hi = self._ranges[j]
            outside = want_lo < cur_lo or want_hi > cur_hi
            too_loose = (cur_hi - cur_lo) > 2.0 * (want_hi - want_lo)
            if outside or too_loose:
                self._ranges[j] = (want_lo, want_hi)
                plot.setYRange(want_lo, want_hi, padding=0)

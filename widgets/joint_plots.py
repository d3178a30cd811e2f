"""Six joint plots, leader (action) and follower (state) overlaid, the last ~10 s scrolling, with numbers.

Curves are created once and fed with setData(skipFiniteCheck=True) from the control loop's ring buffer,
which the controller's timer copies (`JointHistory.snapshot`). The numbers change at a third of that rate:
they are there to be read, not watched.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QWidget

from station.joints import JOINTS

WINDOW_S = 10.0
LEADER_COLOUR = "#4da3ff"
FOLLOWER_COLOUR = "#ffa94d"


class JointPlots(pg.GraphicsLayoutWidget):
    def __init__(self, parent: QWidget | None = None, columns: int = 3) -> None:
        super().__init__(parent)
        self.setObjectName("jointPlots")
        self.setBackground("#1c1f24")
        self.plots: list[pg.PlotItem] = []
        self.leader_curves: list[pg.PlotDataItem] = []
        self.follower_curves: list[pg.PlotDataItem] = []
        leader_pen = pg.mkPen(LEADER_COLOUR, width=2)
        follower_pen = pg.mkPen(FOLLOWER_COLOUR, width=2)
        for i, name in enumerate(JOINTS):
            plot = self.addPlot(row=i // columns, col=i % columns)
            plot.setMenuEnabled(False)
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setXRange(-WINDOW_S, 0, padding=0)
            plot.enableAutoRange(axis="y")
            plot.disableAutoRange(axis="x")
            plot.getAxis("left").setWidth(36)
            plot.setTitle(self._title(name, None, None))
            self.leader_curves.append(plot.plot(pen=leader_pen, name="leader"))
            self.follower_curves.append(plot.plot(pen=follower_pen, name="follower"))
            self.plots.append(plot)
        self._frames = 0

    @staticmethod
    def _title(name: str, leader: float | None, follower: float | None) -> str:
        unit = "%" if name == "gripper" else "°"
        if leader is None or follower is None:
            values = "—"
        else:
            values = (f"<span style='color:{LEADER_COLOUR}'>{leader:7.1f}{unit}</span> "
                      f"<span style='color:{FOLLOWER_COLOUR}'>{follower:7.1f}{unit}</span>")
        return f"<span style='font-size:11pt'><b>{name}</b>&nbsp;&nbsp;{values}</span>"

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
        self._frames += 1
        if self._frames % 3 == 1:
            for j, name in enumerate(JOINTS):
                self.plots[j].setTitle(self._title(name, float(a[-1, j]), float(s[-1, j])))

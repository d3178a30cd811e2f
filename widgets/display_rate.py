"""How often the window redraws, adapting so that the control loop never pays for the display.

The window's drawing runs on the GUI thread and holds the GIL for part of it; on a loaded machine that can
delay the control loop's tick. So the display gives way first: when the loop reports a late tick, or the
GUI timer itself falls behind, the plots are redrawn less often, then the cameras; after a few calm seconds
the rates climb back one step at a time. Pure logic (no Qt): the controller asks `due()` once per pull.
"""

from __future__ import annotations

from dataclasses import dataclass

# (cameras every n-th pull, plots every n-th pull), from full rate down; the pull runs at ~30 Hz. The plots
# give way first and most (down to 5 Hz); the cameras, which the operator watches, only halve when the GUI
# itself cannot keep up. On a machine loaded by others the loop runs late whatever the window does: the
# display then settles at plots 5-10 Hz and cameras at full rate rather than losing the pictures for nothing.
LEVELS: tuple[tuple[int, int], ...] = ((1, 1), (1, 2), (1, 3), (1, 6), (2, 6))
LOOP_LEVELS = 4  # late control ticks lower the plots only (levels 0-3); a GUI that falls behind goes further
CALM_S = 3.0  # seconds without trouble before climbing one level
STEP_DOWN_GAP_S = 0.5  # at most one step down per this long (a burst of late ticks is one event)
OVERRUN = 3.0  # a pull that comes this many intervals after the previous one means the GUI fell behind


@dataclass
class Due:
    cameras: bool
    plots: bool


class DisplayRate:
    """Decides per GUI pull whether to draw the cameras and the plots; `level` 0 is full rate."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self.level = 0
        self.steps_down = 0  # how often the display gave way (for the bench and the status)
        self._pull = 0
        self._late_seen: int | None = None
        self._last_pull: float | None = None
        self._last_trouble = -1e9
        self._last_change = -1e9

    @property
    def camera_every(self) -> int:
        return LEVELS[self.level][0]

    @property
    def plot_every(self) -> int:
        return LEVELS[self.level][1]

    def due(self, now: float, loop_late_ticks: int) -> Due:
        """Call once per pull with the time and the control loop's late-tick counter so far."""
        floor = -1  # the lowest level the trouble seen now may push the display to
        if self._late_seen is not None and loop_late_ticks > self._late_seen:
            floor = LOOP_LEVELS - 1
        self._late_seen = loop_late_ticks
        if self._last_pull is not None and now - self._last_pull > OVERRUN * self.interval_s:
            floor = len(LEVELS) - 1
        self._last_pull = now
        trouble = floor >= 0
        if trouble:
            self._last_trouble = now
            if self.level < floor and now - self._last_change >= STEP_DOWN_GAP_S:
                self.level += 1
                self.steps_down += 1
                self._last_change = now
        elif self.level > 0 and now - max(self._last_trouble, self._last_change) >= CALM_S:
            self.level -= 1
            self._last_change = now
        self._pull += 1
        return Due(cameras=self._pull % self.camera_every == 0, plots=self._pull % self.plot_every == 0)

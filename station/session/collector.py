"""The cyclic garbage collector, run by a timer on the GUI (main) thread only while the station runs.

CPython runs its cyclic collector on whichever thread happens to allocate when a generation's threshold is
crossed: a camera reader, a spool writer, a save worker (a QThreadPool thread), an encoder. Whatever garbage it
finds is freed there, and reference cycles here often hold Qt objects (a QObject wrapper, a QTimer, a window,
a pyqtgraph item) whose C++ destructors must run on the thread the object lives in. Measured before this: in a
recorded session every cyclic collection that did not run on the GUI thread ran on a save worker (18-20 a
minute headless, 25 a minute with the window open); Qt objects in cycles dropped on the GUI thread while other
threads allocated were all destroyed on those threads ("QObject::killTimer: Timers cannot be stopped from
another thread" for each QTimer); an instrumented window bench crashed twice and deadlocked once (a QWidget
destroyed off its thread takes Qt's locks and then waits for the GIL that the GUI thread, waiting for those
locks, holds). So while the station runs, automatic collection is off and this timer collects instead, on the
thread that created it, by CPython's own rule: a generation is collected once its count (gc.get_count)
passes its threshold, checked every CHECK_MS. Collections of the young generations cost well under a
millisecond with the start-up objects frozen (station.priority.startup_objects_frozen).
"""

from __future__ import annotations

import gc
import logging
import time

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)
CHECK_MS = 100  # how often the counts are read: a cheap call, and garbage waits at most this long
DEFAULT_THRESHOLDS = (700, 10, 10)  # CPython's, used where automatic collection had been switched off by threshold


class GuiThreadCollector(QObject):
    """Collects garbage on the thread that made it (the GUI thread) while started; automatic collection off.

    `start` turns automatic collection off and starts the timer; `stop` collects what the young generations
    hold once more, here, and puts back the state found at start (enabled or not, thresholds). Keeps each
    generation's collections and longest collection (ms) for the log and the benches.
    """

    def __init__(self, check_ms: int = CHECK_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.collections = [0, 0, 0]
        self.longest_ms = [0.0, 0.0, 0.0]
        self.total_ms = 0.0
        self._was_enabled = gc.isenabled()
        self._thresholds = gc.get_threshold()
        self._started = False
        self._timer = QTimer(self)
        self._timer.setInterval(check_ms)
        self._timer.timeout.connect(self.collect_due)

    @property
    def running(self) -> bool:
        return self._started

    def start(self) -> None:
        self._was_enabled = gc.isenabled()
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer.start()
        self._started = True

    def stop(self) -> None:
        """Put the collector back as found, even if the timer never ran (no event loop on this thread)."""
        if not self._started:
            return
        self._started = False
        self._timer.stop()
        self.collect(1)  # what was made since the last tick, here, before the threads may collect again
        gc.set_threshold(*self._thresholds)
        if self._was_enabled:
            gc.enable()

    def due(self) -> int | None:
        """The oldest generation whose count passed its threshold (as CPython decides), or None."""
        counts = gc.get_count()
        limits = [t or d for t, d in zip(self._thresholds, DEFAULT_THRESHOLDS, strict=False)]
        for generation in (2, 1, 0):
            if counts[generation] > limits[generation]:
                return generation
        return None

    def collect_due(self) -> None:
        if gc.isenabled():  # someone switched it back on (a library's enable() after its own disable())
            gc.disable()
        generation = self.due()
        if generation is not None:
            self.collect(generation)

    def collect(self, generation: int) -> int:
        start = time.perf_counter()
        found = gc.collect(generation)
        ms = (time.perf_counter() - start) * 1000
        self.collections[generation] += 1
        self.longest_ms[generation] = max(self.longest_ms[generation], ms)
        self.total_ms += ms
        return found

    def summary(self) -> str:
        young, middle, full = self.collections
        return (f"garbage collected on the GUI thread: {young}/{middle}/{full} collections of generation 0/1/2, "
                f"longest {max(self.longest_ms):.1f} ms, {self.total_ms:.0f} ms in all")

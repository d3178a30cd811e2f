"""The preflight in the window: the encoder and disk probes off the GUI thread, the verdict as a banner when the
camera set does not fit.

The probes (station.preflight, about three seconds once per machine, camera set and disk, then cached) run on
Qt's thread pool when a session opens, before the first take; if the camera set does not fit real time the
window says so with what would (h264, a smaller size, fewer cameras, a faster disk). Closing the session
cancels a probe running.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal

from station.dataset.spec import CameraSpec
from station.preflight import Fit, check_fit, measured, measured_disk

log = logging.getLogger(__name__)


class Preflight(QObject):
    verdict = Signal(object)  # Fit, on the GUI thread

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._cancel = threading.Event()
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self.last: Fit | None = None

    def start(self, cameras: Sequence[CameraSpec], fps: int, vcodec: str, root: Path,
              disk_busy: Callable[[], bool] = lambda: False) -> None:
        """Probe in the background; the disk's probe gives up (nothing kept) once `disk_busy()`: a take or a save
        writing to it, which the probe would slow down and which would slow the probe."""
        self.cancel()
        cancel = self._cancel = threading.Event()
        specs = tuple(cameras)

        def run() -> None:
            try:
                fit = check_fit(specs, fps, vcodec, measured(cancel.is_set), measured(cancel.is_set, again=True),
                                measured_disk(root, lambda: cancel.is_set() or disk_busy()))
            except Exception as e:  # a probe that cannot run must not disturb the session: one log line
                log.error("preflight probe failed: %s", e, exc_info=True)
                return
            if fit is not None and not cancel.is_set():
                self.verdict.emit(fit)

        self._pool.start(run)

    def busy(self) -> bool:
        """A probe is running (about three seconds when this machine's figures are not cached yet)."""
        return self._pool.activeThreadCount() > 0

    def cancel(self, wait_ms: int = 5000) -> None:
        """Stop a probe in flight (the session is closing) and wait for it to end."""
        self._cancel.set()
        self._pool.waitForDone(wait_ms)

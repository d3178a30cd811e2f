"""Stop signals delivered to a Qt event loop, safely: `StopSignals.received` is emitted on the loop's thread.

Python runs signal handlers only between bytecodes, which never happens while Qt's loop waits in C++; so
the signal's number is also written to a socket (signal.set_wakeup_fd) that a QSocketNotifier watches,
which wakes the loop at once. No polling timer, no handler running inside a Qt callback. Signals that came
while the process was starting (station.stopping remembers them) are delivered once the loop runs.
"""

from __future__ import annotations

import signal
import socket

from PySide6.QtCore import QObject, QSocketNotifier, QTimer, Signal

from station import stopping


class StopSignals(QObject):
    received = Signal(int)  # the signal number: SIGINT, SIGTERM or SIGHUP

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        stopping.defer()  # the Python-level handlers only remember; the socket below does the waking
        early = stopping.take_received()
        self._read, self._write = socket.socketpair()
        self._read.setblocking(False)
        self._write.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._write.fileno(), warn_on_full_buffer=False)
        self._notifier = QSocketNotifier(self._read.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        for signum in early:
            QTimer.singleShot(0, self, lambda signum=signum: self.received.emit(signum))

    def _drain(self) -> None:
        try:
            data = self._read.recv(64)
        except BlockingIOError:
            return
        stopping.take_received()  # the same signals, remembered by the Python-level handler
        for signum in data:
            if signum in stopping.STOP_SIGNALS:
                self.received.emit(signum)

    def close(self) -> None:
        """Stop waking the loop (stop signals are still remembered, not raised, until the command ends)."""
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous_fd)
        self._read.close()
        self._write.close()

"""File > Pack dataset: `station pack` on the open dataset, in the background, then back to recording.

The session closes first (its saves must be finished and no take running), which releases the dataset;
the pack takes it, so nothing can record into it meanwhile. Progress and the outcome are said in the
window; afterwards the same dataset is opened again to append. A pack is crash-safe, so quitting while it
runs leaves the old or the packed dataset.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from station.errors import StationError
from widgets.messages import Level

if TYPE_CHECKING:
    from station.dataset.pack import PackResult
    from widgets.controller import Controller

TOPIC = "pack"  # not a dataset: topic, whose banners go when a dataset opens (the reopened one)


class _Signals(QObject):
    progress = Signal(int, int)
    finished = Signal(object)  # PackResult
    failed = Signal(str)


class PackRunnable(QRunnable):
    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.signals = _Signals()
        self.setAutoDelete(False)

    def run(self) -> None:
        from station.commands.pack import pack_locked

        try:
            result = pack_locked(self.root, on_progress=self.signals.progress.emit)
        except StationError as e:
            self.signals.failed.emit(str(e))
        except Exception as e:  # said in the window (never a traceback), and the dataset reopened
            self.signals.failed.emit(f"{type(e).__name__}: {e}")
        else:
            self.signals.finished.emit(result)


def pack_open_dataset(ctrl: Controller) -> PackRunnable | None:
    """Close the session, pack its dataset on a worker thread, reopen it. Returns the job, None if refused."""
    if ctrl.session is None:
        ctrl.say("No dataset is open to pack.", Level.WARNING, topic=TOPIC)
        return None
    if not ctrl._can_switch():
        ctrl.say("Stop the session and let its saves finish before packing the dataset.", Level.WARNING,
                 topic=TOPIC)
        return None
    root = ctrl.session.writer.root
    config = replace(ctrl.config, resume=True)
    ctrl._close_session()
    ctrl.say(f"Packing {root}: recording resumes when it is done.", Level.INFO, topic=TOPIC)
    job = PackRunnable(root)
    step = [0]

    def progress(done: int, total: int) -> None:
        if done == total or done * 10 // max(1, total) != step[0]:
            step[0] = done * 10 // max(1, total)
            ctrl.say(f"Packing {root}: {done} of {total} episodes.", Level.INFO, topic=TOPIC)

    def reopen() -> None:
        ctrl.window.pack_job = None
        if ctrl.session is None and ctrl.devices is not None:
            ctrl._open_session(config)
        ctrl._refresh_all()

    def finished(result: PackResult) -> None:
        ctrl.say(result.summary()[:1].upper() + result.summary()[1:] + ".", Level.INFO, topic=TOPIC)
        reopen()

    def failed(message: str) -> None:
        ctrl.say(f"The dataset could not be packed and is unchanged: {message}", Level.ERROR, topic=TOPIC)
        reopen()

    job.signals.progress.connect(progress)
    job.signals.finished.connect(finished)
    job.signals.failed.connect(failed)
    ctrl.window.pack_job = job  # kept alive (and its signals connected) until it ends
    QThreadPool.globalInstance().start(job)
    ctrl._refresh_all()
    return job

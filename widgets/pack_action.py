"""File > Pack dataset: `station pack` on the open dataset, as a job in the save-queue panel, then back to
recording.

The session closes first (its saves must be finished and no take running), which releases the dataset;
the pack takes it, so nothing can record into it meanwhile. The job's row in the save-queue panel shows its
progress and outcome; afterwards the same dataset is opened again to append. A pack is crash-safe, so
quitting while it runs leaves the old or the packed dataset.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal
from PySide6.QtWidgets import QMessageBox

from station.errors import StationError
from widgets.messages import Level
from widgets.save_queue_presenter import RowView, dataset_job_row

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from station.dataset.pack import PackResult
    from widgets.controller import Controller

TASK = "pack the dataset"
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
            log.error("packing failed", exc_info=True)
            self.signals.failed.emit(f"{type(e).__name__}: {e}")
        else:
            self.signals.finished.emit(result)


def pack_row(done: int, total: int, seconds: float, result: PackResult | None = None,
             error: str | None = None) -> RowView:
    """The panel row of a pack job: running with a bar, packed, or failed."""
    return dataset_job_row(
        TASK, seconds, running=f"packing · {done} of {total} episodes", bar=done / max(1, total),
        done=(result.summary(), "✓ packed") if result is not None else None,
        failed=(f"not packed, the dataset is unchanged: {error}", "not packed") if error is not None else None,
        frames=str(result.frames) if result is not None else "")


def _refused(ctrl: Controller) -> bool:
    """Says why the open dataset cannot be packed now, if it cannot."""
    if ctrl.session is None:
        ctrl.say("No dataset is open to pack.", Level.WARNING, topic=TOPIC)
    elif ctrl.window.push_job is not None:
        ctrl.say("Wait for the push under way to finish before packing the dataset.", Level.WARNING, topic=TOPIC)
    elif not ctrl._can_switch():
        ctrl.say("Stop the session and let its saves finish before packing the dataset.", Level.WARNING,
                 topic=TOPIC)
    else:
        return False
    return True


def ask_pack(ctrl: Controller) -> QMessageBox | PackRunnable | None:
    """File > Pack dataset: packs at once, or first asks when packing would delete excluded episodes for good.
    Returns the question, the job, or None if refused."""
    from station.dataset.pack import excluded_episodes, excluded_words

    if _refused(ctrl):
        return None
    assert ctrl.session is not None
    try:
        words = excluded_words(excluded_episodes(ctrl.session.writer.root))
    except StationError:
        words = ""  # the pack itself says what is wrong with the dataset
    if not words:
        return pack_open_dataset(ctrl)
    box = QMessageBox(QMessageBox.Icon.Question, "Pack the dataset", f"{words[:1].upper()}{words[1:]}. Pack it?",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, ctrl.window)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.accepted.connect(lambda: pack_open_dataset(ctrl))
    box.open()
    ctrl.window.pack_question = box
    return box


def pack_open_dataset(ctrl: Controller) -> PackRunnable | None:
    """Close the session, pack its dataset on a worker thread, reopen it. Returns the job, None if refused."""
    if _refused(ctrl):
        return None
    assert ctrl.session is not None
    root = ctrl.session.writer.root
    config = replace(ctrl.config, resume=True)
    ctrl._close_session()
    ctrl.say(f"Packing {root} (see the save queue): recording resumes when it is done.", Level.INFO, topic=TOPIC)
    job = PackRunnable(root)
    started = time.monotonic()
    model = ctrl.window.queue_model
    model.show_dataset_job(pack_row(0, 1, 0.0))

    def progress(done: int, total: int) -> None:
        model.show_dataset_job(pack_row(done, total, time.monotonic() - started))

    def reopen() -> None:
        ctrl.window.pack_job = None
        if ctrl.session is None and ctrl.devices is not None:
            ctrl._open_session(config)
        ctrl._refresh_all()

    def finished(result: PackResult) -> None:
        model.show_dataset_job(pack_row(0, 0, time.monotonic() - started, result=result))
        ctrl.say(result.summary()[:1].upper() + result.summary()[1:] + ".", Level.INFO, topic=TOPIC)
        reopen()

    def failed(message: str) -> None:
        model.show_dataset_job(pack_row(0, 0, time.monotonic() - started, error=message))
        ctrl.say(f"The dataset could not be packed and is unchanged: {message}", Level.ERROR, topic=TOPIC)
        reopen()

    job.signals.progress.connect(progress)
    job.signals.finished.connect(finished)
    job.signals.failed.connect(failed)
    ctrl.window.pack_job = job  # kept alive (and its signals connected) until it ends
    QThreadPool.globalInstance().start(job)
    ctrl._refresh_all()
    return job

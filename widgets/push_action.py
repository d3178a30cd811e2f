"""File > Push to Hub…: `station push` of the open dataset as a job in the save-queue panel, while recording
goes on.

The push reads a snapshot: hard links to the dataset's files, taken on the GUI thread between two commits (no
commit in flight, and none starts until the GUI thread pumps the queue again), in `.station/push-snapshot/`.
Takes saved meanwhile neither mix into the upload nor wait for it; the next push sends them. The snapshot is
deleted when the push ends (and by the next push, after a crash). It is never uploaded itself: only its
meta/, data/ and videos/ are.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QInputDialog, QLineEdit, QWidget

from widgets.messages import Level
from widgets.save_queue_presenter import TONES, RowStage, RowView, seconds_words

if TYPE_CHECKING:
    from collections.abc import Callable

    from station.hub.push import PushResult
    from widgets.controller import Controller

SNAPSHOT = ".station/push-snapshot"
TASK = "push to the Hub"
TOPIC = "push"
_WAIT_FOR_COMMIT_MS = 50


class _Signals(QObject):
    progress = Signal(int, int)  # bytes done, bytes
    finished = Signal(object)  # PushResult
    failed = Signal(str)


class PushJob:
    """Runs on a daemon thread, not Qt's pool: quitting the window never waits for an upload (a push cut
    short resumes when run again)."""

    def __init__(self, snapshot: Path, repo_id: str, token: str) -> None:
        self.snapshot = snapshot
        self.repo_id = repo_id
        self.token = token
        self.signals = _Signals()

    def start(self) -> None:
        threading.Thread(target=self.run, name="hub-push", daemon=True).start()

    def run(self) -> None:
        from huggingface_hub import constants

        from station.hub.errors import hub_problem
        from station.hub.push import push_dataset

        try:
            result = push_dataset(self.snapshot, self.repo_id, self.token,
                                  on_progress=lambda _f, _n, done, size: self.signals.progress.emit(done, size))
        except Exception as e:  # one plain line in the panel, never a traceback
            shutil.rmtree(self.snapshot, ignore_errors=True)
            self.signals.failed.emit(hub_problem(e, self.repo_id, constants.ENDPOINT) or f"{type(e).__name__}: {e}")
        else:
            shutil.rmtree(self.snapshot, ignore_errors=True)  # before saying so: the job is over once it is said
            self.signals.finished.emit(result)


def take_snapshot(root: Path, dest: Path) -> None:
    """Hard links (copies where links are impossible) to every dataset file of `root`, under `dest`."""
    from station.dataset.pack import dataset_files

    shutil.rmtree(dest, ignore_errors=True)
    for path in dataset_files(root):
        target = dest / path.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)


def push_row(done: int, total: int, seconds: float, result: PushResult | None = None,
             error: str | None = None) -> RowView:
    """The panel row of a push job: uploading with a bar, pushed, or failed."""
    if error is not None:
        stage, words, text = RowStage.FAILED, f"not pushed: {error}", "not pushed"
    elif result is not None:
        stage, words, text = RowStage.SAVED, result.summary(), "✓ pushed"
    else:
        stage, words, text = RowStage.COMMITTING, f"uploading · {done / 1e6:.1f} of {total / 1e6:.1f} MB", ""
    return RowView(
        stage=stage,
        episode="all",
        task=TASK,
        frames="",
        words=words,
        bar=None if stage is not RowStage.COMMITTING else done / max(1, total),
        progress_text=text,
        elapsed=seconds_words(seconds),
        tooltip=words,
        tone=TONES[stage],
    )


def ask_repo_id(parent: QWidget, default: str) -> str | None:
    text, ok = QInputDialog.getText(parent, "Push to Hub", "Dataset repo on the Hugging Face Hub (user/name):",
                                    QLineEdit.EchoMode.Normal, default)
    return text.strip() if ok else None


def push_open_dataset(ctrl: Controller, ask: Callable[[QWidget, str], str | None] = ask_repo_id) -> bool:
    """Ask for the repo, snapshot the open dataset between commits, push it on a worker thread. False if refused."""
    from huggingface_hub import get_token

    from station.dataset.repo_id import repo_id_problem

    window = ctrl.window
    if ctrl.session is None:
        ctrl.say("No dataset is open to push.", Level.WARNING, topic=TOPIC)
        return False
    if window.pack_job is not None or window.push_job is not None:
        ctrl.say("Wait for the pack or push under way to finish first.", Level.WARNING, topic=TOPIC)
        return False
    token = get_token()
    if not token:
        ctrl.say("No Hugging Face token: run `hf auth login` (or set HF_TOKEN) with a token that may write, "
                 "then push again.", Level.ERROR, topic=TOPIC)
        return False
    default = "" if ctrl.config.repo_id.startswith("local/") else ctrl.config.repo_id
    repo_id = ask(window, default)
    if repo_id is None:
        return False
    problem = repo_id_problem(repo_id)
    if problem:
        ctrl.say(f"Cannot push: {problem}.", Level.ERROR, topic=TOPIC)
        return False
    session = ctrl.session
    root = session.writer.root
    started = time.monotonic()
    model = window.queue_model

    def start() -> None:
        if ctrl.session is not session:
            return  # the dataset was closed meanwhile
        if session.queue.commit_in_flight:
            QTimer.singleShot(_WAIT_FOR_COMMIT_MS, start)
            return
        try:
            take_snapshot(root, job.snapshot)
        except OSError as e:
            shutil.rmtree(job.snapshot, ignore_errors=True)
            failed(f"reading {root} failed ({e.strerror or e})")
            return
        job.start()

    def finished(result: PushResult) -> None:
        window.push_job = None
        model.show_dataset_job(push_row(0, 0, time.monotonic() - started, result=result))
        ctrl.say(result.summary()[:1].upper() + result.summary()[1:] + ".", Level.INFO, topic=TOPIC)

    def failed(line: str) -> None:
        window.push_job = None
        model.show_dataset_job(push_row(0, 0, time.monotonic() - started, error=line))
        ctrl.say(f"The dataset was not pushed: {line}", Level.ERROR, topic=TOPIC)

    job = PushJob(root / SNAPSHOT, repo_id, token)
    job.signals.progress.connect(
        lambda done, size: model.show_dataset_job(push_row(done, size, time.monotonic() - started)))
    job.signals.finished.connect(finished)
    job.signals.failed.connect(failed)
    window.push_job = job  # kept alive (and its signals connected) until it ends; a second push waits
    model.show_dataset_job(push_row(0, 1, 0.0))
    start()
    return True

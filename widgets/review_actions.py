"""Reviewing takes in the window: mark the last take success/failure with a note, drop it, exclude an episode.

A take may be marked while it is still being saved: the mark waits here and is written the moment its episode
is committed (the queue's `job_saved`). A committed episode is marked at once: one small episodes file is
rewritten atomically (station.dataset.curation), never touching the commit the queue may be running meanwhile.
Dropping the last take waits for the queue to be idle (a drop rewrites the totals a commit also writes).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QInputDialog, QLineEdit, QMessageBox, QWidget

from station.dataset import curation
from station.errors import StationError
from station.saving.queue import JobStatus, SaveJob
from station.session.state import Phase
from widgets.keymap import keep_station_keys_out_of_menus
from widgets.messages import Level
from widgets.presenters import dropped_words, put_back_words

if TYPE_CHECKING:
    from station.session.builder import Session
    from widgets.controller import Controller

log = logging.getLogger(__name__)
TOPIC = "review"


class Review(QObject):
    changed = Signal()  # an episode of the open dataset was marked, excluded, dropped or committed

    def __init__(self, ctrl: Controller) -> None:
        super().__init__(ctrl)
        self.ctrl = ctrl
        self.pending: dict[int, tuple[str | None, str | None]] = {}  # job id -> (outcome, note) until committed
        self.note_dialog: QInputDialog | None = None
        self.confirm_box: QMessageBox | None = None
        self.episodes_dialog: QDialog | None = None  # the episodes view, once opened
        self.replay_dialog: QDialog | None = None  # the replay window while it is open (deleted on close)

    # -- the session --
    def attach(self, session: Session) -> None:
        self.pending.clear()
        session.queue.job_saved.connect(self._on_saved)

    @property
    def root(self) -> Path | None:
        return self.ctrl.session.writer.root if self.ctrl.session is not None else None

    def last_take(self) -> SaveJob | None:
        """The most recent take of this session that has ended and is (or will be) in the dataset."""
        if self.ctrl.session is None:
            return None
        current = self.ctrl.session.recorder.loop.take  # the take being recorded, if any
        recording = current.job if current is not None else None
        total = self.ctrl.session.writer.total_episodes
        for job in reversed(self.ctrl.session.queue.jobs):
            dropped = job.status is JobStatus.DONE and job.episode is not None and job.episode >= total
            if job.status is not JobStatus.CANCELLED and job is not recording and not dropped:
                return job
        return None

    def _on_saved(self, job: SaveJob) -> None:
        mark = self.pending.pop(job.id, None)
        if mark is not None and job.episode is not None:
            self._write(job.episode, *mark)
        self.changed.emit()

    # -- marking --
    def mark_last(self, outcome: str | None, note: str | None = None) -> bool:
        """Mark the last take; said in the window. Returns False when there is no take to mark."""
        job = self.last_take()
        if job is None:
            self.ctrl.say("No take to mark yet: record one first.", Level.INFO, topic=TOPIC)
            return False
        if job.status is JobStatus.DONE and job.episode is not None:
            return self._write(job.episode, outcome, note)
        old_outcome, old_note = self.pending.get(job.id, (None, None))
        self.pending[job.id] = (outcome or old_outcome, note if note is not None else old_note)
        episode = self.ctrl.session.queue.expected_episode(job) if self.ctrl.session else None
        self._said(episode, outcome, note, "once it is saved")
        return True

    def mark(self, episode: int, outcome: str | None = None, note: str | None = None) -> bool:
        return self._write(episode, outcome, note)

    def _write(self, episode: int, outcome: str | None, note: str | None) -> bool:
        root = self.root
        if root is None:
            return False
        try:
            curation.mark_episode(root, episode, outcome, note, repair=False)
        except StationError as e:
            self.ctrl.say(f"Could not mark episode {episode}: {e}", Level.ERROR, topic=TOPIC)
            return False
        self._said(episode, outcome, note, "")
        self.changed.emit()
        return True

    def _said(self, episode: int | None, outcome: str | None, note: str | None, when: str) -> None:
        parts = [f"marked {outcome}" if outcome else "", f"note “{note}”" if note else ""]
        what = " with ".join(p for p in parts if p) or "unchanged"
        suffix = f" {when}" if when else ""
        self.ctrl.say(f"Episode {episode}: {what}{suffix}.", Level.INFO, topic=TOPIC)

    def ask_note(self) -> QInputDialog | None:
        """A small non-blocking box for a note on the last take."""
        job = self.last_take()
        if job is None:
            self.ctrl.say("No take to write a note on yet.", Level.INFO, topic=TOPIC)
            return None
        dialog = QInputDialog(self.ctrl.window)
        dialog.setWindowTitle("Note on the last take")
        dialog.setLabelText("A short note (what went wrong, what was special):")
        dialog.setTextEchoMode(QLineEdit.EchoMode.Normal)
        dialog.textValueSelected.connect(lambda text: self.mark_last(None, text.strip()))
        dialog.open()
        self.note_dialog = dialog
        return dialog

    def ask_note_on(self, episode: int, note: str = "", parent: QWidget | None = None) -> QInputDialog:
        """A small non-blocking box for a note on a saved episode, over `parent` (the episodes view, a replay)."""
        dialog = QInputDialog(parent or self.ctrl.window)
        dialog.setWindowTitle(f"Note on episode {episode}")
        dialog.setLabelText("A short note:")
        dialog.setTextValue(note)
        dialog.textValueSelected.connect(lambda text: self.mark(episode, None, text.strip()))
        dialog.open()
        self.note_dialog = dialog
        return dialog

    # -- excluding --
    def set_excluded(self, episode: int, excluded: bool) -> bool:
        root = self.root
        if root is None:
            return False
        try:
            curation.set_excluded(root, episode, excluded, repair=False)
        except StationError as e:
            self.ctrl.say(f"Could not {'exclude' if excluded else 'include'} episode {episode}: {e}",
                          Level.ERROR, topic=TOPIC)
            return False
        word = "excluded: kept on disk, left out when packed" if excluded else "included again"
        self.ctrl.say(f"Episode {episode} {word}.", Level.INFO, topic=TOPIC)
        self.changed.emit()
        return True

    # -- dropping --
    def drop_problem(self) -> str:
        """Why the last take cannot be dropped now ('' when it can)."""
        s = self.ctrl.session
        if s is None:
            return "No dataset is open."
        if s.recorder.phase is Phase.RECORDING:
            return "A take is being recorded: end it first."
        if not s.queue.is_idle:
            return "Takes are still being saved: drop the last one once the save queue is done."
        if s.writer.total_episodes == 0:
            return "The dataset has no episode to drop."
        return ""

    def ask_drop_last(self) -> QMessageBox | None:
        problem = self.drop_problem()
        if problem:
            self.ctrl.say(problem, Level.WARNING, topic=TOPIC)
            return None
        assert self.ctrl.session is not None
        e = self.ctrl.session.writer.total_episodes - 1
        box = QMessageBox(QMessageBox.Icon.Question, "Drop the last take",
                          f"Drop episode {e} from the dataset? Its files, totals and statistics go back to what "
                          "they were before it. It can be put back until another take is recorded.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self.ctrl.window)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.accepted.connect(self.drop_last)
        box.open()
        self.confirm_box = box
        return box

    def drop_last(self) -> bool:
        problem = self.drop_problem()
        if problem:
            self.ctrl.say(problem, Level.WARNING, topic=TOPIC)
            return False
        s = self.ctrl.session
        assert s is not None
        try:
            drop = curation.drop_last_episode(s.writer.root)
        except StationError as e:
            self.dataset_read_again()
            self.ctrl.say(f"Could not drop the last take: {e}", Level.ERROR, topic=TOPIC)
            return False
        self.dataset_read_again()  # the next take takes the dropped number
        s.queue.mark_dropped(drop.episode_index, True)
        self.ctrl.window.session_bar.cadence_label.setText(dropped_words(drop.episode_index))
        self.ctrl.say(f"Episode {drop.episode_index} dropped ({drop.length} frames). "
                      "Review > Put the dropped take back undoes it until another take is recorded.",
                      Level.INFO, topic=TOPIC)
        self.changed.emit()
        return True


    def dataset_read_again(self) -> None:
        """After a drop or its undo (or a failed one): the writer reads the totals again, the queue numbers the
        next takes from them."""
        s = self.ctrl.session
        assert s is not None
        s.writer.repair()
        s.queue.dataset_changed(s.writer.total_episodes)

    def can_undo_drop(self) -> bool:
        """A dropped take can be put back: a dataset is open, and its last drop is still the end of it."""
        s = self.ctrl.session
        try:
            return s is not None and curation.last_drop(s.writer.root) is not None
        except (OSError, StationError):
            return False

    def undo_drop(self) -> bool:
        """Put the last dropped take back (while no take was recorded since)."""
        s = self.ctrl.session
        if s is None:
            self.ctrl.say("No dataset is open.", Level.WARNING, topic=TOPIC)
            return False
        if s.recorder.phase is Phase.RECORDING or not s.queue.is_idle:
            self.ctrl.say("Put the dropped take back once no take is being recorded or saved.", Level.WARNING,
                          topic=TOPIC)
            return False
        try:
            drop = curation.undo_drop(s.writer.root)
        except StationError as e:
            self.dataset_read_again()
            self.ctrl.say(f"Could not put the dropped take back: {e}", Level.WARNING, topic=TOPIC)
            return False
        self.dataset_read_again()
        s.queue.mark_dropped(drop.episode_index, False)
        self.ctrl.window.session_bar.cadence_label.setText(put_back_words(drop.episode_index))
        self.ctrl.say(f"Episode {drop.episode_index} is back ({drop.length} frames).", Level.INFO, topic=TOPIC)
        self.changed.emit()
        return True


def wire_review_keys(ctrl: Controller) -> None:
    """Connect the review keys and put them, with Drop last take…, in a Review menu."""
    from widgets.episodes_view import show_episodes

    w, review = ctrl.window, ctrl.review
    keys = w.keys
    keys["mark_success"].triggered.connect(lambda: review.mark_last("success"))
    keys["mark_failure"].triggered.connect(lambda: review.mark_last("failure"))
    keys["note"].triggered.connect(review.ask_note)
    keys["episodes"].triggered.connect(lambda: show_episodes(ctrl))
    keys["replay"].triggered.connect(lambda: replay_last(ctrl))
    menu = w.menuBar().addMenu("&Review")
    menu.setObjectName("reviewMenu")
    for name in ("mark_success", "mark_failure", "note", "replay"):
        menu.addAction(keys[name])
    menu.addSeparator()
    drop = menu.addAction("&Drop last take…")
    drop.setObjectName("action_drop_last")
    drop.triggered.connect(review.ask_drop_last)
    undo = menu.addAction("&Put the dropped take back")
    undo.setObjectName("action_undo_drop")
    undo.triggered.connect(review.undo_drop)
    menu.aboutToShow.connect(lambda: undo.setEnabled(review.can_undo_drop()))  # greyed once a take took its place
    menu.addSeparator()
    menu.addAction(keys["episodes"])
    # keep the Help menu last
    help_menu = next((a for a in w.menuBar().actions() if a.text() == "&Help"), None)
    if help_menu is not None:
        w.menuBar().insertAction(help_menu, menu.menuAction())
    keep_station_keys_out_of_menus(w.menuBar())


def replay_last(ctrl: Controller) -> None:
    from widgets.replay_view import replay_take

    job = ctrl.review.last_take()
    if job is None:
        ctrl.say("No take to replay yet: record one first.", Level.INFO, topic=TOPIC)
        return
    replay_take(ctrl, job)

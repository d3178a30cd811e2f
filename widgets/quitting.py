"""Quitting the window: ask about a take in progress, keep a held take, wait for the saves, or quit anyway.

The window's close guard asks this object whether it may close now. A take being recorded (or one cut short
by a failure, waiting for Keep / Drop) is asked about first: keep it, throw it away, or cancel (Esc: the take
goes on). Then, while saves are pending, a progress dialog waits for them; the controller closes the window
again when the recorder reports finished. Saves that failed (nothing to wait for, yet takes not saved) are
asked about: quit anyway, or go back to Retry or Discard them. Quit anyway leaves unsaved takes in the spool
for recovery.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from station.session.state import Event, Phase, Step
from widgets.quit_dialog import FailedSavesQuestion, QuitDialog, TakeChoice, TakeQuestion

if TYPE_CHECKING:
    from station.session.builder import Session
    from widgets.main_window import MainWindow


class Quitting(QObject):
    def __init__(self, window: MainWindow, session: Callable[[], Session | None],
                 shutdown: Callable[[], None], refresh: Callable[[], None]) -> None:
        super().__init__(window)
        self.window = window
        self._session = session
        self._shutdown = shutdown
        self._refresh = refresh
        self.dialog: QuitDialog | None = None  # the saves' progress, once quitting waits for them
        self.question: TakeQuestion | None = None
        self.failed_question: FailedSavesQuestion | None = None
        self.anyway = False
        self.closed = False
        self._watched: object | None = None  # the recorder whose steps are watched while the question is open
        self._followed: object | None = None  # the queue whose row changes the progress dialog follows

    @property
    def waiting(self) -> bool:
        return self.dialog is not None

    def quit_anyway(self) -> None:
        """Close now: a take in progress is kept in its spool, unsaved takes stay there for recovery."""
        self.anyway = True
        self.window.close()

    def quit_keeping_the_take(self) -> None:
        """Quit without asking (a stop signal: logout, Ctrl-C in the terminal): the take in progress is kept,
        then the window closes once the saves are done."""
        s = self._session()
        if s is not None:
            r = s.recorder
            if r.phase is Phase.RECORDING:
                r.try_fire(Event.STOP)
            if r.allowed(Event.KEEP):
                r.try_fire(Event.KEEP)
        self.window.close()

    def may_close(self) -> bool:
        """The window's close guard: close now, or ask / stop / wait, and close later."""
        if self.closed:
            return True
        s = self._session()
        if s is not None and not self.anyway:
            r = s.recorder
            if r.phase is Phase.RECORDING or r.machine.cut:
                self._ask(r.phase_elapsed_s() if r.phase is Phase.RECORDING else self._held_seconds(), r.machine.cut)
                return False
            if r.phase is Phase.RESETTING:
                r.try_fire(Event.STOP)
            if r.machine.held:
                r.try_fire(Event.KEEP)  # quitting means the last take is done with: it is kept
            if s.queue.stuck_on is not None:  # a failed save the takes behind it wait for: waiting would never end
                self._ask_about_failed(s.queue.failed_count)
                return False
            if not s.queue.is_idle or r.finished_takes:
                if self.dialog is None:
                    self.dialog = QuitDialog(self.window)
                    self.dialog.quit_anyway.connect(self.quit_anyway)
                    self.dialog.show_progress(s.queue, r.finished_takes)
                    # as the panel: a row changes (the take just kept ends, its save goes on) and the dialog says so
                    # at once, not at the next half-second refresh ("recording" of a take already ended)
                    if self._followed is not s.queue:  # once per queue: Go back, then Ctrl+Q again, opens another
                        self._followed = s.queue
                        s.queue.job_changed.connect(lambda _row: self.show_progress())
                    self.dialog.open()
                    self._refresh()
                return False
            if s.queue.failed_count:  # nothing to wait for, but takes not saved: said, not left silently
                self._ask_about_failed(s.queue.failed_count)
                return False
        self.closed = True
        self._shutdown()
        return True

    def _ask_about_failed(self, failed: int) -> None:
        if self.dialog is not None:  # the saves' progress was up: it has said what it waited for
            self.dialog.accept()
            self.dialog = None
        if self.failed_question is None:
            self.failed_question = FailedSavesQuestion(self.window, failed)
            self.failed_question.buttonClicked.connect(self._on_failed_answer)
            self.failed_question.open()

    def _on_failed_answer(self, button: object) -> None:
        question, self.failed_question = self.failed_question, None
        if question is None:
            return
        question.deleteLater()
        if button is question.quit_button:
            self.quit_anyway()

    def _held_seconds(self) -> float:
        s = self._session()
        ft = s.recorder.held_take if s is not None else None
        return ft.take.rows / max(1, ft.take.cadence.fps) if ft is not None else 0.0

    def _ask(self, seconds: float, cut: bool) -> None:
        if self.question is not None:
            return
        s = self._session()
        elapsed = s.recorder.phase_elapsed_s if s is not None and not cut else None
        self.question = TakeQuestion(self.window, seconds, cut, elapsed)
        self.question.answered.connect(self._on_answer)
        if s is not None and not cut:
            s.recorder.hold_next_take(True)  # reset time 0 too: the take's end starts no next take until answered
        if s is not None and s.recorder is not self._watched:
            self._watched = s.recorder
            s.recorder.state_changed.connect(self._on_step_while_asked)
        self.question.open()

    def _on_step_while_asked(self, step: Step) -> None:
        """The take asked about ended meanwhile (its time ran out): it stays held, and no next take starts,
        until the operator answers (the answer is about that take, not about a later one)."""
        s = self._session()
        question = self.question
        if question is None or s is None or question.cut or step.before is not Phase.RECORDING or not step.held:
            return
        s.recorder.hold_countdown(True)
        question.take_ended(self._held_seconds())

    def _on_answer(self, choice: TakeChoice) -> None:
        question, self.question = self.question, None
        if question is not None:
            question.deleteLater()
        s = self._session()
        if s is None:
            return
        r = s.recorder
        if r.countdown_held:
            r.hold_countdown(False)  # held while the question was open
        if choice is TakeChoice.CANCEL:
            r.hold_next_take(False)  # the session goes on: a take that ended meanwhile leads into the next
            return
        if r.phase is Phase.RECORDING:
            r.try_fire(Event.STOP)
        if choice is TakeChoice.THROW_AWAY and r.allowed(Event.RERECORD):
            r.try_fire(Event.RERECORD)
        elif r.allowed(Event.KEEP):
            r.try_fire(Event.KEEP)
        self.window.close()
        r.hold_next_take(False, go_on=False)

    def show_progress(self) -> None:
        s = self._session()
        if self.dialog is not None and s is not None:
            if s.queue.stuck_on is not None:  # a save failed while quitting waited: ask, as a new Ctrl+Q would
                self.window.close()
                return
            self.dialog.show_progress(s.queue, s.recorder.finished_takes)

    def finish(self) -> None:
        """The controller is shutting down: close what is open."""
        self.closed = True
        if self.question is not None:
            self.question.done(0)
            self.question = None
        if self.failed_question is not None:
            self.failed_question.done(0)
            self.failed_question = None
        if self.dialog is not None:
            self.dialog.accept()

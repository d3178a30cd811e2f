"""Quitting: a question about the take in progress, then the saves' progress with a way to quit anyway.

Both are window-modal but not nested event loops (opened with `open()`): the GUI timer and the control loop
keep running, and the controller acts on the answer (or closes the window when the last save commits).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractButton,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from station.saving.queue import JobStatus, SaveJob, SaveQueue
from station.session.recorder import FinishedTake
from widgets.save_queue_presenter import UNFINISHED, RowStage, overall_progress, row_view

SHOWN_TAKES = 4  # takes listed by name while quitting waits for them
RECOVERED_LATER = "the next start (or `station recover`) saves them"  # what becomes of takes left unsaved


class QuitDialog(QDialog):
    quit_anyway = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("quitDialog")
        self.setWindowTitle("Saving before quitting")
        self.label = QLabel()  # one line each, no wrapping: the dialog is as tall as its lines
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        # two lines of its own, not wrapped: a wrapped label takes more height than the window has counted on
        note = QLabel(f"Quit anyway leaves the unsaved takes on disk;\n{RECOVERED_LATER}.")
        self.quit_button = QPushButton("Quit anyway")
        self.quit_button.setObjectName("quitAnywayButton")
        self.quit_button.setAutoDefault(False)
        self.quit_button.clicked.connect(self.quit_anyway)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.quit_button)
        layout = self._layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(note)
        layout.addLayout(buttons)
        self.resize(460, 160)
        self.fraction = 0.0
        self._watched: list[SaveJob] | None = None

    def show_progress(self, queue: SaveQueue, finishing: Sequence[FinishedTake]) -> None:
        """The same figures as the save-queue panel: its rows' stages and bars, and the share of takes saved."""
        # takes still being made durable that the queue does not list yet
        unlisted = sum(1 for ft in finishing if ft.job not in queue.jobs)
        if self._watched is None:  # the takes not saved when quitting began
            self._watched = [j for j in queue.jobs if j.pending or j.status is JobStatus.FAILED]
        self._watched += [j for j in queue.jobs if j.pending and j not in self._watched]
        saved, total, fraction = overall_progress(self._watched)
        if unlisted:
            fraction, total = fraction * total / (total + unlisted), total + unlisted
        self.fraction = fraction
        self.bar.setValue(int(1000 * fraction))
        self.bar.setFormat(f"{int(100 * fraction)}%")
        left = total - saved
        if left:
            fps = queue.writer.spec.fps
            rows = [row_view(j, queue.expected_episode(j), fps) for j in self._watched]
            busy = [r for r in rows if r.stage in UNFINISHED or r.stage is RowStage.FAILED]
            # one line a take (a failure's whole text is in the save queue's row)
            width = self._text_width()
            self.label.ensurePolished()  # the style's font, before the dialog is first shown
            lines = [self.label.fontMetrics().elidedText(
                f"Episode {r.episode}: {r.words}" + (f" ({int(100 * r.bar)}%)" if r.bar is not None else ""),
                Qt.TextElideMode.ElideRight, width) for r in busy[:SHOWN_TAKES]]
            self.label.setText(f"Quitting when saving is done: {left} take{'s' if left != 1 else ''} to save, "
                               f"{saved} of {total} saved…\n" + "\n".join(lines))
        else:
            self.label.setText("All takes saved.")

    def _text_width(self) -> int:
        """The label's width in the dialog (shown or not yet: the progress is set before the dialog opens)."""
        margins = self._layout.contentsMargins()
        return max(100, self.width() - margins.left() - margins.right())

    def reject(self) -> None:  # Escape or the close box: keep waiting (the operator chose to quit)
        pass


class TakeChoice(Enum):
    KEEP = "keep"
    THROW_AWAY = "throw away"
    CANCEL = "cancel"


class FailedSavesQuestion(QMessageBox):
    """Quitting with saves that failed (they wait for Retry or Discard): quit anyway, or go back (Esc)."""

    def __init__(self, parent: QWidget | None, failed: int) -> None:
        super().__init__(parent)
        self.setObjectName("failedSavesQuestion")
        self.setIcon(QMessageBox.Icon.Warning)
        self.setWindowTitle("Quit with takes not saved?")
        self.setText(f"{failed} take{'s' if failed != 1 else ''} could not be saved: "
                     "the save queue says why.")
        self.setInformativeText(f"Quit anyway leaves them on disk; {RECOVERED_LATER}. "
                                "Go back (Esc) to Retry or Discard them now.")
        self.quit_button = self.addButton("&Quit anyway", QMessageBox.ButtonRole.AcceptRole)
        self.quit_button.setObjectName("quitWithFailedButton")
        self.back_button = self.addButton("Go back", QMessageBox.ButtonRole.RejectRole)
        self.setDefaultButton(self.back_button)
        self.setEscapeButton(self.back_button)


class TakeQuestion(QMessageBox):
    """Quitting while a take records (or a take cut short waits): keep it, throw it away, or cancel (Esc)."""

    answered = Signal(object)  # TakeChoice

    def __init__(self, parent: QWidget | None, seconds: float, cut: bool = False,
                 elapsed: Callable[[], float] | None = None) -> None:
        """`elapsed`: the take's time so far, read twice a second while it records and the question is open."""
        super().__init__(parent)
        self.cut = cut
        self._elapsed = elapsed
        self._ticker = QTimer(self)
        self._ticker.setInterval(500)
        self._ticker.timeout.connect(self._tick)
        self.setObjectName("takeQuestion")
        self.setIcon(QMessageBox.Icon.Question)
        self.setWindowTitle("Quit during a take?")
        if cut:
            self.setText(f"A take cut short by a failure ({seconds:.1f} s) waits for your decision.")
        else:
            self.setText(f"A take is being recorded ({seconds:.0f} s so far).")
            if elapsed is not None:
                self._ticker.start()
        self.setInformativeText("Keep it in the dataset, or throw it away, before quitting? "
                                "Cancel (Esc) goes back" + ("." if cut else ": the take goes on."))
        self.keep_button = self.addButton("&Keep the take", QMessageBox.ButtonRole.AcceptRole)
        self.throw_button = self.addButton("&Throw it away", QMessageBox.ButtonRole.DestructiveRole)
        self.cancel_button = self.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
        self.keep_button.setObjectName("keepTakeButton")
        self.throw_button.setObjectName("throwTakeButton")
        self.setDefaultButton(self.cancel_button)
        self.setEscapeButton(self.cancel_button)
        self.buttonClicked.connect(self._on_clicked)

    def _tick(self) -> None:
        assert self._elapsed is not None
        self.setText(f"A take is being recorded ({self._elapsed():.0f} s so far).")

    def take_ended(self, seconds: float) -> None:
        """The take's time ran out while asking: it is held until the answer."""
        self._ticker.stop()
        self.setText(f"The take has ended ({seconds:.1f} s): it waits for your answer.")
        self.setInformativeText("Keep it in the dataset, or throw it away, before quitting? "
                                "Cancel (Esc) goes back: the session goes on.")

    def _on_clicked(self, button: QAbstractButton) -> None:
        if button is self.keep_button:
            self.answered.emit(TakeChoice.KEEP)
        elif button is self.throw_button:
            self.answered.emit(TakeChoice.THROW_AWAY)
        else:
            self.answered.emit(TakeChoice.CANCEL)

"""The session bar: dataset, task, phase in colour, episode and progress, countdown, the last take's cadence.

A view: it shows what the controller hands it (words from widgets.presenters) and emits `task_edited` when the
operator changes the task and `task_focus` when the task field gains or loses the keyboard (the controller holds
the countdown to the next take meanwhile). The task field keeps every key typed in it (letters, Space, arrows):
none acts as a shortcut; Enter, Escape or leaving the field commit the text, and only then do the single-key
shortcuts work again. During a take the field is read-only: it shows the take's task.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRect, Qt, Signal
from PySide6.QtGui import QColor, QFocusEvent, QKeyEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from station.saving.spool import CadenceReport
from station.session.state import Phase
from widgets.elided_label import ElidedLabel
from widgets.presenters import SessionView, cadence_details, cadence_words

# background, text; strong enough to read from a metre away in light and dark themes alike
PHASE_COLOURS: dict[Phase | None, tuple[str, str]] = {
    None: ("#5f6368", "#ffffff"),
    Phase.IDLE: ("#5f6368", "#ffffff"),
    Phase.RECORDING: ("#c62828", "#ffffff"),
    Phase.RESETTING: ("#f9a825", "#1b1b1b"),
    Phase.STOPPED: ("#1565c0", "#ffffff"),
}
PHASE_WORDS: dict[Phase | None, str] = {
    None: "NO SESSION",
    Phase.IDLE: "READY",
    Phase.RECORDING: "● RECORDING",
    Phase.RESETTING: "RESET",
    Phase.STOPPED: "STOPPED",
}


def _set_text(label: QLabel, text: str) -> None:
    if label.text() != text:
        label.setText(text)


class PhaseBar(QWidget):
    """The phase's progress. Not a QProgressBar: that one repaints synchronously on every setValue."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFixedHeight(14)
        self.fraction = 0.0
        self.colour = QColor(PHASE_COLOURS[None][0])

    def set_fraction(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, fraction))
        if abs(fraction - self.fraction) * self.width() >= 1 or (fraction == 0) != (self.fraction == 0):
            self.fraction = fraction
            self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        r = self.rect()
        p.fillRect(r, self.palette().color(QPalette.ColorRole.Base))
        p.fillRect(QRect(r.x(), r.y(), int(r.width() * self.fraction), r.height()), self.colour)
        p.setPen(self.palette().color(QPalette.ColorRole.Mid))
        p.drawRect(r.adjusted(0, 0, -1, -1))
        p.end()


class TaskEdit(QLineEdit):
    """The task text. While editable it keeps all typing keys; Enter or Escape hand the keys back."""

    committed = Signal(str)
    focus_changed = Signal(bool)  # True while the field has the keyboard (and is editable)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._saved = ""
        self.returnPressed.connect(self._commit)

    def set_saved(self, text: str) -> None:
        self._saved = text
        if not self.hasFocus():
            self.setText(text)

    def revert(self) -> None:
        """Drop uncommitted typing: the field shows the task the takes record."""
        self.setText(self._saved)

    def _commit(self) -> None:
        text = self.text().strip()
        if text:
            self._saved = text
            self.committed.emit(text)
        else:
            self.setText(self._saved)
        self.hand_back_keys()

    def hand_back_keys(self) -> None:
        """Leave the field: focus goes to the window itself, so the next key is a shortcut again."""
        home = self.window().findChild(QWidget, "central")
        if home is not None and home.focusPolicy() != Qt.FocusPolicy.NoFocus:
            home.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            self.clearFocus()

    def commit_typing(self) -> None:
        """Make the typed text the task now (a take is about to start), without leaving the field."""
        text = self.text().strip()
        if not self.isReadOnly() and text and text != self._saved:
            self._saved = text
            self.committed.emit(text)

    def event(self, e: QEvent) -> bool:
        # While typing, no key without Ctrl/Alt reaches a shortcut: Escape only leaves the field, and Space,
        # letters, arrows, Home/End, Down... edit or move in it. Ctrl+Q still quits; F1 and F2 still work.
        if e.type() == QEvent.Type.ShortcutOverride and isinstance(e, QKeyEvent):
            if self.isReadOnly():  # between takes only: while recording every key is a shortcut
                return QWidget.event(self, e)
            modifiers = e.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                                         | Qt.KeyboardModifier.MetaModifier)
            if modifiers == Qt.KeyboardModifier.NoModifier and not Qt.Key.Key_F1 <= e.key() <= Qt.Key.Key_F35:
                e.accept()
                return True
        return super().event(e)

    def focusInEvent(self, e: QFocusEvent) -> None:
        super().focusInEvent(e)
        if not self.isReadOnly():
            self.focus_changed.emit(True)

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if e.key() == Qt.Key.Key_Escape:
            self._commit()
            return
        super().keyPressEvent(e)

    def focusOutEvent(self, e: QFocusEvent) -> None:
        super().focusOutEvent(e)
        if not self.isReadOnly() and self.text().strip() and self.text().strip() != self._saved:
            self._commit()
        self.focus_changed.emit(False)


class SessionBar(QWidget):
    task_edited = Signal(str)
    task_focus = Signal(bool)  # the task field has the keyboard (the countdown holds meanwhile)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sessionBar")
        self.phase_label = QLabel(PHASE_WORDS[None])
        self.phase_label.setObjectName("phaseLabel")
        self.phase_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.phase_label.setFixedWidth(250)  # the same for every phase word: nothing beside it moves
        self.dataset_label = QLabel()
        self.dataset_label.setObjectName("datasetLabel")
        self.dataset_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.task_edit = TaskEdit()
        self.task_edit.setObjectName("taskEdit")
        self.task_edit.setPlaceholderText("What the operator does in this take")
        self.task_edit.setToolTip("The task recorded with each take (its text when the take starts). "
                                  "F2 to edit it (during a take: the next take's; between takes the countdown "
                                  "to the next take holds while you type); Enter or Escape to leave the field.")
        self.task_edit.committed.connect(self.task_edited)
        self.task_edit.focus_changed.connect(self._on_task_focus)
        self.task_edit.focus_changed.connect(self.task_focus)
        self.episode_label = ElidedLabel()  # these three never widen the window: cut with "…", whole in the tooltip
        self.episode_label.setObjectName("episodeLabel")
        self.countdown_label = ElidedLabel()
        self.countdown_label.setObjectName("countdownLabel")
        self.countdown_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.phase_progress = PhaseBar()
        self.phase_progress.setObjectName("phaseProgress")
        self.hint_label = ElidedLabel()
        self.hint_label.setObjectName("hintLabel")
        self.cadence_label = ElidedLabel(cadence_words(None))  # one line whatever it says: nothing below moves
        self.cadence_label.setObjectName("cadenceLabel")

        top = QHBoxLayout()
        top.addWidget(QLabel("Dataset:"))
        top.addWidget(self.dataset_label)
        top.addSpacing(16)
        top.addWidget(QLabel("Task:"))
        top.addWidget(self.task_edit, 1)
        middle = QHBoxLayout()
        middle.addWidget(self.episode_label)
        middle.addStretch(1)
        middle.addWidget(self.countdown_label)
        right = QVBoxLayout()
        right.addLayout(top)
        right.addLayout(middle)
        right.addWidget(self.phase_progress)
        bottom = QHBoxLayout()
        bottom.addWidget(self.hint_label)
        bottom.addStretch(1)
        bottom.addWidget(self.cadence_label, 2)
        right.addLayout(bottom)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(self.phase_label)
        outer.addLayout(right, 1)
        self._phase: object = object()

    def show_task(self, text: str) -> None:
        self.task_edit.set_saved(text)

    def edit_task(self) -> bool:
        """Put the cursor in the task field (F2), its text selected; False with no session. While a take
        records, the field opens for the next take's task (the take keeps the one it started with) and closes
        again when the keys are handed back: typing then never reaches the take's keys (R re-records)."""
        edit = self.task_edit
        if self._phase is None:
            return False
        if edit.isReadOnly():
            self._set_editable(True)
        edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        edit.selectAll()
        return True

    def _set_editable(self, editable: bool) -> None:
        self.task_edit.setReadOnly(not editable)
        self.task_edit.setFocusPolicy(Qt.FocusPolicy.StrongFocus if editable else Qt.FocusPolicy.NoFocus)

    def _on_task_focus(self, typing: bool) -> None:
        if not typing and self._phase is Phase.RECORDING:  # opened by F2 during the take: every key a shortcut again
            self._set_editable(False)
            if self.task_edit.window().focusWidget() is self.task_edit:
                # Left by switching windows: the window would give the keys back to the field on its return
                self.task_edit.hand_back_keys()

    def show_session(self, view: SessionView) -> None:
        if view.phase is not self._phase:
            self._phase = view.phase
            bg, fg = PHASE_COLOURS[view.phase]
            self.phase_label.setText(PHASE_WORDS[view.phase])
            self.phase_label.setStyleSheet(f"background:{bg}; color:{fg};")
            self.phase_progress.colour = QColor(bg)
            recording = view.phase is Phase.RECORDING or view.phase is None
            self._set_editable(not recording)
            if recording:  # a take started while typing (the reset ran out): show what it records
                self.task_edit.revert()
                if self.task_edit.hasFocus():
                    self.task_edit.clearFocus()
        # setText on a label re-lays the bar out: only when the words change (the countdown once a second)
        _set_text(self.dataset_label, view.dataset)
        _set_text(self.episode_label, view.episode)
        _set_text(self.countdown_label, view.countdown)
        self.phase_progress.set_fraction(0.0 if view.remaining_s is None else view.fraction)
        _set_text(self.hint_label, view.hint)

    def show_cadence(self, report: CadenceReport | None) -> None:
        self.cadence_label.setText(cadence_words(report))
        self.cadence_label.setToolTip(cadence_details(report))

"""The station's keys, declared once as data and bound to QActions that work whatever widget has focus.

Same meaning as LeRobot's recording keys. Each binding becomes one QAction with Qt.ApplicationShortcut, so the
menus, the buttons, the tests (`action.trigger()`) and the keyboard all go through the same object. The task
field keeps its typing keys: a QLineEdit claims printable keys (ShortcutOverride) before shortcuts see them.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence

from station.session.state import Event


@dataclass(frozen=True)
class KeyBinding:
    name: str  # the action's id: an Event value, "task" or "quit"
    text: str  # menu and button text
    keys: tuple[str, ...]  # QKeySequence strings, the first one shown in menus
    help: str  # what it does, in the operator's words
    event: Event | None = None


KEYMAP: tuple[KeyBinding, ...] = (
    KeyBinding("record", "Record", ("Space",), "start recording a take (after a stop too: the session goes on)",
               Event.RECORD),
    KeyBinding("next", "Next", ("Right", "N"), "end the current phase early: keep the take or end the reset",
               Event.NEXT),
    KeyBinding("rerecord", "Re-record", ("Left", "R"),
               "in a take: throw it away, then a reset phase before it is recorded again; in a reset or after a "
               "stop: throw the take just finished away (the reset countdown starts again)", Event.RERECORD),
    KeyBinding("reset", "Reset", ("Down",),
               "keep the take and start a reset phase; from READY a warm-up (arms live, nothing recorded, it "
               "ends in READY)", Event.RESET),
    KeyBinding("stop", "Stop", ("Escape", "Q"), "keep the take in progress and end the session (Space records "
               "more)", Event.STOP),
    KeyBinding("task", "Edit task", ("F2",), "put the cursor in the task field; the countdown to the next take "
               "holds while you type (during a take: the next take's task), Enter or Escape goes on"),
    KeyBinding("quit", "Quit", ("Ctrl+Q",), "close the station (asks about a take in progress, waits for saves)"),
    # Reviewing takes (not LeRobot's keys: none of Space, arrows, Esc, R, N, Q)
    KeyBinding("mark_success", "Mark success", ("S",), "mark the last take a success"),
    KeyBinding("mark_failure", "Mark failure", ("F",), "mark the last take a failure"),
    KeyBinding("note", "Note…", ("E",), "write a short note on the last take"),
    KeyBinding("replay", "Replay last take", ("P",), "play the last take back: cameras and joints"),
    KeyBinding("episodes", "Episodes…", ("Ctrl+E",), "every episode of the dataset: outcome, note, flags"),
)
REVIEW_KEYS = ("mark_success", "mark_failure", "note", "replay", "episodes")
SESSION_KEYS = frozenset(QKeySequence(k).toString() for b in KEYMAP if b.event is not None for k in b.keys)


class DialogKeys(QObject):
    """Installed on a review window (episodes, replay): the session's keys pressed there act in it (Space
    presses a button, arrows move in a table or a slider, Esc closes) and never record, re-record, reset or
    stop the take; the review keys, F-keys and Ctrl+... shortcuts still work."""

    def eventFilter(self, watched: QObject, e: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if e.type() == QEvent.Type.ShortcutOverride and isinstance(e, QKeyEvent) \
                and QKeySequence(e.keyCombination()).toString() in SESSION_KEYS:
            e.accept()
            return True
        return False


def keep_session_keys_out(window: QObject) -> None:
    window.installEventFilter(DialogKeys(window))


def key_names(binding: KeyBinding) -> str:
    """'Right or N' — the keys as the operator reads them."""
    names = [QKeySequence(k).toString(QKeySequence.SequenceFormat.NativeText) for k in binding.keys]
    return " or ".join(names)


def build_actions(parent: QObject, keymap: tuple[KeyBinding, ...] = KEYMAP) -> dict[str, QAction]:
    """One application-wide QAction per binding, keyed by binding name."""
    actions: dict[str, QAction] = {}
    for b in keymap:
        action = QAction(b.text, parent)
        action.setObjectName(f"action_{b.name}")
        action.setShortcuts([QKeySequence(k) for k in b.keys])
        action.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
        keys = key_names(b)
        tip = f"{b.text}: {b.help}" + (f" ({keys})" if keys else "")
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setData(b.event)
        actions[b.name] = action
    return actions


def keys_help_html(keymap: tuple[KeyBinding, ...] = KEYMAP) -> str:
    rows = "".join(
        f"<tr><td><b>{key_names(b) or '—'}</b></td><td>{b.text}</td><td>{b.help}</td></tr>" for b in keymap
    )
    return (
        "<p>These keys work whatever has focus, except while typing in the task field "
        "(press Enter or Escape to leave it: typed keys never act as shortcuts there).</p>"
        f"<table cellspacing='6'>{rows}</table>"
    )

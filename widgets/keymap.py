"""The station's keys, declared once as data and bound to QActions that work whatever widget has focus.

Same meaning as LeRobot's recording keys. Each binding becomes one QAction with Qt.ApplicationShortcut, so the
menus, the buttons, the tests (`action.trigger()`) and the keyboard all go through the same object. The task
field keeps its typing keys: a QLineEdit claims printable keys (ShortcutOverride) before shortcuts see them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

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
    stop the take; F-keys and Ctrl+... shortcuts still work. `own` keys ("S", "F", ...) act on what the window
    shows (the episode selected or replayed) instead of on the last take; the review keys it does not own
    keep their meaning."""

    def __init__(self, parent: QObject, own: Mapping[str, Callable[[], object]] | None = None) -> None:
        super().__init__(parent)
        self.own = dict(own or {})

    def eventFilter(self, watched: QObject, e: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if not isinstance(e, QKeyEvent) or e.type() not in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress):
            return False
        key = QKeySequence(e.keyCombination()).toString()
        if e.type() == QEvent.Type.ShortcutOverride and (key in SESSION_KEYS or key in self.own):
            e.accept()  # the key goes to the window as a key press, not to the application's shortcut
            return True
        if e.type() == QEvent.Type.KeyPress and key in self.own and not e.isAutoRepeat():
            self.own[key]()
            return True
        return False


def keep_session_keys_out(window: QWidget, own: Mapping[str, Callable[[], object]] | None = None,
                          also: Iterable[QWidget] = ()) -> None:
    """`also`: widgets inside the window that take letters for themselves (a table's type-ahead search) and
    would keep an `own` key from reaching the window."""
    keys = DialogKeys(window, own)
    window.installEventFilter(keys)
    for widget in also:
        widget.installEventFilter(keys)


class MenuKeys(QObject):
    """Installed on a menu: while it is open, a key without Ctrl is the menu's (a letter picks its item, Esc
    closes it, Space or Enter triggers), never the station's: R in Devices (Reconnect cameras) must not throw a
    held take away, nor Esc stop the session."""

    def eventFilter(self, watched: QObject, e: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if e.type() == QEvent.Type.ShortcutOverride and isinstance(e, QKeyEvent) \
                and not e.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.MetaModifier):
            e.accept()
            return True
        return False


def keep_station_keys_out_of_menus(bar: QWidget) -> None:
    """Every menu under the menu bar (and their submenus) gets MenuKeys; call again after adding a menu."""
    for menu in bar.findChildren(QMenu):
        if not any(isinstance(f, MenuKeys) for f in menu.children()):
            menu.installEventFilter(MenuKeys(menu))


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

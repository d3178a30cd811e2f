"""The episodes view reads the episodes table on a pool thread: a commit costs the GUI thread nothing, the newest
read wins, and closing or deleting the view while a read runs neither waits for it nor shows it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from widgets.episodes_view import EpisodesDialog

GATE_S = 20  # a read held back longer than this was waited for: the test fails instead of hanging


class FakeReview(QObject):
    changed = Signal()

    def __init__(self, root: Path) -> None:
        super().__init__()
        self.root = root
        self.episodes_dialog = None

    def ask_drop_last(self) -> None:
        pass


class FakeController:
    """What the view uses of the controller: the dataset's root, review.changed (a commit, a mark), say()."""

    def __init__(self, root: Path) -> None:
        self.review = FakeReview(root)
        self.session = None
        self.window = QWidget()
        self.said: list[str] = []

    def say(self, text: str, *_args: Any, **_kwargs: Any) -> None:
        self.said.append(text)


def rows(n: int) -> list[dict[str, Any]]:
    return [{"episode_index": e, "length": 30, "task": "pick", "outcome": "unknown", "note": "", "flags": [],
             "excluded": False} for e in range(n)]


class HeldRead:
    """episode_rows held back until released: records each call's thread and whether it was released in time."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.gate = threading.Event()
        self.on_gui_thread: list[bool] = []
        self.released: list[bool] = []

    def __call__(self, _root: Path) -> list[dict[str, Any]]:
        self.on_gui_thread.append(threading.current_thread() is threading.main_thread())
        n = len(self.on_gui_thread)
        if n == 1:
            self.started.set()
            self.released.append(self.gate.wait(GATE_S))
        return rows(n + 1)  # read k shows k + 1 rows: which read is shown is seen in the table


@pytest.fixture
def view(qtbot, tmp_path, monkeypatch):
    held = HeldRead()
    monkeypatch.setattr("widgets.episodes_view.episode_rows", held)
    ctrl = FakeController(tmp_path / "ds")
    dialog = EpisodesDialog(ctrl)
    qtbot.addWidget(dialog)
    dialog.model.thumbs.update({e: None for e in range(8)})  # no thumbnail decoding: there is no dataset
    yield dialog, ctrl, held
    held.gate.set()


def test_a_commit_reads_off_the_gui_thread_and_only_the_newest_read_is_shown(view, qtbot):
    dialog, ctrl, held = view
    dialog.show()
    dialog.refresh()  # read 1: held in the pool
    qtbot.waitUntil(held.started.is_set, timeout=5000)
    ctrl.review.changed.emit()  # a commit: read 2 waits behind read 1 ...
    ctrl.review.changed.emit()  # ... and another supersedes it before it starts
    assert dialog.model.rowCount() == 0 and dialog.reading  # the GUI thread went on: nothing shown yet
    shown: list[int] = []
    dialog.rows_shown.connect(lambda: shown.append(dialog.model.rowCount()))
    with qtbot.waitSignal(dialog.rows_shown, timeout=10000):
        held.gate.set()
    qtbot.waitUntil(lambda: dialog.read_pool.activeThreadCount() == 0, timeout=5000)
    assert held.released == [True]
    assert held.on_gui_thread == [False, False]  # read 1 and read 3 ran, on the pool; read 2 never did
    assert shown == [3] and not dialog.reading  # read 1's rows (2) were dropped: the newest read's are shown
    assert ctrl.said == []


def test_closing_the_view_while_a_read_runs_does_not_wait_for_it_or_show_it(view, qtbot):
    dialog, ctrl, held = view
    dialog.show()
    dialog.refresh()
    qtbot.waitUntil(held.started.is_set, timeout=5000)
    dialog.close()  # had it waited for the read, the read would have been held GATE_S and not released
    held.gate.set()
    qtbot.waitUntil(lambda: dialog.read_pool.activeThreadCount() == 0, timeout=5000)
    assert held.released == [True]
    ctrl.review.changed.emit()  # a commit while it is closed reads nothing
    assert len(held.on_gui_thread) == 1 and dialog.model.rowCount() == 0 and not dialog.reading


def test_deleting_the_view_while_a_read_runs_does_not_crash(qtbot, tmp_path, monkeypatch):
    held = HeldRead()
    monkeypatch.setattr("widgets.episodes_view.episode_rows", held)
    ctrl = FakeController(tmp_path / "ds")
    dialog = EpisodesDialog(ctrl, ctrl.window)
    dialog.show()
    dialog.refresh()
    qtbot.waitUntil(held.started.is_set, timeout=5000)
    gone = threading.Event()
    dialog.destroyed.connect(lambda: held.gate.set())  # the read ends as the window goes (its pool waits)
    dialog.destroyed.connect(lambda: gone.set())
    ctrl.window.deleteLater()  # the main window closes and takes the view with it
    qtbot.waitUntil(gone.is_set, timeout=5000)
    assert held.released == [True]
    ctrl.review.changed.emit()  # the view is gone: nothing connected reads or shows
    assert len(held.on_gui_thread) == 1

"""The save-queue panel on its own: rows follow job records, the newest row stays in view, thrown-away takes fold."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication

from station.saving.queue import JobState, JobStatus, SaveJob, SpoolOwner
from widgets.quit_dialog import QuitDialog
from widgets.save_queue_model import PROGRESS, PROGRESS_ROLE, STAGE, TASK, SaveQueueModel
from widgets.save_queue_panel import SaveQueuePanel


class ListQueue(QObject):
    """The part of SaveQueue the panel reads: its list of records and the two signals it says changes with (no
    take here was dropped from the dataset)."""

    job_added = Signal(int)
    job_changed = Signal(int)

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[SaveJob] = []
        self.writer = SimpleNamespace(spec=SimpleNamespace(fps=30))

    def add(self, **fields) -> SaveJob:
        job = SaveJob(id=len(self.jobs), spool_dir=Path("/nonexistent"), task="stack the cubes", frames=150,
                      cameras=2)
        for name, value in fields.items():
            setattr(job, name, value)
        self.jobs.append(job)
        self.job_added.emit(len(self.jobs) - 1)
        return job

    def change(self, job: SaveJob, **fields) -> None:
        for name, value in fields.items():
            setattr(job, name, value)
        self.job_changed.emit(self.jobs.index(job))

    def expected_episode(self, job: SaveJob) -> int | None:
        kept = [j for j in self.jobs if j.status is not JobStatus.CANCELLED]
        return kept.index(job) if job in kept else None

    def can_restore(self, job: SaveJob) -> bool:
        return False


def make_panel(qtbot, height: int = 220):
    queue = ListQueue()
    model = SaveQueueModel()
    model.set_queue(queue)  # type: ignore[arg-type]
    panel = SaveQueuePanel(model)
    qtbot.addWidget(panel)
    panel.resize(1000, height)
    panel.show()
    qtbot.waitExposed(panel)
    return queue, model, panel


def test_the_newest_row_stays_in_view_as_takes_pile_up(qtbot):
    queue, _model, panel = make_panel(qtbot)
    for _ in range(12):
        queue.add(state=JobState.DONE, finished_at=1.0, episode=0)
        qtbot.waitUntil(panel.newest_row_in_view, timeout=2000)
    assert panel.visible_rows() == 12


@pytest.mark.parametrize("height", [150, 161, 173])
def test_the_rows_in_view_are_whole_at_any_height(qtbot, height: int):
    queue, _model, panel = make_panel(qtbot, height)
    for _ in range(8):
        queue.add(state=JobState.DONE, finished_at=1.0, episode=0)
    qtbot.waitUntil(panel.newest_row_in_view, timeout=2000)
    table = panel.table
    top, last = table.rowAt(0), panel.kept.rowCount() - 1
    assert table.rowViewportPosition(top) == 0  # the top row is not cut in half (Qt aligns the last to the bottom)
    assert table.rowViewportPosition(last) + table.rowHeight(last) <= table.viewport().height()
    assert table.viewport().height() % table.rowHeight(last) == 0


def test_thrown_away_takes_fold_into_a_count_that_expands(qtbot):
    queue, model, panel = make_panel(qtbot)
    assert not panel.thrown_away_button.isVisibleTo(panel)
    kept = queue.add(state=JobState.DONE, finished_at=1.0)
    redone = queue.add(state=JobState.RECORDING, owner=SpoolOwner.RECORDER, progress=0.5)
    queue.change(redone, state=JobState.CANCELLED)
    queue.add(state=JobState.CANCELLED)
    assert model.rowCount() == 3
    with qtbot.waitSignal(model.dataChanged, timeout=2000):  # row changes are announced together
        pass
    assert panel.visible_rows() == 1
    assert panel.thrown_away_button.isVisibleTo(panel) and panel.thrown_away_button.text() == "▸ 2 thrown away"
    panel.thrown_away_button.click()
    assert panel.visible_rows() == 3 and panel.thrown_away_button.text() == "▾ 2 thrown away"
    assert panel.kept.index(1, STAGE).data().startswith("thrown away")
    assert panel.kept.index(1, PROGRESS).data(PROGRESS_ROLE) is None  # no bar for work that never happens
    panel.thrown_away_button.click()
    panel.select_row(0)
    assert panel.selected_row() == queue.jobs.index(kept)


def test_row_changes_reach_the_views_in_one_announcement(qtbot):
    queue, model, _panel = make_panel(qtbot)
    jobs = [queue.add(state=JobState.PREPARING, started_at=1.0, progress=0.1) for _ in range(6)]
    announced: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda top, bottom, *_: announced.append((top.row(), bottom.row())))
    for job in jobs[2:]:  # a take ending: several rows change within a moment
        queue.change(job, progress=0.9)
    assert model.index(5, PROGRESS).data(PROGRESS_ROLE) == pytest.approx(0.9)  # what is read is current at once
    qtbot.waitUntil(lambda: bool(announced), timeout=2000)
    assert announced == [(2, 5)] and not model.announcing()  # once, and nothing more is on its way


def cells_asked_by_a_tick(qtbot, rows: int) -> int:
    """How many cells the views ask the model for when it refreshes the unfinished rows, with `rows` in all."""
    queue, model, panel = make_panel(qtbot)
    for i in range(rows - 3):
        queue.add(state=JobState.DONE, finished_at=1.0, episode=i)
    for _ in range(3):
        queue.add(state=JobState.PREPARING, started_at=1.0, progress=0.1)
    qtbot.waitUntil(lambda: not model.announcing() and panel.newest_row_in_view(), timeout=2000)
    announced: list[int] = []
    model.dataChanged.connect(lambda *_: announced.append(1))
    asked: list[int] = []
    data = model.data
    model.data = lambda *args: asked.append(1) or data(*args)  # type: ignore[method-assign]
    model.tick()
    QApplication.processEvents()
    assert len(announced) == 1  # the three unfinished rows in one announcement
    return len(asked)


def test_a_tick_costs_the_same_with_a_days_queue(qtbot):
    """Columns are fitted to the rows in view: a queue of hundreds of takes is not measured twice a second
    (300 rows: 235 ms of the GUI thread a tick when every row was)."""
    few, many = cells_asked_by_a_tick(qtbot, 20), cells_asked_by_a_tick(qtbot, 300)
    assert many <= few + 50, (few, many)


def test_older_rows_scrolled_into_view_are_not_cut_short(qtbot):
    queue, model, panel = make_panel(qtbot)
    for i in range(40):
        queue.add(state=JobState.DONE, finished_at=1.0, episode=i, task="pick up the red cube and put it in the box")
    for i in range(40, 80):
        queue.add(state=JobState.DONE, finished_at=1.0, episode=i, task="stack")
    qtbot.waitUntil(panel.newest_row_in_view, timeout=2000)
    header = panel.table.horizontalHeader()
    short = header.sectionSize(TASK)
    panel.table.verticalScrollBar().setValue(0)  # the operator scrolls up to an older take
    long = panel.table.fontMetrics().horizontalAdvance("pick up the red cube and put it in the box")
    qtbot.waitUntil(lambda: header.sectionSize(TASK) >= long, timeout=2000)
    assert short < long


def test_a_row_held_in_the_reset_reads_not_saved_and_has_no_bar(qtbot):
    queue, model, panel = make_panel(qtbot)
    job = queue.add(state=JobState.RECORDING, owner=SpoolOwner.RECORDER, held=True, progress=0.97, frames=150,
                    started_at=0.5)
    assert model.index(0, PROGRESS).data() == "live"
    queue.change(job, state=JobState.HELD, owner=SpoolOwner.QUEUE, ended_at=1.0, progress=1.0, prepared=object())
    assert model.index(0, STAGE).data() == "encoded · held while ← can throw it away, not saved yet"
    assert model.index(0, PROGRESS).data(PROGRESS_ROLE) is None
    assert model.index(0, PROGRESS).data() == "not saved yet"


def test_the_quit_dialog_shows_the_panels_own_figures(qtbot):
    queue, model, _panel = make_panel(qtbot)
    queue.add(state=JobState.DONE, finished_at=1.0, episode=0)  # saved before quitting: not waited for
    job = queue.add(state=JobState.PREPARING, started_at=1.0, progress=0.77)
    dialog = QuitDialog()
    qtbot.addWidget(dialog)
    dialog.show_progress(queue, [])  # type: ignore[arg-type]
    assert model.index(1, PROGRESS).data(PROGRESS_ROLE) == 0.77
    assert dialog.bar.text() == "77%"
    assert "Episode 1: encoding (77%)" in dialog.label.text()
    queue.change(job, progress=0.9)
    dialog.show_progress(queue, [])  # type: ignore[arg-type]
    assert dialog.bar.text() == "90%"


@pytest.mark.parametrize("point_size", [9, 18])
def test_the_quit_dialog_shows_every_line_it_says(qtbot, point_size):
    queue = ListQueue()
    for i in range(3):
        queue.add(state=JobState.PREPARING, started_at=1.0, progress=0.1 * i)
    for _ in range(3):
        queue.add(state=JobState.FAILED, error="writing the video failed: No space left on device (the disk "
                  "holding the dataset is full; free some space, then Retry)")
    dialog = QuitDialog()
    font = dialog.font()
    font.setPointSize(point_size)
    dialog.setFont(font)
    qtbot.addWidget(dialog)
    dialog.show_progress(queue, [])  # type: ignore[arg-type]  (before it opens, as the window does)
    dialog.show()
    qtbot.waitExposed(dialog)
    label = dialog.label
    assert label.text().count("\n") == 4  # the first line and four takes, one line each
    lines = label.fontMetrics().boundingRect(label.rect(), 0, label.text())
    assert label.height() >= lines.height() and label.width() >= lines.width()  # none cut off

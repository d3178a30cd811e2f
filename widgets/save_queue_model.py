"""A table model over the save queue's list of SaveJob records (the list is the truth; this adapts it).

The queue mutates its list on the GUI thread and then says so (job_added / job_changed); the model keeps its
own row count so Qt sees every insertion announced before it counts it; row changes are announced together,
at most every ANNOUNCE_MS. What each cell says comes from the
Qt-free presenter (widgets.save_queue_presenter). Progress arrives already throttled (0.25 s at the source);
save times of unfinished rows are refreshed by the controller's timer via `tick()`.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt, QTimer
from PySide6.QtGui import QBrush, QColor

from station.saving.queue import SaveJob, SaveQueue
from widgets.messages import palette_is_dark
from widgets.save_queue_presenter import UNFINISHED, RowView, Tone, row_view, stage_of

COLUMNS = ("Episode", "Task", "Frames", "Stage", "Progress", "Save time")
EPISODE, TASK, FRAMES, STAGE, PROGRESS, ELAPSED = range(len(COLUMNS))
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1  # float 0..1 for the progress-bar delegate, None for no bar
JOB_ROLE = Qt.ItemDataRole.UserRole + 2  # the SaveJob itself
STAGE_ROLE = Qt.ItemDataRole.UserRole + 3  # its RowStage
ANNOUNCE_MS = 100  # row changes reach the views at most ten times a second, in one announcement

_SERVED_ROLES = frozenset(int(r) for r in (  # the roles _cell answers; the view asks ~ten per cell it paints
    Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, PROGRESS_ROLE, Qt.ItemDataRole.ForegroundRole,
    Qt.ItemDataRole.TextAlignmentRole,
))

TONE_COLOURS = {Tone.QUIET: "#757575", Tone.BUSY: "#1565c0", Tone.DONE: "#2e7d32", Tone.BAD: "#c62828"}
DARK_TONE_COLOURS = {Tone.QUIET: "#9e9e9e", Tone.BUSY: "#64b5f6", Tone.DONE: "#81c784", Tone.BAD: "#ff8a80"}


def tone_colour(tone: Tone) -> str:
    """The tone's colour, readable on the palette in use (light or dark)."""
    return (DARK_TONE_COLOURS if palette_is_dark() else TONE_COLOURS)[tone]

_Index = QModelIndex | QPersistentModelIndex


class SaveQueueModel(QAbstractTableModel):
    def __init__(self, queue: SaveQueue | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queue: SaveQueue | None = None
        self._rows = 0
        self._dataset_job: RowView | None = None  # one dataset-wide job (File > Pack dataset), after the takes
        # Each row's view, computed once per change rather than once per cell and role: a repaint asks
        # data() thousands of times a second while takes save (measured 140 ms/s of the GUI thread).
        self._views: dict[int, RowView] = {}
        self._changed_from: int | None = None  # the first row changed since the last announcement
        self._flush = QTimer(self)  # changes are announced at most every ANNOUNCE_MS
        self._flush.setSingleShot(True)
        self._flush.setInterval(ANNOUNCE_MS)
        self._flush.timeout.connect(self._announce_changes)
        if queue is not None:
            self.set_queue(queue)

    def set_queue(self, queue: SaveQueue | None) -> None:
        self._views.clear()
        self._flush.stop()
        self._changed_from = None
        self.beginResetModel()
        if self.queue is not None:
            self.queue.job_added.disconnect(self._on_added)
            self.queue.job_changed.disconnect(self._on_changed)
        self.queue = queue
        self._rows = len(queue.jobs) if queue is not None else 0
        if queue is not None:
            queue.job_added.connect(self._on_added)
            queue.job_changed.connect(self._on_changed)
        self.endResetModel()

    # -- queue notifications --
    def _on_added(self, row: int) -> None:
        assert self.queue is not None
        self._views.clear()
        while self._rows < len(self.queue.jobs):
            self.beginInsertRows(QModelIndex(), self._rows, self._rows)
            self._rows += 1
            self.endInsertRows()

    def _on_changed(self, row: int) -> None:
        self._views.clear()  # data() answers from the queue at once; the views hear of it at the next flush
        if 0 <= row < self._rows:
            self._changed_from = row if self._changed_from is None else min(self._changed_from, row)
            if not self._flush.isActive():
                self._flush.start()

    def announcing(self) -> bool:
        """Row changes are waiting to be announced."""
        return self._flush.isActive()

    def _announce_changes(self) -> None:
        """One dataChanged for every change since the last: from the first changed row to the last row (the
        expected episode numbers of the rows behind a changed one may shift). A take ending changes 5-10 rows
        within a few hundred ms, and each announcement costs the GUI thread 2-7 ms (proxy, panel, repaint)."""
        first, self._changed_from = self._changed_from, None
        if first is not None and first < self._rows:
            self.dataChanged.emit(self.index(first, 0), self.index(self._rows - 1, len(COLUMNS) - 1))

    def tick(self) -> None:
        """Refresh unfinished rows: their save time, and the frames of a take being recorded."""
        if self.queue is None:
            return
        self._views.clear()  # twice a second: nothing shown is older than that
        unfinished = [row for row, job in enumerate(self.queue.jobs[: self._rows]) if stage_of(job) in UNFINISHED]
        if unfinished:  # one announcement: each one costs the views a pass over what they show
            self.dataChanged.emit(self.index(unfinished[0], FRAMES), self.index(unfinished[-1], ELAPSED))

    def show_dataset_job(self, view: RowView | None) -> None:
        """Show, update, or (None) remove the row of a dataset-wide job, kept after the takes' rows."""
        row = self._rows
        if view is None:
            if self._dataset_job is not None:
                self.beginRemoveRows(QModelIndex(), row, row)
                self._dataset_job = None
                self.endRemoveRows()
        elif self._dataset_job is None:
            self.beginInsertRows(QModelIndex(), row, row)
            self._dataset_job = view
            self.endInsertRows()
        else:
            self._dataset_job = view
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def expected_episode(self, job: SaveJob) -> int | None:
        """The episode index the take gets if everything ahead of it commits (the queue counts them)."""
        return self.queue.expected_episode(job) if self.queue is not None else None

    def job_at(self, row: int) -> SaveJob | None:
        if self.queue is None or not 0 <= row < self._rows:
            return None
        return self.queue.jobs[row]

    # -- the model --
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._rows + (self._dataset_job is not None)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        horizontal = orientation == Qt.Orientation.Horizontal
        if role == Qt.ItemDataRole.DisplayRole and horizontal and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def view_at(self, row: int) -> RowView | None:
        if row == self._rows and self._dataset_job is not None:
            return self._dataset_job
        job = self.job_at(row)
        if job is None or self.queue is None:
            return None
        view = self._views.get(row)
        if view is None:
            view = self._views[row] = row_view(job, self.expected_episode(job), self.queue.writer.spec.fps,
                                               restorable=self.queue.can_restore(job))
        return view

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if index.row() == self._rows and self._dataset_job is not None:
            if role == STAGE_ROLE:
                return self._dataset_job.stage
            return None if role == JOB_ROLE else self._cell(self._dataset_job, index.column(), role)
        if self.queue is None:
            return None
        job = self.job_at(index.row())
        if job is None:
            return None
        if role == JOB_ROLE:
            return job
        if role == STAGE_ROLE:
            return stage_of(job)
        if int(role) not in _SERVED_ROLES:
            return None
        view = self.view_at(index.row())
        return None if view is None else self._cell(view, index.column(), role)

    def _cell(self, view: RowView, col: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            return {EPISODE: view.episode, TASK: view.task, FRAMES: view.frames, STAGE: view.words,
                    PROGRESS: view.progress_text, ELAPSED: view.elapsed}.get(col)
        if role == Qt.ItemDataRole.ToolTipRole:
            return {TASK: view.task, STAGE: view.tooltip}.get(col)
        if role == PROGRESS_ROLE and col == PROGRESS:
            return view.bar
        if role == Qt.ItemDataRole.ForegroundRole and col in (STAGE, PROGRESS):
            return QBrush(QColor(tone_colour(view.tone)))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (EPISODE, FRAMES, ELAPSED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


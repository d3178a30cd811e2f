"""A table model over the save queue's list of SaveJob records (the list is the truth; this adapts it).

The queue mutates its list on the GUI thread and then says so (job_added / job_changed); the model keeps its
own row count so Qt sees every insertion announced before it counts it. Progress arrives already throttled
(0.1 s at the source); elapsed times of running rows are refreshed by the controller's timer via `tick()`.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from station.saving.queue import JobStatus, SaveJob, SaveQueue

COLUMNS = ("Episode", "Task", "Frames", "Status", "Stage", "Progress", "Elapsed", "Reason")
EPISODE, TASK, FRAMES, STATUS, STAGE, PROGRESS, ELAPSED, REASON = range(len(COLUMNS))
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 1  # float 0..1 for the progress-bar delegate
JOB_ROLE = Qt.ItemDataRole.UserRole + 2  # the SaveJob itself

STATUS_COLOURS = {
    JobStatus.QUEUED: "#757575",
    JobStatus.RUNNING: "#1e88e5",
    JobStatus.DONE: "#2e7d32",
    JobStatus.FAILED: "#c62828",
    JobStatus.CANCELLED: "#757575",
}

_Index = QModelIndex | QPersistentModelIndex


def _recording(job: SaveJob) -> bool:
    """A take still being recorded (and encoded as it goes), when the queue encodes live."""
    return job.pending and not getattr(job, "recorded", True)


def elapsed_words(seconds: float) -> str:
    if seconds <= 0:
        return ""
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


class SaveQueueModel(QAbstractTableModel):
    def __init__(self, queue: SaveQueue | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.queue: SaveQueue | None = None
        self._rows = 0
        if queue is not None:
            self.set_queue(queue)

    def set_queue(self, queue: SaveQueue | None) -> None:
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
        while self._rows < len(self.queue.jobs):
            self.beginInsertRows(QModelIndex(), self._rows, self._rows)
            self._rows += 1
            self.endInsertRows()

    def _on_changed(self, row: int) -> None:
        if 0 <= row < self._rows:
            self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
            if self._rows > 1:  # expected episode numbers of the rows behind may shift
                self.dataChanged.emit(self.index(0, EPISODE), self.index(self._rows - 1, EPISODE))

    def tick(self) -> None:
        """Refresh the elapsed column of running rows."""
        if self.queue is None:
            return
        for row, job in enumerate(self.queue.jobs[: self._rows]):
            if job.status is JobStatus.RUNNING:
                index = self.index(row, ELAPSED)
                self.dataChanged.emit(index, index)

    def expected_episode(self, job: SaveJob) -> int | None:
        """The episode index the take gets if everything ahead of it commits (the queue counts them)."""
        return self.queue.expected_episode(job) if self.queue is not None else None

    def job_at(self, row: int) -> SaveJob | None:
        if self.queue is None or not 0 <= row < self._rows:
            return None
        return self.queue.jobs[row]

    # -- the model --
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._rows

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        horizontal = orientation == Qt.Orientation.Horizontal
        if role == Qt.ItemDataRole.DisplayRole and horizontal and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.queue is None:
            return None
        job = self.job_at(index.row())
        if job is None:
            return None
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(job, col)
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == REASON and job.error:
                return job.error
            if col == TASK:
                return job.task
            return None
        if role == PROGRESS_ROLE and col == PROGRESS:
            if _recording(job):
                return None  # no end known yet: the delegate shows the words instead of a bar
            return 1.0 if job.status is JobStatus.DONE else float(job.progress)
        if role == JOB_ROLE:
            return job
        if role == Qt.ItemDataRole.ForegroundRole and col in (STATUS, REASON):
            return QBrush(QColor(STATUS_COLOURS[job.status]))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (EPISODE, FRAMES, ELAPSED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, job: SaveJob, col: int) -> str:
        assert self.queue is not None
        if col == EPISODE:
            episode = self.expected_episode(job)
            return "—" if episode is None else str(episode)
        if col == TASK:
            return job.task
        if col == FRAMES:
            return str(job.frames)
        if col == STATUS:
            if _recording(job):
                return "recording"  # encoded while it is recorded
            return job.status.value
        if col == STAGE:
            return job.stage
        if col == PROGRESS:
            if _recording(job):
                return "live"
            value = 1.0 if job.status is JobStatus.DONE else job.progress
            return f"{100 * value:.0f}%"
        if col == ELAPSED:
            return elapsed_words(job.elapsed_s)
        if col == REASON:
            if job.status is JobStatus.FAILED:
                return job.error + " — select the row and press Retry, or Discard"
            return ""
        return ""

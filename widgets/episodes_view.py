"""The episodes view: every episode of the open dataset — thumbnail, index, task, length, outcome, note, quality
flags, excluded — sortable and filterable; mark, note, exclude/include, replay, drop the last from there.

The rows are plain dicts from station.dataset.curation.episode_rows (the same rows `station episodes` prints);
the model adapts them. Reading them costs seconds on a big dataset, so it runs on a pool thread too and the rows
arrive by signal: each read has a number, and only the newest read's rows are shown (a read a newer one superseded
is dropped, before it starts if it has not). Thumbnails are decoded on another pool thread, one episode at a time.
The view reads only while it is shown: a commit while it is closed costs nothing, showing it reads.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRunnable,
    QSortFilterProxyModel,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from station.dataset.curation import episode_rows
from station.dataset.quality import FLAG_WORDS
from station.errors import StationError
from widgets.keymap import keep_session_keys_out

if TYPE_CHECKING:
    from widgets.controller import Controller

log = logging.getLogger(__name__)
ModelIndex = QModelIndex | QPersistentModelIndex
COLUMNS = ("", "episode", "task", "length", "outcome", "note", "flags", "excluded")
THUMB, EPISODE, TASK, LENGTH, OUTCOME, NOTE, FLAGS, EXCLUDED = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
FILTERS = ("all episodes", "successes", "failures", "not marked", "flagged", "excluded", "kept")


def flag_badges(flags: list[str]) -> str:
    return ", ".join(FLAG_WORDS[f][0] if f in FLAG_WORDS else f for f in flags)


def row_matches(row: dict[str, Any], mode: str, text: str) -> bool:
    """Whether an episode passes the view's filter (mode from FILTERS) and search text (task or note)."""
    keep = {
        "all episodes": True,
        "successes": row["outcome"] == "success",
        "failures": row["outcome"] == "failure",
        "not marked": row["outcome"] == "unknown",
        "flagged": bool(row["flags"]),
        "excluded": row["excluded"],
        "kept": not row["excluded"],
    }[mode]
    needle = text.strip().lower()
    return keep and (not needle or needle in row["task"].lower() or needle in row["note"].lower())


class EpisodesModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.rows: list[dict[str, Any]] = []
        self.fps = 30
        self.thumbs: dict[int, QPixmap] = {}

    def set_rows(self, rows: list[dict[str, Any]], fps: int) -> None:
        self.beginResetModel()
        self.rows, self.fps = rows, fps
        self.endResetModel()

    def set_thumbnail(self, episode: int, image: np.ndarray) -> None:
        h, w, _ = image.shape
        qimage = QImage(image.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self.thumbs[episode] = QPixmap.fromImage(qimage)
        for r, row in enumerate(self.rows):
            if row["episode_index"] == episode:
                self.dataChanged.emit(self.index(r, THUMB), self.index(r, THUMB))

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DecorationRole and col == THUMB:
            return self.thumbs.get(row["episode_index"])
        if role == SORT_ROLE:  # asked for every row at each sort: only the one value (a table read is redrawn)
            if col == EPISODE:
                return row["episode_index"]
            if col == LENGTH:
                return row["length"]
            if col == EXCLUDED:
                return int(row["excluded"])
            if col == FLAGS:
                return len(row["flags"])
            return self._text(row, col)
        if role == Qt.ItemDataRole.ToolTipRole and col == FLAGS and row["flags"]:
            return "\n".join(f"{FLAG_WORDS[f][0]}: {FLAG_WORDS[f][1]}" for f in row["flags"] if f in FLAG_WORDS)
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        return self._text(row, col)

    def _text(self, row: dict[str, Any], col: int) -> str:
        if col == EPISODE:
            return str(row["episode_index"])
        if col == LENGTH:
            return f"{row['length'] / self.fps:.1f} s"
        if col == FLAGS:
            return flag_badges(row["flags"])
        if col == EXCLUDED:
            return "excluded" if row["excluded"] else ""
        if col == TASK:
            return str(row["task"])
        if col == OUTCOME:
            return str(row["outcome"])
        if col == NOTE:
            return str(row["note"])
        return ""  # the thumbnail's column


class EpisodesFilter(QSortFilterProxyModel):
    def __init__(self, model: EpisodesModel) -> None:
        super().__init__()
        self.setSourceModel(model)
        self.setSortRole(SORT_ROLE)
        self.mode, self.text = FILTERS[0], ""

    def set_filter(self, mode: str, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+; invalidateFilter is deprecated there
            self.beginFilterChange()
            self.mode, self.text = mode, text
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.mode, self.text = mode, text
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: ModelIndex) -> bool:  # noqa: N802
        model = self.sourceModel()
        assert isinstance(model, EpisodesModel)
        return row_matches(model.rows[source_row], self.mode, self.text)


class _ThumbSignals(QObject):
    ready = Signal(int, object)  # episode, np.ndarray


class PoolJob(QRunnable):
    """Work for a pool thread that the view can cancel (it stops at its next check) and forgets once finished."""

    def __init__(self) -> None:
        super().__init__()
        self.cancelled = False
        self.finished = False

    def run(self) -> None:
        try:
            if not self.cancelled:
                self.work()
        finally:
            self.finished = True

    def work(self) -> None:
        raise NotImplementedError

    def tell(self, signal: Any, *args: Any) -> None:
        """Emit unless cancelled; a view deleted meanwhile (its signals with it) cancels the job."""
        if self.cancelled:
            return
        try:
            signal.emit(*args)
        except RuntimeError:  # "Signal source has been deleted": the window closed while this ran
            self.cancelled = True


class ThumbnailJob(PoolJob):
    """Decodes one frame per episode off the GUI thread."""

    def __init__(self, root: Path, episodes: list[int]) -> None:
        super().__init__()
        self.root, self.episodes = root, episodes
        self.signals = _ThumbSignals()

    def work(self) -> None:
        from station.dataset.take_source import thumbnail

        for e in self.episodes:
            if self.cancelled:
                return
            try:
                image = thumbnail(self.root, e)
            except (StationError, OSError, ValueError, IndexError) as err:
                log.info("no thumbnail for episode %d: %s", e, err)
                continue
            if image is not None:
                self.tell(self.signals.ready, e, image)


class _ReadSignals(QObject):
    read = Signal(int, object, str)  # the read's number, its rows (None when it failed), what went wrong


class EpisodesRead(PoolJob):
    """Reads the episodes table off the GUI thread; a read superseded before it starts does nothing."""

    def __init__(self, root: Path, number: int) -> None:
        super().__init__()
        self.root, self.number = root, number
        self.signals = _ReadSignals()

    def work(self) -> None:
        try:
            rows: list[dict[str, Any]] | None = episode_rows(self.root)
            error = ""
        except (StationError, OSError, ValueError, KeyError) as e:
            rows, error = None, str(e)
        except Exception as e:  # noqa: BLE001 - a worker must answer: the view says it, the log has the details
            log.exception("reading the episodes of %s failed", self.root)
            rows, error = None, f"{type(e).__name__}: {e}"
        self.tell(self.signals.read, self.number, rows, error)


class EpisodesDialog(QDialog):
    rows_shown = Signal()  # the newest read's rows are in the table

    def __init__(self, ctrl: Controller, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctrl = ctrl
        self.setObjectName("episodesDialog")
        self.setWindowTitle("Episodes")
        self.resize(900, 480)
        self.model = EpisodesModel(self)
        self.proxy = EpisodesFilter(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(EPISODE, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(52)
        self.table.horizontalHeader().setSectionResizeMode(TASK, QHeaderView.ResizeMode.Stretch)
        self.table.doubleClicked.connect(lambda _index: self.replay())
        self.table.setTabKeyNavigation(False)  # Tab goes on to the buttons, not from cell to cell
        # ↓ moves in the table, Space presses a button, Esc closes: not the take's keys; S, F, E and P act on the
        # selected episode (in the main window: on the last take)
        own = {"S": lambda: self.mark("success"), "F": lambda: self.mark("failure"), "E": self.ask_note,
               "P": self.replay}
        keep_session_keys_out(self, own, also=[self.table])

        self.filter_box = QComboBox()
        self.filter_box.addItems(FILTERS)
        self.search = QLineEdit()
        self.search.setPlaceholderText("search task or note")
        self.filter_box.currentTextChanged.connect(self._refilter)
        self.search.textChanged.connect(self._refilter)
        top = QHBoxLayout()
        top.addWidget(self.filter_box)
        top.addWidget(self.search, 1)

        self.buttons: dict[str, QPushButton] = {}
        bottom = QHBoxLayout()
        for name, text, slot in (
            ("success", "Success", lambda: self.mark("success")),
            ("failure", "Failure", lambda: self.mark("failure")),
            ("unknown", "Unmarked", lambda: self.mark("unknown")),
            ("note", "Note…", self.ask_note),
            ("exclude", "Exclude", self.toggle_excluded),
            ("replay", "Replay", self.replay),
            ("drop", "Drop last…", self.ctrl.review.ask_drop_last),
        ):
            button = QPushButton(text)
            button.setObjectName(f"episodes_{name}")
            button.clicked.connect(slot)
            bottom.addWidget(button)
            self.buttons[name] = button
        bottom.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.pool = QThreadPool(self)  # thumbnails
        self.pool.setMaxThreadCount(1)
        self.read_pool = QThreadPool(self)  # the episodes table: one read at a time, the newest wins
        self.read_pool.setMaxThreadCount(1)
        self._thumb_job: ThumbnailJob | None = None
        self._reads = 0  # the number of the newest read asked for
        self._jobs: list[PoolJob] = []  # every job not finished: kept alive until then (their signals too)
        self.reading = False  # a read is on its way
        ctrl.review.changed.connect(self.refresh)

    # -- contents --
    def refresh(self) -> None:
        """Read the episodes again (after a mark, a drop, a commit), off the GUI thread; `rows_shown` says when
        they are in the table. While the view is closed nothing is read: showing it reads."""
        if not self.isVisible():
            return
        self._reads += 1
        root = self.ctrl.review.root
        if root is None:
            self._show(self._reads, [], "")
            return
        for job in self._jobs:
            if isinstance(job, EpisodesRead):
                job.cancelled = True  # superseded: not started yet, it does nothing; running, it is dropped
        job = EpisodesRead(root, self._reads)
        job.signals.read.connect(self._show)
        self._start(self.read_pool, job)
        self.reading = True

    def _start(self, pool: QThreadPool, job: PoolJob) -> None:
        self._jobs = [j for j in self._jobs if not j.finished]
        self._jobs.append(job)
        pool.start(job)

    def _show(self, number: int, rows: list[dict[str, Any]] | None, error: str) -> None:
        """A read's rows, on the GUI thread: only the newest read's are shown; keep the selection on the same
        episode."""
        if number != self._reads:
            return  # a newer read was asked for: its rows come
        self.reading = False
        if rows is None:
            self.ctrl.say(f"Could not read the episodes: {error}", topic="review")
            rows = []
        selected = self.selected()
        root = self.ctrl.review.root
        fps = self.ctrl.session.writer.spec.fps if self.ctrl.session is not None else 30
        self.model.set_rows(rows, fps)
        missing = [r["episode_index"] for r in rows if r["episode_index"] not in self.model.thumbs]
        if root is not None and missing:
            if self._thumb_job is not None:
                self._thumb_job.cancelled = True
            job = ThumbnailJob(root, missing)
            job.signals.ready.connect(self.model.set_thumbnail)
            self._thumb_job = job
            self._start(self.pool, job)
        if selected is not None:
            self.select(selected)
        self._update_buttons()
        self.rows_shown.emit()

    def _refilter(self) -> None:
        self.proxy.set_filter(self.filter_box.currentText(), self.search.text())

    def select(self, episode: int) -> None:
        for r in range(self.proxy.rowCount()):
            if self.proxy.index(r, EPISODE).data(SORT_ROLE) == episode:
                self.table.selectRow(r)
                return

    def selected(self) -> int | None:
        rows = self.table.selectionModel().selectedRows(EPISODE) if self.table.selectionModel() else []
        return int(rows[0].data(SORT_ROLE)) if rows else None

    def _selected_row(self) -> dict[str, Any] | None:
        e = self.selected()
        return next((r for r in self.model.rows if r["episode_index"] == e), None)

    def _update_buttons(self) -> None:
        row = self._selected_row()
        for name in ("success", "failure", "unknown", "note", "exclude", "replay"):
            self.buttons[name].setEnabled(row is not None)
        self.buttons["exclude"].setText("Include" if row is not None and row["excluded"] else "Exclude")
        self.buttons["drop"].setEnabled(bool(self.model.rows))

    # -- actions on the selected episode --
    def mark(self, outcome: str) -> None:
        e = self.selected()
        if e is not None:
            self.ctrl.review.mark(e, outcome)

    def ask_note(self) -> None:
        row = self._selected_row()
        if row is not None:
            self.note_dialog = self.ctrl.review.ask_note_on(row["episode_index"], row["note"], self)

    def toggle_excluded(self) -> None:
        row = self._selected_row()
        if row is not None:
            self.ctrl.review.set_excluded(row["episode_index"], not row["excluded"])

    def replay(self) -> None:
        from widgets.replay_view import replay_episode

        e = self.selected()
        if e is not None:
            replay_episode(self.ctrl, e)

    def done(self, result: int) -> None:
        """Closing does not wait for a read: it is cancelled, or dropped when it ends (its number is old)."""
        self._reads += 1
        self.reading = False
        for job in self._jobs:
            job.cancelled = True
        super().done(result)


def show_episodes(ctrl: Controller) -> EpisodesDialog:
    """Open (or raise) the episodes view of the open dataset."""
    dialog = ctrl.review.episodes_dialog
    if not isinstance(dialog, EpisodesDialog):
        dialog = EpisodesDialog(ctrl, ctrl.window)
        ctrl.review.episodes_dialog = dialog
    dialog.show()
    dialog.refresh()
    dialog.raise_()
    return dialog

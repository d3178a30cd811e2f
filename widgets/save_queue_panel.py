"""The save-queue panel: one row per take with its stage and progress, failures in words, Retry and Discard.

A view over SaveQueueModel. It emits intent (`retry_requested`, `discard_requested` with the job's row);
the controller acts on the queue.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Signal
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from station.saving.queue import JobStatus
from widgets.save_queue_model import JOB_ROLE, PROGRESS, PROGRESS_ROLE, REASON, TASK, SaveQueueModel


class ProgressDelegate(QStyledItemDelegate):
    """Draws the progress column as a progress bar."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        value = index.data(PROGRESS_ROLE)
        if value is None:
            super().paint(painter, option, index)
            return
        bar = QStyleOptionProgressBar()
        rect: QRect = option.rect
        bar.rect = rect.adjusted(3, 4, -3, -4)
        bar.minimum = 0
        bar.maximum = 100
        bar.progress = int(round(100 * float(value)))
        bar.text = f"{bar.progress}%"
        bar.textVisible = True
        bar.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal
        style = option.widget.style() if option.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class SaveQueuePanel(QWidget):
    retry_requested = Signal(int)  # row
    discard_requested = Signal(int)  # row

    def __init__(self, model: SaveQueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("saveQueuePanel")
        self.model = model
        self.summary = QLabel("Nothing to save yet.")
        self.summary.setObjectName("queueSummary")
        self.summary.setWordWrap(True)
        self.table = QTableView()
        self.table.setObjectName("saveQueueTable")
        self.table.setModel(model)
        self.table.setItemDelegateForColumn(PROGRESS, ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(TASK, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(PROGRESS, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(TASK, 220)
        header.resizeSection(PROGRESS, 140)
        header.setStretchLastSection(True)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setObjectName("retryButton")
        self.retry_button.setToolTip("Save the selected failed take again (after fixing what the reason says)")
        self.discard_button = QPushButton("Discard")
        self.discard_button.setObjectName("discardButton")
        self.discard_button.setToolTip("Give up on the selected failed take: its recording is deleted")
        self.retry_button.clicked.connect(lambda: self._emit(self.retry_requested))
        self.discard_button.clicked.connect(lambda: self._emit(self.discard_requested))
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.discard_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        self.table.selectionModel().selectionChanged.connect(self.update_buttons)
        model.dataChanged.connect(self.update_buttons)
        model.rowsInserted.connect(self._on_rows_inserted)
        model.modelReset.connect(self.update_buttons)
        self.update_buttons()

    def selected_row(self) -> int | None:
        rows = self.table.selectionModel().selectedRows()
        return rows[0].row() if rows else None

    def select_row(self, row: int) -> None:
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, REASON))

    def _emit(self, signal) -> None:
        row = self.selected_row()
        if row is not None:
            signal.emit(row)

    def _on_rows_inserted(self, _parent, _first: int, last: int) -> None:
        self.table.scrollTo(self.model.index(last, 0))
        self.update_buttons()

    def update_buttons(self, *_args) -> None:
        row = self.selected_row()
        job = self.model.index(row, 0).data(JOB_ROLE) if row is not None else None
        failed = job is not None and job.status is JobStatus.FAILED
        self.retry_button.setEnabled(failed)
        self.discard_button.setEnabled(failed)

    def show_summary(self, text: str, keeping_up: bool | None) -> None:
        colour = {True: "", False: "color:#c62828; font-weight:bold;", None: ""}[keeping_up]
        self.summary.setStyleSheet(colour)
        self.summary.setText(text)

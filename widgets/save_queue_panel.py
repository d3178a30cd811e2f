"""The save-queue panel: one row per kept take with its true stage, failures in words, Retry and Discard.

A view over SaveQueueModel. Thrown-away takes are folded into a count that can be expanded; the newest row
stays in view. It emits intent (`retry_requested`, `discard_requested` with the job's row in the queue);
the controller acts on the queue.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
    SignalInstance,
)
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
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from station.saving.queue import JobStatus
from widgets.elided_label import ElidedLabel
from widgets.save_queue_model import (
    ELAPSED,
    EPISODE,
    FRAMES,
    JOB_ROLE,
    PROGRESS,
    PROGRESS_ROLE,
    STAGE,
    STAGE_ROLE,
    TASK,
    SaveQueueModel,
    tone_colour,
)
from widgets.save_queue_presenter import RowStage, SummaryView, Tone

FITTED = (EPISODE, TASK, FRAMES, ELAPSED)  # columns as wide as what the rows in view say
REFIT_AFTER_SCROLL_MS = 150  # the columns fit the rows in view again once scrolling has stopped this long


class ProgressDelegate(QStyledItemDelegate):
    """Draws a progress bar for work that progresses; other rows show their words."""

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
        bar.progress = int(100 * float(value))  # never rounded up to 100 before it is done
        bar.text = f"{bar.progress}%"
        bar.textVisible = True
        bar.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal
        style = option.widget.style() if option.widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter)


class WholeRowsTable(QTableView):
    """A table whose rows in view are whole: scrolled to the newest take, Qt puts the last row flush with the
    bottom, and a height that is not a whole number of rows cut the top one in half. The part of a row that
    does not fit is left blank below the rows instead."""

    def updateGeometries(self) -> None:  # noqa: N802  (Qt's name: it lays out the headers and the viewport)
        super().updateGeometries()
        margins = self.viewportMargins()  # the headers' room, set by the call above
        row = self.verticalHeader().defaultSectionSize()
        room = self.viewport().height() + margins.bottom()
        spare = room % row if row > 0 and room >= row else 0
        if margins.bottom() != spare:
            self.setViewportMargins(margins.left(), margins.top(), margins.right(), spare)


class KeptTakes(QSortFilterProxyModel):
    """The queue's rows without the thrown-away takes, unless they are asked for."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.show_thrown_away = False

    def set_show_thrown_away(self, show: bool) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10; invalidateRowsFilter is deprecated there
            self.beginFilterChange()
            self.show_thrown_away = show
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.show_thrown_away = show
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex) -> bool:
        if self.show_thrown_away:
            return True
        index = self.sourceModel().index(source_row, 0, source_parent)
        return index.data(STAGE_ROLE) is not RowStage.THROWN_AWAY


class SaveQueuePanel(QWidget):
    retry_requested = Signal(int)  # row in the queue
    discard_requested = Signal(int)  # row in the queue

    def __init__(self, model: SaveQueueModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("saveQueuePanel")
        self.model = model
        self.kept = KeptTakes(self)
        self.kept.setSourceModel(model)
        self.summary = ElidedLabel("Nothing to save yet")  # one line: the rows below never move
        self.summary.setObjectName("queueSummary")
        self.thrown_away_button = QToolButton()
        self.thrown_away_button.setObjectName("thrownAwayButton")
        self.thrown_away_button.setCheckable(True)
        self.thrown_away_button.setAutoRaise(True)
        self.thrown_away_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.thrown_away_button.setToolTip("Takes recorded again or discarded: never saved. Click to list them.")
        self.thrown_away_button.toggled.connect(self._on_show_thrown_away)
        self.table = WholeRowsTable()
        self.table.setObjectName("saveQueueTable")
        # Picked with the mouse (for Retry / Discard), never the keyboard's: with the focus and a selected row,
        # a table takes Space, the arrows and Esc for itself, and the recording keys went dead (seen under Xvfb).
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setModel(self.kept)
        self.table.setItemDelegateForColumn(PROGRESS, ProgressDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 10)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        for column in FITTED:
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(STAGE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(PROGRESS, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(PROGRESS, 120)
        header.setMinimumSectionSize(60)
        # Columns fit the rows in view, not every row: a day's queue holds hundreds, and each change measured
        # them all (300 rows: 235 ms of the GUI thread twice a second, against 8 ms for the rows in view).
        # Fitted again once scrolling stops, so that older rows scrolled into view are not cut short.
        header.setResizeContentsPrecision(0)
        self._refit = QTimer(self)
        self._refit.setSingleShot(True)
        self._refit.setInterval(REFIT_AFTER_SCROLL_MS)
        self._refit.timeout.connect(self._fit_columns)
        header.setStretchLastSection(False)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setObjectName("retryButton")
        self.retry_button.setToolTip("Save the selected failed take again (after fixing what its stage says)")
        self.discard_button = QPushButton("Discard")
        self.discard_button.setObjectName("discardButton")
        self.discard_button.setToolTip("Give up on the selected failed take: its recording is deleted")
        self.retry_button.clicked.connect(lambda: self._emit(self.retry_requested))
        self.discard_button.clicked.connect(lambda: self._emit(self.discard_requested))
        title = QLabel("Save queue")
        title.setObjectName("queueTitle")
        buttons = QHBoxLayout()  # the buttons first: a longer summary or the fold appearing never moves them
        buttons.addWidget(title)
        buttons.addSpacing(8)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.discard_button)
        buttons.addSpacing(8)
        buttons.addWidget(self.summary, 1)
        buttons.addWidget(self.thrown_away_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(buttons)
        layout.addWidget(self.table, 1)
        # room for the header and one whole row at least: the newest row is never cut off
        frame = 2 * self.table.frameWidth()
        self.table.setMinimumHeight(header.sizeHint().height() + self.table.verticalHeader().defaultSectionSize()
                                    + frame)
        scroll = self.table.verticalScrollBar()
        scroll.valueChanged.connect(self._on_scrolled)
        scroll.rangeChanged.connect(self._on_scroll_range)
        self._following = True  # the view follows the newest row, unless the operator scrolled up
        self.table.selectionModel().selectionChanged.connect(self.update_buttons)
        model.dataChanged.connect(self._on_data_changed)
        model.rowsInserted.connect(self._on_rows_inserted)
        model.modelReset.connect(self._on_reset)
        self._thrown_away = -1
        self._on_reset()

    # -- rows --
    def selected_row(self) -> int | None:
        """The selected take's row in the queue."""
        rows = self.table.selectionModel().selectedRows()
        return self.kept.mapToSource(rows[0]).row() if rows else None

    def select_row(self, row: int) -> None:
        index = self.kept.mapFromSource(self.model.index(row, 0))
        if index.isValid():
            self.table.selectRow(index.row())
            self.table.scrollTo(index)

    def _emit(self, signal: SignalInstance) -> None:
        row = self.selected_row()
        if row is not None:
            signal.emit(row)

    def _on_rows_inserted(self, *_args: object) -> None:
        self._count_thrown_away()
        self.update_buttons()
        QTimer.singleShot(0, self._follow)  # once the new row has its place

    def _follow(self) -> None:
        if self._following:  # not when the operator scrolled up to an older take
            self.table.scrollToBottom()

    def _fit_columns(self) -> None:
        if not self.table.isVisible() or self.table.viewport().height() <= 0:
            return  # no rows in view: Qt would measure them all
        for column in FITTED:
            self.table.resizeColumnToContents(column)

    def _on_scrolled(self, value: int) -> None:
        self._following = value >= self.table.verticalScrollBar().maximum()
        self._refit.start()

    def _on_scroll_range(self, _minimum: int, maximum: int) -> None:
        """The rows or the table's height changed (a banner came or went): the newest row stays in view."""
        if self._following:
            self.table.verticalScrollBar().setValue(maximum)

    def _on_data_changed(self, *_args: object) -> None:
        self._count_thrown_away()
        self.update_buttons()

    def _on_reset(self) -> None:
        self._count_thrown_away()
        self.update_buttons()

    def _on_show_thrown_away(self, show: bool) -> None:
        self.kept.set_show_thrown_away(show)
        self._label_thrown_away()

    def _count_thrown_away(self) -> None:
        queue = self.model.queue
        count = 0 if queue is None else sum(1 for j in queue.jobs if j.status is JobStatus.CANCELLED)
        if count != self._thrown_away:
            self._thrown_away = count
            self._label_thrown_away()

    def _label_thrown_away(self) -> None:
        count = self._thrown_away
        self.thrown_away_button.setVisible(count > 0)
        arrow = "▾" if self.thrown_away_button.isChecked() else "▸"
        self.thrown_away_button.setText(f"{arrow} {count} thrown away")

    def visible_rows(self) -> int:
        return self.kept.rowCount()

    def newest_row_in_view(self) -> bool:
        """The last row is fully inside the table's viewport (or there is none)."""
        last = self.kept.rowCount() - 1
        if last < 0:
            return True
        rect = self.table.visualRect(self.kept.index(last, 0))
        return rect.isValid() and self.table.viewport().rect().contains(rect)

    def update_buttons(self, *_args: object) -> None:
        row = self.selected_row()
        job = self.model.index(row, 0).data(JOB_ROLE) if row is not None else None
        failed = job is not None and job.status is JobStatus.FAILED
        self.retry_button.setEnabled(failed)
        self.discard_button.setEnabled(failed)

    # -- the summary --
    def show_summary(self, view: SummaryView) -> None:
        style = f"color:{tone_colour(Tone.BAD)}; font-weight:bold;" if view.tone is Tone.BAD else ""
        if self.summary.styleSheet() != style:
            self.summary.setStyleSheet(style)
        self.summary.setText(view.text)

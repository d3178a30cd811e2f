"""The main window: layout only. Views are placed here; the controller wires them to the session."""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QByteArray, QRect, QRunnable, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
    QResizeEvent,
    QShowEvent,
)
from PySide6.QtWidgets import QApplication, QDialog, QMainWindow, QMenu, QSplitter, QVBoxLayout, QWidget

from widgets.camera_view import CameraGrid
from widgets.controls import Controls
from widgets.joint_plots import JointPlots
from widgets.keymap import build_actions, keep_station_keys_out_of_menus
from widgets.messages import MessageArea
from widgets.save_queue_model import SaveQueueModel
from widgets.save_queue_panel import SaveQueuePanel
from widgets.session_bar import SessionBar
from widgets.status_bar import StationStatusBar
from widgets.theme import THEME_NAMES, THEMES, apply_theme
from widgets.window_layout import MIN_PLOTS_HEIGHT, Rect, default_shares, fits, initial_rect, usable


def compact_plots(joints: JointPlots) -> None:
    """Time ticks under the bottom row only, and short titles: six plots stay readable at laptop heights."""
    bottom_row = len(joints.plots) - 2
    for i, plot in enumerate(joints.plots):
        if i < bottom_row:
            plot.hideAxis("bottom")
        else:
            plot.getAxis("bottom").setHeight(24)
        plot.titleLabel.setMaximumHeight(18)
        plot.layout.setRowFixedHeight(0, 18)


class MainWindow(QMainWindow):
    theme_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stationWindow")
        self.setWindowTitle("Station")
        self.keys = build_actions(self)
        self.addActions(list(self.keys.values()))

        self.messages = MessageArea()
        self.session_bar = SessionBar()
        self.controls = Controls(self.keys)
        self.cameras = CameraGrid()
        self.joints = JointPlots()
        compact_plots(self.joints)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("liveSplitter")
        self.splitter.addWidget(self.cameras)
        self.splitter.addWidget(self.joints)
        self.splitter.setMinimumHeight(MIN_PLOTS_HEIGHT)  # the save queue gives way first, not the live view
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        central = QWidget()
        central.setObjectName("central")
        # the window's own focus, so keys start as shortcuts rather than typing into the task field
        central.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.home_focus = central
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addWidget(self.messages)
        layout.addWidget(self.session_bar)
        layout.addWidget(self.controls)

        self.queue_model = SaveQueueModel(parent=self)
        self.queue_panel = SaveQueuePanel(self.queue_model)
        # live view above, save queue below: a window that grows or shrinks changes the live view, the queue
        # keeps its rows (a splitter does this exactly; a dock area re-fits itself from size hints)
        self.vsplitter = QSplitter(Qt.Orientation.Vertical)
        self.vsplitter.setObjectName("queueSplitter")
        self.vsplitter.addWidget(self.splitter)
        self.vsplitter.addWidget(self.queue_panel)
        self.vsplitter.setStretchFactor(0, 1)
        self.vsplitter.setStretchFactor(1, 0)
        self.vsplitter.setCollapsible(0, False)
        layout.addWidget(self.vsplitter, 1)
        self.setCentralWidget(central)

        self.status = StationStatusBar()
        self.setStatusBar(self.status)
        self._build_menus()
        self._layout_pending = "default"
        self.dataset_dialog: QDialog | None = None  # File > New or Open, while it is open
        self.pack_job: QRunnable | None = None  # File > Pack dataset, while it runs
        self.pack_question: QDialog | None = None  # File > Pack dataset's question about excluded episodes
        self.push_job: object | None = None  # File > Push to Hub (widgets.push_action.PushJob), while it runs
        self.device_dialog: QDialog | None = None  # Devices > Connect arms or Cameras, while it is open
        self.close_guard: Callable[[], bool] | None = None  # returns True when the window may close now

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu: QMenu = bar.addMenu("&File")
        self.new_dataset_action = QAction("&New dataset…", self)
        self.new_dataset_action.setShortcut(QKeySequence.StandardKey.New)
        self.open_dataset_action = QAction("&Open dataset…", self)
        self.open_dataset_action.setShortcut(QKeySequence.StandardKey.Open)
        self.pack_action = QAction("&Pack dataset", self)
        self.pack_action.setToolTip("Rewrite the dataset into LeRobot's few large files (station pack)")
        self.push_action = QAction("P&ush to Hub…", self)
        self.push_action.setToolTip("Upload the dataset to the Hugging Face Hub while recording goes on")
        file_menu.addAction(self.new_dataset_action)
        file_menu.addAction(self.open_dataset_action)
        file_menu.addAction(self.pack_action)
        file_menu.addAction(self.push_action)
        file_menu.addSeparator()
        file_menu.addAction(self.keys["quit"])

        session_menu = bar.addMenu("&Session")
        for name in ("record", "next", "rerecord", "reset", "stop"):
            session_menu.addAction(self.keys[name])
        session_menu.addSeparator()
        session_menu.addAction(self.keys["task"])

        devices_menu = bar.addMenu("&Devices")
        self.connect_arms_action = QAction("&Connect arms…", self)
        self.connect_arms_action.setToolTip("Choose the arms' serial ports and connect them")
        self.disconnect_arms_action = QAction("&Disconnect arms and cameras", self)
        self.cameras_action = QAction("C&ameras…", self)
        self.calibrate_action = QAction("Ca&librate an arm…", self)
        devices_menu.addAction(self.connect_arms_action)
        devices_menu.addAction(self.disconnect_arms_action)
        devices_menu.addSeparator()
        devices_menu.addAction(self.cameras_action)
        self.reconnect_cameras_action = QAction("&Reconnect cameras", self)
        self.reconnect_cameras_action.setToolTip("Reopen every camera that sends nothing, without a restart")
        devices_menu.addAction(self.reconnect_cameras_action)
        devices_menu.addSeparator()
        devices_menu.addAction(self.calibrate_action)

        view_menu = bar.addMenu("&View")
        self.reset_layout_action = QAction("&Reset layout", self)
        self.queue_action = QAction("&Save queue", self, checkable=True)
        self.queue_action.setChecked(True)
        self.queue_action.toggled.connect(self.queue_panel.setVisible)
        view_menu.addAction(self.queue_action)
        view_menu.addAction(self.reset_layout_action)
        theme_menu = view_menu.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        self.theme_actions: dict[str, QAction] = {}
        for theme in THEMES:
            action = QAction(THEME_NAMES[theme], self, checkable=True)
            action.setData(theme)
            self.theme_group.addAction(action)
            theme_menu.addAction(action)
            self.theme_actions[theme] = action
        self.theme_actions["system"].setChecked(True)
        self.theme_group.triggered.connect(lambda action: self.set_theme(action.data()))

        help_menu = bar.addMenu("&Help")
        self.keys_help_action = QAction("&Keys", self)
        self.keys_help_action.setShortcut(QKeySequence("F1"))
        self.about_action = QAction("&About", self)
        help_menu.addAction(self.keys_help_action)
        help_menu.addAction(self.about_action)
        keep_station_keys_out_of_menus(bar)  # an open menu's letters pick its items

    def set_theme(self, theme: str) -> None:
        """System, Light or Dark, for the whole application; banners and rows recolour to stay readable."""
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme = apply_theme(app, theme)
        self.theme_actions[theme].setChecked(True)
        self.messages.restyle()
        self.queue_panel.table.viewport().update()
        self.theme_changed.emit(theme)

    # -- where the window goes and how its space is shared (rules in widgets.window_layout) --
    def available_rect(self) -> Rect:
        screen = self.screen() or QGuiApplication.primaryScreen()
        r = screen.availableGeometry()
        return r.x(), r.y(), r.width(), r.height()

    def place(self, geometry: QByteArray | None = None) -> None:
        """Restore a remembered geometry if it fits the screen, else open at a size that fits."""
        if geometry is not None and self.restoreGeometry(geometry):
            g = self.frameGeometry()
            if fits((g.x(), g.y(), g.width(), g.height()), self.available_rect()):
                return
        x, y, w, h = initial_rect(self.available_rect())
        self.setGeometry(QRect(x, y, w, h))

    def restore_layout(self, state: QByteArray | None, splitter: QByteArray | None) -> None:
        """A remembered layout (queue and camera/plot splits), checked once the window is shown: an unusable
        one gives way to the default."""
        restored = state is not None and self.vsplitter.restoreState(state)
        restored = (splitter is not None and self.splitter.restoreState(splitter)) and restored
        self.queue_action.setChecked(not self.queue_panel.isHidden())
        self._layout_pending = "check" if restored else "default"  # applied once the window has its size

    def layout_settled(self) -> bool:
        """The remembered or default layout has been applied to the shown window."""
        return not self._layout_pending

    def layout_usable(self) -> bool:
        sizes = self.splitter.sizes()
        queue = self.vsplitter.sizes()[1]
        return usable(self.joints.height(), sizes[0], sizes[1], self.queue_panel.isVisible(), queue, self.height())

    def reset_layout(self) -> None:
        """The default layout for the window's current size."""
        self.queue_panel.show()
        self.queue_action.setChecked(True)
        row_h = self.queue_panel.table.verticalHeader().defaultSectionSize()
        shares = default_shares(self.width(), self.height(), row_h)
        total = sum(self.vsplitter.sizes()) or self.height()
        self.vsplitter.setSizes([max(1, total - shares.queue_height), shares.queue_height])
        self.splitter.setSizes([shares.cameras_width, shares.plots_width])

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.messages.fit_window(event.size().height())  # fewer banners in view on a laptop screen

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._layout_pending:
            QTimer.singleShot(0, self, self._settle_layout)

    def _settle_layout(self, tries: int = 0) -> None:
        if tries < 50 and any(not view.isVisible() for view in self.cameras.views if shiboken6.isValid(view)):
            # camera views just added are shown by Qt a moment later: lay out with them (context: the window)
            QTimer.singleShot(10, self, lambda: self._settle_layout(tries + 1))
            return
        central = self.centralWidget()
        central_layout = central.layout() if central is not None else None
        if central_layout is not None:
            central_layout.activate()  # the splitters have their final heights before they are shared out
        pending, self._layout_pending = self._layout_pending, ""
        if pending == "default" or (pending == "check" and not self.layout_usable()):
            self.reset_layout()

    def layout_to_remember(self) -> tuple[QByteArray | None, QByteArray | None, QByteArray | None]:
        """(geometry, queue split, camera/plot split), each None when it should not be remembered."""
        g = self.frameGeometry()
        fitting = fits((g.x(), g.y(), g.width(), g.height()), self.available_rect())
        good = self.layout_usable()
        return (self.saveGeometry() if fitting else None, self.vsplitter.saveState() if good else None,
                self.splitter.saveState() if good else None)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.close_guard is not None and not self.close_guard():
            event.ignore()
            return
        event.accept()

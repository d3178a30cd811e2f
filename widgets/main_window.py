"""The main window: layout only. Views are placed here; the controller wires them to the session."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QSplitter, QVBoxLayout, QWidget

from widgets.camera_view import CameraGrid
from widgets.controls import Controls
from widgets.joint_plots import JointPlots
from widgets.keymap import build_actions
from widgets.messages import MessageArea
from widgets.save_queue_model import SaveQueueModel
from widgets.save_queue_panel import SaveQueuePanel
from widgets.session_bar import SessionBar
from widgets.status_bar import StationStatusBar


class MainWindow(QMainWindow):
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
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("liveSplitter")
        self.splitter.addWidget(self.cameras)
        self.splitter.addWidget(self.joints)
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
        layout.addWidget(self.splitter, 1)
        self.setCentralWidget(central)

        self.queue_model = SaveQueueModel(parent=self)
        self.queue_panel = SaveQueuePanel(self.queue_model)
        self.queue_dock = QDockWidget("Save queue", self)
        self.queue_dock.setObjectName("saveQueueDock")
        self.queue_dock.setWidget(self.queue_panel)
        self.queue_dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.queue_dock)

        self.status = StationStatusBar()
        self.setStatusBar(self.status)
        self._build_menus()
        self.resize(1500, 950)
        self.resizeDocks([self.queue_dock], [210], Qt.Orientation.Vertical)
        self.default_state: QByteArray = self.saveState()
        self.default_splitter: QByteArray = self.splitter.saveState()
        self.close_guard: Callable[[], bool] | None = None  # returns True when the window may close now

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu: QMenu = bar.addMenu("&File")
        self.new_dataset_action = QAction("&New dataset…", self)
        self.new_dataset_action.setShortcut(QKeySequence.StandardKey.New)
        self.open_dataset_action = QAction("&Open dataset…", self)
        self.open_dataset_action.setShortcut(QKeySequence.StandardKey.Open)
        file_menu.addAction(self.new_dataset_action)
        file_menu.addAction(self.open_dataset_action)
        file_menu.addSeparator()
        file_menu.addAction(self.keys["quit"])

        session_menu = bar.addMenu("&Session")
        for name in ("record", "next", "rerecord", "reset", "stop"):
            session_menu.addAction(self.keys[name])
        session_menu.addSeparator()
        session_menu.addAction(self.keys["task"])

        arms_menu = bar.addMenu("&Arms")
        self.connect_arms_action = QAction("&Connect arms", self)
        self.calibrate_action = QAction("C&alibrate…", self)
        self.reconnect_cameras_action = QAction("&Reconnect cameras", self)
        self.reconnect_cameras_action.setToolTip("Reopen every camera that sends nothing, without a restart")
        arms_menu.addAction(self.connect_arms_action)
        arms_menu.addAction(self.calibrate_action)
        arms_menu.addSeparator()
        arms_menu.addAction(self.reconnect_cameras_action)

        view_menu = bar.addMenu("&View")
        self.reset_layout_action = QAction("&Reset layout", self)
        view_menu.addAction(self.queue_dock.toggleViewAction())
        view_menu.addAction(self.reset_layout_action)

        help_menu = bar.addMenu("&Help")
        self.keys_help_action = QAction("&Keys", self)
        self.keys_help_action.setShortcut(QKeySequence("F1"))
        self.about_action = QAction("&About", self)
        help_menu.addAction(self.keys_help_action)
        help_menu.addAction(self.about_action)

    def reset_layout(self) -> None:
        self.restoreState(self.default_state)
        self.splitter.restoreState(self.default_splitter)
        self.queue_dock.show()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.close_guard is not None and not self.close_guard():
            event.ignore()
            return
        event.accept()

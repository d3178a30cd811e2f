"""The main window: layout only. Views are placed here; the controller wires them to the session."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QByteArray, QRect, QRunnable, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QGuiApplication, QKeySequence, QShowEvent
from PySide6.QtWidgets import QApplication, QDialog, QDockWidget, QMainWindow, QMenu, QSplitter, QVBoxLayout, QWidget

from widgets.camera_view import CameraGrid
from widgets.controls import Controls
from widgets.joint_plots import JointPlots
from widgets.keymap import build_actions
from widgets.messages import MessageArea
from widgets.save_queue_model import SaveQueueModel
from widgets.save_queue_panel import SaveQueuePanel
from widgets.session_bar import SessionBar
from widgets.status_bar import StationStatusBar
from widgets.theme import THEME_NAMES, THEMES, apply_theme
from widgets.window_layout import Rect, default_shares, fits, initial_rect, usable


def compact_plots(joints: JointPlots) -> None:
    """Time ticks under the bottom row only, and short titles: six plots stay readable at laptop heights."""
    bottom_row = len(joints.plots) - 2
    for i, plot in enumerate(joints.plots):
        if i < bottom_row:
            plot.hideAxis("bottom")
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
        self.default_state: QByteArray = self.saveState()  # the docks' arrangement; sizes come from the rules
        self._layout_pending = "default"
        self.dataset_dialog: QDialog | None = None  # File > New or Open, while it is open
        self.pack_job: QRunnable | None = None  # File > Pack dataset, while it runs
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
        file_menu.addAction(self.new_dataset_action)
        file_menu.addAction(self.open_dataset_action)
        file_menu.addAction(self.pack_action)
        file_menu.addSeparator()
        file_menu.addAction(self.keys["quit"])

        session_menu = bar.addMenu("&Session")
        for name in ("record", "next", "rerecord", "reset", "stop"):
            session_menu.addAction(self.keys[name])

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
        devices_menu.addSeparator()
        devices_menu.addAction(self.calibrate_action)

        view_menu = bar.addMenu("&View")
        self.reset_layout_action = QAction("&Reset layout", self)
        view_menu.addAction(self.queue_dock.toggleViewAction())
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
        """A remembered layout, checked once the window is shown: an unusable one gives way to the default."""
        restored = state is not None and self.restoreState(state)
        restored = (splitter is not None and self.splitter.restoreState(splitter)) and restored
        self._layout_pending = "check" if restored else "default"  # applied once the window has its size

    def layout_usable(self) -> bool:
        sizes = self.splitter.sizes()
        return usable(self.joints.height(), sizes[0], sizes[1], self.queue_dock.isVisible(),
                      self.queue_dock.height(), self.height())

    def reset_layout(self) -> None:
        """The default layout for the window's current size."""
        self.restoreState(self.default_state)
        self.queue_dock.setFloating(False)
        self.queue_dock.show()
        row_h = self.queue_panel.table.verticalHeader().defaultSectionSize()
        shares = default_shares(self.width(), self.height(), row_h)
        self.resizeDocks([self.queue_dock], [shares.queue_height], Qt.Orientation.Vertical)
        self.splitter.setSizes([shares.cameras_width, shares.plots_width])

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._layout_pending:
            QTimer.singleShot(0, self._settle_layout)

    def _settle_layout(self) -> None:
        pending, self._layout_pending = self._layout_pending, ""
        if pending == "default" or (pending == "check" and not self.layout_usable()):
            self.reset_layout()

    def layout_to_remember(self) -> tuple[QByteArray | None, QByteArray | None, QByteArray | None]:
        """(geometry, dock state, splitter state), each None when it should not be remembered."""
        g = self.frameGeometry()
        fitting = fits((g.x(), g.y(), g.width(), g.height()), self.available_rect())
        good = self.layout_usable()
        return (self.saveGeometry() if fitting else None, self.saveState() if good else None,
                self.splitter.saveState() if good else None)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.close_guard is not None and not self.close_guard():
            event.ignore()
            return
        event.accept()

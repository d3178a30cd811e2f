"""Devices > Connect arms… and Devices > Cameras…: choose ports and camera sources from what is present.

Both only describe a choice; widgets.device_actions applies it (closing the session, reopening the devices,
and going back to the devices in use when the new ones cannot be opened).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from PySide6.QtCore import Qt
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from station.config import ArmConfig, CameraSource, default_calibration_dir
from station.errors import StationError
from widgets.device_choices import (
    TEST_PATTERN,
    CameraChoice,
    ModeKey,
    camera_choices,
    serial_ports,
    setting_label,
    sources_problem,
    usb_serial,
)


def port_box(current: str, ports: list[str]) -> QComboBox:
    """An editable list of the ports present (a pseudo-terminal of `station emulate` can be typed in)."""
    box = QComboBox()
    box.setEditable(True)
    box.addItems(ports)
    box.setCurrentText(current)
    edit = box.lineEdit()
    if edit is not None:
        edit.setPlaceholderText("/dev/ttyACM0")
    return box


class ArmsDialog(QDialog):
    def __init__(self, arms: ArmConfig | None, parent: QWidget | None = None,
                 list_ports: Callable[[], list[str]] = serial_ports) -> None:
        super().__init__(parent)
        self.setObjectName("armsDialog")
        self.setWindowTitle("Connect arms")
        self._list_ports = list_ports
        ports = list_ports()
        guesses = [p for p in ports if usb_serial(p)]  # never the PC's own serial line as an arm's port
        self.follower_port = port_box(arms.follower_port if arms else (guesses[0] if guesses else ""), ports)
        self.leader_port = port_box(arms.leader_port if arms else (guesses[1] if len(guesses) > 1 else ""), ports)
        self.follower_id = QLineEdit(arms.follower_id if arms else "follower")
        self.leader_id = QLineEdit(arms.leader_id if arms else "leader")
        self.directory = QLineEdit(str(arms.calibration_dir if arms else default_calibration_dir()))
        refresh = QPushButton("Look for ports again")
        refresh.clicked.connect(self.refresh_ports)
        form = QFormLayout()
        form.addRow("Follower port:", self.follower_port)
        form.addRow("Leader port:", self.leader_port)
        form.addRow("", refresh)
        form.addRow("Follower calibration id:", self.follower_id)
        form.addRow("Leader calibration id:", self.leader_id)
        form.addRow("Calibration folder:", self.directory)
        self.problem = QLabel()
        self.problem.setObjectName("armsProblem")
        self.problem.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.connect_button = self.buttons.addButton("Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The session closes while the arms change; its saves must be finished."))
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        for box in (self.follower_port, self.leader_port):
            box.currentTextChanged.connect(self._check)
        self.setMinimumWidth(480)
        self._check()

    def refresh_ports(self) -> None:
        ports = self._list_ports()
        for box in (self.follower_port, self.leader_port):
            text = box.currentText()
            box.clear()
            box.addItems(ports)
            box.setCurrentText(text)

    def arms(self) -> ArmConfig | None:
        try:
            return ArmConfig(self.follower_port.currentText().strip(), self.leader_port.currentText().strip(),
                             Path(self.directory.text().strip()).expanduser(),
                             self.follower_id.text().strip() or "follower", self.leader_id.text().strip() or "leader")
        except StationError:
            return None

    def _check(self, *_args: object) -> None:
        f, leader = self.follower_port.currentText().strip(), self.leader_port.currentText().strip()
        problem = ""
        if not f or not leader:
            problem = "Choose the port of each arm."
        elif f == leader:
            problem = "The follower and the leader are on the same port."
        self.problem.setText(problem)
        self.connect_button.setEnabled(not problem)


class CamerasDialog(QDialog):
    """One row per camera: its name, its source (test pattern, a V4L2 device, a video file) and its mode.

    A V4L2 device lists its modes (pixel format, size, rates); a mode too slow for the dataset's rate is shown
    greyed with the reason and cannot be chosen. The test pattern lists sizes; a video file plays at its own.
    """

    NAME, SOURCE, MODE = range(3)

    def __init__(self, cameras: tuple[CameraSource, ...], fps: int, parent: QWidget | None = None,
                 list_cameras: Callable[[int], list[CameraChoice]] = camera_choices) -> None:
        super().__init__(parent)
        self.setObjectName("camerasDialog")
        self.setWindowTitle("Cameras")
        self.fps = fps
        self._list_cameras = list_cameras
        self.choices = list_cameras(fps)
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Name", "Source", "Mode (pixel format · size · frame rates)"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(self.NAME, 110)
        self.table.setColumnWidth(self.SOURCE, 260)
        for cam in cameras:
            self.add_row(cam)
        add = QPushButton("Add a camera")
        add.clicked.connect(lambda: self.add_row(None))
        remove = QPushButton("Remove the selected camera")
        remove.clicked.connect(self._remove_selected)
        browse = QPushButton("Video file…")
        browse.setToolTip("Use a video file as the selected camera (played at the recording rate)")
        browse.clicked.connect(self._browse_file)
        refresh = QPushButton("Look for cameras again")
        refresh.setToolTip("List the cameras again (after plugging one in)")
        refresh.clicked.connect(self.refresh_cameras)
        row_buttons = QHBoxLayout()
        for b in (add, remove, browse):
            row_buttons.addWidget(b)
        row_buttons.addStretch(1)
        row_buttons.addWidget(refresh)
        self.problem = QLabel()
        self.problem.setObjectName("camerasProblem")
        self.problem.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.apply_button = self.buttons.addButton("Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        intro = QLabel(f"The session closes while the cameras change; its saves must be finished. Modes too slow "
                       f"for the dataset's {fps} fps are shown greyed and cannot be chosen.")
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addLayout(row_buttons)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.resize(1000, 340)
        self._check()

    def add_row(self, cam: CameraSource | None) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        name = QLineEdit(cam.name if cam else f"camera{row + 1}")
        source = QComboBox()
        source.setEditable(True)
        mode = QComboBox()
        self.table.setCellWidget(row, self.NAME, name)
        self.table.setCellWidget(row, self.SOURCE, source)
        self.table.setCellWidget(row, self.MODE, mode)
        self._fill_sources(source, cam.source if cam else TEST_PATTERN)
        if cam is None:
            self._fill_modes(source, mode)
        elif cam.width is not None and cam.height is not None:
            self._fill_modes(source, mode, (cam.width, cam.height, cam.pixel_format))
        else:
            self._fill_modes(source, mode, None)
        source.currentIndexChanged.connect(lambda _i, s=source, m=mode: self._source_changed(s, m))
        source.editTextChanged.connect(lambda _t, s=source, m=mode: self._source_changed(s, m))
        name.textChanged.connect(self._check)
        mode.currentIndexChanged.connect(self._check)
        self._check()

    def refresh_cameras(self) -> None:
        """List the cameras again; each row keeps its source and mode."""
        self.choices = self._list_cameras(self.fps)
        for row in range(self.table.rowCount()):
            source, mode = self._boxes(row)
            key = self._key_of(mode)
            source.blockSignals(True)
            self._fill_sources(source, self._source_of(source))
            source.blockSignals(False)
            self._fill_modes(source, mode, key)
        self._check()

    def _boxes(self, row: int) -> tuple[QComboBox, QComboBox]:
        source, mode = self.table.cellWidget(row, self.SOURCE), self.table.cellWidget(row, self.MODE)
        assert isinstance(source, QComboBox) and isinstance(mode, QComboBox)
        return source, mode

    def _choice(self, source: str) -> CameraChoice | None:
        return next((c for c in self.choices if c.source == source), None)

    def _fill_sources(self, box: QComboBox, wanted: str) -> None:
        box.clear()
        for choice in self.choices:
            box.addItem(choice.label, choice.source)
            if choice.problem:
                _unavailable(box, box.count() - 1, choice.problem)
        index = box.findData(wanted)
        if index >= 0:
            box.setCurrentIndex(index)
        else:
            box.setEditText(wanted)

    def _source_changed(self, source: QComboBox, mode: QComboBox) -> None:
        if self._source_of(source) != mode.property("source"):  # typing the same path again keeps the mode
            self._fill_modes(source, mode)
        self._check()

    def _fill_modes(self, source: QComboBox, mode: QComboBox,
                    wanted: ModeKey | None | Literal["default"] = "default") -> None:
        """The modes of the row's source; `wanted` (a mode, or None: the source's default) is selected, shown
        even if the source does not list it; without it, the source's default mode."""
        src = self._source_of(source)
        choice = self._choice(src)
        mode.blockSignals(True)
        mode.clear()
        mode.setProperty("source", src)
        for m in choice.modes if choice else ():
            mode.addItem(m.label, m.key)
            if m.problem:
                _unavailable(mode, mode.count() - 1, m.problem)
        if wanted != "default":
            key = wanted
        else:
            default = choice.default_mode() if choice else None
            key = default.key if default else (choice.modes[0].key if choice and choice.modes else None)
        index = next((i for i in range(mode.count()) if self._key_at(mode, i) == key), -1)
        if index < 0:
            mode.addItem(setting_label(src, key), key)
            index = mode.count() - 1
        mode.setCurrentIndex(index)
        mode.setEnabled(mode.count() > 1)
        mode.setToolTip(mode.itemData(index, Qt.ItemDataRole.ToolTipRole) or "")
        mode.blockSignals(False)

    @staticmethod
    def _key_at(mode: QComboBox, index: int) -> ModeKey | None:
        """The mode at `index` (findData cannot find a Python tuple: compared here)."""
        data = mode.itemData(index)
        return (int(data[0]), int(data[1]), data[2]) if data else None

    def _key_of(self, mode: QComboBox) -> ModeKey | None:
        return self._key_at(mode, mode.currentIndex())

    @staticmethod
    def _source_of(box: QComboBox) -> str:
        index = box.findText(box.currentText())
        data = box.itemData(index) if index >= 0 else None
        return str(data) if data is not None else box.currentText().strip()

    def _remove_selected(self) -> None:
        row = self.table.currentRow()
        if row >= 0:
            self.table.removeRow(row)
            self._check()

    def _browse_file(self) -> None:
        row = max(0, self.table.currentRow())
        if self.table.rowCount() == 0:
            self.add_row(None)
        path, _ = QFileDialog.getOpenFileName(self, "A video file to use as a camera", "",
                                              "Videos (*.mp4 *.mkv *.avi *.mov *.webm);;All files (*)")
        if path:
            self._boxes(row)[0].setEditText(path)

    def rows(self) -> list[tuple[str, str, ModeKey | None]]:
        rows = []
        for row in range(self.table.rowCount()):
            name = self.table.cellWidget(row, self.NAME)
            source, mode = self._boxes(row)
            assert isinstance(name, QLineEdit)
            rows.append((name.text(), self._source_of(source), self._key_of(mode)))
        return rows

    def sources(self) -> tuple[CameraSource, ...]:
        return sources_problem(self.rows(), self.choices)[0]

    def _check(self, *_args: object) -> None:
        if not hasattr(self, "apply_button"):
            return
        _sources, problem = sources_problem(self.rows(), self.choices)
        self.problem.setText(problem)
        self.apply_button.setEnabled(not problem)
        for row in range(self.table.rowCount()):
            mode = self._boxes(row)[1]
            mode.setToolTip(mode.itemData(mode.currentIndex(), Qt.ItemDataRole.ToolTipRole) or "")


def _unavailable(box: QComboBox, index: int, why: str) -> None:
    """An item listed with the reason it cannot be chosen (greyed, not selectable)."""
    model = box.model()
    if isinstance(model, QStandardItemModel):
        item = model.item(index)
        if item is not None:
            item.setEnabled(False)
    box.setItemData(index, why, Qt.ItemDataRole.ToolTipRole)

"""Devices > Connect arms… and Devices > Cameras…: choose ports and camera sources from what is present.

Both only describe a choice; widgets.device_actions applies it (closing the session, reopening the devices,
and going back to the devices in use when the new ones cannot be opened).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
from widgets.device_choices import TEST_PATTERN, CameraChoice, camera_choices, serial_ports, sources_problem


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
        self.follower_port = port_box(arms.follower_port if arms else (ports[0] if ports else ""), ports)
        self.leader_port = port_box(arms.leader_port if arms else (ports[1] if len(ports) > 1 else ""), ports)
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
    """One row per camera: its name, its source (test pattern, a V4L2 device, a video file) and size."""

    NAME, SOURCE, SIZE = range(3)

    def __init__(self, cameras: tuple[CameraSource, ...], parent: QWidget | None = None,
                 list_cameras: Callable[[], list[CameraChoice]] = camera_choices) -> None:
        super().__init__(parent)
        self.setObjectName("camerasDialog")
        self.setWindowTitle("Cameras")
        self.choices = list_cameras()
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["Name", "Source", "Size"])
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(self.NAME, 120)
        self.table.setColumnWidth(self.SOURCE, 300)
        for cam in cameras:
            self.add_row(cam)
        add = QPushButton("Add a camera")
        add.clicked.connect(lambda: self.add_row(None))
        remove = QPushButton("Remove the selected camera")
        remove.clicked.connect(self._remove_selected)
        browse = QPushButton("Video file…")
        browse.setToolTip("Use a video file as the selected camera (played at the recording rate)")
        browse.clicked.connect(self._browse_file)
        row_buttons = QHBoxLayout()
        for b in (add, remove, browse):
            row_buttons.addWidget(b)
        row_buttons.addStretch(1)
        self.problem = QLabel()
        self.problem.setObjectName("camerasProblem")
        self.problem.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.apply_button = self.buttons.addButton("Connect", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("The session closes while the cameras change; its saves must be finished."))
        layout.addWidget(self.table, 1)
        layout.addLayout(row_buttons)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.resize(640, 320)
        self._check()

    def add_row(self, cam: CameraSource | None) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        name = QLineEdit(cam.name if cam else f"camera{row + 1}")
        source = QComboBox()
        source.setEditable(True)
        for choice in self.choices:
            source.addItem(choice.label, choice.source)
        size = QComboBox()
        source.currentIndexChanged.connect(lambda _i, s=source, z=size: self._fill_sizes(s, z))
        source.editTextChanged.connect(self._check)
        name.textChanged.connect(self._check)
        size.currentIndexChanged.connect(self._check)
        self.table.setCellWidget(row, self.NAME, name)
        self.table.setCellWidget(row, self.SOURCE, source)
        self.table.setCellWidget(row, self.SIZE, size)
        wanted = cam.source if cam else TEST_PATTERN
        index = source.findData(wanted)
        if index >= 0:
            source.setCurrentIndex(index)
        else:
            source.setEditText(wanted)
        self._fill_sizes(source, size)
        if cam and cam.width and cam.height:
            label = f"{cam.width}x{cam.height}"
            if size.findText(label) < 0:
                size.addItem(label, (cam.width, cam.height))
            size.setCurrentIndex(size.findText(label))
        self._check()

    def _fill_sizes(self, source: QComboBox, size: QComboBox) -> None:
        choice = next((c for c in self.choices if c.source == self._source_of(source)), None)
        size.clear()
        size.addItem("its own size", None)
        for w, h in choice.sizes if choice else []:
            size.addItem(f"{w}x{h}", (w, h))
        if choice and choice.sizes:
            size.setCurrentIndex(1)
        self._check()

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
            box = self.table.cellWidget(row, self.SOURCE)
            assert isinstance(box, QComboBox)
            box.setEditText(path)

    def rows(self) -> list[tuple[str, str, tuple[int, int] | None]]:
        rows = []
        for row in range(self.table.rowCount()):
            name, source, size = (self.table.cellWidget(row, c) for c in (self.NAME, self.SOURCE, self.SIZE))
            assert isinstance(name, QLineEdit) and isinstance(source, QComboBox) and isinstance(size, QComboBox)
            rows.append((name.text(), self._source_of(source), size.currentData()))
        return rows

    def sources(self) -> tuple[CameraSource, ...]:
        return sources_problem(self.rows())[0]

    def _check(self, *_args: object) -> None:
        if not hasattr(self, "apply_button"):
            return
        _sources, problem = sources_problem(self.rows())
        self.problem.setText(problem)
        self.apply_button.setEnabled(not problem)

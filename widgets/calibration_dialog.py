"""Devices > Calibrate an arm: LeRobot's SO-101 calibration as a dialog over CalibrationProcedure, no console.

The procedure talks to the serial bus, which is slow and must be used from one thread: every step runs on a
single worker thread (an executor of one), and results come back to the dialog through a queued signal.
The sweep is polled ten times a second while the person moves the arm; the table shows each joint's range.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from station.config import ArmConfig, default_calibration_dir
from station.hardware.calibration import FULL_TURN_JOINTS, CalibrationProcedure, Step, SweepStatus
from station.joints import JOINTS
from widgets.device_choices import serial_ports

log = logging.getLogger(__name__)
ProcedureFactory = Callable[[str, str, str, Path], Any]  # (port, role, arm id, calibration dir) -> procedure

INSTRUCTIONS = {
    Step.IDLE: "Connect the arm, check the port, then press Start. Torque goes off so you can move it by hand.",
    Step.POSE_MIDDLE: "Pose the arm in the middle of its range (as in LeRobot's guide), then press Set middle.",
    Step.SWEEP: "Move every joint except wrist_roll slowly through its whole range, then press Finish.",
    Step.DONE: "Calibration saved.",
}


def default_procedure(port: str, role: str, arm_id: str, calibration_dir: Path) -> CalibrationProcedure:
    return CalibrationProcedure(port, role, arm_id, calibration_dir)  # type: ignore[arg-type]


class PortEdit(QComboBox):
    """The serial ports present to choose from, or one typed in (a pseudo-terminal of `station emulate`)."""

    def __init__(self, ports: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setEditable(True)
        self.addItems(ports)
        edit = self.lineEdit()
        if edit is not None:
            edit.setPlaceholderText("/dev/ttyACM0")

    def text(self) -> str:
        return self.currentText()

    def setText(self, text: str) -> None:  # noqa: N802 (as QLineEdit's)
        self.setCurrentText(text)


class _Relay(QObject):
    done = Signal(str, object, object)  # what, result, error message (None if it worked)


class CalibrationDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, arms: ArmConfig | None = None,
                 procedure_factory: ProcedureFactory = default_procedure) -> None:
        super().__init__(parent)
        self.setObjectName("calibrationDialog")
        self.setWindowTitle("Calibrate an arm")
        self._factory = procedure_factory
        self._executor: ThreadPoolExecutor | None = None
        self._procedure: Any = None
        self._polling = False
        self._relay = _Relay()
        self._relay.done.connect(self._on_done)
        self.step = Step.IDLE
        self.saved_path: Path | None = None

        self.role = QComboBox()
        self.role.addItems(["follower", "leader"])
        self.port = PortEdit(serial_ports())
        self.port.setText(arms.follower_port if arms else "")
        self.arm_id = QLineEdit(arms.follower_id if arms else "follower")
        self.directory = QLineEdit(str(arms.calibration_dir if arms else default_calibration_dir()))
        self._arms = arms
        self.role.currentTextChanged.connect(self._on_role)
        form = QFormLayout()
        form.addRow("Arm", self.role)
        form.addRow("Serial port", self.port)
        form.addRow("Calibration id", self.arm_id)
        form.addRow("Calibration folder", self.directory)

        self.instructions = QLabel(INSTRUCTIONS[Step.IDLE])
        self.instructions.setWordWrap(True)
        self.instructions.setObjectName("calibrationInstructions")
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color:#c62828; font-weight:bold;")
        self.table = QTableWidget(len(JOINTS), 4)
        self.table.setHorizontalHeaderLabels(["Joint", "Min", "Now", "Max"])
        self.table.verticalHeader().setVisible(False)
        for row, joint in enumerate(JOINTS):
            self.table.setItem(row, 0, QTableWidgetItem(joint))
            for col in (1, 2, 3):
                self.table.setItem(row, col, QTableWidgetItem("full turn" if joint in FULL_TURN_JOINTS else ""))
        self.start_button = QPushButton("Start")
        self.middle_button = QPushButton("Set middle")
        self.finish_button = QPushButton("Finish")
        self.close_button = QPushButton("Close")
        self.start_button.clicked.connect(self._start)
        self.middle_button.clicked.connect(lambda: self._run("middle", lambda p: p.set_middle()))
        self.finish_button.clicked.connect(lambda: self._run("finish", lambda p: p.finish()))
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.middle_button, self.finish_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.instructions)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error)
        layout.addLayout(buttons)
        self.poll_timer = QTimer(self)
        self.poll_timer.setInterval(100)
        self.poll_timer.timeout.connect(self._poll)
        self.resize(560, 480)
        self._busy = False
        self._show_step()

    def _on_role(self, role: str) -> None:
        if self._arms is not None:
            follower = role == "follower"
            self.port.setText(self._arms.follower_port if follower else self._arms.leader_port)
            self.arm_id.setText(self._arms.follower_id if follower else self._arms.leader_id)

    # -- steps, each on the worker thread --
    def _start(self) -> None:
        port = self.port.text().strip()
        if not port:
            self.error.setText("Choose the arm's serial port from the list, or type it (e.g. /dev/ttyACM0).")
            return
        role, arm_id, folder = self.role.currentText(), self.arm_id.text().strip(), Path(self.directory.text())
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="calibration")

        def start(_p: Any) -> Any:
            procedure = self._factory(port, role, arm_id or role, folder)
            procedure.start()
            return procedure

        self._run("start", start)

    def _run(self, what: str, fn: Callable[[Any], Any]) -> None:
        if self._executor is None or self._busy:
            return
        self._busy = True
        if what != "poll":  # a message stays until the operator acts again, not until the next poll
            self.error.setText("")
        self._show_step()
        future = self._executor.submit(fn, self._procedure)
        future.add_done_callback(lambda f: self._deliver(what, f))

    def _deliver(self, what: str, future: Future) -> None:  # on the worker thread
        error = future.exception()
        self._relay.done.emit(what, None if error else future.result(), None if error is None else str(error))

    def _poll(self) -> None:
        if self.step is Step.SWEEP and not self._busy:
            self._run("poll", lambda p: p.poll())

    def _on_done(self, what: str, result: object, error: str | None) -> None:
        self._busy = False
        if error is not None:
            self.error.setText(error)
            if what == "start":
                self._shutdown_worker()
        elif what == "start":
            self._procedure = result
        elif what == "poll" and isinstance(result, SweepStatus):
            self._show_sweep(result)
        elif what == "finish" and isinstance(result, Path):
            self.saved_path = result
            self.poll_timer.stop()
        if self._procedure is not None:
            self.step = self._procedure.step
        if self.step is Step.SWEEP and not self.poll_timer.isActive():
            self.poll_timer.start()
        if self.step is Step.DONE:
            self._release()
        self._show_step()

    def _show_sweep(self, status: SweepStatus) -> None:
        for row, joint in enumerate(JOINTS):
            if joint in status.positions:
                for col, value in ((1, status.mins[joint]), (2, status.positions[joint]), (3, status.maxes[joint])):
                    item = self.table.item(row, col)
                    if item is not None:
                        item.setText(str(value))
                moved = status.mins[joint] != status.maxes[joint]
                name = self.table.item(row, 0)
                if name is not None:
                    name.setForeground(Qt.GlobalColor.darkGreen if moved else Qt.GlobalColor.darkRed)

    def _show_step(self) -> None:
        text = INSTRUCTIONS[self.step]
        if self.step is Step.DONE and self.saved_path is not None:
            text = f"Calibration saved to {self.saved_path}. The motors hold the new limits; torque is off."
        self.instructions.setText(text)
        idle = self.step is Step.IDLE
        for w in (self.role, self.port, self.arm_id, self.directory):
            w.setEnabled(idle and not self._busy)
        self.start_button.setEnabled(idle and not self._busy)
        self.middle_button.setEnabled(self.step is Step.POSE_MIDDLE and not self._busy)
        self.finish_button.setEnabled(self.step is Step.SWEEP)

    # -- ending --
    def _release(self) -> None:
        """Torque off and port closed, on the worker, then the worker ends."""
        procedure, self._procedure = self._procedure, None
        self.poll_timer.stop()
        if self._executor is not None and procedure is not None:
            self._executor.submit(procedure.close)
        self._shutdown_worker()

    def _shutdown_worker(self) -> None:
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)

    def done(self, result: int) -> None:
        self._release()
        super().done(result)

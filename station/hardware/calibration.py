"""LeRobot calibration files for SO-101 arms, raw <-> LeRobot unit conversions, and the calibration procedure.

Files are LeRobot's own (`<dir>/robots/so_follower/<id>.json`, `<dir>/teleoperators/so_leader/<id>.json`),
so an operator can move between LeRobot and the station with the same arms. Conversions are LeRobot's
`_normalize` / `_unnormalize` for STS3215 (4096 steps): joints 1-5 in degrees about the middle of the
calibrated range, the gripper 0..100 across it.

The procedure is an object with explicit steps and no console prompts, so a window can drive it as a dialog
and `station calibrate` can drive it from a terminal.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from enum import Enum
from pathlib import Path
from typing import Literal

import numpy as np

from station.errors import CalibrationError, CalibrationNeeded, HardwareError
from station.hardware.control_table import MAX_POSITION
from station.hardware.feetech import FeetechBus
from station.joints import JOINTS, MOTOR_IDS, ROBOT_TYPE

Role = Literal["follower", "leader"]
ROLES: tuple[Role, ...] = ("follower", "leader")
GRIPPER = "gripper"
FULL_TURN_JOINTS = ("wrist_roll",)  # recorded as 0..4095 without a sweep, as LeRobot does
HALF_TURN = MAX_POSITION // 2  # 2047: the raw position of a joint posed mid-range after homing


@dataclass(frozen=True)
class MotorCalibration:
    id: int
    drive_mode: int
    homing_offset: int
    range_min: int
    range_max: int

    @property
    def middle(self) -> float:
        return (self.range_min + self.range_max) / 2


Calibration = dict[str, MotorCalibration]


# -- files --


def _leader_type(robot_type: str) -> str:
    return robot_type.replace("follower", "leader")


_ARM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def check_arm_id(arm_id: str) -> str:
    """`arm_id` if it is a plain file name (letters, digits, - _ .); CalibrationError otherwise, so that a
    calibration id can never name a file outside the calibration folder (`../../x`, `/etc/x`)."""
    if not _ARM_ID.match(arm_id) or ".." in arm_id:
        raise CalibrationError(
            f"bad calibration id {arm_id!r}: use letters, digits, - _ and . (e.g. follower, my_leader_2)"
        )
    return arm_id


def calibration_path(calibration_dir: Path, role: Role, arm_id: str, robot_type: str = ROBOT_TYPE) -> Path:
    """Where LeRobot keeps the calibration of this arm (`so_follower` / `so_leader` by default)."""
    check_arm_id(arm_id)
    if role == "follower":
        return Path(calibration_dir) / "robots" / robot_type / f"{arm_id}.json"
    return Path(calibration_dir) / "teleoperators" / _leader_type(robot_type) / f"{arm_id}.json"


def find_calibration(calibration_dir: Path, role: Role, arm_id: str, robot_type: str = ROBOT_TYPE) -> Path:
    """The file to use: the robot type's own (older LeRobot's so101_follower) if only it exists."""
    default = calibration_path(calibration_dir, role, arm_id)
    typed = calibration_path(calibration_dir, role, arm_id, robot_type)
    return typed if typed != default and typed.is_file() and not default.is_file() else default


def calibrate_command(role: Role, arm_id: str, port: str | None = None) -> str:
    return f"station calibrate --port {port or 'PORT'} --role {role} --id {arm_id}"


def save_calibration(path: Path, calibration: Calibration) -> None:
    """Write the file as LeRobot does (indent 4, joint order), atomically: never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    content = json.dumps({name: asdict(c) for name, c in calibration.items()}, indent=4)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(content)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_calibration(path: Path, role: Role, arm_id: str, port: str | None = None) -> Calibration:
    """Read and check a LeRobot calibration file; CalibrationNeeded (one line) if it is missing or corrupt."""
    path = Path(path)
    redo = calibrate_command(role, arm_id, port)
    if not path.is_file():
        raise CalibrationNeeded(f"no calibration for the {role} {arm_id!r} at {path}: create it with `{redo}`",
                                role, arm_id, path)
    try:
        content = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CalibrationNeeded(f"calibration file {path} is unreadable ({exc}): recreate it with `{redo}`",
                                role, arm_id, path) from None
    try:
        return _parse(content)
    except ValueError as exc:
        raise CalibrationNeeded(f"calibration file {path} is corrupt ({exc}): recreate it with `{redo}`",
                                role, arm_id, path) from None


def _parse(content: object) -> Calibration:
    if not isinstance(content, dict):
        raise ValueError("not a JSON object")
    calibration: Calibration = {}
    for joint in JOINTS:
        entry = content.get(joint)
        if not isinstance(entry, dict):
            raise ValueError(f"no entry for {joint}")
        values = {}
        for key in ("id", "drive_mode", "homing_offset", "range_min", "range_max"):
            value = entry.get(key)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{joint}.{key} is not an integer")
            values[key] = value
        cal = MotorCalibration(**values)
        if cal.id != MOTOR_IDS[joint]:
            raise ValueError(f"{joint} has id {cal.id}, expected {MOTOR_IDS[joint]}")
        if not 0 <= cal.range_min < cal.range_max <= MAX_POSITION:
            raise ValueError(f"{joint} range {cal.range_min}..{cal.range_max} is empty or outside 0..{MAX_POSITION}")
        if abs(cal.homing_offset) > 2047:
            raise ValueError(f"{joint} homing offset {cal.homing_offset} is outside -2047..2047")
        calibration[joint] = cal
    return calibration


# -- conversions (LeRobot's, for STS3215) --


def to_degrees(raw: int, cal: MotorCalibration) -> float:
    return (raw - cal.middle) * 360 / MAX_POSITION


def from_degrees(degrees: float, cal: MotorCalibration) -> int:
    return int(degrees * MAX_POSITION / 360 + cal.middle)


def to_percent(raw: int, cal: MotorCalibration) -> float:
    bounded = min(cal.range_max, max(cal.range_min, raw))
    norm = (bounded - cal.range_min) / (cal.range_max - cal.range_min) * 100
    return 100 - norm if cal.drive_mode else norm


def from_percent(value: float, cal: MotorCalibration) -> int:
    value = 100 - value if cal.drive_mode else value
    bounded = min(100.0, max(0.0, value))
    return int(bounded / 100 * (cal.range_max - cal.range_min) + cal.range_min)


def raw_to_values(raw: dict[str, int], calibration: Calibration) -> np.ndarray:
    """Present positions -> (6,) float32 in JOINTS order: degrees, gripper 0..100."""
    return np.array(
        [to_percent(raw[j], calibration[j]) if j == GRIPPER else to_degrees(raw[j], calibration[j]) for j in JOINTS],
        dtype=np.float32,
    )


def values_to_raw(values: np.ndarray, calibration: Calibration) -> dict[str, int]:
    """(6,) joint values in JOINTS order -> raw goal positions."""
    return {
        j: from_percent(float(v), calibration[j]) if j == GRIPPER else from_degrees(float(v), calibration[j])
        for j, v in zip(JOINTS, values, strict=True)
    }


# -- the procedure --


class Step(Enum):
    IDLE = "idle"
    POSE_MIDDLE = "pose the arm in the middle of its range"
    SWEEP = "move every joint through its whole range"
    DONE = "done"


@dataclass(frozen=True)
class SweepStatus:
    positions: dict[str, int]
    mins: dict[str, int]
    maxes: dict[str, int]


class CalibrationProcedure:
    """LeRobot's SO-101 calibration as explicit steps: start -> set_middle -> poll()... -> finish.

    Call every step from one thread (the bus rule). `close()` turns torque off and closes the port whatever
    state the procedure is in.
    """

    def __init__(
        self,
        port: str,
        role: Role,
        arm_id: str,
        calibration_dir: Path,
        *,
        bus: FeetechBus | None = None,
    ) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be follower or leader, got {role!r}")
        self.port = port
        self.role: Role = role
        self.arm_id = arm_id
        self.path = calibration_path(calibration_dir, role, arm_id)
        self.bus = bus if bus is not None else FeetechBus(port, dict(MOTOR_IDS))
        self.step = Step.IDLE
        self.homing_offsets: dict[str, int] = {}
        self._mins: dict[str, int] = {}
        self._maxes: dict[str, int] = {}
        self._swept = [j for j in JOINTS if j not in FULL_TURN_JOINTS]

    def _expect(self, step: Step, action: str) -> None:
        if self.step is not step:
            raise RuntimeError(f"cannot {action} while the calibration is at step {self.step.name}")

    def start(self) -> None:
        """Open the bus, torque off (the person moves the arm by hand), position mode."""
        self._expect(Step.IDLE, "start")
        self.bus.open()
        try:
            failed = self.bus.disable_torque()
            if failed:
                raise HardwareError(f"could not turn torque off on {', '.join(failed)} on {self.port}")
            for joint in JOINTS:
                self.bus.write("Operating_Mode", joint, 0)
        except BaseException:
            self.close()
            raise
        self.step = Step.POSE_MIDDLE

    def set_middle(self) -> dict[str, int]:
        """The arm is posed mid-range: centre each joint's range on this pose; returns the homing offsets."""
        self._expect(Step.POSE_MIDDLE, "set the middle pose")
        for joint in JOINTS:
            self.bus.write("Homing_Offset", joint, 0)
            self.bus.write("Min_Position_Limit", joint, 0)
            self.bus.write("Max_Position_Limit", joint, MAX_POSITION)
        actual = self.bus.sync_read("Present_Position")
        offsets = {j: actual[j] - HALF_TURN for j in JOINTS}
        at_end = [j for j, offset in offsets.items() if abs(offset) > HALF_TURN]
        if at_end:
            raise CalibrationError(
                f"{', '.join(at_end)} sits at the very end of its turn: move it towards the middle, try again"
            )
        self.homing_offsets = offsets
        for joint, offset in self.homing_offsets.items():
            self.bus.write("Homing_Offset", joint, offset)
        start = self.bus.sync_read("Present_Position", self._swept)
        self._mins, self._maxes = dict(start), dict(start)
        self.step = Step.SWEEP
        return dict(self.homing_offsets)

    def poll(self) -> SweepStatus:
        """Read the swept joints once and widen their live min/max; call it often while the arm is moved."""
        self._expect(Step.SWEEP, "record ranges")
        positions = self.bus.sync_read("Present_Position", self._swept)
        for joint, value in positions.items():
            self._mins[joint] = min(self._mins[joint], value)
            self._maxes[joint] = max(self._maxes[joint], value)
        return SweepStatus(positions, dict(self._mins), dict(self._maxes))

    def finish(self) -> Path:
        """Write homing offsets and limits to the motors and save LeRobot's JSON; returns the file written.

        A joint that never moved is an error (CalibrationError); the sweep may go on and finish be retried.
        """
        self._expect(Step.SWEEP, "finish")
        unmoved = [j for j in self._swept if self._mins[j] == self._maxes[j]]
        if unmoved:
            raise CalibrationError(
                f"{', '.join(unmoved)} did not move: sweep every joint but wrist_roll through its whole range"
            )
        calibration = self.result()
        for joint, cal in calibration.items():
            self.bus.write("Homing_Offset", joint, cal.homing_offset)
            self.bus.write("Min_Position_Limit", joint, cal.range_min)
            self.bus.write("Max_Position_Limit", joint, cal.range_max)
        save_calibration(self.path, calibration)
        self.step = Step.DONE
        return self.path

    def result(self) -> Calibration:
        mins = {**self._mins, **dict.fromkeys(FULL_TURN_JOINTS, 0)}
        maxes = {**self._maxes, **dict.fromkeys(FULL_TURN_JOINTS, MAX_POSITION)}
        return {j: MotorCalibration(MOTOR_IDS[j], 0, self.homing_offsets[j], mins[j], maxes[j]) for j in JOINTS}

    def close(self) -> None:
        """Torque off and close the port (idempotent)."""
        self.bus.close(disable_torque=True)

"""SO-101 leader and follower arms on Feetech buses, configured and calibrated the way LeRobot does it.

Values are LeRobot's: joints 1-5 in degrees, gripper 0..100, float32 (6,) in JOINTS order. The follower's goal
is the leader's value mapped through the follower's own calibration, so two arms assembled differently agree.

Threading: `connect()` may run on any thread; it hands the bus over when done, so the control loop's thread
takes it on its first read. From then on read/write come from that thread; `disconnect()` may be called from
another thread once the loop has stopped (see FeetechBus).

Safety: the follower turns torque off on disconnect and on any bus error (with retries, a broadcast first),
and `connect_arms` never leaves a follower with torque on when it fails.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from station.config import ArmConfig
from station.errors import ConfigError, HardwareError
from station.hardware.calibration import (
    GRIPPER,
    Calibration,
    Role,
    find_calibration,
    load_calibration,
    raw_to_values,
    values_to_raw,
)
from station.hardware.feetech import FeetechBus
from station.hardware.interfaces import Arm, Follower, TorqueOff
from station.joints import JOINTS, MOTOR_IDS, ROBOT_TYPE

log = logging.getLogger(__name__)

POSITION_MODE = 0
CALIBRATION_REGISTERS = (
    ("Homing_Offset", "homing_offset"),
    ("Min_Position_Limit", "range_min"),
    ("Max_Position_Limit", "range_max"),
)


class _SO101Arm:
    role: Role

    def __init__(
        self,
        port: str,
        calibration_dir: Path,
        arm_id: str,
        *,
        name: str | None = None,
        robot_type: str = ROBOT_TYPE,
        bus: FeetechBus | None = None,
    ) -> None:
        self.port = port
        self.arm_id = arm_id
        self.name = name or f"{self.role} {arm_id!r} on {port}"
        self.calibration_path = find_calibration(Path(calibration_dir), self.role, arm_id, robot_type)
        self.bus = bus if bus is not None else FeetechBus(port, dict(MOTOR_IDS))
        self.calibration: Calibration | None = None
        self.last_torque_off: TorqueOff | None = None

    @property
    def is_connected(self) -> bool:
        return self.bus.is_open

    def load_calibration(self) -> Calibration:
        """Read the calibration file (once); CalibrationError says how to create a missing one."""
        if self.calibration is None:
            self.calibration = load_calibration(self.calibration_path, self.role, self.arm_id, self.port)
        return self.calibration

    def connect(self) -> None:
        calibration = self.load_calibration()  # before touching the port: a missing file changes nothing
        self.bus.open()
        try:
            self.bus.disable_torque()
            self._write_calibration(calibration)
            self._configure()
        except BaseException:
            self.bus.close(disable_torque=True)
            raise
        self.bus.release_thread()
        log.info("%s connected", self.name)

    def _write_calibration(self, calibration: Calibration) -> None:
        """Motors whose Homing_Offset or limits differ from the file get the file's values (torque is off)."""
        for register, field in CALIBRATION_REGISTERS:
            present = self.bus.sync_read(register)
            for joint in JOINTS:
                wanted = getattr(calibration[joint], field)
                if present[joint] != wanted:
                    log.info("%s: %s %s %d -> %d", self.name, joint, register, present[joint], wanted)
                    self.bus.write(register, joint, wanted)

    def _configure(self) -> None:
        for joint in JOINTS:
            self.bus.write("Return_Delay_Time", joint, 0)
            self.bus.write("Maximum_Acceleration", joint, 254)
            self.bus.write("Acceleration", joint, 254)
            self.bus.write("Operating_Mode", joint, POSITION_MODE)

    def read(self) -> np.ndarray:
        if self.calibration is None or not self.bus.is_open:
            raise HardwareError(f"{self.name} is not connected")
        return raw_to_values(self.bus.sync_read("Present_Position"), self.calibration)

    def disconnect(self) -> TorqueOff:
        """Torque off, read back, and close the port; safe to call twice or after a failed connect.

        The result says the state the motors reported, never the one asked for: a motor that does not
        answer, or answers Torque_Enable = 1, makes it unconfirmed. `last_torque_off` keeps it.
        """
        states = self.bus.close(disable_torque=True)
        if states or self.last_torque_off is None:  # a port that was never open: nothing could be read back
            unconfirmed = tuple(m for m, v in states.items() if v != 0)
            self.last_torque_off = TorqueOff(self.role, confirmed=bool(states) and not unconfirmed,
                                             unconfirmed=unconfirmed)
        return self.last_torque_off


class SO101Leader(_SO101Arm):
    """The arm a person moves: torque stays off, position mode, read every tick."""

    role: Role = "leader"


class SO101Follower(_SO101Arm):
    """The position-controlled arm: torque on between connect and disconnect, and off after any bus error."""

    role: Role = "follower"

    def __init__(
        self,
        port: str,
        calibration_dir: Path,
        arm_id: str,
        *,
        max_relative_target: float | None = None,
        name: str | None = None,
        robot_type: str = ROBOT_TYPE,
        bus: FeetechBus | None = None,
    ) -> None:
        super().__init__(port, calibration_dir, arm_id, name=name, robot_type=robot_type, bus=bus)
        if max_relative_target is not None and not max_relative_target > 0:
            raise ConfigError(f"max relative target must be above 0, got {max_relative_target}")
        self.max_relative_target = max_relative_target

    def _configure(self) -> None:
        super()._configure()
        for joint in JOINTS:
            self.bus.write("P_Coefficient", joint, 16)  # LeRobot: lower than the default 32 to avoid shaking
            self.bus.write("I_Coefficient", joint, 0)
            self.bus.write("D_Coefficient", joint, 32)
        self.bus.write("Max_Torque_Limit", GRIPPER, 500)  # the gripper at half torque and current: no burn-out
        self.bus.write("Protection_Current", GRIPPER, 250)
        self.bus.write("Overload_Torque", GRIPPER, 25)
        # Hold where the arm is rather than jump to a stale goal when torque comes on.
        self.bus.sync_write("Goal_Position", self.bus.sync_read("Present_Position"))
        self.bus.enable_torque()

    def read(self) -> np.ndarray:
        if self.calibration is None or not self.bus.is_open:
            raise HardwareError(f"{self.name} is not connected")
        try:
            return super().read()
        except HardwareError:
            self._torque_off_after_error()
            raise

    def write(self, goal: np.ndarray) -> np.ndarray:
        """Command goal values (6,); returns what was sent, after the max_relative_target clamp if any."""
        if self.calibration is None or not self.bus.is_open:
            raise HardwareError(f"{self.name} is not connected")
        goal = np.asarray(goal, dtype=np.float64).reshape(len(JOINTS))
        if not all(math.isfinite(v) for v in goal):
            raise ValueError(f"goal for {self.name} is not finite: {goal}")
        try:
            if self.max_relative_target is not None:
                present = raw_to_values(self.bus.sync_read("Present_Position"), self.calibration)
                step = self.max_relative_target
                goal = np.clip(goal, present - step, present + step)
            self.bus.sync_write("Goal_Position", values_to_raw(goal, self.calibration))
        except HardwareError:
            self._torque_off_after_error()
            raise
        return goal.astype(np.float32)

    def _torque_off_after_error(self) -> None:
        try:
            failed = self.bus.disable_torque(tries=3)
        except Exception as exc:  # the error being raised matters more; this one goes to the log
            log.error("%s: turning torque off after an error failed: %s", self.name, exc)
            return
        if failed:
            log.error("%s: torque may still be on for %s", self.name, ", ".join(failed))


def connect_arms(cfg: ArmConfig, robot_type: str = ROBOT_TYPE) -> tuple[Arm, Follower]:
    """Connect the leader and the follower of `cfg`; on any failure nothing is left open or with torque on."""
    if Path(cfg.leader_port).resolve() == Path(cfg.follower_port).resolve():
        raise ConfigError(f"the leader and the follower cannot share one port ({cfg.leader_port})")
    leader = SO101Leader(cfg.leader_port, cfg.calibration_dir, cfg.leader_id, robot_type=robot_type)
    follower = SO101Follower(
        cfg.follower_port,
        cfg.calibration_dir,
        cfg.follower_id,
        max_relative_target=cfg.max_relative_target,
        robot_type=robot_type,
    )
    leader.load_calibration()  # both files first: a missing one fails before any port is opened
    follower.load_calibration()
    leader.connect()
    try:
        follower.connect()
    except BaseException:
        leader.disconnect()
        raise
    return leader, follower

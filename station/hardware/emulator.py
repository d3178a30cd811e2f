"""Six emulated STS3215 servos behind a pseudo-terminal, so the real SDK and FeetechBus run without arms.

`EmulatedBus(role).start()` returns a `/dev/pts/N` path usable as a serial port. A thread answers PING, READ,
WRITE, REG_WRITE/ACTION, SYNC_READ and SYNC_WRITE from a real control table:

- EEPROM (addresses < 40) is writable only while Lock is 0. (A real servo applies such writes until power-off
  without saving them; refusing them surfaces code that forgets to unlock.) Model, firmware and Present_* are
  read-only; the ID is fixed.
- Present_Position = actual - Homing_Offset, sign-magnitude (bit 15); Homing_Offset sign-magnitude (bit 11).
- A leader's joints follow a smooth scripted "person"; a follower's move toward Goal_Position (clamped to the
  position limits) at a servo-like speed while torque is on. With torque off, Goal_Position tracks the present
  position, so enabling torque holds the arm where it is.

Faults for reliability tests: drop or corrupt every Nth reply, stop answering (switchable at runtime), motors
missing, ids answered twice (two servos sharing an id), a different model number or firmware.
`write_demo_calibration()` writes LeRobot calibration files matching the emulated arms' mechanics.
"""

from __future__ import annotations

import logging
import math
import os
import select
import threading
import time
import tty
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from station.hardware.calibration import (
    HALF_TURN,
    Calibration,
    MotorCalibration,
    calibration_path,
    save_calibration,
)
from station.hardware.control_table import (
    CONTROL_TABLE,
    EEPROM_END,
    MAX_POSITION,
    STS3215_MODEL,
    decode,
    encode,
    from_bytes,
    register,
    to_bytes,
)
from station.joints import JOINTS, MOTOR_IDS

log = logging.getLogger(__name__)

EmulatedRole = Literal["leader", "follower"]

INST_PING, INST_READ, INST_WRITE, INST_REG_WRITE, INST_ACTION = 0x01, 0x02, 0x03, 0x04, 0x05
INST_SYNC_READ, INST_SYNC_WRITE = 0x82, 0x83
BROADCAST = 0xFE
MAX_SPEED_STEPS_S = 3000.0  # ~265 deg/s, an STS3215 at 12 V without load


@dataclass(frozen=True)
class JointMechanics:
    """Where a joint's middle and end stops sit on the servo's absolute encoder (raw steps, no offset)."""

    middle: int
    half_range: int  # the joint can move middle +/- half_range; a full-turn joint uses 2047


# Two arms assembled a little differently, as real ones are: the same pose reads differently on each.
LEADER_MECHANICS = (
    JointMechanics(2600, 1250),
    JointMechanics(1310, 1150),
    JointMechanics(2900, 1100),
    JointMechanics(1650, 1050),
    JointMechanics(2200, HALF_TURN),
    JointMechanics(2750, 700),
)
FOLLOWER_MECHANICS = (
    JointMechanics(1980, 1200),
    JointMechanics(2400, 1100),
    JointMechanics(1520, 1150),
    JointMechanics(2810, 1000),
    JointMechanics(1900, HALF_TURN),
    JointMechanics(2130, 650),
)
# The scripted person: (fraction of the half range, period s, phase) per joint, two sines each.
_SCRIPT = (
    ((0.55, 7.0, 0.0), (0.15, 2.3, 1.0)),
    ((0.45, 9.0, 0.5), (0.10, 3.1, 0.2)),
    ((0.50, 6.0, 1.3), (0.12, 1.9, 0.7)),
    ((0.40, 5.0, 2.1), (0.15, 2.7, 0.4)),
    ((0.30, 11.0, 0.3), (0.10, 4.1, 1.5)),
    ((0.70, 4.0, 0.9), (0.10, 1.3, 0.1)),
)

_READ_ONLY = {0, 1, 2, 3, 4, 5} | set(range(56, 71))  # firmware, model, ID, Present_* and status


def _reg(name: str) -> tuple[int, int]:
    r = register(name)
    return r.address, r.size


class _Servo:
    """One STS3215: its control table bytes and where its shaft actually is."""

    def __init__(
        self,
        motor_id: int,
        mechanics: JointMechanics,
        role: EmulatedRole,
        script_index: int,
        model: int,
        firmware: tuple[int, int],
    ) -> None:
        self.id = motor_id
        self.mechanics = mechanics
        self.role = role
        self.script = _SCRIPT[script_index % len(_SCRIPT)]
        self.table = bytearray(256)
        self.actual = float(mechanics.middle)
        self.velocity = 0.0
        self._pending: tuple[int, bytes] | None = None
        factory = {
            "Firmware_Major": firmware[0],
            "Firmware_Minor": firmware[1],
            "Model_Number": model,
            "ID": motor_id,
            "Baud_Rate": 0,
            "Return_Delay_Time": 250,
            "Min_Position_Limit": 0,
            "Max_Position_Limit": MAX_POSITION,
            "Max_Torque_Limit": 1000,
            "P_Coefficient": 32,
            "D_Coefficient": 32,
            "I_Coefficient": 0,
            "Protection_Current": 500,
            "Homing_Offset": 0,
            "Operating_Mode": 0,
            "Overload_Torque": 80,
            "Torque_Enable": 0,
            "Acceleration": 0,
            "Torque_Limit": 1000,
            "Lock": 0,
            "Present_Voltage": 120,
            "Present_Temperature": 31,
            "Maximum_Acceleration": 150,
        }
        for name, value in factory.items():
            self.set(name, value)

    def get(self, name: str) -> int:
        addr, size = _reg(name)
        return decode(name, from_bytes(self.table[addr : addr + size]))

    def set(self, name: str, value: int) -> None:
        addr, size = _reg(name)
        self.table[addr : addr + size] = bytes(to_bytes(encode(name, value), size))

    def advance(self, t: float, dt: float) -> None:
        """Move the shaft to where it is at time t (s since start); dt since the last update."""
        m = self.mechanics
        before = self.actual
        if self.role == "leader":
            envelope = 0.85 + 0.15 * math.sin(2 * math.pi * t / 17.0)
            offset = sum(a * math.sin(2 * math.pi * t / p + ph) for a, p, ph in self.script)
            self.actual = m.middle + m.half_range * offset * envelope
        elif self.get("Torque_Enable"):
            target = self.get("Goal_Position")
            lo, hi = self.get("Min_Position_Limit"), self.get("Max_Position_Limit")
            if lo or hi:
                target = min(hi, max(lo, target))
            target_actual = target + self.get("Homing_Offset")
            step = MAX_SPEED_STEPS_S * dt
            error = target_actual - self.actual
            self.actual += max(-step, min(step, error))
        lowest, highest = max(0, m.middle - m.half_range), min(MAX_POSITION, m.middle + m.half_range)
        self.actual = min(highest, max(lowest, self.actual))
        self.velocity = (self.actual - before) / dt if dt > 0 else 0.0
        present = round(self.actual) - self.get("Homing_Offset")
        self.set("Present_Position", present)
        self.set("Present_Velocity", max(-32767, min(32767, round(self.velocity))))
        self.set("Moving", int(abs(self.velocity) > 1.0))
        if not self.get("Torque_Enable"):
            self.set("Goal_Position", present)

    def read(self, addr: int, size: int) -> bytes:
        return bytes(self.table[addr : addr + size])

    def write(self, addr: int, data: bytes) -> None:
        unlocked = self.table[CONTROL_TABLE["Lock"].address] == 0
        for i, byte in enumerate(data):
            a = addr + i
            if a >= len(self.table) or a in _READ_ONLY or (a < EEPROM_END and not unlocked):
                continue
            self.table[a] = byte

    def reg_write(self, addr: int, data: bytes) -> None:
        self._pending = (addr, data)

    def action(self) -> None:
        if self._pending is not None:
            self.write(*self._pending)
            self._pending = None


def _packet(motor_id: int, first: int, params: bytes = b"") -> bytes:
    body = bytes([motor_id, len(params) + 2, first]) + params
    return b"\xff\xff" + body + bytes([~sum(body) & 0xFF])


class EmulatedBus:
    """Emulated SO-101 servos (ids 1-6) answering on a pseudo-terminal. Fault options are plain attributes."""

    def __init__(
        self,
        role: EmulatedRole = "follower",
        *,
        missing_ids: Iterable[int] = (),
        duplicate_ids: Iterable[int] = (),
        drop_every: int = 0,
        corrupt_every: int = 0,
        model_numbers: dict[int, int] | None = None,
        firmware: dict[int, tuple[int, int]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if role not in ("leader", "follower"):
            raise ValueError(f"role must be leader or follower, got {role!r}")
        self.role: EmulatedRole = role
        self.drop_every = drop_every
        self.corrupt_every = corrupt_every
        self.silent = False  # True: nothing answers (power or cable lost); may be switched at any time
        self.duplicate_ids = set(duplicate_ids)
        self.replies = self.dropped = self.corrupted = 0
        self._clock = clock
        mechanics = LEADER_MECHANICS if role == "leader" else FOLLOWER_MECHANICS
        missing = set(missing_ids)
        self._servos = {
            motor_id: _Servo(
                motor_id,
                mechanics[i],
                role,
                i,
                (model_numbers or {}).get(motor_id, STS3215_MODEL),
                (firmware or {}).get(motor_id, (3, 10)),
            )
            for i, motor_id in enumerate(MOTOR_IDS.values())
            if motor_id not in missing
        }
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._master = self._slave = -1
        self._wake_r = self._wake_w = -1
        self._t0 = self._last = 0.0
        self._port: str | None = None

    @property
    def port(self) -> str:
        """The pseudo-terminal to open as a serial port (after start())."""
        if self._port is None:
            raise RuntimeError("the emulated bus is not started")
        return self._port

    # -- lifecycle --

    def start(self) -> str:
        """Open the pseudo-terminal and start answering; returns the port path."""
        if self._thread is not None:
            return self.port
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing: a byte pipe like a USB serial adapter
        os.set_blocking(self._master, False)
        self._wake_r, self._wake_w = os.pipe()
        self._port = os.ttyname(self._slave)
        self._t0 = self._last = self._clock()
        with self._lock:
            self._advance()
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name=f"emulated-{self.role}", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        os.write(self._wake_w, b"x")
        self._thread.join(timeout=5)
        self._thread = None
        for fd in (self._master, self._slave, self._wake_r, self._wake_w):
            os.close(fd)
        self._master = self._slave = self._wake_r = self._wake_w = -1

    def __enter__(self) -> EmulatedBus:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inspection, for tests and the emulate command --

    def register(self, motor_id: int, name: str) -> int:
        with self._lock:
            self._advance()
            return self._servos[motor_id].get(name)

    def set_register(self, motor_id: int, name: str, value: int) -> None:
        """Set a register directly, bypassing Lock and read-only rules (to stage a test)."""
        with self._lock:
            self._servos[motor_id].set(name, value)

    def actual_position(self, motor_id: int) -> float:
        with self._lock:
            self._advance()
            return self._servos[motor_id].actual

    def set_actual_position(self, motor_id: int, steps: float) -> None:
        """Move a shaft by hand (a follower, or a leader at rest)."""
        with self._lock:
            self._servos[motor_id].actual = float(steps)
            self._servos[motor_id].advance(self._last - self._t0, 0.0)

    def torque_enabled(self) -> dict[int, bool]:
        with self._lock:
            return {i: bool(s.get("Torque_Enable")) for i, s in self._servos.items()}

    # -- the servo side --

    def _advance(self) -> None:
        now = self._clock()
        dt, self._last = now - self._last, now
        for servo in self._servos.values():
            servo.advance(now - self._t0, dt)

    def _serve(self) -> None:
        buffer = bytearray()
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master, self._wake_r], [], [], 1.0)
            if self._master not in ready:
                continue
            try:
                buffer += os.read(self._master, 4096)
            except BlockingIOError:
                continue
            except OSError as exc:  # EIO: no slave side open at the moment
                log.debug("emulated %s bus: %s", self.role, exc)
                self._stop.wait(0.01)
                continue
            replies = self._consume(buffer)
            if replies:
                try:
                    os.write(self._master, replies)
                except OSError as exc:
                    log.debug("emulated %s bus: %s", self.role, exc)

    def _consume(self, buffer: bytearray) -> bytes:
        """Handle every complete instruction packet in the buffer (removing it); return the replies."""
        out = bytearray()
        while True:
            start = buffer.find(b"\xff\xff")
            if start < 0:
                del buffer[:-1]
                return bytes(out)
            del buffer[:start]
            if len(buffer) < 4:
                return bytes(out)
            length = buffer[3]
            if buffer[2] == 0xFF or length < 2:
                del buffer[:1]
                continue
            total = length + 4
            if len(buffer) < total:
                return bytes(out)
            packet = bytes(buffer[:total])
            if ~sum(packet[2:-1]) & 0xFF != packet[-1]:
                del buffer[:1]
                continue
            del buffer[:total]
            if not self.silent:
                with self._lock:
                    self._advance()
                    out += self._handle(packet[2], packet[4], packet[5:-1])

    def _reply(self, servo: _Servo, params: bytes = b"") -> bytes:
        packet = _packet(servo.id, 0, params)
        copies = 2 if servo.id in self.duplicate_ids else 1
        self.replies += 1
        if self.drop_every and self.replies % self.drop_every == 0:
            self.dropped += 1
            return b""
        if self.corrupt_every and self.replies % self.corrupt_every == 0:
            self.corrupted += 1
            packet = packet[:-1] + bytes([packet[-1] ^ 0x5A])
        return packet * copies

    def _handle(self, motor_id: int, inst: int, params: bytes) -> bytes:
        if motor_id == BROADCAST:
            if inst == INST_SYNC_WRITE and len(params) >= 2:
                addr, size = params[0], params[1]
                for i in range(2, len(params) - size, size + 1):
                    servo = self._servos.get(params[i])
                    if servo is not None:
                        servo.write(addr, params[i + 1 : i + 1 + size])
                self._after_write()
                return b""
            if inst == INST_SYNC_READ and len(params) >= 2:
                addr, size = params[0], params[1]
                return b"".join(self._reply(s, s.read(addr, size)) for i in params[2:] if (s := self._servos.get(i)))
            if inst == INST_ACTION:
                for servo in self._servos.values():
                    servo.action()
                self._after_write()
            if inst == INST_PING:
                return b"".join(self._reply(s) for s in self._servos.values())
            return b""
        servo = self._servos.get(motor_id)
        if servo is None:
            return b""
        if inst == INST_PING:
            return self._reply(servo)
        if inst == INST_READ and len(params) == 2:
            return self._reply(servo, servo.read(params[0], params[1]))
        if inst == INST_WRITE and params:
            servo.write(params[0], params[1:])
            self._after_write()
            return self._reply(servo)
        if inst == INST_REG_WRITE and params:
            servo.reg_write(params[0], params[1:])
            return self._reply(servo)
        if inst == INST_ACTION:
            servo.action()
            self._after_write()
            return self._reply(servo)
        return b""

    def _after_write(self) -> None:
        # Registers derived from others (Present_Position after a new Homing_Offset) change at once.
        for servo in self._servos.values():
            servo.advance(self._last - self._t0, 0.0)


def demo_calibration(role: EmulatedRole) -> Calibration:
    """The calibration a person would record on the emulated arm: middle pose, then full sweeps."""
    mechanics = LEADER_MECHANICS if role == "leader" else FOLLOWER_MECHANICS
    calibration = {}
    for joint, m in zip(JOINTS, mechanics, strict=True):
        full_turn = m.half_range >= HALF_TURN
        calibration[joint] = MotorCalibration(
            id=MOTOR_IDS[joint],
            drive_mode=0,
            homing_offset=m.middle - HALF_TURN,
            range_min=0 if full_turn else HALF_TURN - m.half_range,
            range_max=MAX_POSITION if full_turn else HALF_TURN + m.half_range,
        )
    return calibration


def write_demo_calibration(
    calibration_dir: Path, leader_id: str = "leader", follower_id: str = "follower"
) -> tuple[Path, Path]:
    """Write LeRobot calibration files for the emulated leader and follower; returns their two paths."""
    leader = calibration_path(Path(calibration_dir), "leader", leader_id)
    follower = calibration_path(Path(calibration_dir), "follower", follower_id)
    save_calibration(leader, demo_calibration("leader"))
    save_calibration(follower, demo_calibration("follower"))
    return leader, follower

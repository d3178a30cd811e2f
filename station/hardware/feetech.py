"""A bus of Feetech STS3215 servos on one serial port, over `scservo_sdk` (feetech-servo-sdk 1.0.0).

The SDK is used as is (PacketHandler(0), GroupSyncRead, GroupSyncWrite) with a PortHandler subclass that fixes
what hurts a control loop, without editing the installed package:

- the packet timeout is sized for the baud rate plus a realistic adapter latency (the SDK adds a fixed 32 ms),
  measured on `time.monotonic` (the SDK uses wall-clock time, which jumps);
- waiting for a reply blocks in `select` instead of spinning a core;
- `clearPort` really drops stale input (the SDK only flushes output);
- the port is opened with an exclusive lock, so a second program cannot talk over us.

Threading rule: all SDK calls for one port come from one thread at a time. The bus belongs to the thread that
opened it until that thread calls `release_thread()` (the next caller then takes it) or dies; a call from any
other thread raises RuntimeError. `close()` may be called from any thread: it waits for a call in progress.
Whatever happens inside the SDK, its port is never left marked busy (`is_using`).

Every reply that is missing or corrupt is retried a bounded number of times; then a HardwareError names the
port and the motor.
"""

from __future__ import annotations

import errno
import logging
import select
import termios
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import scservo_sdk as scs
import serial

from station.errors import ConfigError, HardwareError
from station.hardware.control_table import (
    STS3215_MODEL,
    decode,
    encode,
    from_bytes,
    register,
    to_bytes,
)

log = logging.getLogger(__name__)

DEFAULT_BAUDRATE = 1_000_000
# Time from the end of our request to the first reply byte on a USB adapter, plus factory return delays.
# Raise it for FTDI adapters left at their 16 ms latency timer.
DEFAULT_LATENCY_MS = 10.0
# A pseudo-terminal means emulated servos: their replies wait for the OS to give a Python thread a CPU, which
# on a loaded (virtual) machine can take tens of milliseconds. A real servo's reply waits in the kernel instead.
PTY_LATENCY_MS = 100.0
DEFAULT_RETRIES = 2  # extra tries after the first, for each request
_QUIET_S = 0.002  # a line silent this long after an error has nothing more to say
_T = TypeVar("_T")

_COMM_TEXT = {
    scs.COMM_TX_FAIL: "could not send the request",
    scs.COMM_RX_FAIL: "no reply",
    scs.COMM_TX_ERROR: "bad request",
    scs.COMM_RX_TIMEOUT: "no reply",
    scs.COMM_RX_CORRUPT: "corrupt reply",
    scs.COMM_PORT_BUSY: "port busy",
}
_SERVO_ERRORS = (
    (1, "input voltage"),
    (2, "angle sensor"),
    (4, "overheat"),
    (8, "over-current"),
    (32, "overload"),
)


def servo_error_text(error: int) -> str:
    return ", ".join(text for bit, text in _SERVO_ERRORS if error & bit) or f"error 0x{error:02x}"


class _PortHandler(scs.PortHandler):
    """The SDK's port with monotonic, baud-sized timeouts, blocking waits and an exclusive lock.

    Method names are the SDK's (camelCase), overridden.
    """

    is_open: bool

    def __init__(self, port_name: str, baudrate: int, latency_ms: float) -> None:
        super().__init__(port_name)
        self.baudrate = baudrate
        self.latency_ms = latency_ms
        self.tx_time_per_byte = 10_000.0 / baudrate  # ms per byte: 8N1 is 10 bits

    def getCFlagBaud(self, baudrate: int) -> int:
        return baudrate if baudrate > 0 else -1  # pyserial sets any rate Linux accepts (921600 too)

    def setupPort(self, cflag_baud: int) -> bool:
        if self.is_open:
            self.closePort()
        self.ser = serial.Serial(
            port=self.port_name, baudrate=self.baudrate, bytesize=serial.EIGHTBITS, timeout=0, exclusive=True
        )
        self.is_open = True
        self.ser.reset_input_buffer()
        self.tx_time_per_byte = 10_000.0 / self.baudrate
        return True

    def clearPort(self) -> None:
        self.ser.reset_input_buffer()

    def getCurrentTime(self) -> float:
        return time.monotonic() * 1000.0

    def setPacketTimeout(self, packet_length: int) -> None:
        # The reply's bytes plus our request's (~16 bytes at most here), plus the adapter's latency.
        self.packet_start_time = self.getCurrentTime()
        self.packet_timeout = self.tx_time_per_byte * (packet_length + 16) + self.latency_ms

    def readPort(self, length: int) -> bytes:
        data: bytes = self.ser.read(length)
        if data:
            return data
        remaining_ms = self.packet_timeout - (self.getCurrentTime() - self.packet_start_time)
        if remaining_ms > 0:
            select.select([self.ser.fileno()], [], [], remaining_ms / 1000.0)
            data = self.ser.read(length)
        return data


@dataclass(frozen=True)
class MotorInfo:
    name: str
    id: int
    model: int
    firmware: tuple[int, int]


def _open_error(port: str, exc: OSError) -> str:
    code = exc.errno if isinstance(exc.errno, int) else (exc.args[0] if exc.args else None)
    if code == errno.ENOENT:
        return f"serial port {port} does not exist: check the USB cable and the port name"
    if code in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EBUSY):
        return f"serial port {port} is busy: another program (or another station) is using it"
    if code == errno.EACCES:
        return f"no permission to open serial port {port}: add your user to the dialout group"
    reason = str(exc).split(": ")[-1] if str(exc) else type(exc).__name__
    return f"cannot open serial port {port}: {reason}"


class FeetechBus:
    """Six (or any number of) STS3215 servos behind one port. Values are raw register values (ints)."""

    def __init__(
        self,
        port: str,
        motors: dict[str, int],
        baudrate: int = DEFAULT_BAUDRATE,
        *,
        latency_ms: float | None = None,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        ids = list(motors.values())
        if len(set(ids)) != len(ids):
            dup = sorted({i for i in ids if ids.count(i) > 1})
            raise ConfigError(f"motor ids must be unique on {port}, id {dup[0]} is given twice")
        if baudrate <= 0:
            raise ConfigError(f"baud rate must be positive, got {baudrate}")
        self.port = port
        self.motors = dict(motors)
        self.baudrate = baudrate
        if latency_ms is None:
            latency_ms = PTY_LATENCY_MS if port.startswith("/dev/pts/") else DEFAULT_LATENCY_MS
        self.latency_ms = latency_ms
        self.retries = retries
        self.info: dict[str, MotorInfo] = {}
        self._handler: Any = None
        self._packets: Any = None
        self._lock = threading.RLock()
        self._owner: threading.Thread | None = None
        self._readers: dict[tuple[str, tuple[int, ...]], Any] = {}

    # -- opening and closing --

    @property
    def is_open(self) -> bool:
        return self._handler is not None

    def open(self) -> None:
        """Open the port and identify every motor; raises HardwareError with one line on any problem."""
        if self._handler is not None:
            return
        handler = _PortHandler(self.port, self.baudrate, self.latency_ms)
        try:
            handler.openPort()
        except OSError as exc:  # serial.SerialException is an OSError
            raise HardwareError(_open_error(self.port, exc)) from None
        self._handler = handler
        self._packets = scs.PacketHandler(0)  # 0: STS, little-endian
        self._owner = threading.current_thread()
        self._readers.clear()
        try:
            self.identify()
        except BaseException:
            self._close_port()
            raise

    def close(self, *, disable_torque: bool = False) -> dict[str, int | None]:
        """Close the port, first turning torque off on every motor if asked. Any thread; idempotent.

        With disable_torque, returns each motor's Torque_Enable as read back after the switch-off (None: it
        did not answer); {} when the port was not open or torque was not asked off.
        """
        if self._handler is None:
            return {}
        with self._lock:  # waits for a call in progress on another thread (bounded by the packet timeout)
            try:
                if not disable_torque:
                    return {}
                self._disable_torque(tries=5)
                states = self._torque_states()
                on = [m for m, v in states.items() if v is not None and v != 0]
                silent = [m for m, v in states.items() if v is None]
                if on:
                    log.error("torque is still on for %s on %s", ", ".join(on), self.port)
                if silent:  # e.g. an arm unplugged: its torque state is not known, not known to be on
                    log.warning("%s on %s did not answer when torque was switched off: their torque state is "
                                "unknown", ", ".join(silent), self.port)
                return states
            finally:
                self._close_port()

    def _torque_states(self) -> dict[str, int | None]:
        states: dict[str, int | None] = {}
        for motor in self.motors:
            try:
                states[motor] = self._read(motor, "Torque_Enable")
            except HardwareError as exc:
                log.warning("%s", exc)
                states[motor] = None
        return states

    def _close_port(self) -> None:
        handler, self._handler = self._handler, None
        self._owner = None
        self._readers.clear()
        if handler is not None:
            try:
                handler.closePort()
            except OSError as exc:
                log.warning("closing %s: %s", self.port, exc)

    def __enter__(self) -> FeetechBus:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- threading rule --

    def release_thread(self) -> None:
        """Hand the bus over: the next thread to call it becomes its owner."""
        self._check_thread()
        self._owner = None

    def _check_thread(self) -> None:
        me = threading.current_thread()
        owner = self._owner
        if owner is me:
            return
        if owner is None or not owner.is_alive():
            self._owner = me
            return
        raise RuntimeError(
            f"FeetechBus on {self.port} called from thread {me.name!r} but it belongs to {owner.name!r}: "
            "use a bus from one thread, or release_thread() to hand it over"
        )

    def _sdk(self, fn: Callable[..., _T], *args: Any) -> _T:
        """One SDK call, serialised, with the port never left busy and OS errors turned into HardwareError."""
        handler = self._handler
        if handler is None:
            raise HardwareError(f"the bus on {self.port} is not open")
        with self._lock:
            try:
                return fn(*args)
            except (OSError, termios.error) as exc:
                raise HardwareError(f"lost the serial port {self.port}: {exc}") from None
            finally:
                handler.is_using = False

    def _drain(self) -> None:
        """After a failed exchange, wait for the line to fall silent and drop whatever was left in it."""
        handler = self._handler
        if handler is None:
            return
        deadline = time.monotonic() + self.latency_ms / 1000.0
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                ready, _, _ = select.select([handler.ser.fileno()], [], [], min(remaining, _QUIET_S))
                if not ready:
                    return
                handler.ser.read(max(1, handler.ser.in_waiting))
        except (OSError, termios.error) as exc:
            raise HardwareError(f"lost the serial port {self.port}: {exc}") from None

    # -- identification --

    def _motor_id(self, motor: str) -> int:
        try:
            return self.motors[motor]
        except KeyError:
            raise KeyError(f"no motor {motor!r} on {self.port}") from None

    def _label(self, motor: str) -> str:
        return f"{motor} (id {self.motors[motor]})"

    def ping(self, motor: str) -> int | None:
        """The motor's model number, or None when it does not answer (after retries)."""
        self._check_thread()
        return self._ping(self._motor_id(motor))

    def _ping(self, motor_id: int) -> int | None:
        for _ in range(1 + self.retries):
            model, comm, _err = self._sdk(self._packets.ping, self._handler, motor_id)
            if comm == scs.COMM_SUCCESS:
                return int(model)
            self._drain()
        return None

    def _another_reply_follows(self) -> bool:
        """True when more bytes arrive after a complete reply: a second servo answering to the same id."""
        handler = self._handler
        wait = (handler.tx_time_per_byte * 12 + 1.0) / 1000.0
        ready, _, _ = select.select([handler.ser.fileno()], [], [], wait)
        if ready:
            self._drain()
        return bool(ready)

    def identify(self) -> dict[str, MotorInfo]:
        """Ping every motor, check model 777, unique ids and one firmware version; HardwareError if not."""
        self._check_thread()
        models: dict[str, int] = {}
        duplicates: list[str] = []
        for motor, motor_id in self.motors.items():
            model = self._ping(motor_id)
            if model is None:
                continue
            models[motor] = model
            if self._another_reply_follows():
                duplicates.append(motor)
        where = f"on {self.port}"
        if not models:
            ids = ", ".join(str(i) for i in self.motors.values())
            raise HardwareError(f"no servo answers {where} at {self.baudrate} baud (ids {ids}): check power and cable")
        missing = [self._label(m) for m in self.motors if m not in models]
        if missing:
            raise HardwareError(f"{', '.join(missing)} did not answer {where}: check that motor's cable and its id")
        if duplicates:
            raise HardwareError(
                f"more than one servo answers to {', '.join(self._label(m) for m in duplicates)} {where}: "
                "give each motor its own id"
            )
        wrong = [f"{self._label(m)} is model {n}" for m, n in models.items() if n != STS3215_MODEL]
        if wrong:
            raise HardwareError(f"{', '.join(wrong)} {where}, expected STS3215 (model {STS3215_MODEL})")
        info = {}
        for motor, motor_id in self.motors.items():
            firmware = (self._read(motor, "Firmware_Major"), self._read(motor, "Firmware_Minor"))
            info[motor] = MotorInfo(motor, motor_id, models[motor], firmware)
        versions = {i.firmware for i in info.values()}
        if len(versions) > 1:
            listing = ", ".join(f"{m} {i.firmware[0]}.{i.firmware[1]}" for m, i in info.items())
            raise HardwareError(
                f"motors {where} run different firmware ({listing}): update them with Feetech's software"
            )
        self.info = info
        return info

    # -- registers --

    def read(self, name: str, motor: str) -> int:
        """One register of one motor, sign-decoded."""
        self._check_thread()
        return self._read(motor, name)

    def _read(self, motor: str, name: str) -> int:
        motor_id = self._motor_id(motor)
        reg = register(name)
        why = ""
        for _ in range(1 + self.retries):
            data, comm, err = self._sdk(self._packets.readTxRx, self._handler, motor_id, reg.address, reg.size)
            if comm == scs.COMM_SUCCESS and len(data) == reg.size:
                if err:
                    raise HardwareError(
                        f"{self._label(motor)} on {self.port} reports {servo_error_text(err)} reading {name}"
                    )
                return decode(name, from_bytes(data))
            why = _COMM_TEXT.get(comm, "short reply")
            self._drain()
        raise HardwareError(
            f"{self._label(motor)} on {self.port} did not answer reading {name} ({why} after {1 + self.retries} tries)"
        )

    def write(self, name: str, motor: str, value: int) -> None:
        """Write one register of one motor and wait for its acknowledgement."""
        self._check_thread()
        self._write(motor, name, value, 1 + self.retries)

    def _write(self, motor: str, name: str, value: int, tries: int, check_error: bool = True) -> None:
        motor_id = self._motor_id(motor)
        reg = register(name)
        data = to_bytes(encode(name, value), reg.size)
        why = ""
        for _ in range(tries):
            comm, err = self._sdk(self._packets.writeTxRx, self._handler, motor_id, reg.address, reg.size, data)
            if comm == scs.COMM_SUCCESS:
                if err and check_error:
                    raise HardwareError(
                        f"{self._label(motor)} on {self.port} reports {servo_error_text(err)} writing {name}"
                    )
                return
            why = _COMM_TEXT.get(comm, "no reply")
            self._drain()
        raise HardwareError(
            f"{self._label(motor)} on {self.port} did not acknowledge {name} ({why} after {tries} tries)"
        )

    def sync_read(self, name: str, motors: Iterable[str] | None = None) -> dict[str, int]:
        """One register of several motors (all by default) in one SYNC_READ exchange, sign-decoded."""
        self._check_thread()
        names = list(self.motors) if motors is None else list(motors)
        ids = tuple(self._motor_id(m) for m in names)
        reg = register(name)
        key = (name, ids)
        reader = self._readers.get(key)
        if reader is None:
            reader = scs.GroupSyncRead(self._handler, self._packets, reg.address, reg.size)
            for motor_id in ids:
                reader.addParam(motor_id)
            self._readers[key] = reader
        failed, why = names[0], ""
        for _ in range(1 + self.retries):
            for motor_id in ids:
                reader.data_dict[motor_id] = []
            comm = self._sdk(reader.txRxPacket)
            if comm == scs.COMM_SUCCESS:
                return {
                    m: decode(name, from_bytes(reader.data_dict[i][: reg.size]))
                    for m, i in zip(names, ids, strict=True)
                }
            why = _COMM_TEXT.get(comm, "no reply")
            failed = next((m for m, i in zip(names, ids, strict=True) if len(reader.data_dict[i]) < reg.size), names[0])
            self._drain()
        raise HardwareError(
            f"{self._label(failed)} on {self.port} did not answer reading {name} ({why} after {1 + self.retries} tries)"
        )

    def sync_write(self, name: str, values: dict[str, int]) -> None:
        """One register of several motors in one SYNC_WRITE broadcast (servos do not acknowledge it)."""
        self._check_thread()
        self._sync_write(name, values)

    def _sync_write(self, name: str, values: dict[str, int]) -> None:
        reg = register(name)
        writer = scs.GroupSyncWrite(self._handler, self._packets, reg.address, reg.size)
        for motor, value in values.items():
            writer.addParam(self._motor_id(motor), to_bytes(encode(name, value), reg.size))
        comm = self._sdk(writer.txPacket)
        if comm != scs.COMM_SUCCESS:
            why = _COMM_TEXT.get(comm, "send failed")
            raise HardwareError(f"could not send {name} to the motors on {self.port} ({why})")

    # -- torque --

    def disable_torque(self, tries: int = 5) -> list[str]:
        """Torque off (and EEPROM unlocked) on every motor; returns the motors that did not confirm it."""
        self._check_thread()
        return self._disable_torque(tries)

    def _disable_torque(self, tries: int) -> list[str]:
        # A broadcast first: it reaches every motor even when their replies are lost.
        try:
            self._sync_write("Torque_Enable", dict.fromkeys(self.motors, 0))
        except HardwareError as exc:
            log.warning("%s", exc)
        failed = []
        for motor in self.motors:
            try:
                # An overloaded or overheated servo still obeys: its error bits do not make this fail.
                self._write(motor, "Torque_Enable", 0, tries, check_error=False)
                self._write(motor, "Lock", 0, tries, check_error=False)
            except HardwareError as exc:
                log.warning("%s", exc)
                failed.append(motor)
        return failed

    def enable_torque(self) -> None:
        """Torque on and EEPROM locked on every motor, as LeRobot does."""
        self._check_thread()
        for motor in self.motors:
            self._write(motor, "Torque_Enable", 1, 1 + self.retries)
            self._write(motor, "Lock", 1, 1 + self.retries)

"""The STS3215 control table the station uses, and Feetech's sign-magnitude encoding.

Addresses and sizes follow LeRobot's `feetech/tables.py` (STS/SMS series, protocol 0). Values wider than one
byte are little-endian on the wire. A few registers are sign-magnitude rather than two's complement: the top
magnitude bit is a direction flag, e.g. Homing_Offset -5 is 0x0805 (bit 11), Present_Position -5 is 0x8005.
"""

from __future__ import annotations

from typing import NamedTuple


class Register(NamedTuple):
    address: int
    size: int


CONTROL_TABLE: dict[str, Register] = {
    "Firmware_Major": Register(0, 1),
    "Firmware_Minor": Register(1, 1),
    "Model_Number": Register(3, 2),
    "ID": Register(5, 1),
    "Baud_Rate": Register(6, 1),
    "Return_Delay_Time": Register(7, 1),
    "Min_Position_Limit": Register(9, 2),
    "Max_Position_Limit": Register(11, 2),
    "Max_Torque_Limit": Register(16, 2),
    "Phase": Register(18, 1),
    "P_Coefficient": Register(21, 1),
    "D_Coefficient": Register(22, 1),
    "I_Coefficient": Register(23, 1),
    "Protection_Current": Register(28, 2),
    "Homing_Offset": Register(31, 2),
    "Operating_Mode": Register(33, 1),
    "Overload_Torque": Register(36, 1),
    "Torque_Enable": Register(40, 1),
    "Acceleration": Register(41, 1),
    "Goal_Position": Register(42, 2),
    "Goal_Velocity": Register(46, 2),
    "Torque_Limit": Register(48, 2),
    "Lock": Register(55, 1),
    "Present_Position": Register(56, 2),
    "Present_Velocity": Register(58, 2),
    "Present_Load": Register(60, 2),
    "Present_Voltage": Register(62, 1),
    "Present_Temperature": Register(63, 1),
    "Moving": Register(66, 1),
    "Present_Current": Register(69, 2),
    "Maximum_Acceleration": Register(85, 1),
}

# Registers stored in EEPROM (addresses below Torque_Enable): written only while Lock is 0.
EEPROM_END = 40

SIGN_BITS: dict[str, int] = {
    "Homing_Offset": 11,
    "Goal_Position": 15,
    "Goal_Velocity": 15,
    "Present_Position": 15,
    "Present_Velocity": 15,
    "Present_Load": 10,
}

STS3215_MODEL = 777
RESOLUTION = 4096  # encoder steps per turn
MAX_POSITION = RESOLUTION - 1
BROADCAST_ID = 0xFE


def register(name: str) -> Register:
    """The address and size of a named register; KeyError names the unknown register."""
    try:
        return CONTROL_TABLE[name]
    except KeyError:
        raise KeyError(f"unknown STS3215 register {name!r}") from None


def encode_sign_magnitude(value: int, sign_bit: int) -> int:
    """Two's-complement int -> Feetech sign-magnitude with the direction flag at `sign_bit`."""
    magnitude = abs(int(value))
    if magnitude >= 1 << sign_bit:
        raise ValueError(f"{value} does not fit in a sign-magnitude value with sign bit {sign_bit}")
    return ((1 << sign_bit) if value < 0 else 0) | magnitude


def decode_sign_magnitude(raw: int, sign_bit: int) -> int:
    """Feetech sign-magnitude -> int. Bits above the sign bit are ignored, as the servo does."""
    magnitude = raw & ((1 << sign_bit) - 1)
    return -magnitude if raw >> sign_bit & 1 else magnitude


def encode(name: str, value: int) -> int:
    """A register value as the unsigned integer put on the wire (sign-magnitude where the servo uses it)."""
    value = int(value)
    bit = SIGN_BITS.get(name)
    if bit is not None:
        return encode_sign_magnitude(value, bit)
    size = register(name).size
    if not 0 <= value < 1 << (8 * size):
        raise ValueError(f"{name} value {value} does not fit in {size} unsigned byte(s)")
    return value


def decode(name: str, raw: int) -> int:
    """The unsigned integer read from the wire as the register's value."""
    bit = SIGN_BITS.get(name)
    return decode_sign_magnitude(raw, bit) if bit is not None else raw


def to_bytes(value: int, size: int) -> list[int]:
    return [(value >> (8 * i)) & 0xFF for i in range(size)]


def from_bytes(data: bytes | bytearray | list[int]) -> int:
    return sum((b & 0xFF) << (8 * i) for i, b in enumerate(data))

"""FeetechBus through the real scservo_sdk against the emulated servos: identify, registers, sync I/O, faults."""

from __future__ import annotations

import threading
import time

import pytest

from station.errors import ConfigError, HardwareError
from station.hardware.control_table import (
    CONTROL_TABLE,
    decode,
    decode_sign_magnitude,
    encode,
    encode_sign_magnitude,
)
from station.hardware.emulator import EmulatedBus
from station.hardware.feetech import FeetechBus
from station.joints import JOINTS, MOTOR_IDS


@pytest.fixture
def emulator():
    emu = EmulatedBus("follower")
    emu.start()
    yield emu
    emu.stop()


@pytest.fixture
def bus(emulator):
    b = FeetechBus(emulator.port, dict(MOTOR_IDS))
    b.open()
    yield b
    b.close()


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


# -- encoding --


@pytest.mark.parametrize(
    ("value", "bit", "raw"),
    [
        (0, 11, 0),
        (5, 11, 5),
        (-5, 11, 0x805),
        (2047, 11, 0x7FF),
        (-2047, 11, 0xFFF),
        (-1470, 11, 0x800 | 1470),
        (-5, 15, 0x8005),
        (4095, 15, 4095),
        (-32767, 15, 0xFFFF),
        (-3, 10, 0x403),
    ],
)
def test_sign_magnitude_round_trip(value, bit, raw):
    assert encode_sign_magnitude(value, bit) == raw
    assert decode_sign_magnitude(raw, bit) == value


def test_sign_magnitude_rejects_overflow_and_registers_use_their_bit():
    with pytest.raises(ValueError):
        encode_sign_magnitude(2048, 11)
    with pytest.raises(ValueError):
        encode_sign_magnitude(-2048, 11)
    assert encode("Homing_Offset", -1) == 0x801
    assert encode("Goal_Position", -1) == 0x8001
    assert decode("Present_Load", 0x400 | 7) == -7
    assert decode("Present_Position", 0x8000 | 12) == -12
    assert encode("P_Coefficient", 16) == 16
    with pytest.raises(ValueError):
        encode("Lock", 256)
    assert CONTROL_TABLE["Present_Position"] == (56, 2)
    assert CONTROL_TABLE["Homing_Offset"] == (31, 2)


# -- identify and registers --


def test_open_identifies_six_sts3215(bus):
    assert list(bus.info) == list(JOINTS)
    for name, info in bus.info.items():
        assert (info.id, info.model, info.firmware) == (MOTOR_IDS[name], 777, (3, 10))
    assert bus.ping("gripper") == 777


def test_register_read_write_round_trip(bus, emulator):
    bus.write("P_Coefficient", "elbow_flex", 16)
    assert bus.read("P_Coefficient", "elbow_flex") == 16
    assert emulator.register(3, "P_Coefficient") == 16
    bus.write("Homing_Offset", "shoulder_pan", -1470)
    assert bus.read("Homing_Offset", "shoulder_pan") == -1470
    servo_bytes = emulator.register(1, "Homing_Offset")
    assert servo_bytes == -1470  # the emulator decodes what is on the wire with the same sign bit
    # Present = actual - Homing_Offset: an offset above the actual position reads negative (sign bit 15).
    actual = round(emulator.actual_position(2))
    bus.write("Homing_Offset", "shoulder_lift", 2000)
    assert bus.read("Present_Position", "shoulder_lift") == actual - 2000
    bus.write("Homing_Offset", "shoulder_lift", -300)
    assert bus.read("Present_Position", "shoulder_lift") == actual + 300


def test_eeprom_needs_the_lock_open(bus, emulator):
    bus.write("Lock", "wrist_flex", 1)
    bus.write("Min_Position_Limit", "wrist_flex", 100)  # acknowledged, but the locked EEPROM keeps its value
    assert bus.read("Min_Position_Limit", "wrist_flex") == 0
    bus.write("Lock", "wrist_flex", 0)
    bus.write("Min_Position_Limit", "wrist_flex", 100)
    assert bus.read("Min_Position_Limit", "wrist_flex") == 100


def test_sync_read_matches_single_reads_and_sync_write_reaches_every_motor(bus, emulator):
    positions = bus.sync_read("Present_Position")
    assert list(positions) == list(JOINTS)
    assert positions == {j: bus.read("Present_Position", j) for j in JOINTS}  # torque off: nothing moves
    assert bus.sync_read("Present_Position", ["gripper", "elbow_flex"]) == {
        "gripper": positions["gripper"],
        "elbow_flex": positions["elbow_flex"],
    }
    bus.sync_write("Acceleration", {j: 10 + i for i, j in enumerate(JOINTS)})
    assert bus.sync_read("Acceleration") == {j: 10 + i for i, j in enumerate(JOINTS)}
    # (SYNC_WRITE has no reply: the read above, answered after it, shows it has been handled)
    assert [emulator.register(i, "Acceleration") for i in range(1, 7)] == [10, 11, 12, 13, 14, 15]


def test_follower_servo_moves_to_goal_with_torque_on(bus, emulator):
    start = bus.read("Present_Position", "wrist_flex")
    bus.write("Torque_Enable", "wrist_flex", 1)
    bus.sync_write("Goal_Position", {"wrist_flex": start + 300})
    deadline = time.monotonic() + 2.0
    while bus.read("Present_Position", "wrist_flex") != start + 300:
        assert time.monotonic() < deadline, "the servo never reached its goal"
    bus.write("Torque_Enable", "wrist_flex", 0)


# -- faults --


@pytest.mark.parametrize("fault", ["drop_every", "corrupt_every"])
def test_lost_or_corrupt_replies_are_retried(bus, emulator, fault):
    # Every 13th reply: a SYNC_READ draws 6 replies, so a retry (the next 6) never meets the next fault.
    setattr(emulator, fault, 13)
    for _ in range(20):
        assert set(bus.sync_read("Present_Position")) == set(JOINTS)
        bus.read("Torque_Enable", "gripper")
        bus.write("Acceleration", "gripper", 20)
    assert (emulator.dropped if fault == "drop_every" else emulator.corrupted) >= 10


def test_silent_bus_raises_naming_port_and_motor_without_burning_a_core(bus, emulator):
    emulator.silent = True
    t0, cpu0 = time.monotonic(), time.process_time()
    with pytest.raises(HardwareError) as exc:
        bus.sync_read("Present_Position")
    wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    text = one_line(exc)
    assert emulator.port in text and "shoulder_pan (id 1)" in text
    assert wall < 3 * bus.latency_ms / 1000 + 0.1  # three timeouts sized for 1 Mbaud (+ latency), no more
    assert cpu < 0.5 * wall + 0.01  # the wait blocks in select
    assert bus._handler.is_using is False
    with pytest.raises(HardwareError, match="gripper \\(id 6\\)"):
        bus.read("Present_Position", "gripper")
    emulator.silent = False  # answering again: the bus recovers
    assert set(bus.sync_read("Present_Position")) == set(JOINTS)


def test_nothing_answering_at_open():
    with EmulatedBus("leader") as emu:
        emu.silent = True
        b = FeetechBus(emu.port, dict(MOTOR_IDS))
        with pytest.raises(HardwareError) as exc:
            b.open()
        assert f"no servo answers on {emu.port}" in one_line(exc)
        assert not b.is_open
        emu.silent = False
        b.open()  # the port was released: it opens again
        b.close()


def open_refused(**faults) -> tuple[str, str]:
    """Open a bus on an emulator with these faults; return (port, the one-line error)."""
    with EmulatedBus("follower", **faults) as emu:
        bus = FeetechBus(emu.port, dict(MOTOR_IDS))
        with pytest.raises(HardwareError) as exc:
            bus.open()
        assert not bus.is_open
        return emu.port, one_line(exc)


def test_missing_motor_is_named():
    port, text = open_refused(missing_ids={5})
    assert text == f"wrist_roll (id 5) did not answer on {port}: check that motor's cable and its id"


def test_duplicate_id_wrong_model_and_mixed_firmware_are_refused():
    port, text = open_refused(duplicate_ids={3})
    assert text.startswith(f"more than one servo answers to elbow_flex (id 3) on {port}")
    port, text = open_refused(model_numbers={2: 1284})
    assert text == f"shoulder_lift (id 2) is model 1284 on {port}, expected STS3215 (model 777)"
    port, text = open_refused(firmware={4: (3, 9)})
    assert text.startswith(f"motors on {port} run different firmware (") and "wrist_flex 3.9" in text
    with pytest.raises(ConfigError, match="id 2 is given twice"):
        FeetechBus("/dev/null", {"a": 2, "b": 2})


def test_busy_and_missing_ports(bus, emulator):
    with pytest.raises(HardwareError) as exc:
        FeetechBus(emulator.port, dict(MOTOR_IDS)).open()
    assert one_line(exc) == f"serial port {emulator.port} is busy: another program (or another station) is using it"
    with pytest.raises(HardwareError) as exc:
        FeetechBus("/dev/ttyNOPE9", dict(MOTOR_IDS)).open()
    assert one_line(exc) == "serial port /dev/ttyNOPE9 does not exist: check the USB cable and the port name"


def test_lost_port_never_leaves_the_sdk_busy(bus, emulator):
    emulator.stop()  # the "USB cable" is pulled: the pty goes away under the SDK
    with pytest.raises(HardwareError, match="shoulder_pan|lost the serial port"):
        bus.sync_read("Present_Position")
    assert bus._handler.is_using is False


def test_one_thread_at_a_time(bus):
    errors: list[BaseException] = []

    def use() -> None:
        try:
            bus.sync_read("Present_Position")
        except BaseException as e:  # noqa: BLE001 - collected for the assertion
            errors.append(e)

    worker = threading.Thread(target=use, name="intruder")
    worker.start()
    worker.join()
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError) and "intruder" in str(errors[0])
    bus.release_thread()  # hand over: the next thread to call owns it
    errors.clear()
    worker = threading.Thread(target=use, name="control-loop")
    worker.start()
    worker.join()
    assert errors == []
    bus.sync_read("Present_Position")  # the loop thread has ended: the bus may be taken back

"""LeRobot calibration files, LeRobot's unit conversions (checked against hand-computed values), the procedure."""

from __future__ import annotations

import json

import numpy as np
import pytest

from station.hardware.calibration import (
    CalibrationError,
    CalibrationProcedure,
    MotorCalibration,
    Step,
    calibration_path,
    find_calibration,
    from_degrees,
    from_percent,
    load_calibration,
    raw_to_values,
    save_calibration,
    to_degrees,
    to_percent,
    values_to_raw,
)
from station.hardware.emulator import (
    FOLLOWER_MECHANICS,
    LEADER_MECHANICS,
    EmulatedBus,
    demo_calibration,
    write_demo_calibration,
)
from station.joints import JOINTS

PAN = MotorCalibration(id=1, drive_mode=0, homing_offset=-1470, range_min=758, range_max=3292)  # middle 2025
GRIP = MotorCalibration(id=6, drive_mode=0, homing_offset=200, range_min=2030, range_max=3530)  # span 1500

# A file exactly as LeRobot writes it (draccus/json, indent 4).
LEROBOT_FILE = """{
    "shoulder_pan": {
        "id": 1,
        "drive_mode": 0,
        "homing_offset": -1470,
        "range_min": 758,
        "range_max": 3292
    },
    "shoulder_lift": {
        "id": 2,
        "drive_mode": 0,
        "homing_offset": 1133,
        "range_min": 820,
        "range_max": 3209
    },
    "elbow_flex": {
        "id": 3,
        "drive_mode": 0,
        "homing_offset": -1110,
        "range_min": 906,
        "range_max": 3094
    },
    "wrist_flex": {
        "id": 4,
        "drive_mode": 0,
        "homing_offset": 1318,
        "range_min": 898,
        "range_max": 3181
    },
    "wrist_roll": {
        "id": 5,
        "drive_mode": 0,
        "homing_offset": -1005,
        "range_min": 0,
        "range_max": 4095
    },
    "gripper": {
        "id": 6,
        "drive_mode": 0,
        "homing_offset": 200,
        "range_min": 2030,
        "range_max": 3530
    }
}"""


def test_degrees_match_hand_computed_values():
    assert to_degrees(2025, PAN) == 0.0
    assert to_degrees(3292, PAN) == 1267 * 360 / 4095 == pytest.approx(111.384615384615, abs=1e-12)
    assert to_degrees(758, PAN) == pytest.approx(-111.384615384615, abs=1e-12)
    assert to_degrees(2048, PAN) == pytest.approx(2.021978021978, abs=1e-12)
    assert to_degrees(4000, PAN) == pytest.approx(173.626373626374, abs=1e-12)  # degrees are not clamped
    assert from_degrees(0.0, PAN) == 2025
    assert from_degrees(90.0, PAN) == 3048  # int(1023.75 + 2025)
    assert from_degrees(-90.0, PAN) == 1001  # int(-1023.75 + 2025)
    odd = MotorCalibration(id=2, drive_mode=0, homing_offset=0, range_min=1000, range_max=2001)  # middle 1500.5
    assert to_degrees(1500, odd) == pytest.approx(-0.043956043956, abs=1e-12)
    assert from_degrees(0.0, odd) == 1500


def test_gripper_percent_matches_hand_computed_values():
    assert to_percent(2405, GRIP) == 25.0
    assert to_percent(2030, GRIP) == 0.0 and to_percent(3530, GRIP) == 100.0
    assert to_percent(1900, GRIP) == 0.0 and to_percent(4000, GRIP) == 100.0  # clamped to the range
    assert from_percent(50.0, GRIP) == 2780
    assert from_percent(33.3, GRIP) == 2529
    assert from_percent(120.0, GRIP) == 3530 and from_percent(-5.0, GRIP) == 2030
    inverted = MotorCalibration(id=6, drive_mode=1, homing_offset=0, range_min=2030, range_max=3530)
    assert to_percent(2405, inverted) == 75.0
    assert from_percent(75.0, inverted) == 2405


def test_arrays_in_joint_order(tmp_path):
    path = tmp_path / "f.json"
    path.write_text(LEROBOT_FILE)
    cal = load_calibration(path, "follower", "f")
    raw = {"shoulder_pan": 2025, "shoulder_lift": 2014, "elbow_flex": 2000, "wrist_flex": 2039, "wrist_roll": 2047,
           "gripper": 2405}  # fmt: skip
    values = raw_to_values(raw, cal)
    assert values.dtype == np.float32 and values.shape == (6,)
    half_step = -0.5 * 360 / 4095  # middles 2014.5, 2039.5 and 2047.5 read half a step low
    assert values.tolist() == np.array([0.0, half_step, 0.0, half_step, half_step, 25.0], dtype=np.float32).tolist()
    goal = np.array([0.0, 0.0, 90.0, -90.0, 0.0, 50.0], dtype=np.float32)
    assert values_to_raw(goal, cal) == {
        "shoulder_pan": 2025,
        "shoulder_lift": 2014,  # int(2014.5)
        "elbow_flex": 3023,  # int(1023.75 + 2000)
        "wrist_flex": 1015,  # int(-1023.75 + 2039.5)
        "wrist_roll": 2047,
        "gripper": 2780,
    }


def test_file_round_trip_in_lerobot_format(tmp_path):
    path = calibration_path(tmp_path, "follower", "my_arm")
    assert path == tmp_path / "robots" / "so_follower" / "my_arm.json"
    assert calibration_path(tmp_path, "leader", "x") == tmp_path / "teleoperators" / "so_leader" / "x.json"
    source = tmp_path / "lerobot.json"
    source.write_text(LEROBOT_FILE)
    cal = load_calibration(source, "follower", "my_arm")
    assert list(cal) == list(JOINTS) and cal["shoulder_pan"] == PAN and cal["gripper"] == GRIP
    save_calibration(path, cal)
    assert path.read_text() == LEROBOT_FILE  # byte for byte what LeRobot writes
    assert load_calibration(path, "follower", "my_arm") == cal


def test_older_lerobot_robot_type_directory_is_found(tmp_path):
    old = calibration_path(tmp_path, "leader", "l", robot_type="so101_follower")
    assert old == tmp_path / "teleoperators" / "so101_leader" / "l.json"
    old.parent.mkdir(parents=True)
    old.write_text(LEROBOT_FILE)
    assert find_calibration(tmp_path, "leader", "l", "so101_follower") == old
    assert find_calibration(tmp_path, "leader", "l") == calibration_path(tmp_path, "leader", "l")


def test_missing_and_corrupt_files_say_how_to_fix(tmp_path):
    path = calibration_path(tmp_path, "follower", "arm1")
    with pytest.raises(CalibrationError) as exc:
        load_calibration(path, "follower", "arm1", port="/dev/ttyACM0")
    assert str(exc.value) == (
        f"no calibration for the follower 'arm1' at {path}: "
        "create it with `station calibrate --port /dev/ttyACM0 --role follower --id arm1`"
    )
    path.parent.mkdir(parents=True)
    broken = {
        "{ not json": "unreadable",
        "[]": "not a JSON object",
        json.dumps({"shoulder_pan": {"id": 1}}): "shoulder_pan.drive_mode is not an integer",
        LEROBOT_FILE.replace('"range_min": 758', '"range_min": 3300'): "shoulder_pan range 3300..3292",
        LEROBOT_FILE.replace('"id": 6', '"id": 7'): "gripper has id 7, expected 6",
        LEROBOT_FILE.replace('"homing_offset": -1470', '"homing_offset": "x"'): "homing_offset is not an integer",
    }
    for content, why in broken.items():
        path.write_text(content)
        with pytest.raises(CalibrationError) as exc:
            load_calibration(path, "leader", "arm1")
        text = str(exc.value)
        assert why in text and str(path) in text and "station calibrate --port PORT --role leader --id arm1" in text
        assert "\n" not in text


def test_emulated_mechanics_fit_the_encoder_and_demo_files_match(tmp_path):
    for mechanics in (LEADER_MECHANICS, FOLLOWER_MECHANICS):
        for joint, m in zip(JOINTS, mechanics, strict=True):
            if joint != "wrist_roll":
                assert m.middle - m.half_range >= 0 and m.middle + m.half_range <= 4095
    leader, follower = write_demo_calibration(tmp_path, "l1", "f1")
    assert load_calibration(leader, "leader", "l1") == demo_calibration("leader")
    assert load_calibration(follower, "follower", "f1") == demo_calibration("follower")


# -- the procedure, on an emulated arm moved "by hand" --

MIDDLE_POSE = {1: 3000, 2: 1500, 3: 2047, 4: 2500, 5: 1800, 6: 2200}  # raw encoder steps, no offset


@pytest.fixture
def arm():
    emu = EmulatedBus("follower")  # torque off, nothing moves unless the test moves it
    emu.start()
    yield emu
    emu.stop()


def test_procedure_writes_motors_and_lerobot_file(arm, tmp_path):
    arm.set_register(2, "Torque_Enable", 1)
    proc = CalibrationProcedure(arm.port, "follower", "f1", tmp_path)
    with pytest.raises(RuntimeError, match="at step IDLE"):
        proc.set_middle()
    proc.start()
    try:
        assert not any(arm.torque_enabled().values())
        for motor_id, steps in MIDDLE_POSE.items():
            arm.set_actual_position(motor_id, steps)
        offsets = proc.set_middle()
        assert offsets == {j: MIDDLE_POSE[i + 1] - 2047 for i, j in enumerate(JOINTS)}
        status = proc.poll()
        assert set(status.positions) == set(JOINTS) - {"wrist_roll"}
        assert set(status.positions.values()) == {2047}
        with pytest.raises(CalibrationError, match="shoulder_pan, shoulder_lift, elbow_flex, wrist_flex, gripper"):
            proc.finish()
        assert proc.step is Step.SWEEP  # the person may go on sweeping
        for delta in (-200, 150, 0):
            for motor_id, steps in MIDDLE_POSE.items():
                arm.set_actual_position(motor_id, steps + delta)
            status = proc.poll()
        assert all(status.mins[j] < status.maxes[j] for j in status.mins)  # every swept joint moved
        path = proc.finish()
    finally:
        proc.close()
    assert path == tmp_path / "robots" / "so_follower" / "f1.json"
    cal = load_calibration(path, "follower", "f1")
    for i, joint in enumerate(JOINTS):
        motor_id = i + 1
        full_turn = joint == "wrist_roll"
        expected = MotorCalibration(
            motor_id, 0, MIDDLE_POSE[motor_id] - 2047, 0 if full_turn else 1847, 4095 if full_turn else 2197
        )
        assert cal[joint] == expected
        assert arm.register(motor_id, "Homing_Offset") == expected.homing_offset
        assert arm.register(motor_id, "Min_Position_Limit") == expected.range_min
        assert arm.register(motor_id, "Max_Position_Limit") == expected.range_max
    assert not any(arm.torque_enabled().values())

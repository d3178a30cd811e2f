"""SO101Leader / SO101Follower on emulated buses through the real SDK: configuration, following, torque safety."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from station.config import ArmConfig
from station.errors import ConfigError, HardwareError
from station.hardware.calibration import CalibrationError, calibration_path, raw_to_values, values_to_raw
from station.hardware.emulator import EmulatedBus, demo_calibration, write_demo_calibration
from station.hardware.feetech import FeetechBus
from station.hardware.so101 import SO101Follower, SO101Leader, connect_arms
from station.joints import JOINTS, MOTOR_IDS

FOLLOWER_SETTINGS = {
    "Return_Delay_Time": 0,
    "Maximum_Acceleration": 254,
    "Acceleration": 254,
    "Operating_Mode": 0,
    "P_Coefficient": 16,
    "I_Coefficient": 0,
    "D_Coefficient": 32,
    "Torque_Enable": 1,
    "Lock": 1,
}


class Rig:
    def __init__(self, tmp_path, **follower_faults) -> None:
        self.leader = EmulatedBus("leader")
        self.follower = EmulatedBus("follower", **follower_faults)
        self.calibration_dir = tmp_path
        write_demo_calibration(tmp_path)

    def __enter__(self) -> Rig:
        self.leader.start()
        self.follower.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.follower.stop()
        self.leader.stop()

    def config(self, **kw) -> ArmConfig:
        return ArmConfig(self.follower.port, self.leader.port, self.calibration_dir, **kw)


@pytest.fixture
def rig(tmp_path):
    with Rig(tmp_path) as r:
        yield r


def test_connect_configures_like_lerobot_and_disconnect_turns_torque_off(rig):
    leader, follower = connect_arms(rig.config())
    try:
        file_cal = {"leader": demo_calibration("leader"), "follower": demo_calibration("follower")}
        for role, emu in (("leader", rig.leader), ("follower", rig.follower)):
            for joint, motor_id in MOTOR_IDS.items():  # the emulator started with factory values 0 / 0..4095
                cal = file_cal[role][joint]
                assert emu.register(motor_id, "Homing_Offset") == cal.homing_offset
                assert emu.register(motor_id, "Min_Position_Limit") == cal.range_min
                assert emu.register(motor_id, "Max_Position_Limit") == cal.range_max
        for motor_id in MOTOR_IDS.values():
            assert {k: rig.follower.register(motor_id, k) for k in FOLLOWER_SETTINGS} == FOLLOWER_SETTINGS
        gripper = MOTOR_IDS["gripper"]
        assert rig.follower.register(gripper, "Max_Torque_Limit") == 500
        assert rig.follower.register(gripper, "Protection_Current") == 250
        assert rig.follower.register(gripper, "Overload_Torque") == 25
        assert not any(rig.leader.torque_enabled().values())
        assert rig.leader.register(1, "Return_Delay_Time") == 0
        # Reads are LeRobot's conversion of what the servos report.
        raw = {j: rig.follower.register(i, "Present_Position") for j, i in MOTOR_IDS.items()}
        assert follower.read().tolist() == raw_to_values(raw, file_cal["follower"]).tolist()
    finally:
        follower.disconnect()
        leader.disconnect()
    assert not any(rig.follower.torque_enabled().values())
    assert isinstance(follower, SO101Follower) and isinstance(leader, SO101Leader)
    assert not follower.is_connected and not leader.is_connected
    follower.disconnect()  # twice is fine


def test_follower_follows_leader_through_both_calibrations(rig):
    leader, follower = connect_arms(rig.config())
    follower_cal = demo_calibration("follower")
    period, ticks = 1 / 30, 45
    actions, states = [], []
    wait = threading.Event()
    try:
        due = time.monotonic()
        for _ in range(ticks):
            states.append(follower.read())
            action = leader.read()
            sent = follower.write(action)
            assert sent.tolist() == action.tolist()  # no clamp configured
            actions.append(action)
            due += period
            wait.wait(max(0.0, due - time.monotonic()))
        # The goal registers hold the leader's values mapped through the follower's calibration. The goal write
        # has no reply; a read answered after it means the emulator has taken it (the bus is in order).
        follower.read()
        goal_raw = {j: rig.follower.register(i, "Goal_Position") for j, i in MOTOR_IDS.items()}
        assert goal_raw == values_to_raw(actions[-1], follower_cal)
        # While the leader moves, the follower is where the leader was a tick before (unless a tick came early
        # after a late one, which a loaded machine causes: hence the median).
        lag = np.abs(np.array(states[ticks // 2 :]) - np.array(actions[ticks // 2 - 1 : -1]))
        assert np.median(lag) < 0.5, lag.max(axis=0)
        # Once the leader's last value is the goal, the follower settles on it (within one encoder step).
        deadline = time.monotonic() + 2.0
        while np.abs(follower.read() - actions[-1]).max() > 0.2:
            assert time.monotonic() < deadline, follower.read() - actions[-1]
    finally:
        follower.disconnect()
        leader.disconnect()


def test_leader_moves_like_a_person_within_its_range(rig):
    leader, follower = connect_arms(rig.config())
    try:
        first = leader.read()
        deadline = time.monotonic() + 2.0
        while np.abs(leader.read() - first).max() < 2.0:
            assert time.monotonic() < deadline, "the scripted leader does not move"
        values = leader.read()
        assert np.all(np.abs(values[:5]) < 110) and 0 <= values[5] <= 100
    finally:
        follower.disconnect()
        leader.disconnect()


def test_max_relative_target_clamps_each_step(rig):
    leader, follower = connect_arms(rig.config(max_relative_target=5.0))
    try:
        present = follower.read()  # torque on, no goal change: the follower holds still
        goal = present + np.array([30, -30, 2, 0, 10, 50], dtype=np.float32)
        sent = follower.write(goal)
        assert sent.dtype == np.float32
        np.testing.assert_allclose(sent, np.clip(goal, present - 5, present + 5), atol=1e-4)
    finally:
        follower.disconnect()
        leader.disconnect()
    with pytest.raises(ConfigError):
        SO101Follower("/dev/null", rig.calibration_dir, "follower", max_relative_target=0)


def test_bus_error_turns_follower_torque_off(rig):
    leader, follower = connect_arms(rig.config())
    try:
        assert all(rig.follower.torque_enabled().values())
        rig.follower.drop_every = 1  # the servos still hear us, but every reply is lost
        with pytest.raises(HardwareError) as exc:
            follower.read()
        assert rig.follower.port in str(exc.value) and "shoulder_pan (id 1)" in str(exc.value)
        assert not any(rig.follower.torque_enabled().values())  # reached by the broadcast
        rig.follower.drop_every = 0
    finally:
        follower.disconnect()
        leader.disconnect()


def test_failed_connect_leaves_nothing_open_or_powered(tmp_path):
    with Rig(tmp_path, missing_ids={4}) as rig:
        with pytest.raises(HardwareError, match=r"wrist_flex \(id 4\) did not answer"):
            connect_arms(rig.config())
        assert not any(rig.follower.torque_enabled().values())
        for port in (rig.leader.port, rig.follower.port):  # both ports were released
            probe = FeetechBus(port, {"shoulder_pan": 1})
            probe.open()
            probe.close()


def test_error_after_torque_on_turns_it_off_again(rig, monkeypatch):
    original = SO101Follower._configure

    def configure_then_fail(self):
        original(self)
        assert all(rig.follower.torque_enabled().values())
        raise HardwareError("injected failure after torque on")

    monkeypatch.setattr(SO101Follower, "_configure", configure_then_fail)
    with pytest.raises(HardwareError, match="injected"):
        connect_arms(rig.config())
    assert not any(rig.follower.torque_enabled().values())


def test_missing_calibration_fails_before_any_port_is_touched(rig):
    calibration_path(rig.calibration_dir, "follower", "follower").unlink()
    with pytest.raises(CalibrationError) as exc:
        connect_arms(rig.config())
    assert f"station calibrate --port {rig.follower.port} --role follower --id follower" in str(exc.value)
    assert rig.leader.replies == 0 and rig.follower.replies == 0


def test_leader_and_follower_cannot_share_a_port(rig):
    cfg = ArmConfig(rig.leader.port, rig.leader.port, rig.calibration_dir)
    with pytest.raises(ConfigError, match="cannot share one port"):
        connect_arms(cfg)


def test_joint_order_is_lerobot_order():
    assert list(MOTOR_IDS) == list(JOINTS) and list(MOTOR_IDS.values()) == [1, 2, 3, 4, 5, 6]

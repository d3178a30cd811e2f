"""`station emulate` and `station calibrate` end to end (the terminal prompts are stubbed)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from station.cli import main
from station.commands import calibrate as calibrate_command
from station.hardware.calibration import load_calibration
from station.hardware.emulator import EmulatedBus, demo_calibration


def test_emulate_prints_ports_and_the_record_command(tmp_path, capsys):
    assert main(["emulate", "--calibration-dir", str(tmp_path), "--exit-after", "0"]) == 0
    out = capsys.readouterr().out
    leader = re.search(r"leader\s+(/dev/pts/\d+)", out)
    follower = re.search(r"follower\s+(/dev/pts/\d+)", out)
    assert leader and follower
    expected = (
        f"station record --headless --follower-port {follower[1]} --leader-port {leader[1]} "
        f"--calibration-dir {tmp_path}"
    )
    assert expected in out
    window = f"station --follower-port {follower[1]} --leader-port {leader[1]} --calibration-dir {tmp_path}"
    assert "\n  " + window + "\n" in out
    assert load_calibration(tmp_path / "robots/so_follower/follower.json", "follower", "follower") == (
        demo_calibration("follower")
    )
    assert load_calibration(tmp_path / "teleoperators/so_leader/leader.json", "leader", "leader") == (
        demo_calibration("leader")
    )


def test_emulate_default_calibration_dir_is_a_temp_dir_removed_at_exit(capsys):
    assert main(["emulate", "--exit-after", "0", "--leader-id", "l2"]) == 0
    out = capsys.readouterr().out
    match = re.search(r"Calibration files are in (\S+)", out)
    assert match and "--leader-id l2" in out
    assert not Path(match[1]).exists()


def test_emulate_silences_the_leader_as_well_as_the_follower(tmp_path, capsys):
    import os
    import signal
    import threading

    from station.commands.emulate import toggle_silence

    def silence_the_leader() -> None:  # once emulate listens for it (the default action would end pytest)
        waited = threading.Event()
        for _ in range(1000):
            if signal.getsignal(signal.SIGUSR2) not in (signal.SIG_DFL, None):
                os.kill(os.getpid(), signal.SIGUSR2)
                return
            waited.wait(0.01)

    sender = threading.Thread(target=silence_the_leader)
    sender.start()
    try:
        assert main(["emulate", "--calibration-dir", str(tmp_path), "--exit-after", "1.5"]) == 0
    finally:
        sender.join()
    out = capsys.readouterr().out
    assert "kill -USR2" in out and "leader stopped answering" in out and "follower stopped" not in out
    with EmulatedBus("leader") as leader:
        toggle_silence(leader, "leader")
        assert leader.silent
        toggle_silence(leader, "leader")
        assert not leader.silent
    assert capsys.readouterr().out == "leader stopped answering\nleader answers again\n"


MIDDLE_POSE = {1: 2000, 2: 2400, 3: 1500, 4: 2800, 5: 1000, 6: 2100}


def test_calibrate_walks_a_person_through_the_procedure(tmp_path, capsys, monkeypatch):
    with EmulatedBus("follower") as arm:
        prompts: list[str] = []

        def person_poses_middle(prompt: str = "") -> str:
            prompts.append(prompt)
            for motor_id, steps in MIDDLE_POSE.items():
                arm.set_actual_position(motor_id, steps)
            return ""

        script = iter([True, *([False] * 3), True])  # Enter too early, sweep, then Enter again
        moves = iter([-300, 200, 0])

        def person_sweeps(timeout: float) -> bool:
            pressed = next(script)
            if not pressed:
                delta = next(moves)
                for motor_id, steps in MIDDLE_POSE.items():
                    arm.set_actual_position(motor_id, steps + delta)
            return pressed

        monkeypatch.setattr("builtins.input", person_poses_middle)
        monkeypatch.setattr(calibrate_command, "enter_pressed", person_sweeps)
        argv = ["calibrate", "--port", str(arm.port), "--role", "leader", "--id", "l1"]
        assert main([*argv, "--calibration-dir", str(tmp_path)]) == 0
        assert not any(arm.torque_enabled().values())
    out = capsys.readouterr().out
    assert "middle of its range" in prompts[0]
    assert "did not move" in out and "keep moving" in out
    path = tmp_path / "teleoperators" / "so_leader" / "l1.json"
    assert f"Calibration saved to {path}" in out
    cal = load_calibration(path, "leader", "l1")
    assert cal["elbow_flex"].homing_offset == 1500 - 2047
    assert (cal["elbow_flex"].range_min, cal["elbow_flex"].range_max) == (2047 - 300, 2047 + 200)
    assert (cal["wrist_roll"].range_min, cal["wrist_roll"].range_max) == (0, 4095)


def test_calibrate_on_a_missing_port_is_one_line_and_exit_2(tmp_path, capsys):
    argv = ["calibrate", "--port", "/dev/ttyNOPE3", "--role", "follower", "--id", "f"]
    assert main([*argv, "--calibration-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err == "station calibrate: serial port /dev/ttyNOPE3 does not exist: check the USB cable and the port name\n"


def test_calibrate_rejects_an_unknown_role(capsys):
    with pytest.raises(SystemExit):
        main(["calibrate", "--port", "/dev/null", "--role", "boss", "--id", "x"])

"""`station calibrate`: walk a person through calibrating one SO-101 arm in the terminal.

The steps are CalibrationProcedure's; only this command prompts on the console (the window uses a dialog).
"""

from __future__ import annotations

import argparse
import select
import sys
from pathlib import Path

from station.config import default_calibration_dir
from station.hardware.calibration import ROLES, CalibrationError, CalibrationProcedure, SweepStatus, check_arm_id

POLL_S = 0.05


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "calibrate",
        help="calibrate a leader or follower arm (writes LeRobot's calibration file)",
        description="Record the middle pose and the range of every joint of one arm, write them to its motors "
        "and save LeRobot's calibration file.",
    )
    p.add_argument("--port", required=True, help="serial port of the arm, e.g. /dev/ttyACM0")
    p.add_argument("--role", required=True, choices=ROLES, help="follower or leader")
    p.add_argument("--id", required=True, dest="arm_id", metavar="NAME", help="calibration id, e.g. follower")
    p.add_argument("--calibration-dir", type=Path, help="LeRobot calibration directory")
    return p


def enter_pressed(timeout: float) -> bool:
    """True when a line was typed on stdin within `timeout` seconds (the line is consumed)."""
    ready, _, _ = select.select([sys.stdin], [], [], timeout)
    if not ready:
        return False
    if not sys.stdin.readline():
        raise CalibrationError("calibration cancelled: the input ended before the sweep was finished")
    return True


def _table(status: SweepStatus) -> list[str]:
    lines = [f"{'JOINT':<15} {'MIN':>6} {'POS':>6} {'MAX':>6}"]
    for joint, pos in status.positions.items():
        lines.append(f"{joint:<15} {status.mins[joint]:>6} {pos:>6} {status.maxes[joint]:>6}")
    return lines


def run(args: argparse.Namespace) -> int:
    check_arm_id(args.arm_id)  # before the port is opened or anything is written
    calibration_dir = args.calibration_dir or default_calibration_dir()
    proc = CalibrationProcedure(args.port, args.role, args.arm_id, calibration_dir)
    live = sys.stdout.isatty()
    try:
        proc.start()  # a port that cannot be opened is said before anything else
        print(f"Calibrating the {args.role} {args.arm_id!r} on {args.port}; torque is off so you can move it.")
        try:
            input("Move the arm to the middle of its range of motion, then press Enter... ")
        except EOFError:
            raise CalibrationError("calibration cancelled: the input ended before the middle pose was set") from None
        proc.set_middle()
        print("Now move every joint except wrist_roll through its whole range, one after the other.")
        print("Press Enter when every joint has been to both ends.")
        drawn = 0
        while True:
            status = proc.poll()
            lines = _table(status)
            if live:
                if drawn:
                    sys.stdout.write(f"\x1b[{drawn}F")
                sys.stdout.write("\n".join(lines) + "\n")
                sys.stdout.flush()
                drawn = len(lines)
            if enter_pressed(POLL_S):
                try:
                    path = proc.finish()
                except CalibrationError as exc:
                    print(f"{exc}; keep moving, then press Enter again.")
                    drawn = 0
                    continue
                break
        if not live:
            print("\n".join(_table(status)))
        print(f"Calibration saved to {path}")
        return 0
    finally:
        proc.close()

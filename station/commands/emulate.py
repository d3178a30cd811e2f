"""`station emulate`: emulated leader and follower buses on pseudo-terminals, for demos and CI without arms."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import tempfile
import threading
from pathlib import Path

from station.hardware.emulator import EmulatedBus, write_demo_calibration


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "emulate",
        help="emulate a leader and a follower SO-101 on pseudo-terminals",
        description="Start two emulated buses of six STS3215 servos, write matching calibration files, print the "
        "ports and the commands that record from them (in the window, or headless), and run until Ctrl-C. "
        "SIGUSR1 silences the follower and SIGUSR2 the leader (again: they answer again).",
    )
    p.add_argument("--calibration-dir", type=Path, help="where to write the calibration (default: a temp dir)")
    p.add_argument("--leader-id", default="leader", help="calibration id of the emulated leader")
    p.add_argument("--follower-id", default="follower", help="calibration id of the emulated follower")
    p.add_argument("--drop-every", type=int, default=0, metavar="N", help="drop every Nth reply (fault test)")
    p.add_argument("--corrupt-every", type=int, default=0, metavar="N", help="corrupt every Nth reply")
    p.add_argument("--exit-after", type=float, help=argparse.SUPPRESS)  # for tests: stop after S seconds
    return p


def record_command(
    leader_port: str, follower_port: str, calibration_dir: Path, leader_id: str, follower_id: str,
    window: bool = False,
) -> str:
    """The command that records from the emulated arms: headless, or (window=True) in the window."""
    words = ["station"] if window else ["station", "record", "--headless"]
    words += [
        "--follower-port",
        follower_port,
        "--leader-port",
        leader_port,
        "--calibration-dir",
        str(calibration_dir),
    ]
    if leader_id != "leader":
        words += ["--leader-id", leader_id]
    if follower_id != "follower":
        words += ["--follower-id", follower_id]
    return shlex.join(words)


def toggle_silence(bus: EmulatedBus, role: str) -> None:
    """The arm stops answering as if its cable were pulled, or answers again."""
    bus.silent = not bus.silent
    print(f"{role} {'stopped answering' if bus.silent else 'answers again'}", flush=True)


def run(args: argparse.Namespace) -> int:
    own_dir = args.calibration_dir is None
    calibration_dir = Path(tempfile.mkdtemp(prefix="station-emulate-")) if own_dir else args.calibration_dir
    faults = {"drop_every": max(0, args.drop_every), "corrupt_every": max(0, args.corrupt_every)}
    leader = EmulatedBus("leader", **faults)
    follower = EmulatedBus("follower", **faults)
    try:
        write_demo_calibration(calibration_dir, args.leader_id, args.follower_id)
        leader_port, follower_port = leader.start(), follower.start()
        print("Emulated SO-101 arms (six STS3215 servos each) are answering on:")
        print(f"  leader    {leader_port}")
        print(f"  follower  {follower_port}")
        print(f"Calibration files are in {calibration_dir}")
        ids = (args.leader_id, args.follower_id)
        print("Record from them in the window with:")
        print("  " + record_command(leader_port, follower_port, calibration_dir, *ids, window=True))
        print("or without a window:")
        print("  " + record_command(leader_port, follower_port, calibration_dir, *ids))
        print(f"`kill -USR1 {os.getpid()}` makes the follower stop answering (and answer again); "
              f"`kill -USR2 {os.getpid()}` does the same to the leader.")
        print("Press Ctrl-C to stop.", flush=True)
        previous = {
            signal.SIGUSR1: signal.signal(signal.SIGUSR1, lambda *_: toggle_silence(follower, "follower")),
            signal.SIGUSR2: signal.signal(signal.SIGUSR2, lambda *_: toggle_silence(leader, "leader")),
        }
        try:
            threading.Event().wait(args.exit_after)
        except KeyboardInterrupt:
            print()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    finally:
        follower.stop()
        leader.stop()
        if own_dir:
            shutil.rmtree(calibration_dir, ignore_errors=True)
    return 0

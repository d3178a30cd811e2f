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
        "ports and the record command to use, and run until Ctrl-C.",
    )
    p.add_argument("--calibration-dir", type=Path, help="where to write the calibration (default: a temp dir)")
    p.add_argument("--leader-id", default="leader", help="calibration id of the emulated leader")
    p.add_argument("--follower-id", default="follower", help="calibration id of the emulated follower")
    p.add_argument("--drop-every", type=int, default=0, metavar="N", help="drop every Nth reply (fault test)")
    p.add_argument("--corrupt-every", type=int, default=0, metavar="N", help="corrupt every Nth reply")
    p.add_argument("--exit-after", type=float, help=argparse.SUPPRESS)  # for tests: stop after S seconds
    return p


def record_command(
    leader_port: str, follower_port: str, calibration_dir: Path, leader_id: str, follower_id: str
) -> str:
    words = [
        "station",
        "record",
        "--headless",
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


def _toggle_silence(bus: EmulatedBus) -> None:
    bus.silent = not bus.silent
    print(f"follower {'stopped answering' if bus.silent else 'answers again'}", flush=True)


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
        print("Record from them with:")
        print("  " + record_command(leader_port, follower_port, calibration_dir, args.leader_id, args.follower_id))
        print(f"`kill -USR1 {os.getpid()}` makes the follower stop answering (and answer again).")
        print("Press Ctrl-C to stop.", flush=True)
        previous = signal.signal(signal.SIGUSR1, lambda *_: _toggle_silence(follower))
        try:
            threading.Event().wait(args.exit_after)
        except KeyboardInterrupt:
            print()
        finally:
            signal.signal(signal.SIGUSR1, previous)
    finally:
        follower.stop()
        leader.stop()
        if own_dir:
            shutil.rmtree(calibration_dir, ignore_errors=True)
    return 0

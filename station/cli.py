"""`station`: the window by default; subcommands for headless recording, checking, hardware and benchmarks."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from station.commands.options import add_session_options
from station.errors import StationError

# subcommand -> module in station.commands with add_parser(subparsers) and run(args) -> int
COMMANDS = ("record", "check", "recover", "pack", "push", "emulate", "calibrate", "cameras", "bench")


def build_parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(
        prog="station",
        description="Record SO-101 teleoperation demonstrations as LeRobot v3.0 datasets. "
        "With no subcommand, opens the window (the demo set-up when no arms are given).",
    )
    add_session_options(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {}
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"station.commands.{name}")
        except ModuleNotFoundError as e:  # a command whose module is not there yet is simply not offered
            if e.name != f"station.commands.{name}":
                raise
            continue
        module.add_parser(sub)
        modules[name] = module
    return parser, modules


def main(argv: list[str] | None = None) -> int:
    parser, modules = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from station.saving.faults import install_writer_hooks

    install_writer_hooks()
    try:
        if args.command is None:
            from widgets.app import run_window

            return run_window(args)
        return int(modules[args.command].run(args))
    except StationError as e:
        print(f"station: {e}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

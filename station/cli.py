"""`station`: the window by default; subcommands for headless recording, checking, hardware and benchmarks.

This is the composition root: the one module under station/ that may import `widgets` (an import-linter
contract in pyproject.toml enforces it). Commands that can open a window get the window's entry points
from here as arguments, so the commands themselves stay Qt-free.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from station import stopping
from station.commands.error_lines import OneLineParser, print_error
from station.commands.options import add_session_options
from station.errors import StationError

# subcommand -> module in station.commands with add_parser(subparsers) and run(args) -> int
COMMANDS = ("record", "check", "recover", "pack", "push", "emulate", "calibrate", "cameras", "bench",
            "episodes", "mark", "exclude", "drop-last")


def build_parser() -> tuple[argparse.ArgumentParser, dict, dict[str, argparse.ArgumentParser]]:
    """The parser, the module of each command, and each command's own parser."""
    parser = OneLineParser(
        prog="station",
        description="Record SO-101 teleoperation demonstrations as LeRobot v3.0 datasets. "
        "With no subcommand, opens the window (the demo set-up when no arms are given).",
    )
    add_session_options(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = {}
    for name in COMMANDS:
        module = importlib.import_module(f"station.commands.{name.replace('-', '_')}")
        module.add_parser(sub)
        modules[name] = module
    return parser, modules, dict(sub.choices)


def run_window(args: argparse.Namespace) -> int:
    """The window (imported only when asked for: headless commands never load QtWidgets)."""
    from widgets.app import run_window as run

    return run(args)


def measure_gui(seconds: float, root: Path, **load: Any) -> dict:
    """`station bench --gui`: the window's display rate, stalls and the control loop's late ticks."""
    from widgets.gui_bench import measure_gui as measure

    return measure(seconds, root, **load)


# What each command that can show the window is given to do so (keyword arguments of its run()).
WINDOW_ENTRIES: dict[str, dict[str, Callable[..., Any]]] = {
    "record": {"open_window": run_window},
    "bench": {"measure_gui": measure_gui},
}


class OneLineUnlessVerbose(logging.Formatter):
    """Log records as one line each; a traceback attached to a record is shown only with -v (the operator reads
    the sentence, a developer asks for the details)."""

    def __init__(self, verbose: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.verbose = verbose

    def formatException(self, ei: Any) -> str:
        return super().formatException(ei) if self.verbose else ""


def main(argv: list[str] | None = None) -> int:
    stopping.defer()  # Ctrl-C, SIGTERM, SIGHUP while starting: remembered (see station/stopping.py)
    try:
        return _main(argv)
    finally:
        stopping.restore()


def _main(argv: list[str] | None) -> int:
    parser, modules, commands = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said by the command's own parser: its usage, and the `station <command>:` every error line has
        commands.get(args.command, parser).error(f"unrecognized arguments: {' '.join(unknown)}")
    module = modules.get(args.command) if args.command is not None else None
    # The window and commands that record handle stop signals like Ctrl-C; the others get the usual ones back.
    if module is not None and not getattr(module, "HANDLES_STOP_SIGNALS", False) and stopping.restore():
        return 130
    handler = logging.StreamHandler()
    handler.setFormatter(OneLineUnlessVerbose(args.verbose))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[handler])
    from station.priority import tune_process

    logging.getLogger(__name__).debug("process: %s", ", ".join(tune_process()))  # before any thread starts
    try:
        if args.command is None:
            return run_window(args)
        assert module is not None
        return int(module.run(args, **WINDOW_ENTRIES.get(args.command, {})))
    except StationError as e:
        print_error(args.command, str(e))
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

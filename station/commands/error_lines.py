"""The one rule for what a command says went wrong: one line on stderr, `station <command>: <what>`.

It is the program name argparse itself prints before its usage errors ("station record: error: ..."), so
every error line of a command starts the same way, whoever wrote it; the window (no command) says
`station: <what>`.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


def program(command: str | None) -> str:
    """"station record" for `station record ...`; "station" for the window (no command)."""
    return f"station {command}" if command else "station"


def error_line(command: str | None, text: str) -> str:
    return f"{program(command)}: {text}"


def print_error(command: str | None, text: str) -> None:
    """`text` (one sentence) on stderr, as the command's error line."""
    print(error_line(command, text), file=sys.stderr, flush=True)


class OneLineParser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors (an unknown option, `--fps abc`, a missing folder) are one line too:
    `station record: error: argument --fps: invalid int value: 'abc' (station record --help lists the options)`,
    not the usage block of a dozen lines above it. Its subcommands' parsers are of this class too."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} ({self.prog} --help lists the options)\n")

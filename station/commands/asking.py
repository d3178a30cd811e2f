"""A yes/no question on the terminal, for the commands that change a dataset in a way that cannot be undone."""

from __future__ import annotations

import sys


def confirm(question: str, default: bool = False) -> bool:
    """Ask `question` [y/N] (or [Y/n] when `default`); Enter gives the default. Without an answer (stdin closed
    or not a terminal) the default, with the line ended so that what the command says next starts afresh."""
    print(f"{question} {'[Y/n]' if default else '[y/N]'} ", end="", flush=True)
    try:
        line = sys.stdin.readline()
    except (OSError, ValueError):
        line = ""
    if not line.endswith("\n"):
        print(flush=True)  # no answer came: end the question's line
    answer = line.strip().lower()
    return default if not answer else answer in ("y", "yes")

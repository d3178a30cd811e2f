"""The `station` command's first code: stop signals are remembered before anything heavy is imported.

The console script and `python -m station` start here. Importing `station.cli` takes tens of milliseconds
(argparse, the commands, the config); a Ctrl-C, SIGTERM or SIGHUP in that time must not print a traceback from
the middle of an import, so `stopping.defer()` runs first and the rest is imported after it.
"""

from __future__ import annotations


def main() -> int:
    from station import stopping

    stopping.defer()
    from station.cli import main as cli_main

    return cli_main()

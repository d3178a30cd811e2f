"""`station drop-last ROOT [--yes]`: remove the last episode, as if it had never been recorded."""

from __future__ import annotations

import argparse
from pathlib import Path

from station.commands.asking import confirm


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "drop-last",
        help="remove the last episode (files, totals and stats back to before it); --undo puts it back",
        description="Remove the last episode of a dataset atomically: its files move to .station/dropped/ and "
        "info.json, stats.json and tasks.parquet go back to what they were before it. --undo puts the last "
        "dropped episode back while no episode was recorded since. Asks first unless --yes. Exits 2, changing "
        "nothing, on an empty, locked or corrupt dataset; 1 when not confirmed.",
    )
    p.add_argument("root", type=Path, metavar="ROOT", help="the dataset folder (the one holding meta/)")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--undo", action="store_true", help="put the last dropped episode back")


def run(args: argparse.Namespace) -> int:
    from station.dataset.curation import drop_last_episode, editing, undo_drop
    from station.dataset.reader import DatasetReader
    from station.errors import DatasetError

    with editing(args.root):
        if args.undo:
            drop = undo_drop(args.root)
            print(f"episode {drop.episode_index} is back ({drop.length} frames, {drop.task!r})", flush=True)
            return 0
        reader = DatasetReader(args.root)
        if reader.total_episodes == 0:
            raise DatasetError(f"{args.root} has no episodes to drop")
        last = reader.episodes()[-1]
        what = f"episode {last['episode_index']} ({last['length']} frames, {', '.join(last.get('tasks') or [])!r})"
        if not args.yes and not confirm(f"drop {what}?"):
            print("nothing dropped", flush=True)
            return 1
        drop = drop_last_episode(args.root)
    print(f"dropped episode {drop.episode_index}; `station drop-last {args.root} --undo` puts it back", flush=True)
    return 0

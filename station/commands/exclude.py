"""`station exclude ROOT EPISODE [--undo]`: keep an episode on disk but out of what `station pack` publishes."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "exclude",
        help="exclude an episode from packing (kept on disk); --undo includes it again",
        description="Mark one episode excluded (station/excluded in the episodes table): it stays in the "
        "dataset and is left out by `station pack`. Exits 2, changing nothing, when the episode does not "
        "exist, the dataset is open in another station or is corrupt.",
    )
    p.add_argument("root", type=Path, metavar="ROOT", help="the dataset folder (the one holding meta/)")
    p.add_argument("episode", type=int, metavar="EPISODE", help="the episode_index")
    p.add_argument("--undo", action="store_true", help="include the episode again")


def run(args: argparse.Namespace) -> int:
    from station.dataset.curation import editing, set_excluded

    with editing(args.root):
        set_excluded(args.root, args.episode, not args.undo)
    print(f"episode {args.episode}: {'included' if args.undo else 'excluded'}", flush=True)
    return 0

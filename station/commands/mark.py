"""`station mark ROOT EPISODE --outcome success|failure|unknown [--note TEXT]`: record how a take went."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from station.dataset.episode_facts import OUTCOMES


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "mark",
        help="mark an episode's outcome (success, failure, unknown) with an optional note",
        description="Set the outcome and note of one episode (stored in the episodes table's station/outcome "
        "and station/note columns). Exits 2, changing nothing, when the episode does not exist, the dataset "
        "is open in another station or is corrupt.",
    )
    p.add_argument("root", type=Path, metavar="ROOT", help="the dataset folder (the one holding meta/)")
    p.add_argument("episode", type=int, metavar="EPISODE", help="the episode_index")
    p.add_argument("--outcome", required=True, choices=OUTCOMES)
    p.add_argument("--note", default=None, metavar="TEXT", help="a short note (replaces the previous one)")


def run(args: argparse.Namespace) -> int:
    from station.dataset.curation import editing, mark_episode

    with editing(args.root):
        facts = mark_episode(args.root, args.episode, args.outcome, args.note)
    note = f" ({facts.note})" if facts.note else ""
    print(f"episode {args.episode}: {facts.outcome}{note}", flush=True)
    return 0

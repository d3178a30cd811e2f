"""`station episodes ROOT [--json]`: every episode with its task, length, outcome, note and quality flags."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "episodes",
        help="list the episodes of a dataset: length, task, outcome, note, excluded, quality flags",
        description="One row per episode: episode_index, length (frames), task, outcome (success/failure/unknown), "
        "note, excluded, filled_ticks, repeated_frames per camera and quality flags. "
        "Exits 2 when ROOT is not a readable dataset.",
    )
    p.add_argument("root", type=Path, metavar="ROOT", help="the dataset folder (the one holding meta/)")
    p.add_argument("--json", action="store_true", help="print one JSON list (for other tools)")


def _table(rows: list[dict[str, Any]]) -> list[str]:
    head = ("episode", "length", "outcome", "excluded", "filled", "repeated", "flags", "task", "note")
    cells = [
        (
            str(r["episode_index"]), str(r["length"]), r["outcome"], "yes" if r["excluded"] else "-",
            str(r["filled_ticks"]), " ".join(f"{k}:{v}" for k, v in sorted(r["repeated_frames"].items())) or "-",
            ",".join(r["flags"]) or "-", r["task"], r["note"] or "-",
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(c[i]) for c in cells)) if cells else len(h) for i, h in enumerate(head)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)).rstrip()]
    out += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return out


def run(args: argparse.Namespace) -> int:
    from station.dataset.curation import episode_rows, reading

    with reading(args.root):
        rows = episode_rows(args.root)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False), flush=True)
    else:
        for line in _table(rows):
            print(line)
        print(f"{len(rows)} episode{'s' if len(rows) != 1 else ''}", flush=True)
    return 0

"""`station pack ROOT`: rewrite a dataset into LeRobot's packed layout (few large files), crash-safely."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from station.commands.asking import confirm
from station.dataset.pack import PackResult, Progress, excluded_episodes, excluded_words
from station.dataset.reader import require_dataset_folder
from station.errors import DatasetError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "pack",
        help="pack a dataset into LeRobot's layout: many episodes per file, excluded episodes left out",
        description="Rewrite a dataset the way LeRobot's writer fills files: data, episode tables and each "
        "camera's video packed into files of up to data_files_size_in_mb / video_files_size_in_mb (info.json). "
        "Video is copied, never re-encoded. Excluded episodes are deleted and the rest renumbered: asks first "
        "unless --yes. A kill at any moment leaves the old or the packed dataset. Exits 1 when not confirmed.",
    )
    p.add_argument("root", type=Path, metavar="ROOT", help="the dataset folder (the one holding meta/)")
    p.add_argument("--data-mb", type=float, help="data file size limit in MB (default: info.json's)")
    p.add_argument("--video-mb", type=float, help="video file size limit in MB (default: info.json's)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.add_argument("--yes", action="store_true", help="do not ask before deleting excluded episodes")


def pack_locked(root: Path, data_mb: float | None = None, video_mb: float | None = None,
                on_progress: Progress | None = None) -> PackResult:
    """Take the dataset lock, refuse when takes wait in the spool, finish an interrupted commit, pack."""
    from station.dataset.pack import discard_pack_leftovers, pack_dataset
    from station.dataset.writer import repair_dataset
    from station.saving.faults import checkpoint
    from station.saving.lock import DatasetLock
    from station.saving.spool import list_spools

    require_dataset_folder(root)
    with DatasetLock(root):
        waiting = list_spools(root)
        if waiting:
            raise DatasetError(
                f"{len(waiting)} take(s) in {root} wait to be saved: run `station recover --root {root}` first"
            )
        discard_pack_leftovers(root, checkpoint)
        repair_dataset(root)
        return pack_dataset(root, data_mb, video_mb, on_progress=on_progress, fault=checkpoint)


def run(args: argparse.Namespace) -> int:
    root: Path = args.root
    last = [-1]

    def progress(done: int, total: int) -> None:
        step = max(1, total // 20)
        if not args.quiet and (done == total or done // step != last[0] // step):
            print(f"packing: {done}/{total} episodes", file=sys.stderr, flush=True)
        last[0] = done

    excluded = excluded_words(excluded_episodes(root))
    if excluded and not args.yes and not confirm(f"{excluded[:1].upper()}{excluded[1:]}: go on?"):
        print("nothing packed", flush=True)
        return 1
    result = pack_locked(root, args.data_mb, args.video_mb, progress)
    print(result.summary(), flush=True)
    return 0

"""`station check DIR`: say whether LeRobot will accept a dataset, and if not, what is wrong where."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from station.commands.error_lines import print_error
from station.errors import DatasetError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check",
        help="validate a LeRobot v3.0 dataset (files, totals, indices, stats, video frames and timestamps)",
        description="Check a dataset against everything LeRobot v3.0 is strict about. "
        "Exits 0 when valid, 1 when problems were found, 2 when DIR is not a dataset.",
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="the dataset folder (the one holding meta/)")
    p.add_argument(
        "--no-decode",
        dest="decode_videos",
        action="store_false",
        help="trust the mp4 headers instead of decoding every frame (faster, misses timestamp problems)",
    )
    p.add_argument("--strict", action="store_true",
                   help="exit 1 when an episode has quality warnings (a stalled camera, a very short take, ...)")


def _summary(root: Path) -> list[str]:
    from station.dataset.features import video_keys
    from station.dataset.reader import load_info

    info = load_info(root)
    features = info["features"] if isinstance(info.get("features"), dict) else {}
    cams = []
    codecs = set()
    for key in video_keys(features):
        shape = features[key].get("shape") or [0, 0]
        cams.append(f"{key.rsplit('.', 1)[-1]} {shape[1]}x{shape[0]}")
        codecs.add(str((features[key].get("info") or {}).get("video.codec", "?")))
    return [
        f"dataset:  {root}",
        f"episodes: {info['total_episodes']}",
        f"frames:   {info['total_frames']} at {info['fps']} fps",
        f"cameras:  {', '.join(cams) or 'none'}",
        f"codec:    {', '.join(sorted(codecs)) or '-'}",
    ]


def run(args: argparse.Namespace) -> int:
    from station.dataset.check import check_dataset

    root: Path = args.dir
    try:
        lines = _summary(root)
    except DatasetError as e:
        print_error("check", str(e))
        return 2
    for line in lines:
        print(line)
    problems = check_dataset(root, decode_videos=args.decode_videos)
    for problem in problems:
        print(problem)
    quality, waiting = _quality_warnings(root), _takes_not_saved(root)
    for warning in (*quality, *waiting):
        print(warning)
    if problems:
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}", flush=True)
        return 1
    if quality or waiting:
        said = [f"{len(quality)} quality warning{'s' if len(quality) != 1 else ''}"] if quality else []
        said += ["takes not saved yet"] if waiting else []
        print("OK, with " + " and ".join(said), flush=True)
        return 1 if getattr(args, "strict", False) else 0
    print("OK", flush=True)
    return 0


def _takes_not_saved(root: Path) -> list[str]:
    """Takes recorded but not in the dataset (yet): in its spool after a crash, a full disk or a failed save,
    or being recorded right now."""
    from station.saving.spool import find_spools

    complete, partial = find_spools(root)
    recover = f"`station recover {shlex.quote(str(root))}`"
    said = []
    if complete:
        takes = "1 take recorded but not in the dataset waits" if len(complete) == 1 else \
            f"{len(complete)} takes recorded but not in the dataset wait"
        said.append(f"{takes} in {root}/.station/spool (a station saving now, or one stopped before saving them): "
                    f"with no station running, {recover} saves {'it' if len(complete) == 1 else 'them'}")
    if partial:
        takes = "1 take was" if len(partial) == 1 else f"{len(partial)} takes were"
        said.append(f"{takes} not finished in {root}/.station/spool (being recorded now, or cut short by a crash): "
                    f"with no station running, {recover} drops {'it' if len(partial) == 1 else 'them'} "
                    "(--keep-partial keeps what reached the disk)")
    return said


def _quality_warnings(root: Path) -> list[str]:
    """Per-episode quality warnings (station.dataset.quality); a dataset too broken to read has none to add."""
    from station.dataset.quality import dataset_warnings

    try:
        return dataset_warnings(root)
    except (DatasetError, KeyError, IndexError, TypeError, ValueError) as e:
        return [f"warning: the quality of the episodes was not checked ({' '.join(str(e).split())})"]

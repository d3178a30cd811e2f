"""Figures measured on this machine (the encoders' speed, the disk's), kept between starts.

One JSON file per kind of figure under the user's cache folder, a figure per key (the machine and what was
measured). A machine does not get faster by chance but often slower (other work running), so a figure measured
again replaces the one kept only when it is better, and one measured while the machine was busy is used but not
kept: the next start measures again.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def cache_directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "station"


def best_measured(path: Path, key: str, measure: Callable[[], float], again: bool,
                  keep: Callable[[], bool]) -> tuple[float, bool]:
    """The figure kept under `key` in `path`, else `measure()`d: (figure, whether it came from the file). With
    `again` it is measured anew and the better of the two given. A new figure is written only if it is above 0
    (0: not measured) and `keep()`."""
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    if not isinstance(known, dict):
        known = {}
    before = float(known[key]) if isinstance(known.get(key), (int, float)) else None
    if before is not None and not again:
        return before, True
    figure = measure()
    if before is not None and before >= figure:
        return before, True
    if figure <= 0 or not keep():  # nothing measured (cancelled), or measured at a bad moment
        return figure, False
    known[key] = round(figure, 1)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(known, indent=1, sort_keys=True))
        tmp.replace(path)
    except OSError as e:  # a read-only home: measured again next time, nothing worse
        log.warning("could not keep the figure measured in %s: %s", path, e)
    return figure, False

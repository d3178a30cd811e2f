"""Durable file writes: temp name in the final folder, fsync, rename, fsync the folder.

A crash must never leave a half-written file under a name LeRobot reads. Every new file is first written
under a hidden temp name (".<name>.tmp": LeRobot's globbing skips it, `repair` deletes it), fsynced, and
only then renamed over the final name. The rename is atomic on POSIX; fsyncing the folder makes it durable.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

TEMP_PREFIX = "."
TEMP_SUFFIX = ".tmp"


def temp_path_for(final: Path) -> Path:
    """The temp name a file is written under before it is renamed to `final` (same folder)."""
    return final.with_name(f"{TEMP_PREFIX}{final.name}{TEMP_SUFFIX}")


def is_temp_name(name: str) -> bool:
    return name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make renames and new entries in `path` durable. Some filesystems refuse directory fsync: ignore."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def make_dirs(path: Path) -> None:
    """mkdir -p that also fsyncs each parent whose entry list changed, so new folders survive a crash."""
    missing: list[Path] = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    if not missing:
        return
    path.mkdir(parents=True, exist_ok=True)
    for created in reversed(missing):
        fsync_dir(created.parent)


def write_temp_bytes(final: Path, data: bytes) -> Path:
    """Write `data` under the temp name of `final`, fsynced. Returns the temp path; nothing is renamed."""
    make_dirs(final.parent)
    tmp = temp_path_for(final)
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    return tmp


def json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=4, ensure_ascii=False) + "\n").encode("utf-8")


def write_temp_json(final: Path, obj: Any) -> Path:
    return write_temp_bytes(final, json_bytes(obj))


def copy_to_temp(source: Path, final: Path) -> Path:
    """Copy `source` under the temp name of `final`, fsynced (used when a rename would cross filesystems)."""
    make_dirs(final.parent)
    tmp = temp_path_for(final)
    shutil.copyfile(source, tmp)
    fsync_file(tmp)
    return tmp


def replace_durably(src: Path, dst: Path) -> None:
    """Atomic rename, then fsync both folders so the move is on disk before the caller goes on."""
    make_dirs(dst.parent)
    os.replace(src, dst)
    fsync_dir(dst.parent)
    if src.parent != dst.parent:
        fsync_dir(src.parent)


def write_json_atomic(path: Path, obj: Any) -> None:
    """Replace `path` with `obj` as JSON so a reader sees the old file or the new one, never a mix."""
    tmp = write_temp_json(path, obj)
    replace_durably(tmp, path)


def same_filesystem(a: Path, b: Path) -> bool:
    """True when a rename from `a` into folder `b` cannot fail with EXDEV."""
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def iter_temp_files(root: Path, folders: tuple[str, ...]) -> Iterator[Path]:
    """Every leftover temp file under the given folders of `root` (hidden *.tmp), in a stable order."""
    for name in folders:
        top = root / name
        if not top.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for fname in sorted(filenames):
                if is_temp_name(fname):
                    yield Path(dirpath) / fname


def size_in_words(n: float) -> str:
    """A byte count as people say it: "0 bytes", "812 kB", "40 MB", "1.5 GB" (powers of 1000, like df -H)."""
    if n < 1000:
        return f"{int(n)} bytes"
    units = ("kB", "MB", "GB", "TB")
    power = min(len(units), int(math.log10(n) // 3))
    value = n / 1000**power
    return f"{value:.1f} {units[power - 1]}" if value < 10 else f"{value:.0f} {units[power - 1]}"


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


# ----- the commit journal ------------------------------------------------------------------------
# A commit publishes several files by renaming them into place. The journal, written atomically before the
# first rename, lists them all, so a crash part-way through can be finished ("rolled forward") later.

JOURNAL_PATH = ".station/journal.json"


def _to_journal(root: Path, path: Path) -> str:
    """Paths are stored relative to the dataset (the folder may be moved); every one is inside it."""
    return str(path.relative_to(root))


_PUBLISHED = ("meta", "data", "videos")  # the only folders a commit renames files into
_DROPPED = (".station", "dropped")  # where drop-last moves an episode's files (station.dataset.curation)


def _journal_path(root: Path, entry: object) -> Path:
    """A journal entry as a path inside `root`; ValueError for anything else (absolute, `..`, a symlink out)."""
    if not isinstance(entry, str) or not entry or os.path.isabs(entry):
        raise ValueError(f"{entry!r} is not a path inside the dataset")
    path = root / entry
    real_root = os.path.realpath(root)
    if os.path.commonpath([real_root, os.path.realpath(path)]) != real_root or ".." in Path(entry).parts:
        raise ValueError(f"{entry!r} is not a path inside the dataset")
    return path


def write_journal(root: Path, label: str, renames: list[tuple[Path, Path]]) -> None:
    entries = [[_to_journal(root, src), _to_journal(root, dst)] for src, dst in renames]
    write_json_atomic(root / JOURNAL_PATH, {"commit": label, "renames": entries})


def roll_forward(root: Path) -> str | None:
    """Finish the renames of an interrupted commit and delete the journal. Returns what was committed
    (the journal's label), or None when there was no journal."""
    journal = root / JOURNAL_PATH
    if not journal.exists():
        return None
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
        entries = [(_journal_path(root, src), _journal_path(root, dst)) for src, dst in data["renames"]]
        label = str(data["commit"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise OSError(f"the commit journal {journal} is unreadable ({e})") from e
    for src, dst in entries:
        from_ok = is_temp_name(src.name) or src.relative_to(root).parts[0] == ".station"  # a temp file or a spool's
        dropped = dst.relative_to(root).parts[:2] == _DROPPED and not is_temp_name(dst.name)
        if not dropped and (not from_ok or is_temp_name(dst.name) or dst.relative_to(root).parts[0] not in _PUBLISHED):
            raise OSError(
                f"the commit journal {journal} asks to move {src.relative_to(root)} to {dst.relative_to(root)}, "
                "which no save does: it was not written by a station (delete it if you know why it is there)"
            )
    for src, dst in entries:
        if src.exists():
            replace_durably(src, dst)
        elif not dst.exists():
            raise OSError(f"cannot finish the interrupted save: {src} and {dst} are both missing")
    journal.unlink()
    fsync_dir(journal.parent)
    return label

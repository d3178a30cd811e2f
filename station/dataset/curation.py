"""Edit episodes already in a dataset: mark an outcome and note, exclude (and include again), drop the last one.

Each edit is atomic and crash-safe like a commit (see station/dataset/writer.py):
- mark and exclude change only the station/... columns of one small episodes parquet: the new file is written
  under a temp name, fsynced and renamed over the old one, so a reader sees the old row or the new one.
- drop-last publishes a journal of renames (the same journal a commit uses, rolled forward by `repair`): first
  the shrunk info.json (totals back), then stats.json, tasks.parquet, and finally the episode's own files moved
  to `.station/dropped/`. That is a commit played backwards, so at every instant the totals never run ahead of
  the files, and a crash at any point is finished by the next repair. The dropped files are kept there, with
  the metadata they replaced, so the drop can be undone until another episode is recorded.

Callers hold the dataset lock (station/saving/lock.py): the command line takes it, the window already has it.
Named kill points (STATION_KILL_AT, station/saving/faults.py) let the crash tests stop an edit at each step.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from station.dataset import fsutil
from station.dataset.episode_facts import (
    OUTCOMES,
    EpisodeFacts,
    facts_of_table,
    has_fact_columns,
    with_facts,
)
from station.dataset.features import INFO_PATH, STATS_PATH, TASKS_PATH, data_file, video_keys
from station.dataset.reader import DatasetReader, episode_files, load_info, read_parquet
from station.dataset.stats import aggregate_stats, stats_to_json
from station.dataset.writer import repair_dataset, tasks_table
from station.errors import DatasetError
from station.saving.faults import checkpoint
from station.saving.lock import DatasetLock

DROPPED_DIR = ".station/dropped"
DROP_RECORD = "drop.json"
MAX_NOTE = 500


@contextlib.contextmanager
def reading(root: Path) -> Iterator[None]:
    """Refuse what is not a dataset, and report a corrupt one in plain words (DatasetError), not a traceback."""
    load_info(Path(root))
    try:
        yield
    except (KeyError, IndexError, TypeError, ValueError, pa.ArrowException) as e:
        raise DatasetError(f"{root} is corrupt or not a dataset the station can read "
                           f"({type(e).__name__}: {e}); run `station check` on it") from e


@contextlib.contextmanager
def editing(root: Path) -> Iterator[None]:
    """As `reading`, holding the dataset lock: refused while another station has the dataset open."""
    with reading(root), DatasetLock(Path(root)):
        yield


# ----- mark and exclude ---------------------------------------------------------------------------


def mark_episode(root: Path, episode: int, outcome: str | None, note: str | None = None,
                 repair: bool = True) -> EpisodeFacts:
    """Set an episode's outcome (success|failure|unknown) and/or its note (None leaves either as it is)."""
    if outcome is not None and outcome not in OUTCOMES:
        raise DatasetError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
    if note is not None and len(note) > MAX_NOTE:
        raise DatasetError(f"the note is {len(note)} characters long; keep it under {MAX_NOTE}")

    def change(facts: EpisodeFacts) -> None:
        if outcome is not None:
            facts.outcome = outcome
        if note is not None:
            facts.note = note

    return update_facts(root, episode, change, repair)


def set_excluded(root: Path, episode: int, excluded: bool, repair: bool = True) -> EpisodeFacts:
    """Exclude an episode (kept on disk, left out by `station pack`) or include it again."""

    def change(facts: EpisodeFacts) -> None:
        facts.excluded = excluded

    return update_facts(root, episode, change, repair)


def update_facts(root: Path, episode: int, change: Callable[[EpisodeFacts], None],
                 repair: bool = True) -> EpisodeFacts:
    """Apply `change` to one episode's facts and rewrite its episodes file atomically; returns the new facts.

    A dataset whose episodes files lack the station columns gets them in all its files at once (one journaled
    commit), since LeRobot refuses episodes files whose columns differ. `repair=False` is for the window, whose
    save queue may be committing meanwhile: nothing is repaired and no journal is written (the commit owns it).
    """
    root = Path(root)
    reader = DatasetReader(root)  # not a dataset / corrupt info.json -> DatasetError, nothing changed
    if not 0 <= episode < reader.total_episodes:
        raise DatasetError(_no_such_episode(root, episode, reader.total_episodes))
    if repair:
        repair_dataset(root)
    files = episode_files(root)
    tables = {path: read_parquet(path) for path in files}
    where = _find_episode(tables, episode)
    if where is None:
        raise DatasetError(f"{root} is inconsistent: episode {episode} is not in its episodes table "
                           "(run `station check` on it)")
    path, row = where
    uniform = all(has_fact_columns(t) for t in tables.values())
    changed: dict[Path, pa.Table] = {}
    for p, table in tables.items():
        if p != path and uniform:
            continue
        facts = facts_of_table(table)
        if p == path:
            change(facts[row])
            result = facts[row]
        changed[p] = with_facts(table, facts)
    if len(changed) > 1 and not repair:
        raise DatasetError(f"{root} was recorded without the station's episode columns: mark or exclude its "
                           "episodes with `station mark` / `station exclude` once no station has it open")
    if len(changed) == 1:
        tmp = _write_temp_parquet(path, changed[path])
        checkpoint("edit-temp-file")
        fsutil.replace_durably(tmp, path)
    else:
        renames = [(_write_temp_parquet(p, t), p) for p, t in changed.items()]
        _publish(root, f"station columns for episode {episode}", renames)
    return result


def _find_episode(tables: dict[Path, pa.Table], episode: int) -> tuple[Path, int] | None:
    for path, table in tables.items():
        indices = table.column("episode_index").to_pylist() if "episode_index" in table.column_names else []
        if episode in indices:
            return path, indices.index(episode)
    return None


def _no_such_episode(root: Path, episode: int, total: int) -> str:
    if total == 0:
        return f"{root} has no episodes yet, so no episode {episode}"
    return f"{root} has no episode {episode}: its episodes are 0 to {total - 1}"


def _write_temp_parquet(final: Path, table: pa.Table) -> Path:
    tmp = fsutil.temp_path_for(final)
    pq.write_table(table, tmp, compression="snappy", row_group_size=max(1, table.num_rows))
    fsutil.fsync_file(tmp)
    return tmp


def _publish(root: Path, label: str, renames: list[tuple[Path, Path]]) -> None:
    """Journal the renames, then perform them in order (a crash is rolled forward by repair)."""
    for folder in sorted({src.parent for src, _ in renames}):
        fsutil.fsync_dir(folder)
    checkpoint("edit-temp-files")
    fsutil.write_journal(root, label, renames)
    checkpoint("edit-journal")
    for src, dst in renames:
        checkpoint("edit-rename")
        fsutil.replace_durably(src, dst)
    fsutil.remove_quietly(root / fsutil.JOURNAL_PATH)
    fsutil.fsync_dir((root / fsutil.JOURNAL_PATH).parent)


def episode_rows(root: Path) -> list[dict[str, Any]]:
    """Every episode as plain values: episode_index, length, task, then its facts (`station episodes` prints
    these; the window's episodes view shows them)."""
    return [{"episode_index": int(ep["episode_index"]), "length": int(ep["length"]),
             "task": ", ".join(ep.get("tasks") or []), **EpisodeFacts.from_row(ep).to_json()}
            for ep in DatasetReader(root).episodes()]  # the rows hold the facts: one read of each file


# ----- drop the last episode ----------------------------------------------------------------------


@dataclass
class Drop:
    """What a drop removed, recorded in .station/dropped/<name>/drop.json so it can be undone."""

    episode_index: int
    length: int
    task: str
    folder: Path


def _episode_stats(row: dict[str, Any]) -> dict[str, dict[str, np.ndarray]]:
    """feature -> stat -> array from the stats/<feature>/<stat> columns of an episodes row."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for key, value in row.items():
        if not key.startswith("stats/") or value is None:
            continue
        feature, _, stat = key[len("stats/") :].rpartition("/")
        out.setdefault(feature, {})[stat] = np.asarray(value, dtype=np.int64 if stat == "count" else np.float64)
    return out


def _own_files(root: Path, reader: DatasetReader, row: dict[str, Any]) -> list[Path]:
    """The files holding only this episode (data, each video, episodes), or DatasetError when it shares one."""
    e = row["episode_index"]
    rows = reader.episodes()
    data = data_file(root, row["data/chunk_index"], row["data/file_index"])
    shared = [r["episode_index"] for r in rows if r is not row
              and (r["data/chunk_index"], r["data/file_index"]) == (row["data/chunk_index"], row["data/file_index"])]
    files = [data]
    for key in video_keys(reader.info["features"]):
        loc = (row[f"videos/{key}/chunk_index"], row[f"videos/{key}/file_index"])
        files.append(reader.video_path(e, key))
        shared += [r["episode_index"] for r in rows
                   if r is not row and (r[f"videos/{key}/chunk_index"], r[f"videos/{key}/file_index"]) == loc]
    holding = [p for p in episode_files(root) if e in read_parquet(p).column("episode_index").to_pylist()]
    if len(holding) != 1 or read_parquet(holding[0]).num_rows != 1:
        shared.append(-1)
    if shared:
        raise DatasetError(
            f"episode {e} shares its files with other episodes (a packed dataset): drop-last works on datasets "
            "the station recorded, with one file per episode"
        )
    missing = [p for p in files if not p.is_file()]
    if missing:
        raise DatasetError(f"{root} is inconsistent: {missing[0]} is missing (run `station check` on it)")
    return [holding[0], *files]  # episodes file first, then data, then videos


def drop_last_episode(root: Path) -> Drop:
    """Remove the last episode: every file, total and statistic back to what it was before it was recorded."""
    root = Path(root)
    repair_dataset(root)
    reader = DatasetReader(root)
    total = reader.total_episodes
    if total == 0:
        raise DatasetError(f"{root} has no episodes to drop")
    rows = reader.episodes()
    if len(rows) != total or rows[-1]["episode_index"] != total - 1:
        raise DatasetError(f"{root} is inconsistent: info.json counts {total} episodes but its episodes table "
                           f"has {len(rows)} (run `station check` on it)")
    row = rows[-1]
    e, length = total - 1, int(row["length"])
    own = _own_files(root, reader, row)

    # The metadata as it was before the episode: totals, tasks, and stats folded as the writer folds them.
    info = dict(reader.info)
    tasks = list(reader.tasks)
    task = (row.get("tasks") or [""])[0]
    if tasks and tasks[-1] in (row.get("tasks") or []) and not any(
        tasks[-1] in (r.get("tasks") or []) for r in rows[:-1]
    ):
        tasks.pop()  # the episode brought the last task: it goes with it
    info.update(total_episodes=e, total_frames=reader.total_frames - length, total_tasks=len(tasks),
                splits={"train": f"0:{e}"})
    stats: dict[str, dict[str, np.ndarray]] = {}
    for i, r in enumerate(rows[:-1]):
        stats = aggregate_stats([_episode_stats(r)]) if i == 0 else aggregate_stats([stats, _episode_stats(r)])

    # A record of the drop, with the metadata it replaces, staged under a temp name and published first.
    folder = Path(root) / DROPPED_DIR / f"episode-{e:06d}-{time.time_ns()}"
    staging = fsutil.temp_path_for(folder)
    for stale in (root / DROPPED_DIR).glob(".*.tmp"):  # left by an edit interrupted before its journal
        shutil.rmtree(stale, ignore_errors=True)
    fsutil.make_dirs(staging / "meta")
    for rel in (INFO_PATH, STATS_PATH, TASKS_PATH):
        if (root / rel).exists():
            shutil.copyfile(root / rel, staging / rel)
            fsutil.fsync_file(staging / rel)
    record = {"episode_index": e, "length": length, "task": task,
              "files": [str(p.relative_to(root)) for p in own], "after": {"total_episodes": e}}
    fsutil.write_json_atomic(staging / DROP_RECORD, record)
    fsutil.fsync_dir(staging / "meta")

    trash = folder / "files"
    renames: list[tuple[Path, Path]] = [(staging, folder)]
    renames.append((fsutil.write_temp_json(root / INFO_PATH, info), root / INFO_PATH))
    if stats:
        renames.append((fsutil.write_temp_json(root / STATS_PATH, stats_to_json(stats)), root / STATS_PATH))
    elif (root / STATS_PATH).exists():
        renames.append((root / STATS_PATH, trash / STATS_PATH))
    # A commit played backwards (docs/commit.md): a row goes before what it refers to, so every instant between
    # two renames is a state a commit also passes through: data rows, then the episodes row, then the task
    # only that episode used, then its videos.
    episodes_file, data, *videos = own
    renames.append((data, trash / data.relative_to(root)))
    renames.append((episodes_file, trash / episodes_file.relative_to(root)))
    if len(tasks) != len(reader.tasks):
        if tasks:
            renames.append((_write_temp_parquet(root / TASKS_PATH, tasks_table(tasks)), root / TASKS_PATH))
        else:
            renames.append((root / TASKS_PATH, trash / TASKS_PATH))
    renames += [(p, trash / p.relative_to(root)) for p in videos]
    _publish(root, f"drop of episode {e}", renames)
    return Drop(e, length, task, folder)


def last_drop(root: Path) -> Drop | None:
    """The most recent drop that can still be undone: its episode would be the next one again."""
    base = Path(root) / DROPPED_DIR
    if not base.is_dir():
        return None
    total = DatasetReader(root).total_episodes
    for folder in sorted((p for p in base.glob("episode-*") if p.is_dir()),
                         key=lambda p: p.name.rsplit("-", 1)[-1], reverse=True):
        try:
            record = json.loads((folder / DROP_RECORD).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if record.get("episode_index") == total and all((folder / "files" / f).is_file() for f in record["files"]):
            return Drop(int(record["episode_index"]), int(record["length"]), str(record["task"]), folder)
    return None


def undo_drop(root: Path) -> Drop:
    """Put the last dropped episode back, with the metadata it had (only while no episode was added since)."""
    root = Path(root)
    repair_dataset(root)
    drop = last_drop(root)
    if drop is None:
        raise DatasetError(f"{root} has no dropped episode to put back (or episodes were recorded since)")
    record = json.loads((drop.folder / DROP_RECORD).read_text(encoding="utf-8"))
    episodes_file, data, *videos = [root / f for f in record["files"]]

    def back(p: Path) -> tuple[Path, Path]:
        return drop.folder / "files" / p.relative_to(root), p

    def copy_of(rel: str) -> list[tuple[Path, Path]]:
        kept = drop.folder / rel
        if not kept.exists():
            return []
        tmp = fsutil.temp_path_for(root / rel)
        shutil.copyfile(kept, tmp)
        fsutil.fsync_file(tmp)
        return [(tmp, root / rel)]

    # A commit's order (docs/commit.md): videos, tasks, the episodes row, data, stats, info.json last.
    renames = [back(p) for p in videos] + copy_of(TASKS_PATH) + [back(episodes_file), back(data)]
    renames += copy_of(STATS_PATH) + copy_of(INFO_PATH)
    undone = drop.folder.parent / "undone" / drop.folder.name
    renames.append((drop.folder, undone))  # the record goes: the drop is undone
    _publish(root, f"undo of the drop of episode {drop.episode_index}", renames)
    shutil.rmtree(undone.parent, ignore_errors=True)
    return drop

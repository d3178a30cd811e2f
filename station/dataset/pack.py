"""Pack a dataset into LeRobot's layout: many episodes per data file, per episodes file and per video.

The station writes one data file, one episodes file and one video per camera for every episode (a flat commit
cost while recording). A dataset that leaves the station should be packed the way LeRobot's own writer fills
files: episodes appended to the current file until it would pass `data_files_size_in_mb` /
`video_files_size_in_mb`, then the file index rolls over (and the chunk index after `chunks_size` files).

- Video is never re-encoded: packets are copied with shifted timestamps, so decoded pixels are identical.
- Excluded episodes (`station/excluded`) are left out; the rest are renumbered (episode_index, index,
  task_index and the tasks table) and the stats are recomputed from the kept episodes.
- Crash-safe: the packed dataset is built in a hidden sibling folder and swapped with the dataset folder in
  one atomic rename (Linux RENAME_EXCHANGE). Before the swap the folder holds the old dataset, after it the
  packed one; whatever a kill leaves in the sibling folder is garbage, deleted by the next pack or repair.
- Linear: every source file is read once, in order. Data and video files a previous pack sealed (all but the
  last of each kind) are hard-linked into the new folder, not rewritten, as long as none of their episodes
  and none before them were excluded since.

The caller holds the dataset lock (see station/commands/pack.py); this module knows nothing of the spool.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from station.dataset import fsutil
from station.dataset.episode_facts import EpisodeFacts
from station.dataset.features import (
    CHUNKS_SIZE,
    INFO_PATH,
    STATS_PATH,
    TASKS_PATH,
    data_file,
    episodes_file,
    video_file,
    video_keys,
)
from station.dataset.reader import DatasetReader, load_info, read_parquet
from station.dataset.stats import STAT_NAMES, aggregate_stats, numeric_stats, stats_to_json
from station.errors import DatasetError

LOCK_PATH = ".station/lock"  # the lock file of older stations (DatasetLock now locks the dataset folder itself)
PACKED_RECORD = ".station/packed.json"  # which files the last pack wrote (the sealed ones are reused next time)
_STATION_DIR = ".station"
# per-tree .station entries a pack never carries
_NOT_COPIED = {"lock", "spool", "journal.json", "packed.json", "push-snapshot"}
_RENUMBERED = ("episode_index", "index", "task_index")  # columns whose per-episode stats change with renumbering
_MB = 1024 * 1024

Fault = Callable[[str], None]
Progress = Callable[[int, int], None]


def stage_path(root: Path) -> Path:
    """The hidden sibling folder a pack builds into (same filesystem, so the swap is one rename)."""
    root = Path(root).resolve()
    return root.parent / f".{root.name}.station-pack"


def discard_pack_leftovers(root: Path, fault: Fault | None = None) -> str | None:
    """Delete what an interrupted pack left next to `root`; the dataset at `root` is whole either way.

    Before the swap the sibling holds an unfinished packed copy; after it, the old dataset. Call only while
    holding the dataset lock (a running pack holds it until it has cleaned up itself).
    """
    stage = stage_path(root)
    if not stage.exists():
        return None
    _remove_tree(stage, fault or _no_fault)
    fsutil.fsync_dir(stage.parent)
    return "deleted the leftovers of an interrupted pack"


def _no_fault(_point: str) -> None:
    pass


def _remove_tree(top: Path, fault: Fault) -> None:
    """rmtree, file by file, with a kill point after each file (the tests kill cleanup half-way)."""
    for dirpath, dirnames, filenames in os.walk(top, topdown=False):
        for name in filenames:
            os.unlink(os.path.join(dirpath, name))
            fault("pack-cleanup")
        for name in dirnames:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                os.unlink(path)
            else:
                os.rmdir(path)
    os.rmdir(top)


# ----- the plan ----------------------------------------------------------------------------------


@dataclass
class PackResult:
    episodes: int = 0
    excluded: int = 0
    frames: int = 0
    files_before: int = 0
    files_after: int = 0
    data_files: int = 0
    episode_files: int = 0
    video_files: dict[str, int] = field(default_factory=dict)
    reused_files: int = 0
    bytes_in: int = 0
    seconds: float = 0.0
    already_packed: bool = False

    def summary(self) -> str:
        if self.already_packed:
            return f"already packed: {self.episodes} episodes in {self.files_after} files; nothing changed"
        videos = sum(self.video_files.values())
        excluded = f", {self.excluded} excluded episode(s) left out" if self.excluded else ""
        reused = f", {self.reused_files} already packed file(s) kept as they were" if self.reused_files else ""
        return (
            f"packed {self.episodes} episodes ({self.frames} frames) into {self.data_files} data, "
            f"{self.episode_files} episodes and {videos} video file(s) — {self.files_after} files, "
            f"{self.files_before} before{excluded}{reused}; {self.seconds:.1f} s"
        )


def is_excluded(row: dict[str, Any]) -> bool:
    return EpisodeFacts.from_row(row).excluded


def dataset_files(root: Path) -> list[Path]:
    """The files LeRobot reads: meta/, data/ and videos/ (temp files excluded)."""
    out: list[Path] = []
    for top in ("meta", "data", "videos"):
        for path in sorted((Path(root) / top).rglob("*")):
            if path.is_file() and not fsutil.is_temp_name(path.name):
                out.append(path)
    return out


def _location(k: int, chunks_size: int) -> tuple[int, int]:
    """File number k -> (chunk_index, file_index), as LeRobot's update_chunk_file_indices counts them."""
    return divmod(k, chunks_size)


def _read_packed_record(root: Path) -> dict[str, list[list[int]]]:
    try:
        data = json.loads((root / PACKED_RECORD).read_text(encoding="utf-8"))
        streams = data["streams"]
        return {str(k): [[int(c), int(f)] for c, f in v] for k, v in streams.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}


# ----- output streams ----------------------------------------------------------------------------


class _Rollover:
    """Which file the next episode goes into: the current one until it would pass the limit."""

    def __init__(self, limit_bytes: int, chunks_size: int, first: int = 0) -> None:
        self.limit = limit_bytes
        self.chunks_size = chunks_size
        self.k = first
        self.size = 0
        self.started = False

    def place(self, nbytes: int) -> tuple[tuple[int, int], bool]:
        """(location, new_file) for an episode of `nbytes`."""
        new_file = not self.started
        if self.started and self.size > 0 and self.size + nbytes >= self.limit:
            self.k += 1
            self.size = 0
            new_file = True
        self.started = True
        self.size += nbytes
        return _location(self.k, self.chunks_size), new_file

    @property
    def count(self) -> int:
        return self.k + 1 if self.started else self.k


class _DataOut:
    def __init__(self, stage: Path, rollover: _Rollover) -> None:
        self.stage = stage
        self.rollover = rollover
        self.writer: pq.ParquetWriter | None = None
        self.path: Path | None = None

    def add(self, table: pa.Table, estimate: int) -> tuple[int, int]:
        loc, new_file = self.rollover.place(estimate)
        if new_file or self.writer is None:
            self.close()
            self.path = data_file(self.stage, *loc)
            fsutil.make_dirs(self.path.parent)
            self.writer = pq.ParquetWriter(self.path, table.schema, compression="snappy")
        self.writer.write_table(table, row_group_size=max(1, table.num_rows))
        return loc

    def close(self) -> None:
        if self.writer is not None and self.path is not None:
            self.writer.close()
            fsutil.fsync_file(self.path)
        self.writer = None


class _PacketSource:
    """The packets of one source mp4 in file order, taken episode by episode (each file is read once)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.container = av.open(str(path))
        self.stream = self.container.streams.video[0]
        self._packets: Iterator[av.Packet] = (p for p in self.container.demux(self.stream) if p.size > 0)
        self._pending: av.Packet | None = None

    def take(self, start: int, end: int) -> list[av.Packet]:
        """Packets with start <= pts < end (stream ticks); earlier ones (excluded episodes) are skipped."""
        out: list[av.Packet] = []
        while True:
            packet = self._pending if self._pending is not None else next(self._packets, None)
            self._pending = None
            if packet is None:
                return out
            if packet.pts is None:
                raise DatasetError(f"{self.path} has a packet without a timestamp: it cannot be packed")
            if packet.pts >= end:
                self._pending = packet
                return out
            if packet.pts >= start:
                out.append(packet)

    def close(self) -> None:
        self.container.close()


class _VideoOut:
    def __init__(self, stage: Path, key: str, rollover: _Rollover, fps: int) -> None:
        self.stage = stage
        self.key = key
        self.rollover = rollover
        self.fps = fps
        self.container: Any = None
        self.stream: Any = None
        self.path: Path | None = None
        self.offset = 0  # ticks of the output stream's time base
        self.template: tuple[Any, ...] | None = None

    def add(
        self, source: _PacketSource, packets: list[av.Packet], start: int, length: int, tb: Fraction, label: str
    ) -> tuple[tuple[int, int], float, float]:
        """Append one episode's packets; returns ((chunk, file), from_timestamp, to_timestamp)."""
        src = source.stream
        ctx = src.codec_context
        facts = (ctx.name, ctx.width, ctx.height, ctx.format.name if ctx.format else None, src.time_base)
        if self.template is None:
            self.template = facts
        elif facts != self.template:
            raise DatasetError(
                f"cannot join the {self.key} video of {label} without re-encoding: it is "
                f"{facts[0]} {facts[1]}x{facts[2]} {facts[3]} at time base {facts[4]}, the others "
                f"{self.template[0]} {self.template[1]}x{self.template[2]} {self.template[3]} at {self.template[4]}"
            )
        ticks = Fraction(1, self.fps) / tb
        if ticks.denominator != 1:
            raise DatasetError(f"the {self.key} video's time base {tb} does not hold a whole 1/{self.fps} s frame")
        loc, new_file = self.rollover.place(sum(p.size for p in packets))
        if new_file or self.container is None:
            self.close()
            self.path = video_file(self.stage, self.key, *loc)
            fsutil.make_dirs(self.path.parent)
            self.container = av.open(str(self.path), "w", format="mp4")
            self.stream = self.container.add_stream_from_template(src, opaque=True)  # copy, no codec
            self.stream.time_base = tb
            self.offset = 0
        shift = self.offset - start
        delay = _dts_delay(ctx.name, packets, int(ticks))
        for packet in packets:
            packet.pts = (packet.pts or 0) + shift  # take() returns only packets with a pts
            if delay is not None:
                packet.dts = packet.pts - delay
            elif packet.dts is not None:
                packet.dts += shift
            packet.stream = self.stream
            self.container.mux(packet)
        begin = self.offset
        self.offset += length * int(ticks)
        return loc, float(begin * tb), float(self.offset * tb)

    def close(self) -> None:
        container, self.container = self.container, None
        if container is not None and self.path is not None:
            container.close()
            if self.path.exists():  # absent only when opening it failed, an error already on its way
                fsutil.fsync_file(self.path)


def _dts_delay(codec: str, packets: list[av.Packet], frame_ticks: int) -> int | None:
    """How far before its pts each packet's dts goes in the packed video (None: shift dts with pts).

    LeRobot joins video files with ffmpeg's concat demuxer (aggregate_datasets, lerobot-edit-dataset merge),
    which starts each file at the previous one's duration; its own h264 files (libx264 with B-frames) start
    their dts one frame before their pts. After a file whose dts equal its pts (the station's h264 has no
    B-frames) the joined dts would repeat, and LeRobot's merge fails ("non monotonically increasing dts").
    So an h264 stream without reordering (pts - dts the same for every packet) is written with its dts one
    frame early, as LeRobot's are: pts, and so every decoded frame and timestamp, stay as they were.
    """
    if codec != "h264" or not packets:
        return None
    gaps = {p.pts - p.dts if p.pts is not None and p.dts is not None else None for p in packets}
    return frame_ticks if len(gaps) == 1 and None not in gaps else None


# ----- the pack ----------------------------------------------------------------------------------


def pack_dataset(
    root: Path,
    data_mb: float | None = None,
    video_mb: float | None = None,
    on_progress: Progress | None = None,
    fault: Fault | None = None,
) -> PackResult:
    """Pack the dataset at `root` in place (see the module docstring). The caller holds the dataset lock.

    `data_mb` / `video_mb` override the info.json limits (tests use tiny ones). Raises DatasetError with
    nothing changed when the dataset cannot be packed.
    """
    fault = fault or _no_fault
    progress = on_progress or (lambda _done, _total: None)
    started = time.monotonic()
    root = Path(root).resolve()
    info = load_info(root)
    reader = DatasetReader(root)
    rows = reader.episodes()
    if len(rows) != reader.total_episodes:
        raise DatasetError(f"{root} counts {reader.total_episodes} episodes but its table has {len(rows)}")
    kept = [row for row in rows if not is_excluded(row)]
    if not rows:
        raise DatasetError(f"{root} has no episodes yet: there is nothing to pack")
    if not kept:
        raise DatasetError(f"every episode of {root} is excluded: there is nothing to pack")
    data_limit = int((data_mb if data_mb is not None else info["data_files_size_in_mb"]) * _MB)
    video_limit = int((video_mb if video_mb is not None else info["video_files_size_in_mb"]) * _MB)
    if data_limit <= 0 or video_limit <= 0:
        raise DatasetError("file size limits must be positive")
    chunks_size = int(info.get("chunks_size") or CHUNKS_SIZE)
    vkeys = video_keys(info["features"])
    before = dataset_files(root)
    result = PackResult(episodes=len(kept), excluded=len(rows) - len(kept), files_before=len(before))

    record = _read_packed_record(root)
    reuse = _reusable_prefix(rows, record, vkeys)
    if len(kept) == len(rows) and _already_packed(rows, record, vkeys):
        result.already_packed = True
        result.files_after = len(before)
        result.frames = reader.total_frames
        return result

    stage = stage_path(root)
    discard_pack_leftovers(root)
    fsutil.make_dirs(stage / _STATION_DIR)
    # The packed tree's own lock, taken now: once swapped in, a recorder must not find it free while the
    # old tree is still being deleted.
    stage_lock = _hold_lock(stage)
    try:
        _build(root, stage, info, reader, rows, kept, reuse, data_limit, video_limit, chunks_size, vkeys,
               result, progress, fault)
        _fsync_tree(stage)
        fsutil.fsync_dir(stage.parent)
        result.files_after = len(dataset_files(stage))
        result.bytes_in = sum(p.stat().st_size for p in before)
        fault("pack-staged")
        _exchange(stage, root)
    except BaseException:
        os.close(stage_lock)
        shutil.rmtree(stage, ignore_errors=True)
        raise
    try:
        fsutil.fsync_dir(root.parent)
        fault("pack-swapped")
        discard_pack_leftovers(root, fault)
    finally:
        os.close(stage_lock)
    result.seconds = time.monotonic() - started
    return result


def _hold_lock(path: Path) -> int:
    """flock the dataset folder at `path` (as DatasetLock does); returns the fd to close."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise
    return fd


def _already_packed(rows: list[dict[str, Any]], record: dict[str, list[list[int]]], vkeys: list[str]) -> bool:
    """True when every episode sits in files the last pack wrote (nothing new, nothing excluded since)."""
    if not record:
        return False
    for name, loc_cols in _stream_columns(vkeys).items():
        files = {tuple(x) for x in record.get(name, [])}
        if not files or any((row[loc_cols[0]], row[loc_cols[1]]) not in files for row in rows):
            return False
    return True


def _stream_columns(vkeys: list[str]) -> dict[str, tuple[str, str]]:
    cols = {"data": ("data/chunk_index", "data/file_index")}
    for key in vkeys:
        cols[f"videos/{key}"] = (f"videos/{key}/chunk_index", f"videos/{key}/file_index")
    return cols


def _reusable_prefix(
    rows: list[dict[str, Any]], record: dict[str, list[list[int]]], vkeys: list[str]
) -> dict[str, int]:
    """Per stream, how many leading episodes sit in sealed files of the last pack that can be kept as they
    are: every episode up to there kept (so nothing is renumbered) and each file whole."""
    first_excluded = next((i for i, row in enumerate(rows) if is_excluded(row)), len(rows))
    out: dict[str, int] = {}
    for name, (ccol, fcol) in _stream_columns(vkeys).items():
        sealed = [tuple(x) for x in record.get(name, [])][:-1]
        n = 0
        for loc in sealed:
            end = n
            while end < len(rows) and (rows[end][ccol], rows[end][fcol]) == loc:
                end += 1
            if end == n or end > first_excluded:
                break
            n = end
        out[name] = n
    return out


def _build(
    root: Path,
    stage: Path,
    info: dict[str, Any],
    reader: DatasetReader,
    rows: list[dict[str, Any]],
    kept: list[dict[str, Any]],
    reuse: dict[str, int],
    data_limit: int,
    video_limit: int,
    chunks_size: int,
    vkeys: list[str],
    result: PackResult,
    progress: Progress,
    fault: Fault,
) -> None:
    fps = int(info["fps"])
    old_tasks = reader.tasks
    new_tasks: list[str] = []
    for row in kept:
        for task in row.get("tasks") or []:
            if task not in new_tasks:
                new_tasks.append(task)
    task_map = np.array([new_tasks.index(t) if t in new_tasks else -1 for t in old_tasks], dtype=np.int64)

    record: dict[str, list[list[int]]] = {}
    reused_files = 0
    # Sealed files of the last pack: hard-linked, never rewritten.
    first: dict[str, int] = {}
    for name in _stream_columns(vkeys):
        record[name] = []
        first[name] = _link_sealed(root, stage, name, rows[: reuse[name]], chunks_size, record[name])
        reused_files += len(record[name])
    data_first = first["data"]
    video_first = {key: first[f"videos/{key}"] for key in vkeys}

    data_out = _DataOut(stage, _Rollover(data_limit, chunks_size, data_first))
    video_out = {key: _VideoOut(stage, key, _Rollover(video_limit, chunks_size, video_first[key]), fps)
                 for key in vkeys}
    data_cache: dict[Path, tuple[pa.Table, int]] = {}
    sources: dict[str, _PacketSource] = {}
    new_rows: list[dict[str, Any]] = []
    frames = 0
    try:
        for new_ep, row in enumerate(kept):
            old_ep = int(row["episode_index"])
            length = int(row["length"])
            label = f"episode {old_ep}"
            new = dict(row)
            new["episode_index"] = new_ep
            new["dataset_from_index"] = frames
            new["dataset_to_index"] = frames + length

            src_data = data_file(root, row["data/chunk_index"], row["data/file_index"])
            table, first_index = _data_source(data_cache, src_data)
            offset = int(row["dataset_from_index"]) - first_index
            piece = table.slice(offset, length)
            if piece.num_rows != length or piece.column("episode_index")[0].as_py() != old_ep:
                raise DatasetError(f"{src_data} does not hold the {length} rows of {label} where its table says")
            piece = _renumber(piece, new_ep, frames, task_map, label)
            if old_ep < reuse["data"]:
                new["data/chunk_index"], new["data/file_index"] = row["data/chunk_index"], row["data/file_index"]
            else:
                loc = data_out.add(piece, piece.nbytes)  # LeRobot too weighs an episode by its arrow size
                new["data/chunk_index"], new["data/file_index"] = loc
                if not record["data"] or record["data"][-1] != list(loc):
                    record["data"].append(list(loc))
            for stat_key in _RENUMBERED:
                if f"stats/{stat_key}/min" in new:
                    stats = numeric_stats(piece.column(stat_key).to_numpy())
                    for stat in STAT_NAMES:
                        new[f"stats/{stat_key}/{stat}"] = np.asarray(stats[stat]).tolist()

            for key in vkeys:
                name = f"videos/{key}"
                if old_ep < reuse[name]:
                    continue  # the row keeps its location and timestamps in the hard-linked file
                src_video = video_file(root, key, row[f"{name}/chunk_index"], row[f"{name}/file_index"])
                source = sources.get(key)
                if source is None or source.path != src_video:
                    if source is not None:
                        source.close()
                    source = sources[key] = _PacketSource(src_video)
                tb = source.stream.time_base
                if tb is None:
                    raise DatasetError(f"{src_video} has no time base: it cannot be packed")
                start = round(Fraction(row[f"{name}/from_timestamp"]) / tb)
                end = start + length * int(Fraction(1, fps) / tb)
                packets = source.take(start, end)
                if not packets:
                    raise DatasetError(f"{src_video} has no frames for {label} where its table says")
                loc, t0, t1 = video_out[key].add(source, packets, start, length, tb, label)
                new[f"{name}/chunk_index"], new[f"{name}/file_index"] = loc
                new[f"{name}/from_timestamp"], new[f"{name}/to_timestamp"] = t0, t1
                if not record[name] or record[name][-1] != list(loc):
                    record[name].append(list(loc))
            new_rows.append(new)
            frames += length
            progress(new_ep + 1, len(kept))
            fault("pack-episode")
    finally:
        data_out.close()
        for out in video_out.values():
            out.close()
        for source in sources.values():
            source.close()

    episode_file_count = _write_episode_rows(root, stage, new_rows, data_limit, chunks_size)
    _write_meta(stage, info, new_rows, new_tasks, frames)
    _carry_over(root, stage)
    fsutil.write_json_atomic(stage / PACKED_RECORD, {"streams": record})
    result.frames = frames
    result.data_files = data_out.rollover.count
    result.episode_files = episode_file_count
    result.video_files = {key: out.rollover.count for key, out in video_out.items()}
    result.reused_files = reused_files


def _stream_file(root: Path, name: str, chunk: int, file: int) -> Path:
    """The file of stream `name` ("data" or "videos/<key>") at (chunk, file) under `root`."""
    if name == "data":
        return data_file(root, chunk, file)
    return video_file(root, name[len("videos/") :], chunk, file)


def _link_sealed(
    root: Path, stage: Path, name: str, rows: list[dict[str, Any]], chunks_size: int, record: list[list[int]]
) -> int:
    """Hard-link the `name` files holding `rows` into the stage; returns the next file number."""
    seen: list[tuple[int, int]] = []
    for row in rows:
        loc = (int(row[f"{name}/chunk_index"]), int(row[f"{name}/file_index"]))
        if not seen or seen[-1] != loc:
            seen.append(loc)
            dst = _stream_file(stage, name, *loc)
            fsutil.make_dirs(dst.parent)
            _link_or_copy(str(_stream_file(root, name, *loc)), str(dst))
            record.append(list(loc))
    if not seen:
        return 0
    chunk, file = seen[-1]
    return chunk * chunks_size + file + 1


def _data_source(cache: dict[Path, tuple[pa.Table, int]], path: Path) -> tuple[pa.Table, int]:
    """(table, its first global index); one source file stays in memory at a time."""
    if path not in cache:
        cache.clear()
        table = read_parquet(path)
        first = int(table.column("index")[0].as_py()) if table.num_rows else 0
        cache[path] = (table, first)
    return cache[path]


def _renumber(piece: pa.Table, episode: int, first_index: int, task_map: np.ndarray, label: str) -> pa.Table:
    n = piece.num_rows
    old_tasks = piece.column("task_index").to_numpy()
    if len(old_tasks) and (old_tasks.min() < 0 or old_tasks.max() >= len(task_map)):
        raise DatasetError(f"{label} refers to a task that is not in meta/tasks.parquet")
    new_tasks = task_map[old_tasks]
    if (new_tasks < 0).any():
        raise DatasetError(f"{label} has rows whose task is missing from its tasks list")
    columns = {
        "episode_index": np.full(n, episode, dtype=np.int64),
        "index": np.arange(first_index, first_index + n, dtype=np.int64),
        "task_index": new_tasks.astype(np.int64),
    }
    for name, values in columns.items():
        i = piece.schema.get_field_index(name)
        piece = piece.set_column(i, piece.schema.field(i), pa.array(values, type=piece.schema.field(i).type))
    return piece


def _write_episode_rows(
    root: Path, stage: Path, rows: list[dict[str, Any]], limit: int, chunks_size: int
) -> int:
    """The meta/episodes files, rolled over at the data size limit like LeRobot's writer."""
    schemas = [
        pq.read_schema(path).remove_metadata()
        for path in sorted((root / "meta" / "episodes").glob("chunk-*/file-*.parquet"))
    ]
    schema = pa.unify_schemas(schemas)
    rollover = _Rollover(limit, chunks_size)
    groups: list[tuple[tuple[int, int], list[dict[str, Any]]]] = []
    for row in rows:
        loc, new_file = rollover.place(pa.Table.from_pylist([row], schema=schema).nbytes)
        if new_file:
            groups.append((loc, []))
        row["meta/episodes/chunk_index"], row["meta/episodes/file_index"] = loc
        groups[-1][1].append(row)
    for loc, group in groups:
        path = episodes_file(stage, *loc)
        fsutil.make_dirs(path.parent)
        pq.write_table(pa.Table.from_pylist(group, schema=schema), path, compression="snappy")
        fsutil.fsync_file(path)
    return rollover.count


def _write_meta(stage: Path, info: dict[str, Any], rows: list[dict[str, Any]], tasks: list[str], frames: int) -> None:
    from station.dataset.writer import tasks_table

    per_episode: list[dict[str, dict[str, np.ndarray]]] = []
    for row in rows:
        stats: dict[str, dict[str, np.ndarray]] = {}
        for col, value in row.items():
            if col.startswith("stats/") and value is not None:
                feature, stat = col[len("stats/") :].rsplit("/", 1)
                stats.setdefault(feature, {})[stat] = np.asarray(value)
        per_episode.append(stats)
    new_info = dict(info)
    new_info.update(
        total_episodes=len(rows),
        total_frames=frames,
        total_tasks=len(tasks),
        splits={"train": f"0:{len(rows)}"},
    )
    fsutil.make_dirs(stage / "meta")
    pq.write_table(tasks_table(tasks), stage / TASKS_PATH)
    fsutil.fsync_file(stage / TASKS_PATH)
    fsutil.write_json_atomic(stage / STATS_PATH, stats_to_json(aggregate_stats(per_episode)))
    fsutil.write_json_atomic(stage / INFO_PATH, new_info)


def _carry_over(root: Path, stage: Path) -> None:
    """Everything else in the dataset folder (a README, .gitattributes, the station's own notes) comes along,
    hard-linked; the lock, the spool and journals belong to one tree and are not carried."""
    for entry in sorted(root.iterdir()):
        if entry.name in ("meta", "data", "videos"):
            continue
        if entry.name == _STATION_DIR:
            for sub in sorted(entry.iterdir()):
                if sub.name not in _NOT_COPIED and not fsutil.is_temp_name(sub.name):
                    _link_tree(sub, stage / _STATION_DIR / sub.name)
            continue
        _link_tree(entry, stage / entry.name)


def _link_tree(src: Path, dst: Path) -> None:
    if src.is_symlink():
        os.symlink(os.readlink(src), dst)
    elif src.is_dir():
        shutil.copytree(src, dst, copy_function=_link_or_copy, symlinks=True)
    else:
        _link_or_copy(str(src), str(dst))


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _fsync_tree(top: Path) -> None:
    """Files were fsynced as they were closed; make every folder entry durable before the swap."""
    for dirpath, _dirnames, _filenames in os.walk(top):
        fsutil.fsync_dir(Path(dirpath))


# ----- the swap ----------------------------------------------------------------------------------

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> None:
    """Swap two folders in one atomic step (renameat2 RENAME_EXCHANGE, Linux 3.15+ on ext4, xfs, btrfs, tmpfs)."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise DatasetError("this system cannot swap folders atomically (no renameat2): pack needs that to stay "
                           "crash-safe; nothing was changed")
    rc = renameat2(_AT_FDCWD, os.fsencode(str(a)), _AT_FDCWD, os.fsencode(str(b)), _RENAME_EXCHANGE)
    if rc != 0:
        err = ctypes.get_errno()
        shutil.rmtree(a, ignore_errors=True)
        if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
            raise DatasetError(f"the filesystem of {b} cannot swap folders atomically, which pack needs to stay "
                               "crash-safe; nothing was changed")
        raise DatasetError(f"cannot put the packed dataset in place of {b}: {os.strerror(err)}; nothing was changed")


def pack_recommended(root: Path) -> bool:
    """Would packing change something worth it: excluded episodes to leave out, or neighbouring files that
    fit together under info.json's limits (a dataset as recorded, one file per episode)."""
    root = Path(root)
    info = load_info(root)
    rows = DatasetReader(root).episodes()
    if any(is_excluded(row) for row in rows):
        return True
    vkeys = video_keys(info["features"])
    if _already_packed(rows, _read_packed_record(root), vkeys):
        return False
    chunks_size = int(info.get("chunks_size") or CHUNKS_SIZE)
    for name, (ccol, fcol) in _stream_columns(vkeys).items():
        limit = (info["data_files_size_in_mb"] if name == "data" else info["video_files_size_in_mb"]) * _MB
        locs = sorted({(int(r[ccol]), int(r[fcol])) for r in rows})
        sizes = [_stream_file(root, name, *loc).stat().st_size for loc in locs]
        if any(a + b < limit for a, b in zip(sizes, sizes[1:], strict=False)):
            return True
        if len(locs) > 1 and any(chunks_size * c + f != k for k, (c, f) in enumerate(locs)):
            return True  # gaps in the file numbering: an append after a pack
    return False


def excluded_episodes(root: Path) -> list[int]:
    """The episodes of the dataset at `root` marked excluded (pack leaves them out), in order."""
    return [int(row["episode_index"]) for row in DatasetReader(Path(root)).episodes() if is_excluded(row)]


def excluded_words(excluded: list[int]) -> str:
    """What packing does to the excluded episodes, for a question before it: "" when there are none."""
    if not excluded:
        return ""
    shown = ", ".join(str(e) for e in excluded[:10]) + (", …" if len(excluded) > 10 else "")
    return (f"packing deletes the {len(excluded)} excluded episode{'s' if len(excluded) != 1 else ''} "
            f"({shown}) for good and renumbers the episodes after them")

"""Append episodes to a LeRobot v3.0 dataset, one file per episode, atomically and durably.

A commit writes every new file under a hidden temp name, then a journal listing the renames that publish
them, then performs the renames back to back: videos, tasks, the episodes row, the data, stats, info.json
last, so that every state in between (and after a crash) loads in LeRobot (docs/commit.md). A crash before
the journal leaves only temp files (deleted by `repair`); a crash after it is rolled forward by `repair`.
So the totals in info.json never run ahead of the files on disk, and the cost of a commit does not grow
with the dataset (stats are folded in, not recomputed; only the new episode's files are written).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from station.dataset import fsutil
from station.dataset.check import check_dataset
from station.dataset.episode_facts import COLUMNS as FACT_COLUMNS
from station.dataset.episode_facts import EpisodeFacts, with_facts
from station.dataset.features import (
    ACTION,
    EP_DATA_CHUNK,
    EP_DATA_FILE,
    EP_FROM_INDEX,
    EP_INDEX,
    EP_LENGTH,
    EP_META_CHUNK,
    EP_META_FILE,
    EP_TASKS,
    EP_TO_INDEX,
    INFO_PATH,
    STATE,
    STATS_PATH,
    TASKS_PATH,
    build_info,
    column_keys,
    data_file,
    episode_location,
    episodes_file,
    stats_column,
    video_column,
    video_file,
    video_keys,
)
from station.dataset.fsutil import JOURNAL_PATH
from station.dataset.reader import load_info, load_stats, load_tasks, read_last_episode, spec_from_info
from station.dataset.repo_id import repo_id_problem, store_repo_id
from station.dataset.spec import DatasetSpec
from station.dataset.stats import STAT_NAMES, aggregate_stats, numeric_stats, stats_to_json
from station.dataset.video import encodable_size_problem, video_stream_info
from station.errors import DatasetError, DatasetExistsError, describe_error

# meta/ of a dataset being created, before its one rename into place (a hidden temp name: see fsutil)
log = logging.getLogger(__name__)

_STAGING_META = ".meta.tmp"


def creation_leftovers(root: Path) -> list[Path]:
    """What a creation interrupted by a kill or a full disk may have left in `root`: the staging folder,
    and a meta/ holding nothing but temp files (left by stations that created meta/ before info.json)."""
    root = Path(root)
    found = [root / _STAGING_META] if (root / _STAGING_META).exists() else []
    meta = root / "meta"
    if meta.is_dir() and not meta.is_symlink() and all(fsutil.is_temp_name(p.name) for p in meta.iterdir()):
        found.append(meta)
    return found


def is_empty_but_for_leftovers(root: Path) -> bool:
    """True when `root` holds nothing but what an interrupted creation left: a new dataset may go there."""
    leftovers = set(creation_leftovers(root))
    return all(p in leftovers for p in Path(root).iterdir())


@dataclass
class EpisodeData:
    task: str
    action: np.ndarray  # (N, 6) float32 — the leader
    state: np.ndarray  # (N, 6) float32 — the follower
    videos: dict[str, Path]  # camera name -> finished mp4 with exactly N frames, same filesystem
    image_stats: dict[str, dict[str, np.ndarray]]  # camera name -> image_stats(...)
    facts: EpisodeFacts | None = None  # the station/... columns of its episodes row (defaults when None)


def _no_fault(_point: str) -> None:
    """The commit points' hook in production: nothing."""


class DatasetWriter:
    """The one object that changes a dataset on disk. Build it with `create` or `open`."""

    def __init__(
        self,
        root: Path,
        spec: DatasetSpec,
        repo_id: str | None = None,
        fault: Callable[[str], None] | None = None,
    ) -> None:
        self.root = Path(root)
        # Called with the name of each point of a commit; crash tests inject a hook that kills or raises there.
        self._fault: Callable[[str], None] = fault or _no_fault
        self.spec = spec
        self.repo_id = repo_id
        self.info: dict[str, Any] = {}
        self.stats: dict[str, dict[str, np.ndarray]] = {}
        self.tasks: list[str] = []
        self.total_episodes = 0
        self.total_frames = 0
        self.writes_facts = True  # the station/... episodes columns: written unless older episodes lack them
        self._load_state()

    # ----- construction -------------------------------------------------------------------------

    @classmethod
    def create(
        cls, root: Path, repo_id: str, spec: DatasetSpec, fault: Callable[[str], None] | None = None
    ) -> DatasetWriter:
        """Start a new, empty dataset at `root` (meta/info.json with 0 episodes), atomically.

        meta/ is built under a hidden temp name inside `root` and renamed into place in one step, so a kill
        or a full disk leaves either no dataset or a whole one: never a `meta/` without info.json. What an
        interrupted creation left (see `creation_leftovers`) does not count as content and is cleared here.
        """
        root = Path(root)
        problem = repo_id_problem(repo_id)
        if problem:
            raise DatasetError(problem)
        if spec.fps <= 0:
            raise DatasetError(f"fps must be positive, not {spec.fps}")
        for cam in spec.cameras:
            problem = encodable_size_problem(cam.width, cam.height)
            if problem:
                raise DatasetError(f"camera {cam.name} {problem}")
        if (root / INFO_PATH).exists():
            raise DatasetExistsError(f"{root} already holds a dataset: use --resume to add episodes to it", root)
        if root.exists() and (not root.is_dir() or not is_empty_but_for_leftovers(root)):
            raise DatasetError(f"{root} exists and is not empty: choose a new folder for the dataset")
        info = build_info(spec)
        made_root = not root.exists()
        staging = root / _STAGING_META
        try:
            fsutil.make_dirs(root)
            for leftover in creation_leftovers(root):
                shutil.rmtree(leftover)
            staging.mkdir()
            fsutil.write_json_atomic(staging / "info.json", info)
            (fault or _no_fault)("create-before-publish")
            fsutil.replace_durably(staging, root / "meta")
        except OSError as e:
            shutil.rmtree(staging, ignore_errors=True)
            if made_root:
                with contextlib.suppress(OSError):
                    root.rmdir()
            raise DatasetError(f"cannot create a dataset in {root}: {e.strerror or e}") from e
        try:
            store_repo_id(root, repo_id)  # LeRobot's files do not hold the name: whoever opens it later reads it here
        except OSError as e:  # the dataset is made; only the name shown on opening falls back to the folder's
            log.warning("could not keep the dataset's name in %s: %s", root, e.strerror or e)
        return cls(root, spec, repo_id, fault)

    @classmethod
    def open(cls, root: Path, spec: DatasetSpec, fault: Callable[[str], None] | None = None) -> DatasetWriter:
        """Resume a dataset: finish or undo an interrupted commit, then refuse an incompatible `spec`.

        An incompatible dataset raises DatasetError naming the first difference, with nothing changed.
        """
        root = Path(root)
        load_info(root)  # not a dataset / corrupt info.json -> DatasetError before touching anything
        repair_dataset(root)
        problems = check_dataset(root, decode_videos=False)
        if problems:  # never append to a dataset `station check` calls invalid
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise DatasetError(f"{root} is damaged: {' '.join(problems[0].split())}{more}; run `station check {root}`")
        writer = cls(root, spec, fault=fault)
        problem = compatibility_problem(writer.info, spec)
        if problem:
            raise DatasetError(problem)
        return writer

    def _load_state(self) -> None:
        info = load_info(self.root)
        tasks = load_tasks(self.root) if (self.root / TASKS_PATH).exists() else []
        stats = load_stats(self.root) if (self.root / STATS_PATH).exists() else {}
        if len(tasks) != info["total_tasks"]:
            raise DatasetError(
                f"{self.root} counts {info['total_tasks']} tasks in info.json but has {len(tasks)} in tasks.parquet"
            )
        last = read_last_episode(self.root) if info["total_episodes"] > 0 else None
        if info["total_episodes"] > 0 and (
            last is None
            or last[EP_INDEX] != info["total_episodes"] - 1
            or last[EP_TO_INDEX] != info["total_frames"]
        ):
            raise DatasetError(
                f"{self.root} is inconsistent: its episode table does not end at the "
                f"{info['total_episodes']} episodes info.json counts (run `station check` on it)"
            )
        self.info, self.tasks, self.stats = info, tasks, stats
        # Every episodes file holds the same columns (LeRobot reads them as one table): a dataset recorded
        # without the station's columns goes on without them until `station mark`/`exclude` adds them to all.
        self.writes_facts = last is None or all(name in last for name in FACT_COLUMNS)
        self.total_episodes = int(info["total_episodes"])
        self.total_frames = int(info["total_frames"])

    # ----- recovery ----------------------------------------------------------------------------

    def repair(self) -> list[str]:
        """Roll an interrupted commit forward (journal) and delete leftover temp files."""
        done = repair_dataset(self.root)
        self._load_state()
        return done

    # ----- commit ------------------------------------------------------------------------------

    def commit_episode(self, ep: EpisodeData, on_stage: Callable[[str], None] | None = None) -> int:
        """Append one episode; returns its episode_index. See the module docstring for the protocol."""
        stage = on_stage or (lambda _name: None)
        if (self.root / JOURNAL_PATH).exists():
            self.repair()
        n = self._validate(ep)
        e, start = self.total_episodes, self.total_frames
        chunk, file = episode_location(e)
        fps = int(self.info["fps"])
        tasks = list(self.tasks)
        if ep.task not in tasks:
            tasks.append(ep.task)
        task_index = tasks.index(ep.task)
        features = self.info["features"]

        renames: list[tuple[Path, Path]] = []
        temps: list[Path] = []
        try:
            stage("writing videos")
            for cam in self.spec.cameras:
                src, final = Path(ep.videos[cam.name]), video_file(self.root, cam.key, chunk, file)
                fsutil.make_dirs(final.parent)
                inside = src.resolve().is_relative_to(self.root.resolve())  # the journal names only paths inside
                if inside and fsutil.same_filesystem(src, final.parent):
                    src = self.root / src.resolve().relative_to(self.root.resolve())
                else:
                    src = fsutil.copy_to_temp(src, final)
                    temps.append(src)
                renames.append((src, final))

            stage("writing frames table")
            table = data_table(column_keys(features), ep.action, ep.state, fps, e, start, task_index)
            ep_stats = _episode_stats(features, table, ep, self.spec)
            data_temp = _write_temp_parquet(data_file(self.root, chunk, file), table)
            temps.append(data_temp)

            stage("writing episode table")
            row = episode_table(
                episode_index=e,
                task=ep.task,
                length=n,
                chunk_file=(chunk, file),
                from_index=start,
                fps=fps,
                video_keys=[cam.key for cam in self.spec.cameras],
                stats=ep_stats,
            )
            if self.writes_facts:
                row = with_facts(row, [ep.facts or EpisodeFacts()])
            # Published in the order that keeps every instant loadable by LeRobot: what a row refers to (its
            # videos, its task) before the row, the episode's row before its data, totals last.
            if len(tasks) != len(self.tasks):
                final = self.root / TASKS_PATH
                temps.append(_write_temp_parquet(final, tasks_table(tasks)))
                renames.append((temps[-1], final))
            final = episodes_file(self.root, chunk, file)
            temps.append(_write_temp_parquet(final, row))
            renames.append((temps[-1], final))
            renames.append((data_temp, data_file(self.root, chunk, file)))

            stage("updating stats")
            new_stats = aggregate_stats([self.stats, ep_stats]) if self.stats else aggregate_stats([ep_stats])
            temps.append(fsutil.write_temp_json(self.root / STATS_PATH, stats_to_json(new_stats)))
            renames.append((temps[-1], self.root / STATS_PATH))
            info = dict(self.info)
            info.update(
                total_episodes=e + 1,
                total_frames=start + n,
                total_tasks=len(tasks),
                splits={"train": f"0:{e + 1}"},
            )
            temps.append(fsutil.write_temp_json(self.root / INFO_PATH, info))
            renames.append((temps[-1], self.root / INFO_PATH))
            # The journal must never name a file whose directory entry could still be lost in a crash.
            for folder in sorted({src.parent for src, _ in renames}):
                fsutil.fsync_dir(folder)
            self._fault("after-temp-files")
            stage("saving")
            fsutil.write_journal(self.root, f"episode {e}", renames)
        except BaseException:
            for tmp in temps:
                fsutil.remove_quietly(tmp)
            fsutil.remove_quietly(fsutil.temp_path_for(self.root / JOURNAL_PATH))
            raise

        # From here on the journal makes the commit recoverable: a failure leaves it for repair().
        self._fault("after-journal")
        self._publish(renames, chunk, file)

        self.info, self.stats, self.tasks = info, new_stats, tasks
        self.total_episodes, self.total_frames = e + 1, start + n
        stage("saved")
        return e

    def _publish(self, renames: list[tuple[Path, Path]], chunk: int, file: int) -> None:
        """Rename the commit's files into place back to back, info.json last, then make it all durable.

        No fsync between renames: the journal (already durable) finishes them after a crash, and a short
        publishing window is what readers that are not the station see least of (docs/commit.md).
        """
        after = {
            video_file(self.root, cam.key, chunk, file): "published-videos" for cam in self.spec.cameras[-1:]
        }
        after[self.root / TASKS_PATH] = "published-tasks"
        after[episodes_file(self.root, chunk, file)] = "published-episodes"
        after[data_file(self.root, chunk, file)] = "mid-rename"
        for src, dst in renames:
            if dst == self.root / INFO_PATH:
                self._fault("before-info")
            os.replace(src, dst)
            if dst in after:
                self._fault(after[dst])
        for folder in sorted({dst.parent for _, dst in renames} | {src.parent for src, _ in renames}):
            fsutil.fsync_dir(folder)
        fsutil.remove_quietly(self.root / JOURNAL_PATH)
        fsutil.fsync_dir((self.root / JOURNAL_PATH).parent)

    def _validate(self, ep: EpisodeData) -> int:
        """Refuse an episode that would make the dataset invalid, before anything is written."""
        joints = len(self.spec.joint_names)
        if not isinstance(ep.task, str) or not ep.task.strip():
            raise DatasetError("the episode has no task description: type what the robot should do")
        action, state = np.asarray(ep.action), np.asarray(ep.state)
        n = action.shape[0] if action.ndim == 2 else 0
        if action.shape != (n, joints) or state.shape != (n, joints) or n == 0:
            raise DatasetError(
                f"the episode's action {action.shape} and state {state.shape} are not the same "
                f"non-empty (frames, {joints}) arrays"
            )
        if not (np.isfinite(action).all() and np.isfinite(state).all()):
            raise DatasetError("the episode has missing (NaN) joint positions and cannot be saved")
        names = {cam.name for cam in self.spec.cameras}
        if set(ep.videos) != names or set(ep.image_stats) != names:
            raise DatasetError(
                f"the episode has videos for {sorted(ep.videos)} but the dataset records {sorted(names)}"
            )
        for cam in self.spec.cameras:
            path = Path(ep.videos[cam.name])
            if not path.is_file():
                raise DatasetError(f"the {cam.name} video of the episode is missing ({path})")
            facts = video_stream_info(path)
            if facts["frames"] != n:
                raise DatasetError(f"the {cam.name} video has {facts['frames']} frames but the episode has {n} rows")
            if (facts["width"], facts["height"]) != (cam.width, cam.height):
                raise DatasetError(
                    f"the {cam.name} video is {facts['width']}x{facts['height']} "
                    f"but the dataset records {cam.width}x{cam.height}"
                )
            stats = ep.image_stats[cam.name]
            for name in STAT_NAMES:
                want = (1,) if name == "count" else (3, 1, 1)
                if name not in stats or np.asarray(stats[name]).shape != want:
                    raise DatasetError(f"the {cam.name} image stats lack a {want}-shaped {name!r}")
        return n


def _episode_stats(
    features: dict[str, Any], table: pa.Table, ep: EpisodeData, spec: DatasetSpec
) -> dict[str, dict[str, np.ndarray]]:
    """Stats of every numeric feature of one episode (defaults included) and the cameras' image stats,
    in the declared feature order (LeRobot's column order in the episodes table)."""
    images = {cam.key: ep.image_stats[cam.name] for cam in spec.cameras}
    stats: dict[str, dict[str, np.ndarray]] = {}
    for key in features:
        if key in images:
            stats[key] = {name: np.asarray(v) for name, v in images[key].items()}
        elif key in table.column_names:
            col = table.column(key).combine_chunks()
            if key in (ACTION, STATE):
                values = col.values.to_numpy(zero_copy_only=False).reshape(len(col), -1)
            else:
                values = col.to_numpy(zero_copy_only=False)
            stats[key] = numeric_stats(values)
    return stats


def _write_temp_parquet(final: Path, table: pa.Table) -> Path:
    """One row group, snappy, under the temp name of `final`, fsynced."""
    fsutil.make_dirs(final.parent)
    tmp = fsutil.temp_path_for(final)
    pq.write_table(table, tmp, compression="snappy", row_group_size=max(1, table.num_rows))
    fsutil.fsync_file(tmp)
    return tmp


# ----- recovery ----------------------------------------------------------------------------------

# Only our own folders: .station/spool belongs to the recorder, which writes its own temp files meanwhile.
_DATASET_FOLDERS = ("meta", "data", "videos")


def repair_dataset(root: Path) -> list[str]:
    """Finish an interrupted commit (if its journal exists) and delete leftover temp files.

    Returns one plain sentence per thing done; [] when the dataset was already clean.
    """
    from station.dataset.pack import discard_pack_leftovers

    done: list[str] = []
    try:
        leftovers = discard_pack_leftovers(root)
        if leftovers:
            done.append(leftovers)
        label = fsutil.roll_forward(root)
        if label is not None:
            done.append(f"finished saving {label}, which had been interrupted")
        stray = list(fsutil.iter_temp_files(root, _DATASET_FOLDERS))
        journal_tmp = fsutil.temp_path_for(root / fsutil.JOURNAL_PATH)
        if journal_tmp.exists():
            stray.append(journal_tmp)
        for path in stray:
            fsutil.remove_quietly(path)
            fsutil.fsync_dir(path.parent)
        if stray:
            done.append(f"deleted {len(stray)} temporary file(s) left by an interrupted save")
    except OSError as e:
        raise DatasetError(f"cannot repair {root}: {describe_error(e)}") from e  # plain words, not Python's
    return done


# ----- resume compatibility ----------------------------------------------------------------------


def compatibility_problem(info: dict[str, Any], spec: DatasetSpec, what: str = "this session") -> str | None:
    """The first difference that makes appending `spec` episodes to this dataset wrong, or None.

    `what` names where `spec` comes from in the sentence ("this session", "the take in take-...")."""
    have = spec_from_info(info)
    where = "the dataset"
    if have.fps != spec.fps:
        return f"{where} records at {have.fps} fps but {what} is at {spec.fps} fps"
    if have.robot_type != spec.robot_type:
        return f"{where} is for robot type {have.robot_type!r} but {what} records {spec.robot_type!r}"
    if tuple(have.joint_names) != tuple(spec.joint_names):
        return f"{where} has joints {', '.join(have.joint_names)}, not {', '.join(spec.joint_names)}"
    old = {c.name: c for c in have.cameras}
    new = {c.name: c for c in spec.cameras}
    if set(old) != set(new):
        return (
            f"{where} has cameras {', '.join(sorted(old)) or 'none'} "
            f"but {what} has {', '.join(sorted(new)) or 'none'}"
        )
    expected = set(build_info(spec)["features"])
    extra = sorted(set(info["features"]) - expected - set(video_keys(info["features"])))
    if extra:
        return f"{where} has features this station does not record: {', '.join(extra)}"
    for name in sorted(new):
        a, b = old[name], new[name]
        if (a.width, a.height) != (b.width, b.height):
            return f"{where} records camera {name} at {a.width}x{a.height}, not {b.width}x{b.height}"
    if spec.cameras:
        vinfo = info["features"][spec.cameras[0].key].get("info") or {}
        ours = build_info(spec)["features"][spec.cameras[0].key]["info"]
        for key in ("video.codec", "video.pix_fmt", "video.g", "video.crf", "video.preset"):
            if key in vinfo and vinfo[key] != ours[key]:
                return f"{where} videos use {key.split('.')[1]} {vinfo[key]!r}, not {ours[key]!r}"
    return None


# ----- tables ------------------------------------------------------------------------------------


def _vector_column(values: np.ndarray) -> pa.Array:
    arr = np.ascontiguousarray(values, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(arr.reshape(-1), type=pa.float32()), arr.shape[1])


def data_table(
    columns: list[str],
    action: np.ndarray,
    state: np.ndarray,
    fps: int,
    episode_index: int,
    from_index: int,
    task_index: int,
) -> pa.Table:
    """One row per tick; columns exactly the declared non-video features, in their declared order."""
    n = len(action)
    frame_index = np.arange(n, dtype=np.int64)
    arrays: dict[str, pa.Array] = {
        ACTION: _vector_column(action),
        STATE: _vector_column(state),
        "timestamp": pa.array((frame_index / fps).astype(np.float32), type=pa.float32()),
        "frame_index": pa.array(frame_index, type=pa.int64()),
        "episode_index": pa.array(np.full(n, episode_index, dtype=np.int64), type=pa.int64()),
        "index": pa.array(np.arange(from_index, from_index + n, dtype=np.int64), type=pa.int64()),
        "task_index": pa.array(np.full(n, task_index, dtype=np.int64), type=pa.int64()),
    }
    return pa.table({name: arrays[name] for name in columns})


def _stat_type(value: np.ndarray, name: str) -> pa.DataType:
    """list<double> for vectors (integer features too), list<int64> for count, nested lists for (3, 1, 1)."""
    t: pa.DataType = pa.int64() if name == "count" else pa.float64()
    for _ in range(np.asarray(value).ndim):
        t = pa.list_(t)
    return t


def episode_table(
    episode_index: int,
    task: str,
    length: int,
    chunk_file: tuple[int, int],
    from_index: int,
    fps: int,
    video_keys: list[str],
    stats: dict[str, dict[str, np.ndarray]],
) -> pa.Table:
    """The one-row meta/episodes table of an episode, columns in LeRobot's order."""
    chunk, file = chunk_file
    row: dict[str, tuple[Any, pa.DataType]] = {
        EP_INDEX: (episode_index, pa.int64()),
        EP_TASKS: ([task], pa.list_(pa.string())),
        EP_LENGTH: (length, pa.int64()),
        EP_DATA_CHUNK: (chunk, pa.int64()),
        EP_DATA_FILE: (file, pa.int64()),
        EP_FROM_INDEX: (from_index, pa.int64()),
        EP_TO_INDEX: (from_index + length, pa.int64()),
    }
    for key in video_keys:
        row[video_column(key, "chunk_index")] = (chunk, pa.int64())
        row[video_column(key, "file_index")] = (file, pa.int64())
        row[video_column(key, "from_timestamp")] = (0.0, pa.float64())
        row[video_column(key, "to_timestamp")] = (length / fps, pa.float64())
    for feature, fstats in stats.items():
        for name in STAT_NAMES:
            value = np.asarray(fstats[name])
            row[stats_column(feature, name)] = (value.tolist(), _stat_type(value, name))
    row[EP_META_CHUNK] = (chunk, pa.int64())
    row[EP_META_FILE] = (file, pa.int64())
    return pa.table({name: pa.array([value], type=t) for name, (value, t) in row.items()})


def tasks_table(tasks: list[str]) -> pa.Table:
    """task_index with the task text as the pandas index "task" (LeRobot reads it with pandas)."""
    table = pa.table(
        {
            "task_index": pa.array(range(len(tasks)), type=pa.int64()),
            "task": pa.array(tasks, type=pa.string()),
        }
    )
    pandas_meta = {
        "index_columns": ["task"],
        "column_indexes": [
            {
                "name": None,
                "field_name": None,
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": {"encoding": "UTF-8"},
            }
        ],
        "columns": [
            {
                "name": "task_index",
                "field_name": "task_index",
                "pandas_type": "int64",
                "numpy_type": "int64",
                "metadata": None,
            },
            {
                "name": "task",
                "field_name": "task",
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": None,
            },
        ],
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.3",
    }
    return table.replace_schema_metadata({b"pandas": json.dumps(pandas_meta).encode("utf-8")})

"""Validate a dataset against everything LeRobot v3.0 is strict about, in plain words.

LeRobot often fails late (at training time) or silently (a shifted video, a task that reads as its row
number). `check_dataset` looks for those problems up front and says what is wrong where. It reads any v3.0
layout, not just the one-file-per-episode layout our writer uses.
"""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import av
import numpy as np
import pyarrow as pa

from station.dataset import fsutil
from station.dataset.features import (
    DATA_PATH,
    DEFAULT_FEATURES,
    EP_DATA_CHUNK,
    EP_DATA_FILE,
    EP_FROM_INDEX,
    EP_INDEX,
    EP_LENGTH,
    EP_TASKS,
    EP_TO_INDEX,
    INFO_PATH,
    STATS_PATH,
    STATS_PREFIX,
    TASKS_PATH,
    VIDEO_PATH,
    column_keys,
    episode_columns,
    numeric_keys,
    video_column,
    video_file,
    video_keys,
)
from station.dataset.reader import (
    data_files,
    episode_files,
    info_problems,
    load_info,
    load_tasks,
    one_line,
    read_parquet,
    task_text_column,
)
from station.dataset.stats import STAT_NAMES
from station.dataset.video import probe_video, video_stream_info
from station.errors import DatasetError

# What reading a damaged file raises (parquet, JSON, mp4, or values of the wrong shape or type). A bug of the
# checker's own (anything else) is not passed off as a damaged dataset.
MALFORMED = (pa.ArrowException, av.FFmpegError, OSError, ValueError, KeyError, TypeError, IndexError, AttributeError,
             ZeroDivisionError)

T = TypeVar("T")
TIMESTAMP_TOLERANCE_S = 1e-4
MAX_PER_KIND = 5  # the same problem in 1000 files is reported 5 times and then counted
VIDEO_INFO_KEYS = (
    "video.height",
    "video.width",
    "video.codec",
    "video.pix_fmt",
    "is_depth_map",
    "video.fps",
    "video.channels",
    "has_audio",
)


class _Problems:
    """Collects problem sentences; repeats of one kind beyond a few are summarised in one line."""

    def __init__(self) -> None:
        self._by_kind: dict[str, list[str]] = defaultdict(list)
        self._order: list[str] = []

    def add(self, message: str, kind: str | None = None) -> None:
        kind = kind or message
        if kind not in self._by_kind:
            self._order.append(kind)
        self._by_kind[kind].append(message)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_kind.values())

    def lines(self) -> list[str]:
        out: list[str] = []
        for kind in self._order:
            messages = self._by_kind[kind]
            out.extend(messages[:MAX_PER_KIND])
            if len(messages) > MAX_PER_KIND:
                out.append(f"... and {len(messages) - MAX_PER_KIND} more like the one above")
        return out


SNAPSHOT_TRIES = 20  # a check that overlapped a commit is run again, up to this many times ...
SNAPSHOT_WAIT_S = 0.05  # ... this long apart


def check_dataset(root: Path, decode_videos: bool = True) -> list[str]:
    """Every problem found in `root`, one plain sentence each; [] means LeRobot will accept it.

    A station may be committing while this runs: the result is that of one state of the dataset. A check
    that overlapped a commit (its journal was there, or info.json changed meanwhile: the writer renames
    info.json last and removes the journal after it) is run again; a station's temp files are its work in
    progress, not leftovers, while it holds the dataset's lock. See docs/commit.md.
    """
    root = Path(root)
    problems: list[str] = []
    for _ in range(SNAPSHOT_TRIES):
        before = _commit_state(root)
        running = station_running(root)
        problems = _Checker(root, decode_videos, running).run()
        if _commit_state(root) == before and not (before[0] and running):
            return problems
        time.sleep(SNAPSHOT_WAIT_S)
    return problems


def _commit_state(root: Path) -> tuple[bool, tuple[int, int, int] | None]:
    """(a commit's journal is there, info.json's identity): equal before and after a read = no commit between."""
    try:
        st = os.stat(root / INFO_PATH)
        info = (st.st_ino, st.st_mtime_ns, st.st_size)
    except OSError:
        info = None
    return (root / fsutil.JOURNAL_PATH).exists(), info


def station_running(root: Path) -> bool:
    """True while a station holds the dataset's lock (station/saving/lock.py: a flock on the folder)."""
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # releases the probe's shared lock at once
    return False


def _arrow_type(dtype: Any) -> pa.DataType | None:
    """The arrow type of a feature dtype ("float32" -> float), None when it has no scalar column type."""
    if dtype == "string":
        return pa.string()
    try:
        return pa.from_numpy_dtype(np.dtype(dtype))
    except (TypeError, pa.ArrowException):
        return None


def _chunk_file(path: Path) -> tuple[int, int]:
    """(chunk_index, file_index) from .../chunk-XXX/file-YYY.ext."""
    try:
        return int(path.parent.name.split("-")[1]), int(path.stem.split("-")[1])
    except (IndexError, ValueError):
        return (-1, -1)


class _Checker:
    def __init__(self, root: Path, decode_videos: bool, station_running: bool = False) -> None:
        self.root = root
        self.decode_videos = decode_videos
        self.station_running = station_running
        self.problems = _Problems()
        self.info: dict[str, Any] = {}
        self.fps = 1

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def add(self, message: str, kind: str | None = None) -> None:
        self.problems.add(message, kind)

    def run(self) -> list[str]:
        try:
            self.info = load_info(self.root, strict=False)
        except DatasetError as e:
            return [str(e)]
        fatal = info_problems(self.info)
        if fatal:  # nothing else can be checked against an info.json whose values cannot be used
            return fatal
        # A validator must report, not crash: a step that hits something unforeseen says so and the rest go on.
        self.guard("info.json", self.check_info, None)
        self.guard("leftover files", self.check_leftovers, None)
        n_tasks = self.guard("tasks", self.check_tasks, 0)
        no_episodes: dict[int, dict[str, Any]] = {}
        data_eps = self.guard("data files", lambda: self.check_data(n_tasks), no_episodes)
        no_rows: list[dict[str, Any]] = []
        rows = self.guard("episodes table", lambda: self.check_episodes(data_eps), no_rows)
        self.guard("stats.json", self.check_stats, None)
        self.guard("videos", lambda: self.check_videos(rows), None)
        return self.problems.lines()

    def guard(self, what: str, step: Callable[[], T], fallback: T) -> T:
        try:
            return step()
        except MALFORMED as e:  # reported as a problem, not swallowed
            self.add(f"the {what} could not be checked: it is malformed ({one_line(e) or 'unreadable'})")
            return fallback

    # ----- meta/info.json ------------------------------------------------------------------------

    def check_info(self) -> None:
        info = self.info
        for key in ("total_episodes", "total_frames", "total_tasks", "chunks_size"):
            if not isinstance(info[key], int) or isinstance(info[key], bool) or info[key] < 0:
                self.add(f"info.json: {key} is {info[key]!r}, not a non-negative whole number")
        if isinstance(info["fps"], int) and info["fps"] > 0:
            self.fps = info["fps"]
        else:
            self.add(f"info.json: fps is {info['fps']!r}, not a positive whole number")
        if info["splits"] != {"train": f"0:{info['total_episodes']}"}:
            self.add(f"info.json: splits is {info['splits']!r}, expected train 0:{info['total_episodes']}")
        if info["data_path"] != DATA_PATH:
            self.add(f"info.json: data_path is {info['data_path']!r}, expected {DATA_PATH!r}")
        features = info["features"]
        if not isinstance(features, dict) or not features:
            self.add("info.json: features is missing or empty")
            self.info["features"] = {}
            return
        for name, feat in features.items():
            if "/" in name:
                self.add(f"info.json: feature name {name!r} contains '/', which LeRobot rejects")
            if not isinstance(feat, dict) or "dtype" not in feat or "shape" not in feat:
                self.add(f"info.json: feature {name!r} lacks a dtype or shape")
        self.info["features"] = {k: f for k, f in features.items() if isinstance(f, dict) and "shape" in f}
        features = self.info["features"]
        vkeys = video_keys(features)
        expected_video_path = VIDEO_PATH if vkeys else None
        if info["video_path"] != expected_video_path:
            self.add(f"info.json: video_path is {info['video_path']!r}, expected {expected_video_path!r}")
        for name, feat in DEFAULT_FEATURES.items():
            have = features.get(name)
            if have is None:
                self.add(f"info.json: the default feature {name!r} is missing")
            elif have.get("dtype") != feat["dtype"] or list(have.get("shape", [])) != feat["shape"]:
                self.add(f"info.json: feature {name!r} must be {feat['dtype']} of shape {feat['shape']}")
        for key in vkeys:
            self.check_video_feature(key, features[key])

    def check_video_feature(self, key: str, feat: dict[str, Any]) -> None:
        vinfo = feat.get("info")
        if not isinstance(vinfo, dict):
            self.add(f"info.json: video feature {key!r} has no info block (LeRobot's merge compares it)")
            return
        missing = [k for k in VIDEO_INFO_KEYS if k not in vinfo and not (k == "is_depth_map" and "video." + k in vinfo)]
        if missing:
            self.add(f"info.json: video feature {key!r} info lacks {', '.join(missing)}")
        shape = list(feat.get("shape", []))
        if len(shape) != 3 or shape[2] != 3:
            self.add(f"info.json: video feature {key!r} must have shape [height, width, 3], not {shape}")
        elif (vinfo.get("video.height"), vinfo.get("video.width")) != (shape[0], shape[1]):
            self.add(f"info.json: video feature {key!r} shape {shape} disagrees with its video.height/width")
        if "video.fps" in vinfo and vinfo["video.fps"] != self.info["fps"]:
            self.add(f"info.json: video feature {key!r} says {vinfo['video.fps']} fps, the dataset {self.fps}")

    # ----- leftovers -----------------------------------------------------------------------------

    def check_leftovers(self) -> None:
        if self.station_running:  # its journal and temp files are a save in progress, not leftovers
            return
        repair = f"`station recover --root {shlex.quote(str(self.root))}`"  # what finishes or undoes the save
        if (self.root / fsutil.JOURNAL_PATH).exists():
            self.add(f"{fsutil.JOURNAL_PATH} exists: a save was interrupted; {repair} finishes it "
                     "(and the problems it left below)")
        for path in fsutil.iter_temp_files(self.root, ("meta", "data", "videos")):
            self.add(f"{self.rel(path)} is a temporary file left by an interrupted save ({repair} deletes it)",
                     kind="temp")

    # ----- meta/tasks.parquet --------------------------------------------------------------------

    def check_tasks(self) -> int:
        """Returns the number of tasks to check task_index values against."""
        path = self.root / TASKS_PATH
        total = self.info["total_tasks"]
        if not path.exists():
            if self.info["total_episodes"]:
                self.add(f"{TASKS_PATH} is missing")
            return total if isinstance(total, int) else 0
        try:
            table = read_parquet(path)
        except DatasetError as e:
            self.add(str(e))
            return total if isinstance(total, int) else 0
        text = task_text_column(table)
        if text is None:
            self.add(
                f"{TASKS_PATH} lacks pandas metadata making the task text its index: "
                "LeRobot would read task numbers instead of task text"
            )
            text = "task" if "task" in table.column_names else None
        if "task_index" not in table.column_names or text is None:
            self.add(f"{TASKS_PATH} must have a task_index column and the task text as its index")
            return table.num_rows
        if table.schema.field("task_index").type != pa.int64():
            self.add(f"{TASKS_PATH}: task_index is {table.schema.field('task_index').type}, not int64")
        indices = table.column("task_index").to_pylist()
        if sorted(indices) != list(range(len(indices))):
            self.add(f"{TASKS_PATH}: task_index values are not 0..{len(indices) - 1}")
        texts = table.column(text).to_pylist()
        if len(set(texts)) != len(texts):
            self.add(f"{TASKS_PATH} lists the same task twice")
        if table.num_rows != total:
            self.add(f"info.json counts {total} tasks but {TASKS_PATH} has {table.num_rows}")
        return table.num_rows

    # ----- data parquet --------------------------------------------------------------------------

    def check_columns(self, path: Path, schema: pa.Schema) -> bool:
        """Columns exactly the declared non-video features, with the right types. False if unusable."""
        features = self.info["features"]
        expected = column_keys(features)
        names = schema.names
        for name in names:
            if name not in expected:
                self.add(
                    f"{self.rel(path)}: column {name!r} is not a declared feature (LeRobot refuses to load it)",
                    kind=f"extra-column-{name}",
                )
        ok = True
        for name in expected:
            if name not in names:
                self.add(f"{self.rel(path)}: declared feature {name!r} has no column", kind=f"missing-col-{name}")
                ok = ok and name not in DEFAULT_FEATURES
                continue
            self.check_column_type(path, name, schema.field(name).type, features[name])
        return ok and all(k in names for k in DEFAULT_FEATURES)

    def check_column_type(self, path: Path, name: str, typ: pa.DataType, feat: dict[str, Any]) -> None:
        dtype = feat.get("dtype")
        shape = list(feat.get("shape", []))
        want = _arrow_type(dtype)
        if pa.types.is_fixed_size_list(typ):
            good = typ.value_type == want and [typ.list_size] == shape and name not in DEFAULT_FEATURES
        elif pa.types.is_list(typ):
            good = typ.value_type == want and name not in DEFAULT_FEATURES
        else:
            good = typ == want and shape == [1]
        if not good:
            self.add(
                f"{self.rel(path)}: column {name!r} is {typ}, but the feature is {dtype} {shape}",
                kind=f"type-{name}",
            )

    def check_data(self, n_tasks: int) -> dict[int, dict[str, Any]]:
        """Checks row bookkeeping; returns per episode its rows' index range, length, file and tasks."""
        files = data_files(self.root)
        total = self.info["total_frames"]
        if not files:
            if total:
                self.add(f"info.json counts {total} frames but there is no data file")
            return {}
        cols: dict[str, list[np.ndarray]] = defaultdict(list)
        file_of_row: list[np.ndarray] = []
        for i, path in enumerate(files):
            try:
                table = read_parquet(path)
            except DatasetError as e:
                self.add(str(e))
                continue
            if not self.check_columns(path, table.schema):
                continue
            for name in DEFAULT_FEATURES:
                cols[name].append(table.column(name).to_numpy())
            file_of_row.append(np.full(table.num_rows, i, dtype=np.int64))
        if not file_of_row:
            return {}
        col = {name: np.concatenate(parts) for name, parts in cols.items()}
        where = np.concatenate(file_of_row)
        n = len(where)

        def at(row: int) -> str:
            return f"{self.rel(files[where[row]])} row {row - int(np.argmax(where == where[row]))}"

        if n != total:
            self.add(f"info.json counts {total} frames but the data files hold {n} rows")
        index = col["index"]
        bad = np.nonzero(index != np.arange(n))[0]
        if len(bad):
            r = int(bad[0])
            self.add(f"index is not contiguous from 0: {at(r)} has index {index[r]}, expected {r}")
        ep = col["episode_index"]
        starts = np.concatenate([[0], np.nonzero(np.diff(ep))[0] + 1])
        runs = ep[starts]
        if not np.array_equal(runs, np.arange(len(runs))):
            k = int(np.nonzero(runs != np.arange(len(runs)))[0][0])
            self.add(
                f"episode_index is not contiguous from 0: {at(int(starts[k]))} starts episode {runs[k]}, expected {k}"
            )
        run_of_row = np.repeat(np.arange(len(starts)), np.diff(np.concatenate([starts, [n]])))
        expected_frame = np.arange(n) - starts[run_of_row]
        bad = np.nonzero(col["frame_index"] != expected_frame)[0]
        if len(bad):
            r = int(bad[0])
            self.add(f"frame_index does not restart at 0 and count up: {at(r)} has {col['frame_index'][r]}")
        ts_error = np.abs(col["timestamp"].astype(np.float64) - expected_frame / self.fps)
        bad = np.nonzero(ts_error > TIMESTAMP_TOLERANCE_S)[0]
        if len(bad):
            r = int(bad[0])
            self.add(
                f"timestamp is not frame_index / fps: {at(r)} has {col['timestamp'][r]:.6f}, "
                f"expected {expected_frame[r] / self.fps:.6f}"
            )
        task = col["task_index"]
        bad = np.nonzero((task < 0) | (task >= n_tasks))[0]
        if len(bad):
            self.add(f"task_index {task[int(bad[0])]} at {at(int(bad[0]))} is not a task in {TASKS_PATH}")
        episodes: dict[int, dict[str, Any]] = {}
        bounds = np.concatenate([starts, [n]])
        for k, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            ep_i = int(runs[k])
            if len(set(where[a:b].tolist())) > 1:
                self.add(f"episode {ep_i} is split across data files, which LeRobot does not support")
            episodes[ep_i] = {
                "from": int(index[a]),
                "to": int(index[b - 1]) + 1,
                "length": int(b - a),
                "file": _chunk_file(files[where[a]]),
                "tasks": set(task[a:b].tolist()),
            }
        return episodes

    # ----- meta/episodes -------------------------------------------------------------------------

    def required_episode_columns(self) -> list[str]:
        features = self.info["features"]
        stats = [(f, s) for f in numeric_keys(features) for s in STAT_NAMES]
        return episode_columns(video_keys(features), stats)

    def check_episodes(self, data_eps: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
        required = self.required_episode_columns()
        rows: list[dict[str, Any]] = []
        for path in episode_files(self.root):
            try:
                table = read_parquet(path)
            except DatasetError as e:
                self.add(str(e))
                continue
            missing = [c for c in required if c not in table.column_names]
            if missing:
                shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
                self.add(f"{self.rel(path)} lacks the columns {shown}", kind="episode-columns")
            for row in table.to_pylist():
                row["_file"] = path
                rows.append(row)
        total = self.info["total_episodes"]
        if len(rows) != total:
            self.add(f"info.json counts {total} episodes but the episodes table has {len(rows)} rows")
        if len(data_eps) != len(rows):
            self.add(f"the data files hold {len(data_eps)} episodes but the episodes table has {len(rows)}")
        tasks = self.task_texts()
        for pos, row in enumerate(rows):
            self.check_episode_row(pos, row, data_eps.get(pos), tasks)
        referenced = {
            (row.get(EP_DATA_CHUNK), row.get(EP_DATA_FILE)) for row in rows if EP_DATA_FILE in row
        }
        for path in data_files(self.root):
            if _chunk_file(path) not in referenced:
                self.add(f"{self.rel(path)} is not referenced by the episodes table", kind="orphan-data")
        return rows

    def task_texts(self) -> list[str] | None:
        try:
            return load_tasks(self.root)
        except DatasetError:
            return None

    def check_episode_row(
        self, pos: int, row: dict[str, Any], data: dict[str, Any] | None, tasks: list[str] | None
    ) -> None:
        where = f"{self.rel(row['_file'])} episode {row.get(EP_INDEX)}"
        if row.get(EP_INDEX) != pos:
            self.add(f"{where}: row {pos} of the episodes table has episode_index {row.get(EP_INDEX)}")
            return
        # meta/episodes/chunk_index and file_index are not checked against the file holding the row: LeRobot's
        # loader never reads them, and its own merge tool leaves them stale.
        if data is None:
            self.add(f"{where} has no rows in the data files")
            return
        if row.get(EP_LENGTH) != data["length"]:
            self.add(f"{where}: length is {row.get(EP_LENGTH)} but the data files hold {data['length']} rows")
        if (row.get(EP_FROM_INDEX), row.get(EP_TO_INDEX)) != (data["from"], data["to"]):
            self.add(
                f"{where}: rows {row.get(EP_FROM_INDEX)}..{row.get(EP_TO_INDEX)} "
                f"but the data has {data['from']}..{data['to']}"
            )
        if (row.get(EP_DATA_CHUNK), row.get(EP_DATA_FILE)) != data["file"]:
            self.add(f"{where}: data/chunk_index and file_index do not name the file holding its rows")
        if tasks is not None and isinstance(row.get(EP_TASKS), list):
            for t in data["tasks"]:
                if 0 <= t < len(tasks) and tasks[t] not in row[EP_TASKS]:
                    self.add(f"{where}: its rows do task {tasks[t]!r} but its tasks list {row[EP_TASKS]!r}")
        for key in video_keys(self.info["features"]):
            start = row.get(video_column(key, "from_timestamp"))
            end = row.get(video_column(key, "to_timestamp"))
            if start is None or end is None:
                continue
            if start < 0 or abs((end - start) - data["length"] / self.fps) > TIMESTAMP_TOLERANCE_S:
                self.add(f"{where}: {key} from/to_timestamp {start}..{end} do not span length / fps")
        self.check_stat_shapes(where, {k: v for k, v in row.items() if k.startswith(STATS_PREFIX)})

    def check_stat_shapes(self, where: str, flat: dict[str, Any]) -> None:
        for key, value in flat.items():
            feature, _, stat = key[len(STATS_PREFIX) :].rpartition("/")
            want = self.stat_shape(feature, stat)
            if want is not None and np.asarray(value).shape != want:
                self.add(
                    f"{where}: {key} has shape {np.asarray(value).shape}, expected {want}",
                    kind=f"shape-{key}",
                )

    def stat_shape(self, feature: str, stat: str) -> tuple[int, ...] | None:
        feat = self.info["features"].get(feature)
        if feat is None:
            return None
        if stat == "count":
            return (1,)
        if feat.get("dtype") in ("video", "image"):
            return (3, 1, 1)
        return tuple(int(s) for s in feat.get("shape", [1]))

    # ----- meta/stats.json -----------------------------------------------------------------------

    def check_stats(self) -> None:
        path = self.root / STATS_PATH
        if not path.exists():
            if self.info["total_episodes"]:
                self.add(f"{STATS_PATH} is missing")
            return
        try:
            stats = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            self.add(f"{STATS_PATH} is unreadable or not valid JSON ({e})")
            return
        if not isinstance(stats, dict):
            self.add(f"{STATS_PATH} is not a JSON object")
            return
        features = self.info["features"]
        for feature in numeric_keys(features):
            fstats = stats.get(feature)
            if not isinstance(fstats, dict):
                self.add(f"{STATS_PATH} has no stats for {feature!r}")
                continue
            missing = [s for s in STAT_NAMES if s not in fstats]
            if missing:
                self.add(f"{STATS_PATH}: {feature!r} lacks {', '.join(missing)}")
            for stat in STAT_NAMES:
                if stat not in fstats:
                    continue
                want = self.stat_shape(feature, stat)
                shape = np.asarray(fstats[stat]).shape
                if shape != want:
                    self.add(f"{STATS_PATH}: {feature} {stat} has shape {shape}, expected {want}")
            count = fstats.get("count")
            is_video = features[feature].get("dtype") in ("video", "image")
            if (
                not is_video
                and count is not None
                and np.asarray(count).reshape(-1)[:1].tolist() != [self.info["total_frames"]]
            ):
                self.add(f"{STATS_PATH}: {feature} count is {count}, not total_frames {self.info['total_frames']}")
        for feature in stats:
            if feature not in features:
                self.add(f"{STATS_PATH} has stats for {feature!r}, which is not a declared feature")

    # ----- videos --------------------------------------------------------------------------------

    def check_videos(self, rows: list[dict[str, Any]]) -> None:
        features = self.info["features"]
        for key in video_keys(features):
            by_file: dict[Path, list[dict[str, Any]]] = defaultdict(list)
            for row in rows:
                chunk, file = row.get(video_column(key, "chunk_index")), row.get(video_column(key, "file_index"))
                if chunk is None or file is None:
                    continue
                by_file[video_file(self.root, key, chunk, file)].append(row)
            for path, eps in sorted(by_file.items()):
                self.check_video_file(key, path, eps)
            folder = self.root / "videos" / key
            for path in sorted(folder.glob("chunk-*/file-*.mp4")):
                if path not in by_file:
                    self.add(f"{self.rel(path)} is not referenced by the episodes table", kind="orphan-video")
        declared = set(video_keys(features))
        for folder in sorted((self.root / "videos").glob("*")):
            if folder.is_dir() and folder.name not in declared:
                self.add(f"videos/{folder.name} is not a declared video feature")

    def check_video_file(self, key: str, path: Path, eps: list[dict[str, Any]]) -> None:
        if not path.is_file():
            self.add(f"{self.rel(path)} is missing (episode {eps[0].get(EP_INDEX)})", kind="missing-video")
            return
        vinfo = self.info["features"][key].get("info") or {}
        try:
            facts = video_stream_info(path)
        except DatasetError as e:
            self.add(str(e))
            return
        h, w = self.info["features"][key]["shape"][:2]
        if (facts["width"], facts["height"]) != (w, h):
            self.add(f"{self.rel(path)} is {facts['width']}x{facts['height']}, the feature says {w}x{h}")
        if "video.codec" in vinfo and facts["codec"] != vinfo["video.codec"]:
            self.add(f"{self.rel(path)} is {facts['codec']}, the feature says {vinfo['video.codec']}")
        used = sum(int(ep.get(EP_LENGTH) or 0) for ep in eps)
        if not self.decode_videos:
            if facts["frames"] != used:
                self.add(f"{self.rel(path)} has {facts['frames']} frames but its episodes have {used} rows")
            return
        try:
            count, stamps = probe_video(path)
        except DatasetError as e:
            self.add(str(e))
            return
        if count != used:
            self.add(f"{self.rel(path)} decodes to {count} frames but its episodes have {used} rows")
        self.check_grid(path, np.asarray(stamps), eps, key)

    def check_grid(self, path: Path, stamps: np.ndarray, eps: Iterable[dict[str, Any]], key: str) -> None:
        """Each episode's frames must sit at from_timestamp + k / fps, exactly `length` of them."""
        half = 0.5 / self.fps
        for ep in eps:
            start = ep.get(video_column(key, "from_timestamp"))
            end = ep.get(video_column(key, "to_timestamp"))
            length = int(ep.get(EP_LENGTH) or 0)
            if start is None or end is None:
                continue
            mine = stamps[(stamps >= start - half) & (stamps < end - half)]
            label = f"{self.rel(path)} (episode {ep.get(EP_INDEX)})"
            if len(mine) != length:
                self.add(f"{label} has {len(mine)} frames between its timestamps, expected {length}")
                continue
            error = np.abs(mine - (start + np.arange(length) / self.fps))
            if len(error) and error.max() > TIMESTAMP_TOLERANCE_S:
                k = int(np.argmax(error))
                self.add(
                    f"{label}: frame {k} is at {mine[k]:.6f} s, off the 1/{self.fps} s grid "
                    f"by {error[k]:.6f} s (LeRobot allows {TIMESTAMP_TOLERANCE_S} s)"
                )

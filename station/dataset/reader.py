"""Read a v3.0 dataset back: for `station check`, for resuming, and for reviewing episodes in the window.

Works on any v3.0 layout (many episodes per file too), because it follows the episodes table rather than
assuming the writer's one-file-per-episode layout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from station.dataset.features import (
    ACTION,
    CODEBASE_VERSION,
    EP_DATA_CHUNK,
    EP_DATA_FILE,
    EP_INDEX,
    IMAGE_PREFIX,
    INFO_KEYS,
    INFO_PATH,
    STATS_PATH,
    TASKS_PATH,
    data_file,
    video_column,
    video_file,
    video_keys,
)
from station.dataset.spec import CODECS, CameraSpec, DatasetSpec, VideoSettings
from station.dataset.stats import stats_from_json
from station.errors import DatasetError, StationError

# canonical stream codec in info.json -> the encoder setting that produces it
_ENCODER_FOR_STREAM = {"av1": "libsvtav1", "h264": "libx264"}


def _whole(value: object, least: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def info_problems(info: dict[str, Any]) -> list[str]:
    """What in an info.json's values would make any reader of it fail (types, signs, feature shapes)."""
    problems = []
    if not _whole(info["fps"], 1):
        problems.append(f"info.json: fps is {info['fps']!r}, not a positive whole number")
    for key in ("total_episodes", "total_frames", "total_tasks"):
        if not _whole(info[key], 0):
            problems.append(f"info.json: {key} is {info[key]!r}, not a non-negative whole number")
    if "chunks_size" in info and not _whole(info["chunks_size"], 1):
        problems.append(f"info.json: chunks_size is {info['chunks_size']!r}, not a positive whole number")
    features = info["features"]
    if not isinstance(features, dict) or not features:
        return [*problems, "info.json: features is missing or empty"]
    for name, feat in features.items():
        if not isinstance(feat, dict) or not isinstance(feat.get("dtype"), str) or "shape" not in feat:
            problems.append(f"info.json: feature {name!r} lacks a dtype or shape")
        elif not isinstance(feat["shape"], list) or not all(_whole(n, 0) for n in feat["shape"]):
            problems.append(f"info.json: feature {name!r} has shape {feat['shape']!r}, not a list of sizes")
        elif feat["dtype"] == "video" and len(feat["shape"]) != 3:
            problems.append(f"info.json: video feature {name!r} has shape {feat['shape']!r}, not [height, width, 3]")
        elif not isinstance(feat.get("names"), list | dict | None):
            problems.append(f"info.json: feature {name!r} has names {feat['names']!r}, not a list")
    for key in ("data_path", "video_path"):
        if not isinstance(info[key], str | None):
            problems.append(f"info.json: {key} is {info[key]!r}, not a path template")
    return problems


def require_dataset_folder(root: Path) -> None:
    """DatasetError, in the words every command uses, unless `root` is a folder holding meta/info.json."""
    if not Path(root).exists():
        raise DatasetError(f"{root} does not exist: give the folder of a LeRobot dataset")
    if not Path(root).is_dir():
        raise DatasetError(f"{root} is a file, not a LeRobot dataset folder")
    if not (Path(root) / INFO_PATH).is_file():
        raise DatasetError(f"{root} is not a LeRobot dataset (it has no {INFO_PATH})")


def load_info(root: Path, strict: bool = True) -> dict[str, Any]:
    """Parsed meta/info.json of a v3.0 dataset, or DatasetError saying why `root` is not one.

    strict: also refuse values no reader could use (see `info_problems`; `station check` lists them all)."""
    path = Path(root) / INFO_PATH
    require_dataset_folder(root)
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise DatasetError(f"{path} is unreadable or not valid JSON ({one_line(e)})") from e
    if not isinstance(info, dict):
        raise DatasetError(f"{path} is not a JSON object")
    missing = [k for k in INFO_KEYS if k not in info]
    if missing:
        raise DatasetError(f"{path} lacks the keys {', '.join(missing)}")
    if info["codebase_version"] != CODEBASE_VERSION:
        raise DatasetError(
            f"{root} is a LeRobot {info['codebase_version']!r} dataset; only {CODEBASE_VERSION} is supported"
        )
    problems = info_problems(info) if strict else []
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DatasetError(f"{path} is damaged: {problems[0]}{more}")
    return info


def one_line(error: BaseException) -> str:
    """An error's text on one line (pyarrow's and PyAV's messages may hold several)."""
    return " ".join(str(error).split())


def read_parquet(path: Path) -> pa.Table:
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise DatasetError(f"{path} is not a readable parquet file ({one_line(e)})") from e


def task_text_column(table: pa.Table) -> str | None:
    """The column holding task text: the pandas index column the file declares ("task" when we write it,
    "__index_level_0__" when pandas 3 writes an unnamed index), or None when there is no such index."""
    try:
        meta = json.loads((table.schema.metadata or {}).get(b"pandas", b"{}"))
    except ValueError:
        return None
    index_columns = meta.get("index_columns") if isinstance(meta, dict) else None
    if (
        isinstance(index_columns, list)
        and len(index_columns) == 1
        and isinstance(index_columns[0], str)
        and index_columns[0] in table.column_names
    ):
        return index_columns[0]
    return None


def load_tasks(root: Path) -> list[str]:
    """Task strings ordered by task_index (the task text is the parquet file's pandas index)."""
    path = Path(root) / TASKS_PATH
    table = read_parquet(path)
    text = task_text_column(table) or ("task" if "task" in table.column_names else None)
    if text is None or "task_index" not in table.column_names:
        raise DatasetError(f"{path} lacks the task text or the task_index column")
    pairs = sorted(zip(table.column("task_index").to_pylist(), table.column(text).to_pylist(), strict=True))
    return [task for _, task in pairs]


def load_stats(root: Path) -> dict[str, dict[str, np.ndarray]]:
    path = Path(root) / STATS_PATH
    try:
        return stats_from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, AttributeError, TypeError) as e:
        raise DatasetError(f"{path} is unreadable or malformed ({e})") from e


def episode_files(root: Path) -> list[Path]:
    """meta/episodes parquet files in the order LeRobot reads them (sorted paths)."""
    return sorted((Path(root) / "meta" / "episodes").glob("chunk-*/file-*.parquet"))


def data_files(root: Path) -> list[Path]:
    return sorted((Path(root) / "data").glob("chunk-*/file-*.parquet"))


def read_last_episode(root: Path) -> dict[str, Any] | None:
    """The last row of the episodes table, reading only the last file (cheap on resume)."""
    files = episode_files(root)
    if not files:
        return None
    table = read_parquet(files[-1])
    if table.num_rows == 0:
        return None
    return {name: table.column(name)[table.num_rows - 1].as_py() for name in table.column_names}


def spec_from_info(info: dict[str, Any]) -> DatasetSpec:
    """The DatasetSpec a dataset was recorded with, rebuilt from its info.json."""
    features = info["features"]
    cameras = []
    settings = VideoSettings()
    for key in video_keys(features):
        feat = features[key]
        name = key[len(IMAGE_PREFIX) :] if key.startswith(IMAGE_PREFIX) else key
        height, width = int(feat["shape"][0]), int(feat["shape"][1])
        cameras.append(CameraSpec(name=name, width=width, height=height))
        vinfo = feat.get("info") or {}
        encoder = _ENCODER_FOR_STREAM.get(vinfo.get("video.codec", ""), "libsvtav1")
        if encoder in CODECS:
            default = VideoSettings.for_codec(encoder)
            settings = VideoSettings(
                codec=encoder,
                pix_fmt=vinfo.get("video.pix_fmt", default.pix_fmt),
                g=vinfo.get("video.g", default.g),
                crf=vinfo.get("video.crf", default.crf),
                preset=vinfo.get("video.preset", default.preset),
            )
    names = features.get(ACTION, {}).get("names") or []
    return DatasetSpec(
        fps=int(info["fps"]),
        cameras=tuple(cameras),
        robot_type=str(info["robot_type"]),
        joint_names=tuple(names),
        video=settings,
    )


class DatasetReader:
    """Read-only view of a dataset. Construction fails with DatasetError if it is not a readable v3.0."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.info = load_info(self.root)
        self.fps = int(self.info["fps"])
        self.total_episodes = int(self.info["total_episodes"])
        self.total_frames = int(self.info["total_frames"])
        has_tasks = (self.root / TASKS_PATH).exists()
        self.tasks: list[str] = load_tasks(self.root) if has_tasks else []
        self.stats: dict[str, dict[str, np.ndarray]] = (
            load_stats(self.root) if (self.root / STATS_PATH).exists() else {}
        )
        self._episodes: list[dict[str, Any]] | None = None

    def episodes(self) -> list[dict[str, Any]]:
        """Rows of the episodes table in order, as python values: the episodes info.json counts.

        info.json is read first and renamed last by a commit, so rows beyond its count belong to a commit
        in progress (or one a crash interrupted, finished on resume) and are not part of the dataset yet.
        """
        if self._episodes is None:
            rows: list[dict[str, Any]] = []
            for path in episode_files(self.root):
                rows.extend(read_parquet(path).to_pylist())
                if len(rows) >= self.total_episodes:
                    break
            self._episodes = rows[: self.total_episodes]
        return self._episodes

    def _episode(self, ep: int) -> dict[str, Any]:
        rows = self.episodes()
        if not 0 <= ep < len(rows) or rows[ep][EP_INDEX] != ep:
            raise DatasetError(f"{self.root} has no episode {ep}")
        return rows[ep]

    def episode_data(self, ep: int) -> dict[str, np.ndarray]:
        """The data columns of one episode: action and observation.state as (N, D), the rest as (N,)."""
        row = self._episode(ep)
        path = data_file(self.root, row[EP_DATA_CHUNK], row[EP_DATA_FILE])
        table = read_parquet(path)
        episode_col = table.column("episode_index").to_numpy()
        table = table.filter(pa.array(episode_col == ep))
        out: dict[str, np.ndarray] = {}
        for name in table.column_names:
            col = table.column(name).combine_chunks()
            if pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type):
                width = len(col[0]) if len(col) else 0
                out[name] = col.flatten().to_numpy(zero_copy_only=False).reshape(len(col), width)
            else:
                out[name] = col.to_numpy(zero_copy_only=False)
        return out

    def video_path(self, ep: int, camera_key: str) -> Path:
        """The mp4 holding `camera_key` (full feature name, or just the camera name) for episode `ep`."""
        key = camera_key if camera_key in self.info["features"] else IMAGE_PREFIX + camera_key
        row = self._episode(ep)
        col = video_column(key, "chunk_index")
        if col not in row:
            raise DatasetError(f"{self.root} has no video {camera_key!r}")
        return video_file(self.root, key, row[col], row[video_column(key, "file_index")])

    def spec(self) -> DatasetSpec:
        return spec_from_info(self.info)


def last_task(root: Path) -> str | None:
    """The task of the last episode of the dataset at `root` (what a resumed session goes on with when no task
    is given), or None if it has none or is not a readable dataset."""
    try:
        reader = DatasetReader(root)
        episodes = reader.episodes()
    except (StationError, OSError, ValueError, KeyError):
        return None
    tasks = list(episodes[-1].get("tasks") or []) if episodes else []
    return str(tasks[0]) if tasks else (reader.tasks[-1] if reader.tasks else None)

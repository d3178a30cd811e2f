"""The vocabulary of a LeRobot v3.0 dataset: feature blocks, info.json, file paths.

Writer, reader and checker all take names and paths from here so they cannot drift apart. The values are
LeRobot v3.0's own (lerobot.datasets.utils); its loader and merge tool compare them literally.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from station.dataset.spec import CameraSpec, DatasetSpec
from station.errors import DatasetError

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000
DATA_FILES_SIZE_IN_MB = 100
VIDEO_FILES_SIZE_IN_MB = 200

DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"

ACTION = "action"
STATE = "observation.state"
IMAGE_PREFIX = "observation.images."
# Bookkeeping columns LeRobot adds to every dataset, in its order.
DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": [1], "names": None},
    "frame_index": {"dtype": "int64", "shape": [1], "names": None},
    "episode_index": {"dtype": "int64", "shape": [1], "names": None},
    "index": {"dtype": "int64", "shape": [1], "names": None},
    "task_index": {"dtype": "int64", "shape": [1], "names": None},
}
# The episodes table (meta/episodes/*.parquet): LeRobot's column names. Writer, reader and checker spell them
# only through these. (The per-episode `station/...` columns are in episode_facts.py.)
EP_INDEX = "episode_index"
EP_TASKS = "tasks"
EP_LENGTH = "length"
EP_DATA_CHUNK = "data/chunk_index"
EP_DATA_FILE = "data/file_index"
EP_FROM_INDEX = "dataset_from_index"
EP_TO_INDEX = "dataset_to_index"
EP_META_CHUNK = "meta/episodes/chunk_index"
EP_META_FILE = "meta/episodes/file_index"
VIDEO_FIELDS = ("chunk_index", "file_index", "from_timestamp", "to_timestamp")
STATS_PREFIX = "stats/"


def video_column(key: str, field: str) -> str:
    """An episodes-table column of video feature `key`; field is one of VIDEO_FIELDS."""
    return f"videos/{key}/{field}"


def stats_column(feature: str, stat: str) -> str:
    return f"{STATS_PREFIX}{feature}/{stat}"


def episode_columns(video_keys: list[str], stats: list[tuple[str, str]]) -> list[str]:
    """The episodes table's columns in LeRobot's order, for these videos and (feature, stat) pairs."""
    cols = [EP_INDEX, EP_TASKS, EP_LENGTH, EP_DATA_CHUNK, EP_DATA_FILE, EP_FROM_INDEX, EP_TO_INDEX]
    cols += [video_column(key, field) for key in video_keys for field in VIDEO_FIELDS]
    cols += [stats_column(feature, stat) for feature, stat in stats]
    return cols + [EP_META_CHUNK, EP_META_FILE]


INFO_KEYS = (
    "codebase_version",
    "robot_type",
    "total_episodes",
    "total_frames",
    "total_tasks",
    "chunks_size",
    "data_files_size_in_mb",
    "video_files_size_in_mb",
    "fps",
    "splits",
    "data_path",
    "video_path",
    "features",
)

_CAMERA_NAME = re.compile(r"^[A-Za-z0-9_-]+$")


def check_camera_name(name: str) -> None:
    """Camera names become feature keys and folder names: LeRobot rejects "/" and "." splits keys."""
    if not _CAMERA_NAME.match(name):
        raise DatasetError(f"camera name {name!r} cannot be used in a dataset: use letters, digits, '_' or '-' only")


def video_info(camera: CameraSpec, spec: DatasetSpec) -> dict[str, Any]:
    """The `info` block of a video feature, with every key LeRobot's recorder writes (merge compares it)."""
    v = spec.video
    return {
        "video.height": camera.height,
        "video.width": camera.width,
        "video.codec": v.stream_codec,
        "video.pix_fmt": v.pix_fmt,
        "is_depth_map": False,
        "video.fps": spec.fps,
        "video.channels": 3,
        "has_audio": False,
        "video.g": v.g,
        "video.crf": v.crf,
        "video.preset": v.preset,
        "video.fast_decode": 0,
        "video.video_backend": "pyav",
        "video.extra_options": {},
    }


def build_features(spec: DatasetSpec) -> dict[str, Any]:
    """The info.json "features" block: action, state, one video per camera, then the defaults."""
    joints = list(spec.joint_names)
    features: dict[str, Any] = {
        ACTION: {"dtype": "float32", "shape": [len(joints)], "names": joints},
        STATE: {"dtype": "float32", "shape": [len(joints)], "names": list(joints)},
    }
    for cam in spec.cameras:
        check_camera_name(cam.name)
        features[cam.key] = {
            "dtype": "video",
            "shape": [cam.height, cam.width, 3],
            "names": ["height", "width", "channels"],
            "info": video_info(cam, spec),
        }
    for key, feat in DEFAULT_FEATURES.items():
        features[key] = {"dtype": feat["dtype"], "shape": list(feat["shape"]), "names": None}
    return features


def build_info(spec: DatasetSpec) -> dict[str, Any]:
    """info.json of an empty dataset; the writer updates the totals and splits after each episode."""
    return {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": spec.robot_type,
        "total_episodes": 0,
        "total_frames": 0,
        "total_tasks": 0,
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": DATA_FILES_SIZE_IN_MB,
        "video_files_size_in_mb": VIDEO_FILES_SIZE_IN_MB,
        "fps": spec.fps,
        "splits": {"train": "0:0"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if spec.cameras else None,
        "features": build_features(spec),
    }


def video_keys(features: dict[str, Any]) -> list[str]:
    return [k for k, f in features.items() if f.get("dtype") == "video"]


def numeric_keys(features: dict[str, Any]) -> list[str]:
    """Features with per-episode stats: everything except strings (video stats are image stats)."""
    return [k for k, f in features.items() if f.get("dtype") not in ("string",)]


def column_keys(features: dict[str, Any]) -> list[str]:
    """Columns of the data parquet: exactly the declared non-video features."""
    return [k for k, f in features.items() if f.get("dtype") not in ("video", "image")]


def episode_location(episode_index: int) -> tuple[int, int]:
    """(chunk_index, file_index) of an episode: one file per episode, 1000 files per chunk folder."""
    return divmod(episode_index, CHUNKS_SIZE)


def data_file(root: Path, chunk_index: int, file_index: int) -> Path:
    return root / DATA_PATH.format(chunk_index=chunk_index, file_index=file_index)


def video_file(root: Path, video_key: str, chunk_index: int, file_index: int) -> Path:
    return root / VIDEO_PATH.format(video_key=video_key, chunk_index=chunk_index, file_index=file_index)


def episodes_file(root: Path, chunk_index: int, file_index: int) -> Path:
    return root / EPISODES_PATH.format(chunk_index=chunk_index, file_index=file_index)

"""Everything between validated options and a running session: devices, dataset, queue, recorder, recovery.

Shared by the headless command and the window so both behave the same on bad input: devices are opened
first and nothing is created on disk unless they all open; the dataset is then created, or opened for
resume after a compatibility check.
"""

from __future__ import annotations

import os
from pathlib import Path

from station.config import SessionConfig
from station.dataset.reader import load_info
from station.dataset.spec import DatasetSpec, VideoSettings
from station.dataset.writer import DatasetWriter, compatibility_problem
from station.errors import DatasetError, DatasetExistsError
from station.saving.lock import DatasetLock
from station.session.devices import Devices


def _is_dataset(root: Path) -> bool:
    return (root / "meta" / "info.json").is_file()


def check_root(config: SessionConfig) -> None:
    """Refuse a root that cannot work, before any device is opened or anything is written."""
    root = config.root
    if root.exists() and not root.is_dir():
        raise DatasetError(f"{root} is a file, not a dataset directory")
    if root.is_dir() and any(root.iterdir()):
        if not _is_dataset(root):
            raise DatasetError(f"{root} exists and is not a LeRobot dataset: choose another --root")
        if not config.resume:
            raise DatasetExistsError(
                f"{root} already holds a dataset: add --resume to append to it, or choose another --root", root
            )
    elif config.resume and not _is_dataset(root):
        raise DatasetError(f"--resume: there is no dataset at {root}")
    parent = root if root.exists() else next((p for p in root.parents if p.exists()), Path("/"))
    if not os.access(parent, os.W_OK | os.X_OK):
        raise DatasetError(f"cannot write to {parent}: choose a --root you may write to")


def dataset_spec(config: SessionConfig, devices: Devices) -> DatasetSpec:
    return DatasetSpec(
        fps=config.fps,
        cameras=devices.camera_specs,
        robot_type=config.robot_type,
        video=VideoSettings.for_codec(config.vcodec),
    )


def open_dataset(config: SessionConfig, devices: Devices) -> tuple[DatasetWriter, DatasetLock]:
    """Create the dataset, or open it to append; either way hold its lock (release it when done)."""
    spec = dataset_spec(config, devices)
    lock = DatasetLock(config.root)
    if config.resume:
        problem = compatibility_problem(load_info(config.root), spec)  # read-only: refuse before touching it
        if problem:
            raise DatasetError(problem)
        lock.acquire()  # before open(): opening repairs, which must not race another station's commit
        try:
            return DatasetWriter.open(config.root, spec), lock
        except BaseException:
            lock.release()
            raise
    writer = DatasetWriter.create(config.root, config.repo_id, spec)
    lock.acquire()
    return writer, lock

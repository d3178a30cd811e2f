"""The one place a session is put together, for the window, headless recording and the benchmark alike.

Order matters and is the same for all three: the root is checked before any device opens; devices open all
or nothing before anything is created on disk; the dataset is created (or opened to append after a
compatibility check) and locked; takes a crash left behind are queued before the Recorder numbers its first
episode, so the numbers it shows are the ones the dataset will get. Qt-free apart from QtCore (queue, recorder).

The real-time part (control loop, cameras, spool writer) runs in this process, on its own threads
(see docs/performance.md for why no separate process).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from station.config import SessionConfig
from station.dataset.reader import load_info
from station.dataset.spec import DatasetSpec, VideoSettings
from station.dataset.writer import DatasetWriter, compatibility_problem, is_empty_but_for_leftovers
from station.errors import DatasetError, DatasetExistsError, DatasetMismatchError
from station.saving.faults import writer_fault
from station.saving.lock import DatasetLock
from station.saving.queue import SaveQueue
from station.saving.recovery import recover_into_queue
from station.session.devices import Devices, open_devices
from station.session.recorder import Recorder
from station.session.resume_options import resume_refusal

log = logging.getLogger(__name__)

QueueFactory = Callable[[DatasetWriter], SaveQueue]
RecorderFactory = Callable[..., Recorder]  # Recorder's own arguments


def _is_dataset(root: Path) -> bool:
    return (root / "meta" / "info.json").is_file()


def check_root(config: SessionConfig) -> None:
    """Refuse a root that cannot work, before any device is opened or anything is written."""
    root = config.root
    if root.exists() and not root.is_dir():
        raise DatasetError(f"{root} is a file, not a dataset directory")
    if root.is_dir() and not is_empty_but_for_leftovers(root):
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
        info = load_info(config.root)
        problem = compatibility_problem(info, spec)  # read-only: refuse before touching it
        if problem:
            raise DatasetMismatchError(resume_refusal(info, spec, config) or problem, problem)
        lock.acquire()  # before open(): opening repairs, which must not race another station's commit
        try:
            return DatasetWriter.open(config.root, spec, fault=writer_fault()), lock
        except BaseException:
            lock.release()
            raise
    writer = DatasetWriter.create(config.root, config.repo_id, spec, fault=writer_fault())
    lock.acquire()
    return writer, lock


@dataclass
class Session:
    """A running session's parts. `close` ends it; the devices are closed too when the session opened them."""

    config: SessionConfig
    devices: Devices
    writer: DatasetWriter
    lock: DatasetLock
    queue: SaveQueue
    recorder: Recorder
    owns_devices: bool = False
    recovered: list[str] = field(default_factory=list)  # what recovery did, in words
    recovered_takes: int = 0

    def close(self, wait_ms: int = 30_000) -> None:
        """Stop the loop (a take in progress is kept in its spool), stop the queue, release the dataset."""
        try:
            self.recorder.shutdown()
            # Takes stopped just now have durable spools; if the queue is being shut down they must stay
            # there for recovery rather than be handed to it by a spool-done event still in flight.
            self.recorder.finished_takes.clear()
        finally:
            try:
                self.queue.shutdown(wait_ms)
            finally:
                self.lock.release()
                if self.owns_devices:
                    self.devices.close()


def open_session(
    config: SessionConfig,
    devices: Devices,
    queue_factory: QueueFactory = SaveQueue,
    *,
    hold_partial: bool = True,
    recorder_factory: RecorderFactory = Recorder,
) -> Session:
    """Open (or create) the dataset on open devices, queue any takes left from before, build the recorder.

    A take a crash cut short is kept; with `hold_partial` (someone is there to ask) it waits for Keep or Drop,
    otherwise it is dropped, as before.
    """
    check_root(config)
    writer, lock = open_dataset(config, devices)
    try:
        queue = queue_factory(writer)
        recovered = recover_into_queue(writer, queue, keep_partial=hold_partial, hold_partial=hold_partial)
        recorder = recorder_factory(
            writer, queue, devices.leader, devices.follower, devices.cameras, config.fps,
            config.episodes, config.episode_time_s, config.reset_time_s, config.task,
        )
    except BaseException:
        lock.release()
        raise
    return Session(config, devices, writer, lock, queue, recorder, False, recovered, len(queue.jobs))


def start_session(
    config: SessionConfig,
    queue_factory: QueueFactory = SaveQueue,
    *,
    hold_partial: bool = False,
    recorder_factory: RecorderFactory = Recorder,
) -> Session:
    """Check the root, open the devices, then the session on them; the session owns (and closes) the devices."""
    check_root(config)
    devices = open_devices(config)
    try:
        session = open_session(config, devices, queue_factory, hold_partial=hold_partial,
                               recorder_factory=recorder_factory)
    except BaseException:
        devices.close()
        raise
    session.owns_devices = True
    return session

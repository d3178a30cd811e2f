"""The episode spool: a take written to disk as it is recorded, so memory stays flat whatever its length.

A spool is a directory under `<dataset root>/.station/spool/` holding
  take.json      what the take is: task, fps, robot type, joints, cameras and their sizes (written first)
  rows.bin       one record per tick: monotonic time, leader action (6 float32), follower state (6 float32)
  <camera>.rgb   one raw RGB frame per tick, back to back (a repeated frame is written again)
  done.json      written last, after everything above is fsynced: frame count and the cadence report
A spool with done.json is a complete take that a save job or crash recovery can turn into an episode
without the live session; one without it is a take cut short by a crash.

The control loop only queues references to (immutable) frames; a writer thread does the I/O and fsyncs
about once a second, so a crash loses at most the last second of the take in progress.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from station.dataset.fsutil import fsync_dir, write_json_atomic
from station.dataset.spec import CameraSpec
from station.saving.faults import checkpoint

ROW_DTYPE = np.dtype([("t", "<f8"), ("action", "<f4", (6,)), ("state", "<f4", (6,))])
SPOOL_VERSION = 1
SYNC_INTERVAL_S = 1.0
# Frames waiting for the writer thread, in seconds of recording: beyond this the control loop waits
# (a late tick is reported) rather than dropping a frame or growing memory without bound.
QUEUE_SECONDS = 1.0


def spool_root(dataset_root: Path) -> Path:
    return dataset_root / ".station" / "spool"




@dataclass
class TakeInfo:
    task: str
    fps: int
    robot_type: str
    joint_names: list[str]
    cameras: list[dict]  # {"name", "width", "height"}
    created: float  # time.time() when the take started
    version: int = SPOOL_VERSION

    @property
    def camera_specs(self) -> list[CameraSpec]:
        return [CameraSpec(c["name"], int(c["width"]), int(c["height"])) for c in self.cameras]


@dataclass
class CadenceReport:
    """How well a take kept time: filled by the control loop, stored in done.json, shown to the operator."""

    fps: int = 30
    ticks: int = 0
    late_ticks: int = 0  # ticks that came more than 1.5 periods after the previous one
    worst_period_ms: float = 0.0
    repeated_frames: dict[str, int] | None = None  # camera -> ticks that reused the previous frame
    stalled_cameras: list[str] | None = None  # cameras that stopped delivering for > 0.5 s during the take
    first_tick: float = 0.0  # monotonic times of the first and last row
    last_tick: float = 0.0
    interrupted: str = ""  # why the take ended early (an arm stopped answering), kept with the take
    filled_ticks: int = 0  # ticks the control loop could not run: rows repeating the last one (time stays true)

    @property
    def filled_fraction(self) -> float:
        return self.filled_ticks / self.ticks if self.ticks else 0.0

    def summary(self) -> str:
        repeats = ", ".join(f"{k} {v}" for k, v in (self.repeated_frames or {}).items()) or "none"
        text = (
            f"{self.ticks} ticks, {self.late_ticks} late, worst period {self.worst_period_ms:.1f} ms, "
            f"repeated frames: {repeats}, filled ticks: {self.filled_ticks}"
        )
        if self.stalled_cameras:
            text += f"; camera stalled: {', '.join(self.stalled_cameras)}"
        if self.interrupted:
            text += f"; ended early: {self.interrupted}"
        return text


class SpoolWriter:
    """Appends rows and frames of one take to its spool directory from a writer thread."""

    def __init__(self, directory: Path, info: TakeInfo):
        self.directory = directory
        self.info = info
        self.frames = 0
        # Only cheap work here (this runs on the session's thread as a take starts); take.json is made
        # durable by the writer thread before the first row. A spool without it is dropped by recovery.
        directory.mkdir(parents=True, exist_ok=False)
        # Held open for the whole take and closed by finish()/abandon(), so no context manager here.
        self._rows = open(directory / "rows.bin", "wb", buffering=0)  # noqa: SIM115  (a kill keeps every row)
        # Unbuffered: a frame is in the file (where the live encoder reads it) as soon as the row is counted.
        self._cams = {
            c["name"]: open(directory / f"{c['name']}.rgb", "wb", buffering=0)  # noqa: SIM115
            for c in info.cameras
        }
        self._sizes = {c["name"]: (int(c["height"]), int(c["width"]), 3) for c in info.cameras}
        max_items = max(8, int(QUEUE_SECONDS * info.fps))
        self._queue: queue.Queue = queue.Queue(maxsize=max_items)
        self.error: BaseException | None = None
        self.written = 0  # rows whose frames are all in the files (what a live reader may read)
        self.ended = False  # finish() or abandon() is done: no more rows will come
        self._written_changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name=f"spool-{directory.name}", daemon=True)
        self._thread.start()

    @classmethod
    def create(cls, dataset_root: Path, info: TakeInfo) -> SpoolWriter:
        return cls(spool_root(dataset_root) / f"take-{time.time_ns()}", info)

    def append(self, t: float, action: np.ndarray, state: np.ndarray, images: dict[str, np.ndarray]) -> None:
        """Called by the control loop: cheap, no I/O. Blocks only if the disk falls seconds behind."""
        if self.error is not None:
            return
        self.frames += 1
        self._queue.put((t, action, state, images))

    def _run(self) -> None:
        row = np.zeros(1, dtype=ROW_DTYPE)
        last_sync = time.monotonic()
        try:
            write_json_atomic(self.directory / "take.json", asdict(self.info))
            fsync_dir(self.directory.parent)
            while True:
                item = self._queue.get()
                if item is None:
                    break
                t, action, state, images = item
                row["t"], row["action"], row["state"] = t, action, state
                self._rows.write(row.tobytes())
                for name, f in self._cams.items():
                    image = images[name]
                    if image.shape != self._sizes[name]:
                        raise ValueError(
                            f"camera {name} delivered {image.shape[1]}x{image.shape[0]}, "
                            f"expected {self._sizes[name][1]}x{self._sizes[name][0]}"
                        )
                    f.write(np.ascontiguousarray(image).data)
                with self._written_changed:
                    self.written += 1
                    self._written_changed.notify_all()
                checkpoint("spool-row")
                if time.monotonic() - last_sync > SYNC_INTERVAL_S:
                    self._sync()
                    last_sync = time.monotonic()
        except BaseException as e:  # the take is reported broken, never silently truncated
            self.error = e
            while self._queue.get() is not None:  # unblock the producer until finish() arrives
                pass

    def _sync(self) -> None:
        for f in (self._rows, *self._cams.values()):
            f.flush()
            os.fdatasync(f.fileno())

    def finish(self, cadence: CadenceReport) -> Path:
        """Flush, fsync and mark the take complete. Runs off the control loop; may take a moment."""
        try:
            self._queue.put(None)
            self._thread.join()
            if self.error is not None:
                self._close()
                raise self.error
            self._sync()
            self._close()
            write_json_atomic(self.directory / "done.json", {"frames": self.frames, "cadence": asdict(cadence)})
            checkpoint("spool-done")
            return self.directory
        finally:
            self._end()

    def abandon(self) -> None:
        """Throw the take away (re-record): stop the writer and delete the spool."""
        self._queue.put(None)
        self._thread.join()
        self._close()
        self._end()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _end(self) -> None:
        with self._written_changed:
            self.ended = True
            self._written_changed.notify_all()

    def live_frames(self, camera: str, cancelled: Callable[[], bool]) -> Iterator[np.ndarray]:
        """The camera's frames as they are recorded, ending with the take: for encoding during the take.

        Reads the spool file behind the writer, so it never drops a frame and never holds more than one in
        memory: an encoder that falls behind simply reads the backlog from disk. Ends early if `cancelled()`.
        """
        spec = next(s for s in self.info.camera_specs if s.name == camera)
        shape = (spec.height, spec.width, 3)
        size = spec.height * spec.width * 3
        with open(self.directory / f"{camera}.rgb", "rb") as f:
            i = 0
            while not cancelled():
                with self._written_changed:
                    while self.written <= i and not self.ended and not cancelled():
                        self._written_changed.wait(0.1)
                    available = self.written
                if available <= i:
                    return
                frame = np.empty(shape, dtype=np.uint8)
                if f.readinto(frame.data) != size:
                    raise ValueError(f"spool {self.directory.name}: camera {camera} ends early")
                yield frame
                i += 1

    def _close(self) -> None:
        for f in (self._rows, *self._cams.values()):
            f.close()


class SpoolReader:
    """A finished (or crash-cut) take on disk, read without loading frames into memory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            raw = json.loads((directory / "take.json").read_text())
            raw.pop("version", None)
            self.info = TakeInfo(**raw)
        except (OSError, ValueError, TypeError) as e:
            raise ValueError(f"spool {directory.name} has no readable take.json ({e})") from e
        done = directory / "done.json"
        self.complete = done.exists()
        self.cadence: CadenceReport | None = None
        rows = np.fromfile(directory / "rows.bin", dtype=ROW_DTYPE) if (directory / "rows.bin").exists() else None
        available = len(rows) if rows is not None else 0
        for spec in self.info.camera_specs:
            path = directory / f"{spec.name}.rgb"
            size = path.stat().st_size if path.exists() else 0
            available = min(available, size // (spec.width * spec.height * 3))
        if self.complete:
            meta = json.loads(done.read_text())
            self.frames = int(meta["frames"])
            self.cadence = CadenceReport(**meta["cadence"])
            if available < self.frames:
                raise ValueError(f"spool {directory.name} is truncated: {available} of {self.frames} frames on disk")
        else:
            self.frames = available  # a crash-cut take: everything that reached the disk whole
        self.rows = rows[: self.frames] if rows is not None else np.zeros(0, dtype=ROW_DTYPE)

    @property
    def action(self) -> np.ndarray:
        return np.ascontiguousarray(self.rows["action"], dtype=np.float32)

    @property
    def state(self) -> np.ndarray:
        return np.ascontiguousarray(self.rows["state"], dtype=np.float32)

    def frames_of(self, camera: str) -> Iterator[np.ndarray]:
        """The camera's frames in order, read one at a time.

        Plain reads rather than a memory map: pages of a mapped file count in the process's resident memory,
        so mapping a 60 s take would look like (and, under pressure, be) gigabytes of RSS.
        """
        spec = next(s for s in self.info.camera_specs if s.name == camera)
        shape = (spec.height, spec.width, 3)
        size = spec.height * spec.width * 3
        with open(self.directory / f"{camera}.rgb", "rb") as f:
            for _ in range(self.frames):
                frame = np.empty(shape, dtype=np.uint8)
                if f.readinto(frame.data) != size:
                    raise ValueError(f"spool {self.directory.name}: camera {camera} ends early")
                yield frame

    def frames_at(self, camera: str, indices: Iterable[int]) -> Iterator[np.ndarray]:
        """Chosen frames of a camera (for stats), read by seeking, one at a time."""
        spec = next(s for s in self.info.camera_specs if s.name == camera)
        size = spec.height * spec.width * 3
        with open(self.directory / f"{camera}.rgb", "rb") as f:
            for i in indices:
                f.seek(int(i) * size)
                frame = np.empty((spec.height, spec.width, 3), dtype=np.uint8)
                if f.readinto(frame.data) != size:
                    raise ValueError(f"spool {self.directory.name}: camera {camera} has no frame {i}")
                yield frame


def list_spools(dataset_root: Path) -> list[Path]:
    """Spool directories in the order their takes were recorded."""
    root = spool_root(dataset_root)
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and p.name.startswith("take-")), key=lambda p: p.name)

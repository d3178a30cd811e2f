"""The episode spool: a take written to disk as it is recorded, so memory stays flat whatever its length.

A spool is a directory under `<dataset root>/.station/spool/` holding
  take.json      what the take is: task, fps, robot type, joints, cameras and their sizes (written first)
  rows.bin       one record per tick: monotonic time, leader action (6 float32), follower state (6 float32)
  <camera>.yuv   one raw frame per tick, in the pixel format the encoder eats (yuv420p: half the bytes of RGB24;
                 a repeated frame is written again). From version 3 a frame of DIRECT_MIN_BYTES or more starts
                 on a 4096-byte boundary (padded at its end: under 1.6 %, 0.4 % for 640x480), so it goes to
                 the disk straight from the writer's buffer (O_DIRECT); smaller frames, and every frame of
                 version 2, lie back to back. Spools of version 1 hold
                 <camera>.rgb (RGB24) and are still read; a pixel format this version does not know is refused
                 in plain words.
  reserve        a little disk space set aside at the start, freed just before done.json is written, so a
                 take cut short by a full disk can still be sealed
  done.json      written last, after everything above is fsynced: frame count and the cadence report
A spool with done.json is a complete take that a save job or crash recovery can turn into an episode
without the live session; one without it is a take cut short by a crash.

A write that fails (a full disk, a short write, an I/O error) ends the take at its last whole frame: the
files are cut back to it, `on_error` is called at once (the session stops recording), and done.json then
states only the frames that are on disk, so "recorded" never claims more than the disk holds.

The control loop only queues references to (immutable) frames; a writer thread converts them to the spool's
pixel format (the RGB -> yuv420p conversion the encoder used to do, moved here, in swscale without the GIL),
does the I/O and fsyncs about once a second, so a crash loses at most the last second of the take in progress.

A spool is written once and read once, right behind the writer, so it has no business in the page cache: there
the frames push everything else out of memory, and each page the cache takes costs more than the copy itself.
Measured on this machine, CPU per 8.75 MB frame written: 10-11 ms into the page cache, 2.8-4.5 ms when each
second's pages are dropped once on disk, 0.7 ms straight to the disk (O_DIRECT, the copy into the aligned
buffer included). So
- frames go straight to the disk where the file system allows it (else, and for frames under DIRECT_MIN_BYTES,
  through the cache, and after each fsync the writer tells the kernel to drop what is on disk: "drop-behind");
- the live encoder gets the frames the writer has just written from memory (the "tee": the camera's own
  arrays, no copy and no read), as long as it keeps up within TEE_BYTES (or TEE_SECONDS, plus the room the
  writer's queue leaves free) per camera; what it
  falls behind on it reads from the file on a thread of its own, ahead of the encoder, straight from the disk
  where it can (FramesReadAhead);
- a finished take read for saving (after a crash, a retry, a backlog) drops what it has read the same way.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from station.dataset.fsutil import fsync_dir, write_json_atomic
from station.dataset.spec import CameraSpec
from station.dataset.video import video_frame
from station.errors import StationError
from station.hardware.frame_memory import FramePool, frame_mapping, page_buffer
from station.hardware.interfaces import image_format, image_size
from station.priority import raise_current_thread
from station.saving.faults import checkpoint

log = logging.getLogger(__name__)
ROW_DTYPE = np.dtype([("t", "<f8"), ("action", "<f4", (6,)), ("state", "<f4", (6,))])
SPOOL_VERSION = 3
FRAME_ALIGN = 4096  # version 3: large frames start on block boundaries (what O_DIRECT needs)
DIRECT_MIN_BYTES = 256 * 1024  # from this size on (a 480x360 camera) frames are padded and written directly
SPOOL_PIX_FMT = "yuv420p"  # what the encoder eats (LeRobot's pix_fmt): no conversion left when encoding
FRAME_FILES = {"rgb24": ".rgb", "yuv420p": ".yuv"}  # pixel format -> frame file suffix
SYNC_INTERVAL_S = 1.0
# Frames waiting for the writer thread, in seconds of recording: beyond this the control loop waits
# (a late tick is reported) rather than dropping a frame or growing memory without bound.
QUEUE_SECONDS = 1.0
DROP_BEHIND_BYTES = 64 * 1024 * 1024  # a finished take read for saving leaves the page cache in steps of this
# Frames written and not yet taken by a camera's live encoder, kept in memory for it (the tee): up to TEE_BYTES
# (2.3 s of a 640x480 camera), or TEE_SECONDS of frames plus the writer's free queue room for larger ones
# (SpoolWriter._keep_for_reader), so that an encoder that falls a moment
# behind catches up from memory; an encoder further behind reads the rest from the file, which for very large
# frames is as fast as the disk (reading back while writing) and no faster.
TEE_BYTES = 48 * 1024 * 1024
TEE_SECONDS = 0.5
# What a live encoder that fell behind has read from the disk ahead of it (2 frames at least). 64 MB held 130-150 MB
# more in the window with three 1280x720 cameras whose encoders fall behind, for no more speed.
READ_AHEAD_BYTES = 16 * 1024 * 1024
RESERVE_NAME = "reserve"
RESERVE_BYTES = 64 * 1024  # room for done.json (and its temp file) when the disk fills up during the take


def spool_root(dataset_root: Path) -> Path:
    return dataset_root / ".station" / "spool"


def trash_root(dataset_root: Path) -> Path:
    """Where spools go to be deleted: a spool is moved here whole (one rename) before its files are removed."""
    return dataset_root / ".station" / "trash"


def remove_spool(directory: Path) -> None:
    """Delete a spool so that a kill at any moment leaves it either whole in the spool folder or out of it.

    Deleting in place, file by file, could leave a committed take's spool without its commit stamp but with
    done.json: recovery would then commit it a second time. So the spool is first renamed into the trash
    (atomic, and made durable), and only then deleted; a kill mid-way leaves files in the trash, which
    `empty_trash` (run by recovery) removes, and which nothing ever reads as a take.
    """
    trash = directory.parent.parent / "trash"
    target = trash / directory.name
    try:
        trash.mkdir(exist_ok=True)
        if target.exists():  # an earlier removal of the same spool was cut short
            _delete_tree(target)
        os.rename(directory, target)
    except FileNotFoundError:
        return  # already removed (two removals raced, or it never reached the disk)
    fsync_dir(directory.parent)
    fsync_dir(trash)
    checkpoint("spool-trashed")
    _delete_tree(target)


def empty_trash(dataset_root: Path) -> None:
    """Finish deleting spools whose removal was cut short (by a kill, a power cut)."""
    trash = trash_root(dataset_root)
    if trash.is_dir():
        for entry in sorted(trash.iterdir()):
            _delete_tree(entry)


def _delete_tree(path: Path) -> None:
    """rmtree, one file at a time (each a kill point for the crash tests); what cannot be deleted stays."""
    if not path.is_dir() or path.is_symlink():
        with contextlib.suppress(FileNotFoundError):
            checkpoint("trash-delete")
            path.unlink()
        return
    for dirpath, dirnames, filenames in os.walk(path, topdown=False):
        for name in sorted(filenames):
            checkpoint("trash-delete")
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(dirpath, name))
        for name in dirnames:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(dirpath, name))
    with contextlib.suppress(OSError):
        os.rmdir(path)


def frame_shape(width: int, height: int, pix_fmt: str) -> tuple[int, ...]:
    """The numpy shape of one spooled frame: (H, W, 3) for rgb24, (H * 3 / 2, W) planes for yuv420p."""
    if pix_fmt == "rgb24":
        return (height, width, 3)
    if pix_fmt == "yuv420p":
        return (height * 3 // 2, width)
    raise ValueError(f"unknown spool pixel format {pix_fmt!r}")


def frame_bytes(width: int, height: int, pix_fmt: str) -> int:
    """Bytes per spooled frame: 921,600 for a 640x480 RGB24 frame, 460,800 in yuv420p."""
    return int(np.prod(frame_shape(width, height, pix_fmt)))


def frame_stride(width: int, height: int, pix_fmt: str, version: int = SPOOL_VERSION) -> int:
    """Bytes from one frame's start to the next in a frame file: from version 3 a frame of DIRECT_MIN_BYTES or
    more rounded up to FRAME_ALIGN (462,848 for 640x480 yuv420p), else the frame itself."""
    size = frame_bytes(width, height, pix_fmt)
    return -(-size // FRAME_ALIGN) * FRAME_ALIGN if version >= 3 and size >= DIRECT_MIN_BYTES else size


def spool_pix_fmt(cameras: Iterable[CameraSpec]) -> str:
    """yuv420p when every camera has even sides (as the encoder needs), else RGB24 (whose encode then fails
    with its own clear message, as before)."""
    even = all(c.width % 2 == 0 and c.height % 2 == 0 for c in cameras)
    return SPOOL_PIX_FMT if even else "rgb24"


def to_spool_format(image: np.ndarray, pix_fmt: str) -> np.ndarray:
    """A camera image (RGB or yuv420p, see station.hardware.interfaces.image_format) in the spool's pixel
    format: as it is when it already is (the cameras hand over yuv420p), else the same swscale conversion
    PyAV's encoder applies."""
    given = image_format(image)
    if given == pix_fmt:
        return np.ascontiguousarray(image)
    return video_frame(image, given).reformat(format=pix_fmt).to_ndarray()


def spooled_to_rgb(frame: np.ndarray, pix_fmt: str, width: int, height: int) -> np.ndarray:
    """A spooled frame back as RGB (H', W', 3) at the given size, nearest-neighbour like striding (for image
    stats and tests)."""
    if pix_fmt == "rgb24" and frame.shape[:2] == (height, width):
        return frame
    vf = video_frame(frame, pix_fmt)
    return vf.reformat(width=width, height=height, format="rgb24", interpolation="POINT").to_ndarray()


class SpoolCutShort(StationError, ValueError):
    """A camera's frames in a spool end before its rows: the take was cut short on disk."""

    def __init__(self, directory: Path, camera: str) -> None:
        super().__init__(
            f"the take in {directory.name} is cut short on disk: its {camera} camera frames end before "
            "its rows (was the disk full?)"
        )


@dataclass
class TakeInfo:
    task: str
    fps: int
    robot_type: str
    joint_names: list[str]
    cameras: tuple[CameraSpec, ...]  # take.json holds them as {"name", "width", "height"}
    created: float  # time.time() when the take started
    episode_time_s: float = 0.0  # the planned length of the take (0: not known), for the quality flags
    version: int = SPOOL_VERSION
    pix_fmt: str = ""  # of the frame files; "" = chosen from the cameras (spool_pix_fmt)

    def __post_init__(self) -> None:
        self.cameras = tuple(
            c if isinstance(c, CameraSpec) else CameraSpec(str(c["name"]), int(c["width"]), int(c["height"]))
            for c in self.cameras  # read back from take.json: plain objects
        )
        if not self.pix_fmt:
            self.pix_fmt = spool_pix_fmt(self.cameras)
        if self.pix_fmt not in FRAME_FILES:
            raise ValueError(f"unknown spool pixel format {self.pix_fmt!r} (rgb24 or yuv420p)")

    def frame_file(self, directory: Path, camera: str) -> Path:
        return directory / f"{camera}{FRAME_FILES[self.pix_fmt]}"

    def frame_shape(self, camera: str) -> tuple[int, ...]:
        spec = next(s for s in self.cameras if s.name == camera)
        return frame_shape(spec.width, spec.height, self.pix_fmt)

    def frame_stride(self, camera: str) -> int:
        spec = next(s for s in self.cameras if s.name == camera)
        return frame_stride(spec.width, spec.height, self.pix_fmt, self.version)


@dataclass
class CadenceReport:
    """How well a take kept time: filled by the control loop, stored in done.json, shown to the operator."""

    fps: int = 30
    ticks: int = 0
    late_ticks: int = 0  # ticks that came more than 1.5 periods after the previous one
    worst_period_ms: float = 0.0
    repeated_frames: dict[str, int] | None = None  # camera -> ticks that reused the previous frame
    stalled_cameras: list[str] | None = None  # cameras stalled (thresholds.STALL_AFTER_S) during the take
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

    def __init__(
        self, directory: Path, info: TakeInfo, on_error: Callable[[SpoolWriter, BaseException], None] | None = None
    ) -> None:
        self.directory = directory
        self.info = info
        self.frames = 0  # rows handed to append() (what the control loop recorded)
        # rows whose append found the writer's queue full: the disk a second behind, the loop waited. A filled row
        # (a tick the loop could not run) only when the disk had held the loop up before it: a process stopped for
        # seconds fills its missed ticks at once, more than the queue holds, and no disk is to blame
        self.waited = 0
        self._held_up = False  # the last row that ran found the queue full
        self.on_error = on_error  # called once, from the writer thread, when a write fails
        # Only cheap work here (this runs on the session's thread as a take starts); take.json is made
        # durable by the writer thread before the first row. A spool without it is dropped by recovery.
        directory.mkdir(parents=True, exist_ok=False)
        # Held open for the whole take and closed by finish()/abandon(), so no context manager here.
        self._rows = open(directory / "rows.bin", "wb", buffering=0)  # noqa: SIM115  (a kill keeps every row)
        # Unbuffered: a frame is in the file (where the live encoder reads it) as soon as the row is counted.
        self._sizes = {c.name: (c.width, c.height) for c in info.cameras}
        self._stride = {c.name: info.frame_stride(c.name) for c in info.cameras}
        # A frame written directly is first copied into an aligned buffer of its stride (O_DIRECT needs aligned
        # memory and lengths); the padding after the frame stays zero.
        self._buffers = {name: frame_mapping(stride) for name, stride in self._stride.items()
                         if stride % FRAME_ALIGN == 0}
        self._cams = {c.name: open_frame_file(info.frame_file(directory, c.name), direct=c.name in self._buffers)
                      for c in info.cameras}
        max_items = max(8, int(QUEUE_SECONDS * info.fps))
        self._queue: queue.Queue = queue.Queue(maxsize=max_items)
        self.error: BaseException | None = None
        self.written = 0  # rows whose frames are all in the files (what a live reader may read)
        self.last_written_t = 0.0  # the time of the last of them
        self.ended = False  # finish() or abandon() is done: no more rows will come
        self._written_changed = threading.Condition()
        # Under _written_changed: camera -> frames its live reader has taken (see _drop_behind), and the frames
        # written that it has not taken yet, kept for it in memory (index -> frame; the tee, see the module's note).
        self._read: dict[str, int] = {}
        self._tee: dict[str, dict[int, np.ndarray]] = {}
        self._tee_bytes: dict[str, int] = {}
        self._thread = threading.Thread(target=self._run, name=f"spool-{directory.name}", daemon=True)
        self._thread.start()

    @classmethod
    def create(
        cls, dataset_root: Path, info: TakeInfo, on_error: Callable[[SpoolWriter, BaseException], None] | None = None
    ) -> SpoolWriter:
        return cls(spool_root(dataset_root) / f"take-{time.time_ns()}", info, on_error)

    def append(self, t: float, action: np.ndarray, state: np.ndarray, images: dict[str, np.ndarray],
               filled: bool = False) -> None:
        """Called by the control loop: cheap, no I/O. Blocks only if the disk falls seconds behind. `filled`: a
        tick the loop could not run, its row repeated (they come in bursts after a stall)."""
        if self.error is not None:
            return
        self.frames += 1
        full = self._queue.full()
        if full and (not filled or self._held_up):
            self.waited += 1
        if not filled:
            self._held_up = full
        self._queue.put((t, action, state, images))

    def _run(self) -> None:
        # Just below the cameras: a writer starved by other work fills its queue and then blocks the control
        # loop (measured with three 1280x720 cameras on a loaded machine: appends blocked up to 300 ms, 44 of
        # 277 ticks over 20 ms; at this priority none over 0.1 ms). Its work per row is a few ms, then it sleeps.
        raise_current_thread(rt_priority=4)
        row = np.zeros(1, dtype=ROW_DTYPE)
        last_sync = time.monotonic()
        try:
            write_json_atomic(self.directory / "take.json", asdict(self.info))
            _write_reserve(self.directory / RESERVE_NAME)
            fsync_dir(self.directory.parent)
            while True:
                item = self._queue.get()
                if item is None:
                    break
                t, action, state, images = item
                spooled = {}
                for name in self._cams:
                    image = images[name]
                    if image_size(image) != self._sizes[name]:
                        w, h = image_size(image)
                        raise ValueError(
                            f"camera {name} delivered {w}x{h}, "
                            f"expected {self._sizes[name][0]}x{self._sizes[name][1]}"
                        )
                    spooled[name] = to_spool_format(image, self.info.pix_fmt)
                row["t"], row["action"], row["state"] = t, action, state
                write_all(self._rows, memoryview(row.tobytes()))
                for name, f in self._cams.items():
                    frame = np.ascontiguousarray(spooled[name])
                    buffer = self._buffers.get(name)
                    own = page_buffer(frame, self._stride[name]) if buffer is not None else None
                    if buffer is None:
                        write_all(f, frame.data)
                    elif own is not None:  # a camera's frame in aligned memory of its own: written as it is
                        write_all(f, own)
                    else:
                        np.frombuffer(buffer, dtype=np.uint8, count=frame.size)[:] = frame.reshape(-1)
                        write_all(f, memoryview(buffer))
                checkpoint("spool-write")
                with self._written_changed:
                    for name in self._read:  # cameras with a live reader: the frame stays in memory for it
                        self._keep_for_reader(name, self.written, spooled[name])
                    self.written += 1
                    self.last_written_t = float(t)
                    self._written_changed.notify_all()
                checkpoint("spool-row")
                if time.monotonic() - last_sync > SYNC_INTERVAL_S:
                    self._sync()
                    last_sync = time.monotonic()
        except BaseException as e:  # the take ends at its last whole frame, and says so: never a silent cut
            self.error = e
            log.info("spool %s: writing failed after %d frames", self.directory.name, self.written, exc_info=e)
            self._cut_to_written()
            if self.on_error is not None:
                try:
                    self.on_error(self, e)
                except Exception:
                    log.exception("reporting the write error of spool %s failed", self.directory.name)
            while self._queue.get() is not None:  # unblock the producer until finish() arrives
                pass

    def _keep_for_reader(self, camera: str, index: int, frame: np.ndarray) -> None:
        """Hand the frame just written to the camera's live reader through memory, while that reader is less
        than TEE_BYTES (or TEE_SECONDS) behind (under _written_changed). Frames are never changed once made
        (read-only arrays from the cameras, or the spool's own conversion), so the reader may have the writer's
        very array."""
        tee = self._tee[camera]
        # The tee may also have the room of the writer's queue that is free: frames move from the queue into the
        # tee as they are written, so a writer catching up (the disk slow as a take starts) does not push the
        # encoder that follows it out to the disk. Then, reading back from a disk that is writing, it fell
        # further behind and stayed there (capacity probes at 0.74 of the h264 encoders alone encoded 48
        # frames/s where others at 0.66 did 68). A queue that fills again while the tee is full can hold up to
        # QUEUE_SECONDS more of a lagging camera's frames (none at 640x480, where TEE_BYTES is the larger).
        free_queue = self._queue.maxsize - self._queue.qsize()
        limit = max(TEE_BYTES, (TEE_SECONDS * self.info.fps + free_queue) * frame.nbytes)
        if tee and self._tee_bytes[camera] + frame.nbytes > limit:
            return  # the reader is far behind: it reads this one from the file
        tee[index] = frame
        self._tee_bytes[camera] += frame.nbytes

    def _cut_to_written(self) -> None:
        """Drop the part of a row that did not reach the disk whole, so every file holds `written` rows."""
        try:
            self._rows.truncate(self.written * ROW_DTYPE.itemsize)
            for name, f in self._cams.items():
                f.truncate(self.written * self._stride[name])
        except OSError:
            log.exception("spool %s: cutting the files back to %d frames failed", self.directory.name, self.written)

    def _sync(self) -> None:
        """Make every row written so far durable, then drop its frames from the page cache (drop-behind).
        Runs on the writer thread between rows (or after it has ended), so `written` rows are what is synced."""
        for f in (self._rows, *self._cams.values()):
            f.flush()
            os.fdatasync(f.fileno())
        self._drop_behind()

    def _drop_behind(self) -> None:
        """Let the kernel free the cached pages of frames that are on disk and that no live reader still needs.

        Only clean (synced) pages can go, so this follows `_sync`. A camera whose live reader is behind keeps
        its frames from that reader on cached; one without a live reader (saving starts after the take) drops
        everything synced, and its save reads the frames back from the disk.
        """
        for name, f in self._cams.items():
            frames = min(self.written, self._read.get(name, self.written))
            drop_cached(f.fileno(), frames * self._stride[name])

    def finish(self, cadence: CadenceReport) -> Path:
        """Flush, fsync and mark the take complete. Runs off the control loop; may take a moment.

        After a write error the take ends at its last whole frame: `cadence` is corrected to the rows on
        disk and says why the take ended early. Raises only when nothing of the take could be kept.
        """
        try:
            self._queue.put(None)
            self._thread.join()
            if self.error is not None:
                if self.written == 0:
                    self._close()
                    raise self.error
                cadence.ticks = self.written
                cadence.last_tick = self.last_written_t
                reason = describe_write_error(self.error)
                cadence.interrupted = f"{cadence.interrupted}; " if cadence.interrupted else ""
                cadence.interrupted += f"could not write to disk ({reason}): ended at its last whole frame"
            self._sync()
            self._close()
            (self.directory / RESERVE_NAME).unlink(missing_ok=True)  # the room set aside for done.json
            write_json_atomic(self.directory / "done.json", {"frames": self.written, "cadence": asdict(cadence)})
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
        remove_spool(self.directory)

    def _end(self) -> None:
        with self._written_changed:
            self.ended = True
            self._written_changed.notify_all()

    @property
    def taken(self) -> int:
        """Frames the cameras' live readers have taken so far, all cameras together (a reader's count goes
        when it ends)."""
        with self._written_changed:
            return sum(self._read.values())

    def live_frames(self, camera: str, cancelled: Callable[[], bool]) -> Iterator[np.ndarray]:
        """The camera's frames as they are recorded, ending with the take: for encoding during the take.

        Each frame written from now on is handed over in memory (the tee) while the reader keeps up; the ones
        before, and any it falls further behind on than the tee holds (see _keep_for_reader), it reads from
        the spool file. So it never drops
        a frame and memory stays bounded. Ends early if `cancelled()`. Frames are read-only arrays.
        """
        shape, stride = self.info.frame_shape(camera), self.info.frame_stride(camera)
        with self._written_changed:  # from the next frame written on, the writer keeps this camera's for it
            self._read[camera], self._tee[camera], self._tee_bytes[camera] = 0, {}, 0
        ahead = max(2, READ_AHEAD_BYTES // stride)  # frames read from the disk ahead of the encoder
        disk = FramesReadAhead(self.info.frame_file(self.directory, camera), shape, stride, ahead, camera)
        try:
            i = 0
            while not cancelled():
                with self._written_changed:
                    while self.written <= i and not self.ended and not cancelled():
                        self._written_changed.wait(0.1)
                    available = self.written
                    frame = self._tee[camera].pop(i, None)
                    if frame is not None:
                        self._tee_bytes[camera] -= frame.nbytes
                    else:  # written before this reader came, or while it was far behind: from the file
                        # The tee took each frame (or not) as it was written, so these are final.
                        missing = [j for j in range(i, min(available, i + ahead)) if j not in self._tee[camera]]
                if available <= i:
                    return
                if frame is None:
                    disk.want(missing)
                    frame = disk.take(i)
                    if frame is None:
                        raise SpoolCutShort(self.directory, camera)
                i += 1
                self._read[camera] = i
                yield frame
        finally:
            disk.close()
            with self._written_changed:
                for held in (self._read, self._tee, self._tee_bytes):
                    held.pop(camera, None)

    def _close(self) -> None:
        for f in (self._rows, *self._cams.values()):
            f.close()
        self._buffers = {}  # freed with the last view of them (a write error's traceback may hold one)


def write_all(f: io.RawIOBase, data: memoryview) -> None:
    """Write every byte or raise: a short write is continued, and one that cannot go on is an error."""
    data = data.cast("B")
    done = 0
    while done < len(data):
        try:
            n = f.write(data[done:])
        except OSError as e:
            if e.errno == errno.EINVAL and _without_direct_io(f):
                continue  # direct I/O refused after all: through the page cache then
            raise
        if not n:
            raise OSError(errno.ENOSPC, "No space left on device (short write)")
        done += n


def open_frame_file(path: Path, direct: bool) -> io.FileIO:
    """A new frame file; with `direct`, written straight to the disk (O_DIRECT) where the file system allows it."""
    flag = getattr(os, "O_DIRECT", 0)
    if direct and flag:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | flag, 0o644)
        except OSError as e:
            if e.errno != errno.EINVAL:  # EINVAL: this file system has no direct I/O
                raise
        else:
            return open(fd, "wb", buffering=0)  # noqa: SIM115  (held open for the take)
    return open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644), "wb", buffering=0)  # noqa: SIM115


def _without_direct_io(f: io.RawIOBase) -> bool:
    """Turn O_DIRECT off on an open file (a file system that opens with it but refuses the writes); True if
    it was on."""
    direct = getattr(os, "O_DIRECT", 0)
    flags = fcntl.fcntl(f.fileno(), fcntl.F_GETFL)
    if not direct or not flags & direct:
        return False
    fcntl.fcntl(f.fileno(), fcntl.F_SETFL, flags & ~direct)
    return True


class FramesReadAhead:
    """Frames of one frame file read on a thread of its own, ahead of the reader that wants them: for a live
    encoder that fell behind the writer by more than the tee holds.

    Straight from the disk (O_DIRECT) into reused page-aligned memory where the frames lie on block boundaries
    (spool version 3, frames of DIRECT_MIN_BYTES or more) and the file system allows it; else through the page
    cache. Measured here, CPU per 11.5 MB frame read back after it was written straight to the disk: 19.9 ms
    through the page cache (the kernel reading ahead), 0.7-0.8 ms straight from the disk. A direct read waits
    for the disk (14 ms a frame here) where the cache's read-ahead did not, hence the thread: the encoder
    encodes while the next frames are read. At most `ahead` frames are asked for at once.
    """

    def __init__(self, path: Path, shape: tuple[int, ...], stride: int, ahead: int, name: str) -> None:
        self.path, self.shape, self.stride, self.name = path, shape, stride, name
        self._pool = FramePool(shape, keep=ahead + 2)  # those asked for, the one being encoded, the next
        self._pending: dict[int, Future[np.ndarray | None]] = {}
        self._reads: ThreadPoolExecutor | None = None  # started at the first frame wanted
        self._direct: int | None = None
        self._cached: io.BufferedReader | None = None

    def want(self, indices: Iterable[int]) -> None:
        """Start reading these frames (the ones not asked for already), in order."""
        if self._reads is None:
            self._open()
            self._reads = ThreadPoolExecutor(1, thread_name_prefix=f"spool-read-{self.name}")
        for index in indices:
            if index not in self._pending:
                self._pending[index] = self._reads.submit(self._read, index)

    def take(self, index: int) -> np.ndarray | None:
        """Frame `index` (read now if it was not wanted before), or None if the file ends before it is whole."""
        self.want([index])
        return self._pending.pop(index).result()

    def close(self) -> None:
        if self._reads is not None:
            self._reads.shutdown(wait=True, cancel_futures=True)
        self._pending.clear()
        if self._direct is not None:
            os.close(self._direct)
            self._direct = None
        if self._cached is not None:
            self._cached.close()
            self._cached = None

    def _open(self) -> None:
        self._cached = open(self.path, "rb")  # noqa: SIM115  (closed in close())
        direct = getattr(os, "O_DIRECT", 0)
        if direct and self.stride % FRAME_ALIGN == 0:
            with contextlib.suppress(OSError):  # this file system has no direct I/O: through the page cache
                self._direct = os.open(self.path, os.O_RDONLY | direct)

    def _read(self, index: int) -> np.ndarray | None:
        out = self._pool.new_frame()
        direct = self._direct
        memory = page_buffer(out, self.stride) if direct is not None else None
        if direct is not None and memory is not None:
            try:
                got = os.preadv(direct, [memory], index * self.stride)
            except OSError as e:
                if e.errno != errno.EINVAL:
                    raise
                os.close(direct)  # refused after all: through the page cache from now on
                self._direct = None
            else:
                return out if got == self.stride else None
        assert self._cached is not None
        return read_frame(self._cached, index, self.shape, self.stride, out=out)


def read_frame(f: io.RawIOBase | io.BufferedReader, index: int, shape: tuple[int, ...],
               stride: int, out: np.ndarray | None = None) -> np.ndarray | None:
    """Frame `index` of a frame file whose frames start `stride` bytes apart (into `out` if given), or None if
    the file ends before it is whole."""
    frame = np.empty(shape, dtype=np.uint8) if out is None else out
    f.seek(index * stride)
    return frame if f.readinto(frame.data) == frame.nbytes else None


def drop_cached(fd: int, length: int) -> None:
    """Free the cached pages of the first `length` bytes of the file: read once, or on disk and read (see the
    module's note on drop-behind). Advice only: without posix_fadvise (macOS), or on a file system that ignores
    it, nothing changes."""
    if length > 0 and hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):
            os.posix_fadvise(fd, 0, length, os.POSIX_FADV_DONTNEED)


def _write_reserve(path: Path) -> None:
    with open(path, "wb") as f:
        f.write(bytes(RESERVE_BYTES))
        f.flush()
        os.fsync(f.fileno())


def describe_write_error(error: BaseException) -> str:
    if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
        return "the disk is full"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


class SpoolReader:
    """A finished (or crash-cut) take on disk, read without loading frames into memory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        try:
            raw = json.loads((directory / "take.json").read_text())
            if not isinstance(raw, dict):
                raise ValueError("it is not an object")
            raw["version"] = int(raw.get("version", 1))
            if raw["version"] < 2:
                raw.setdefault("pix_fmt", "rgb24")  # version 1 spooled raw RGB
        except (OSError, ValueError, TypeError) as e:
            raise ValueError(f"spool {directory.name} has no readable take.json ({e})") from e
        if raw.get("pix_fmt", SPOOL_PIX_FMT) not in FRAME_FILES:
            raise ValueError(f"spool {directory.name}: its frames are stored as {raw['pix_fmt']!r}, which this version "
                             "of station cannot read (it reads rgb24 and yuv420p): recover it with the version that "
                             "recorded it")
        try:
            self.info = TakeInfo(**raw)
        except (ValueError, TypeError) as e:
            raise ValueError(f"spool {directory.name} has no readable take.json ({e})") from e
        done = directory / "done.json"
        self.complete = done.exists()
        self.cadence: CadenceReport | None = None
        rows = np.fromfile(directory / "rows.bin", dtype=ROW_DTYPE) if (directory / "rows.bin").exists() else None
        available = len(rows) if rows is not None else 0
        for spec in self.info.cameras:
            path = self.info.frame_file(directory, spec.name)
            size = path.stat().st_size if path.exists() else 0
            available = min(available, size // self.info.frame_stride(spec.name))
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

    @property
    def pix_fmt(self) -> str:
        return self.info.pix_fmt

    def frames_of(self, camera: str) -> Iterator[np.ndarray]:
        """The camera's frames in order, in the spool's pixel format (see frame_shape), read one at a time.

        Plain reads rather than a memory map: pages of a mapped file count in the process's resident memory,
        so mapping a 60 s take would look like (and, under pressure, be) gigabytes of RSS.
        """
        shape, stride = self.info.frame_shape(camera), self.info.frame_stride(camera)
        with open(self.info.frame_file(self.directory, camera), "rb") as f:
            for i in range(self.frames):
                frame = read_frame(f, i, shape, stride)
                if frame is None:
                    raise SpoolCutShort(self.directory, camera)
                if (i + 1) * stride // DROP_BEHIND_BYTES != i * stride // DROP_BEHIND_BYTES:
                    drop_cached(f.fileno(), (i + 1) * stride)  # read once: not worth a place in the cache
                yield frame

    def frames_at(self, camera: str, indices: Iterable[int], step: int = 1) -> Iterator[np.ndarray]:
        """Chosen frames of a camera as RGB (H/step, W/step, 3), read by seeking, one at a time (for stats:
        a yuv420p frame is converted and shrunk in one swscale pass, so stats cost no more than from RGB)."""
        spec = next(s for s in self.info.cameras if s.name == camera)
        shape, stride = self.info.frame_shape(camera), self.info.frame_stride(camera)
        with open(self.info.frame_file(self.directory, camera), "rb") as f:
            for i in indices:
                frame = read_frame(f, int(i), shape, stride)
                if frame is None:
                    raise ValueError(f"spool {self.directory.name}: camera {camera} has no frame {i}")
                if self.info.pix_fmt == "rgb24":
                    yield frame[::step, ::step] if step > 1 else frame
                else:
                    yield spooled_to_rgb(frame, self.info.pix_fmt, spec.width // step, spec.height // step)


def list_spools(dataset_root: Path) -> list[Path]:
    """Spool directories in the order their takes were recorded."""
    root = spool_root(dataset_root)
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if p.is_dir() and p.name.startswith("take-")), key=lambda p: p.name)


def find_spools(dataset_root: Path) -> tuple[list[Path], list[Path]]:
    """(complete, partial) spool directories, oldest first."""
    complete: list[Path] = []
    partial: list[Path] = []
    for path in list_spools(dataset_root):
        (complete if (path / "done.json").exists() else partial).append(path)
    return complete, partial

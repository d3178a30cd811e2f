"""How fast the disk holding a dataset takes a take's frames, measured: the spool's own way of writing.

Every camera frame goes to the spool as it is recorded (yuv420p, straight to the disk: station.saving.spool),
so a camera set fits real time only if that disk takes its bytes: two 1280x720 cameras at 30 fps write 83 MB/s,
two 1920x1080 187 MB/s, and a slow disk (a USB stick, a network share, a virtual machine's disk on a busy
host) may take less. A disk that falls behind fills the writer's queue and then holds up the control loop.

`disk_write_speed(directory)` writes fresh blocks of a file no one sees (O_TMPFILE: gone when it is closed, even
after a kill) the way the spool does (aligned frames, O_DIRECT where the file system allows it, an fdatasync
every second) for about a second, and returns bytes per second. `cached_disk_write_speed` keeps the figure per
file system, like the encoder's (station.saving.throughput): a second and a few hundred megabytes once, not at
every start.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import io
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from station.hardware.frame_memory import frame_mapping
from station.saving.measured_cache import best_measured, cache_directory
from station.saving.spool import SYNC_INTERVAL_S, open_frame_file, write_all

CHUNK_BYTES = 4 * 1024 * 1024  # a 1920x1080 yuv420p frame is 3.1 MB; the spool writes one frame per call
MAX_BYTES = 1024**3  # a fast disk is measured on at most this much, whatever the time
FREE_SHARE = 0.05  # and on at most this share of the free space: a save running meanwhile must not run out
CACHE_VERSION = 1


@contextlib.contextmanager
def _unnamed_file(directory: Path) -> Iterator[io.FileIO]:
    """A new file in `directory`, open for writing, that no one sees and that goes when it is closed: O_TMPFILE,
    else (vfat, exFAT...) a named file removed at once. Direct I/O where the file system allows it."""
    direct, unnamed = getattr(os, "O_DIRECT", 0), getattr(os, "O_TMPFILE", 0)
    f = None
    for flags in (os.O_WRONLY | unnamed | direct, os.O_WRONLY | unnamed) if unnamed else ():
        try:
            f = open(os.open(directory, flags, 0o600), "wb", buffering=0)  # noqa: SIM115  (closed below)
            break
        except OSError as e:  # EINVAL: no direct I/O; EOPNOTSUPP, EISDIR: no O_TMPFILE on this file system
            if e.errno not in (errno.EINVAL, errno.EOPNOTSUPP, errno.EISDIR):
                raise
    if f is None:
        name = directory / f".station-disk-probe-{os.getpid()}-{time.monotonic_ns()}"
        f = open_frame_file(name, direct=True)  # as the spool opens its frame files
        os.unlink(name)
    with f:
        yield f


def disk_write_speed(directory: Path, seconds: float = 1.0, cancelled: Callable[[], bool] = lambda: False) -> float:
    """Bytes per second the disk holding `directory` takes, written as the spool writes frames; 0.0 if cancelled
    or if the disk has too little free space to measure it without getting in the way. Raises OSError when
    nothing can be written there (no permission, an I/O error)."""
    budget = min(MAX_BYTES, int(FREE_SHARE * shutil.disk_usage(directory).free)) // CHUNK_BYTES * CHUNK_BYTES
    if budget < 8 * CHUNK_BYTES:
        return 0.0
    buffer = frame_mapping(CHUNK_BYTES)
    written = 0
    try:
        buffer.write(os.urandom(4096) * (CHUNK_BYTES // 4096))  # not zeros: a disk that compresses flatters them
        with _unnamed_file(directory) as f:
            fd = f.fileno()
            # Through the page cache (no direct I/O here) each chunk is synced at once: what is timed is the disk,
            # and a slow one is never handed a second's worth of cache to drain at the end.
            start = last_sync = time.perf_counter()
            while time.perf_counter() - start < seconds and written < budget and not cancelled():
                write_all(f, memoryview(buffer))  # turns direct I/O off if the file system refuses the write
                written += CHUNK_BYTES
                direct = fcntl.fcntl(fd, fcntl.F_GETFL) & getattr(os, "O_DIRECT", 0)
                if not direct or time.perf_counter() - last_sync > SYNC_INTERVAL_S:
                    os.fdatasync(fd)
                    last_sync = time.perf_counter()
            os.fdatasync(fd)
            elapsed = time.perf_counter() - start
    finally:
        buffer.close()
    return 0.0 if cancelled() else written / max(elapsed, 1e-9)


def cache_key(directory: Path) -> str:
    """The disk figure's key: the file system holding `directory`, by where it is mounted and its id (from its
    UUID where it has one, so another stick mounted at the same place is another key)."""
    mount = directory.resolve()
    while not os.path.ismount(mount) and mount != mount.parent:
        mount = mount.parent
    return f"v{CACHE_VERSION} {mount} (file system {os.statvfs(directory).f_fsid:x})"


def cached_disk_write_speed(directory: Path, cache: Path | None = None, seconds: float = 1.0,
                            cancelled: Callable[[], bool] = lambda: False, again: bool = False) -> tuple[float, bool]:
    """disk_write_speed, measured once per file system: (bytes/s, whether it came from the cache). With `again`
    it is measured anew and the best figure is kept and given (a lower one was measured while something else
    wrote to the disk)."""
    return best_measured(cache or cache_directory() / "disk-write-speed.json",
                         cache_key(directory),
                         lambda: disk_write_speed(directory, seconds, cancelled), again,
                         keep=lambda: not cancelled())

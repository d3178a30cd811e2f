"""One station per dataset: an OS lock (flock) on the dataset directory itself, held while the station runs.

The lock is taken on an open descriptor of the dataset folder, not on a file inside it: there is no lock
file that could be deleted from under a running station (deleting `.station/` or any file in it leaves the
lock held), and the kernel releases it when the process dies, however it dies.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from station.dataset.pack import stage_path
from station.errors import DatasetError

# `station check` asks whether a station runs by taking a shared lock for a moment; a station starting in that
# moment waits it out instead of calling the dataset "in use".
PROBE_GRACE_S = 0.5


def _flock_within(fd: int, seconds: float) -> None:
    """The exclusive lock, tried until `seconds` have passed; BlockingIOError when it is still held then."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


class DatasetLock:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as e:
            raise DatasetError(f"cannot open {self.root} to lock it: {e.strerror or e}") from None
        try:
            _flock_within(fd, PROBE_GRACE_S)
        except BlockingIOError:
            os.close(fd)
            if stage_path(self.root).exists():
                raise DatasetError(f"{self.root} is being packed (station pack): wait until it has finished") from None
            raise DatasetError(f"{self.root} is in use by another station: close it first") from None
        except OSError as e:
            os.close(fd)
            raise DatasetError(f"cannot lock {self.root}: {e.strerror or e}") from None
        self._fd = fd  # nothing is written: taking the lock changes nothing on disk

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DatasetLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

"""One station per dataset: an advisory lock (flock) on a file, released by the kernel when the process dies."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from station.dataset.pack import stage_path
from station.errors import DatasetError


class DatasetLock:
    def __init__(self, root: Path) -> None:
        self.path = root / ".station" / "lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            root = self.path.parent.parent
            if stage_path(root).exists():
                raise DatasetError(f"{root} is being packed (station pack): wait until it has finished") from None
            raise DatasetError(f"{root} is in use by another station: close it first") from None
        self._fd = fd  # the file stays empty: taking the lock changes nothing on disk

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> DatasetLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

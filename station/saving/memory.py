"""Giving freed memory back to the system after each take's encoders close.

Each camera's SVT-AV1 encoder allocates ~100 MB in many blocks from its own threads; when it closes, glibc
keeps the freed pages in the arena they came from (only the top of the main heap is returned by itself).
Over many takes, the next encoders rarely fit exactly in those holes, so the process's resident memory
climbs take after take (fragmentation, not a leak). malloc_trim(0) hands every wholly free page of every
arena back to the kernel (madvise), which keeps memory flat. A no-op where glibc is not the allocator, and in
a process set up by station.priority.tune_process: there the next take's encoders open into the last take's
memory (station.priority.encoder_heap), which is flat too, at a higher level.
"""

from __future__ import annotations

import ctypes
import logging
import sys
import threading
from collections.abc import Callable

from station.priority import keeps_encoder_heap

log = logging.getLogger(__name__)
_lock = threading.Lock()
_libc: ctypes.CDLL | None = None
_looked_up = False


def _malloc_trim() -> Callable[[int], int] | None:
    global _libc, _looked_up
    with _lock:
        if not _looked_up:
            _looked_up = True
            if sys.platform.startswith("linux"):
                try:
                    _libc = ctypes.CDLL(None)
                    _libc.malloc_trim.argtypes = [ctypes.c_size_t]
                    _libc.malloc_trim.restype = ctypes.c_int
                except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
                    _libc = None
        return _libc.malloc_trim if _libc is not None else None


def release_freed_memory() -> bool:
    """Return wholly free heap pages to the system; True if it was done (not where the allocator cannot, nor
    where the process keeps them for the next take's encoders)."""
    if keeps_encoder_heap():
        return False
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True

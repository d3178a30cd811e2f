"""Crash-test hooks: `STATION_KILL_AT=NAME:K` kills the process (SIGKILL) the K-th time it reaches NAME.

Makes each crash moment of the fault-injection suite certain instead of timed: mid-take ("spool-row"),
a take durable but not yet reported ("spool-done"), mid-encode ("encode-frame"), inside a commit (the
writer's points "after-temp-files", "after-journal", "mid-rename", "before-info"), and after a commit but
before the spool is removed ("committed"). Costs one dictionary look-up when the variable is not set.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable

_ENV = "STATION_KILL_AT"
_lock = threading.Lock()
_counts: dict[str, int] = {}


def _target() -> tuple[str, int] | None:
    spec = os.environ.get(_ENV)
    if not spec:
        return None
    name, _, k = spec.partition(":")
    return name, int(k or 1)


_TARGET = _target()


def checkpoint(name: str) -> None:
    if _TARGET is None or name != _TARGET[0]:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        if _counts[name] == _TARGET[1]:
            os.kill(os.getpid(), signal.SIGKILL)


def writer_fault() -> Callable[[str], None] | None:
    """The hook a DatasetWriter is built with: its named commit points go to checkpoint() when a kill point is
    set; None (the writer's no-op) otherwise."""
    return checkpoint if _TARGET is not None else None

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


def install_writer_hooks() -> None:
    """Route the dataset writer's named commit points to checkpoint() when a kill point is set."""
    if _TARGET is None:
        return
    from station.dataset import writer
    from station.dataset.writer import DatasetWriter

    setattr(writer, "_creation_fault", checkpoint)  # noqa: B010  (creation's point "create-before-publish")

    def fault(_self: DatasetWriter, point: str) -> None:
        checkpoint(point)

    setattr(DatasetWriter, "_fault", fault)  # noqa: B010  (a test hook replaces the no-op method)

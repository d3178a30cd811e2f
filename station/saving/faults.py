"""Crash-test hooks, set by environment variables; each costs one dictionary look-up when unset.

`STATION_KILL_AT=NAME:K` kills the process (SIGKILL) the K-th time it reaches NAME.
`STATION_FAIL_AT=NAME:K` makes NAME fail with an OSError ("Operation not permitted", as an immutable
folder would) from the K-th time on: a save that keeps failing, without having to break a real disk.

Makes each crash moment of the fault-injection suite certain instead of timed: mid-take ("spool-row"),
a take durable but not yet reported ("spool-done"), mid-encode ("encode-frame"), inside a commit (the
writer's points "after-temp-files", "after-journal", "published-videos", "published-tasks",
"published-episodes", "mid-rename" (after the data file), "before-info"; creating a dataset:
"create-before-publish"), after a commit but
before the spool is removed ("committed"), and while a committed take's spool is deleted ("trash-move",
"trash-delete").
"""

from __future__ import annotations

import errno
import os
import signal
import threading
from collections.abc import Callable

_KILL_ENV = "STATION_KILL_AT"
_FAIL_ENV = "STATION_FAIL_AT"
_lock = threading.Lock()
_counts: dict[str, int] = {}


def _target(env: str) -> tuple[str, int] | None:
    spec = os.environ.get(env)
    if not spec:
        return None
    name, _, k = spec.partition(":")
    return name, int(k or 1)


_TARGET = _target(_KILL_ENV)
_FAIL = _target(_FAIL_ENV)
_NAMES = {t[0] for t in (_TARGET, _FAIL) if t is not None}


def checkpoint(name: str) -> None:
    if name not in _NAMES:
        return
    with _lock:
        _counts[name] = _counts.get(name, 0) + 1
        count = _counts[name]
    if _TARGET is not None and name == _TARGET[0] and count == _TARGET[1]:
        os.kill(os.getpid(), signal.SIGKILL)
    if _FAIL is not None and name == _FAIL[0] and count >= _FAIL[1]:
        raise OSError(errno.EPERM, f"Operation not permitted (injected at {name})")


def writer_fault() -> Callable[[str], None] | None:
    """The hook a DatasetWriter is built with: its named commit points go to checkpoint() when a kill or
    failure point is set; None (the writer's no-op) otherwise."""
    return checkpoint if _NAMES else None

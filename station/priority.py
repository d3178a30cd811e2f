"""Thread priorities: the control loop first, background encoding last.

SVT-AV1, when the process runs as root (as it often does on robot PCs, for serial-port access), creates its
worker threads with SCHED_FIFO at the highest real-time priority and does the same to the thread that opened
the encoder. Real-time threads that busy the cores starve every normal thread: measured here, the 30 Hz
control loop stalled for up to 0.9 s and cameras stopped delivering while a take was encoding. Once an
encoder is running we move every real-time thread of this process back to normal scheduling at a low
priority (nice), so the control loop, cameras and GUI always come first and encoding uses the spare time.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)
BACKGROUND_NICE = 10
_REALTIME = {getattr(os, "SCHED_FIFO", -1), getattr(os, "SCHED_RR", -1)}
_protected: set[int] = set()  # threads we raised on purpose (control loop, cameras): never demoted


def thread_ids() -> list[int]:
    try:
        return [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return []


def demote_realtime_threads(nice: int = BACKGROUND_NICE) -> int:
    """Move this process's real-time threads to SCHED_OTHER at `nice`; returns how many were moved."""
    if not hasattr(os, "sched_getscheduler"):
        return 0
    moved = 0
    for tid in thread_ids():
        if tid in _protected:
            continue
        try:
            if os.sched_getscheduler(tid) in _REALTIME:
                os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
                os.setpriority(os.PRIO_PROCESS, tid, nice)
                moved += 1
        except OSError:  # the thread ended meanwhile, or we may not change it
            continue
    if moved:
        log.debug("moved %d real-time encoder threads to normal scheduling at nice %d", moved, nice)
    return moved


def lower_current_thread(nice: int = BACKGROUND_NICE) -> None:
    """Run the calling (background) thread at a lower priority than the control loop."""
    try:
        os.setpriority(os.PRIO_PROCESS, getattr(os, "gettid", lambda: 0)(), nice)
    except OSError:
        pass


def raise_current_thread(rt_priority: int = 10) -> str:
    """Give the calling (control-loop) thread precedence over everything else the machine runs.

    A low real-time priority when the process may use one (root, or an rtprio limit), else a negative nice,
    else nothing. The loop sleeps most of each period, so it cannot hog a core. Returns what was done.
    """
    _protected.add(threading.get_native_id())
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(rt_priority))
        return f"real-time priority {rt_priority}"
    except (OSError, AttributeError):
        pass
    try:
        os.setpriority(os.PRIO_PROCESS, getattr(os, "gettid", lambda: 0)(), -5)
        return "nice -5"
    except OSError:
        return "normal priority"

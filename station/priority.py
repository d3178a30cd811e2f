"""Thread priorities: the control loop first, background encoding last.

SVT-AV1, when the process runs as root (as it often does on robot PCs, for serial-port access), creates its
worker threads with SCHED_FIFO at the highest real-time priority and does the same to the thread that opened
the encoder. Real-time threads that busy the cores starve every normal thread: measured here, the 30 Hz
control loop stalled for up to 0.9 s and cameras stopped delivering while a take was encoding. Once an
encoder is running we move its threads back to normal scheduling at a low priority (nice), so the control
loop, cameras and GUI always come first and encoding uses the spare time.

The order, where the process may use real-time priorities: control loop (FIFO 10), camera readers (5), spool
writers (4), the window's GUI thread (2), the save workers' stats and commits (1), then everything else at
normal priority (the session, the threads feeding the encoders, x264's encoding), SVT-AV1's threads last
(nice 10).
`tune_process` sets what is process-wide (GIL switch interval, malloc) once at start.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)
BACKGROUND_NICE = 10
# Above the save workers (foreground's default, 1): real-time threads of one priority never take a core from
# each other, and a save worker computing a take's stats and committing it held the GUI thread off for 30-45 ms
# at every take's end (three 1280x720 cameras).
GUI_RT_PRIORITY = 2
ENCODER_GAP_S = 0.05  # between the end of one encoder's start or teardown and the next (see EncoderTurns)
# How long a thread running Python may keep the GIL while another waits for it (CPython's default: 5 ms).
# Measured with three 1280x720 cameras and the window open: late control ticks 17.7 % at 5 ms, 5.2 % at 1 ms.
# The threads that compute (encoders, swscale, file I/O, QPainter) release the GIL, so the cost is small.
GIL_SWITCH_INTERVAL_S = 0.001
MALLOC_ARENAS = 2
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value, kept fixed
M_ARENA_MAX, M_MMAP_THRESHOLD, M_TRIM_THRESHOLD = -8, -3, -1  # glibc's mallopt parameter numbers
ENCODER_HEAP_THRESHOLD = 32 * 1024 * 1024  # while an encoder opens its buffers come from the heap (glibc's most)
KEPT_HEAP = 1024 * 1024 * 1024  # free memory at the top of a heap that glibc keeps rather than gives back
_warm_heap: ctypes.CDLL | None = None  # glibc, once tune_process has set the process up for encoder_heap()
_REALTIME = {getattr(os, "SCHED_FIFO", -1), getattr(os, "SCHED_RR", -1)}
_protected: set[int] = set()  # threads we raised on purpose (control loop, cameras): never demoted


def thread_ids() -> list[int]:
    try:
        return [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        return []


class KeepScheduling:
    """The calling thread's scheduling as it is now, to put back after a library changed it.

    SVT-AV1 (run as root) makes the thread that opens an encoder SCHED_FIFO 99, and it stays so: measured, a
    test run's main thread, and so every process it started afterwards (scheduling is inherited), ran at
    real-time priority 99 above every control loop on the machine. encode_video restores the caller's.
    """

    def __init__(self) -> None:
        try:
            self.policy: int | None = os.sched_getscheduler(0)
            self.param = os.sched_getparam(0)
        except (OSError, AttributeError):
            self.policy = None

    def restore(self) -> None:
        if self.policy is None:
            return
        try:
            if os.sched_getscheduler(0) != self.policy or os.sched_getparam(0) != self.param:
                os.sched_setscheduler(0, self.policy, self.param)
        except OSError:
            log.debug("could not restore the thread's scheduling", exc_info=True)


class EncoderTurns:
    """The moments an encoder holds the GIL for long, taken one at a time and ENCODER_GAP_S apart.

    PyAV opens an encoder (avcodec_open2) and frees it (avcodec_free_context) holding the GIL, while every
    other Python thread (the window's GUI thread, the control loop) waits. Measured for SVT-AV1 at 1280x720
    with a real-time thread ticking every millisecond: opening 30-38 ms, freeing 5-18 ms (the flush and the
    frames in between released the GIL: ticks at most 2 ms apart). Every take opens its cameras' encoders
    at its start and frees them at its end, and with no reset time the next take's encoders open as the
    last take's close. Back to back, two or three such moments made one GIL hold of 35-50 ms that, added to
    the window's own work at the take boundary, was the event loop's longest stall; a turn starts at least
    ENCODER_GAP_S after the last one ended, so the waiting threads get the GIL in between. Reentrant: a
    thread that holds the turn for an encoder's start may free that encoder within it.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._last_end = 0.0  # time.monotonic() when the last turn ended

    def take(self) -> None:
        self._lock.acquire()
        time.sleep(max(0.0, self._last_end + ENCODER_GAP_S - time.monotonic()))

    def give_back(self) -> None:
        self._last_end = time.monotonic()
        self._lock.release()


ENCODER_TURNS = EncoderTurns()


@contextmanager
def encoder_turn() -> Iterator[None]:
    """Hold ENCODER_TURNS while the block runs (an encoder's teardown)."""
    ENCODER_TURNS.take()
    try:
        yield
    finally:
        ENCODER_TURNS.give_back()


class BackgroundThreads:
    """Lower the native threads a block of code starts (an encoder's workers) to background priority.

    Use around an encoder's start: `with BackgroundThreads(): encoder starts` — here, entered before
    encode_video and left once the encoder is open (its on_open). Threads new since entry that Python did not
    start (so: the encoder's own) are moved to SCHED_OTHER at `nice`, and the calling thread, which SVT-AV1
    may have made real-time 99, back to the scheduling it had on entry. Python threads are never lowered:
    they hold the GIL at times, and a GIL holder starved by a busy encoder would stall the window and the
    control loop. (The threads feeding the encoders keep normal scheduling: x264 encodes in them, and they
    hold the GIL only moments per frame; the save workers' stats and commits run in the foreground.)
    The block is one of the encoders' turns (EncoderTurns): two encoders starting at once do not take each
    other's threads for theirs, and their opens do not hold the GIL back to back.
    """

    def __init__(self, nice: int = BACKGROUND_NICE) -> None:
        self.nice = nice
        self._before: set[int] = set()
        self._open = False
        self._caller = KeepScheduling()

    def __enter__(self) -> BackgroundThreads:
        ENCODER_TURNS.take()
        self._open = True
        self._caller = KeepScheduling()
        self._before = set(thread_ids())
        return self

    def release(self) -> int:
        """Lower the new threads now and let other encoders start; returns how many were lowered."""
        if not self._open:
            return 0
        self._open = False
        try:
            self._caller.restore()  # SVT-AV1 may have made the calling thread real-time 99: its own again
            return _lower_new_threads(self._before, self.nice)
        finally:
            ENCODER_TURNS.give_back()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _lower_new_threads(before: set[int], nice: int) -> int:
    python_threads = {t.native_id for t in threading.enumerate()}
    me = threading.get_native_id()
    lowered = 0
    for tid in thread_ids():
        try:
            if tid == me:  # put back by the caller (BackgroundThreads.release)
                continue
            if tid in before or tid in python_threads or tid in _protected:
                continue
            if os.sched_getscheduler(tid) in _REALTIME:
                os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
            os.setpriority(os.PRIO_PROCESS, tid, nice)
            lowered += 1
        except (OSError, AttributeError):  # the thread ended meanwhile, or we may not change it
            continue
    log.debug("lowered %d encoder threads to nice %d", lowered, nice)
    return lowered


def _shorten_gil_switch() -> None:
    if sys.getswitchinterval() > GIL_SWITCH_INTERVAL_S:
        sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def tune_process() -> list[str]:
    """Process-wide settings for recording, applied once at start (before threads): returns what was done.

    - the GIL switch interval (GIL_SWITCH_INTERVAL_S): whoever holds the GIL gives it up to a waiting control
      loop within a millisecond instead of five;
    - glibc malloc (Linux; an explicit MALLOC_* environment variable wins): camera frames (0.5-3 MB, some
      hundred a second, each freed a moment later) are always memory-mapped and so returned to the system
      when freed, instead of glibc raising its mmap threshold after the first free and then keeping them in
      per-thread arenas; and at most MALLOC_ARENAS arenas. Measured headless with two 640x480 cameras
      while saving: peak 434-453 -> 362-366 MB (RGB frames, before the spool's tee; now 253 against 263 MB).
      Left to glibc, frames reuse heap memory instead of fresh mappings the kernel faults in and zeroes,
      which is cheaper per frame (h264 capacity 0.47 -> 0.57-0.68 with 4048x3040 frames), but the window's
      longest stall with three 1280x720 cameras went from 41-44 to 90-106 ms (the heap's arenas are
      shared with the GUI thread, and were then trimmed after each take): kept fixed;
    - an encoder's memory kept for the next one (encoder_heap): freed heap memory is not given back to the
      system (M_TRIM_THRESHOLD, and no malloc_trim after each take: keeps_encoder_heap).
    """
    global _warm_heap
    done = []
    _shorten_gil_switch()
    done.append(f"GIL switch interval {sys.getswitchinterval() * 1000:g} ms")
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None)
            if "MALLOC_MMAP_THRESHOLD_" not in os.environ and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1:
                done.append(f"frames over {MMAP_THRESHOLD // 1024} kB memory-mapped")
                # encoder_heap's threshold tried once (an older glibc refuses more than 32 MB), then put back
                heap_ok = (libc.mallopt(M_MMAP_THRESHOLD, ENCODER_HEAP_THRESHOLD) == 1
                           and libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1)
                if heap_ok and "MALLOC_TRIM_THRESHOLD_" not in os.environ \
                        and libc.mallopt(M_TRIM_THRESHOLD, KEPT_HEAP) == 1:
                    _warm_heap = libc
                    done.append("encoders' memory kept for the next take's")
            if "MALLOC_ARENA_MAX" not in os.environ and libc.mallopt(M_ARENA_MAX, MALLOC_ARENAS) == 1:
                done.append(f"{MALLOC_ARENAS} malloc arenas")
        except (OSError, AttributeError):  # not glibc
            pass
    return done


@contextmanager
def encoder_heap() -> Iterator[None]:
    """Memory allocated in the block (an encoder's open) comes from the heap, where the last take's encoders
    left theirs, instead of fresh mappings that the kernel faults in page by page.

    PyAV opens an encoder holding the GIL (see EncoderTurns), and most of an SVT-AV1 open is the kernel
    faulting its buffers in: at 1280x720 with lp=1, about 6000 page faults, 12-22 ms alone and 25-55 ms with
    three cameras recording, while the window's GUI thread waited. From the heap, once the previous encoders
    have been freed into it, an open faults in 250-400 pages and takes 3-4 ms. Opens take turns
    (EncoderTurns: the callers open inside BackgroundThreads), so one never puts the threshold back while
    another is in the block. Measured in the window with three 1280x720 cameras (runs alternated): stalls
    over 30/40/50 ms 13/2/1 against 51/18/6 in three runs, peak memory 650-712 MB against 512-595 MB;
    headless with two 640x480 cameras over 120 one-second takes, memory between takes flat at 235-240 MB
    against 140-175 MB. The threshold is the process's, so another thread's large allocation in those
    milliseconds comes from the heap too: no harm, only where it lives.
    A no-op unless tune_process set the process up for it (glibc).
    """
    libc = _warm_heap
    if libc is None:
        yield
        return
    libc.mallopt(M_MMAP_THRESHOLD, ENCODER_HEAP_THRESHOLD)
    try:
        yield
    finally:
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


def keeps_encoder_heap() -> bool:
    """Whether freed encoder memory is kept for the next take's encoders (tune_process): then
    station.saving.memory.release_freed_memory leaves it be."""
    return _warm_heap is not None


def raise_current_thread(rt_priority: int = 10) -> str:
    """Give the calling (control-loop) thread precedence over everything else the machine runs.

    A low real-time priority when the process may use one (root, or an rtprio limit), else a negative nice,
    else nothing. The loop sleeps most of each period, so it cannot hog a core. Returns what was done.
    A thread woken by the OS still waits for the GIL, so the process's GIL switch interval is shortened too
    (see tune_process).
    """
    _shorten_gil_switch()
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


@contextmanager
def foreground(rt_priority: int = 1) -> Iterator[str]:
    """The calling thread ahead of every normal thread of the machine while the block runs, then as before.

    For the Python threads that hold the GIL for others: the window's GUI thread and the save workers
    (encoding loops, stats, commits). The lowest real-time priority where the process may use one, below the
    control loop, cameras and spool writers, with SCHED_RESET_ON_FORK: the threads it starts (Qt's pools, an
    encoder's own workers) get normal scheduling, not its own. Measured with the window open while other
    programs kept both cores busy: the event loop's stalls were the GUI thread waiting for a core behind them
    (in a 304 ms stall it ran 22 ms and waited 238 ms in the run queue) and, once it ran first, waiting for
    the GIL held by an encoding thread that itself waited for a core. These threads sleep most of the time
    (I/O, the encoder, the next frame), so they cannot hog a core. Yields what was done.
    """
    scheduling = KeepScheduling()
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(rt_priority))
        done = f"real-time priority {rt_priority}"
    except (OSError, AttributeError):
        done = "normal priority"
    try:
        yield done
    finally:
        scheduling.restore()


@contextmanager
def startup_objects_frozen() -> Iterator[int]:
    """Move every object alive now out of the garbage collector's reach while the block runs; yields how many.

    Once the station has started, the objects it holds (modules, classes, the window's widgets: about 83,000)
    live until it quits, yet each full collection walks them all: measured 43 ms of CPU, holding the GIL, so
    the window, the control loop and the cameras all waited (a full collection comes after about ten younger
    ones, at any moment of a take). Frozen, a full collection walks only what was made since: 0.0 ms. Garbage
    is collected first so that none is frozen. Unfrozen at the end (tests run many sessions in one process).
    """
    gc.collect()
    gc.freeze()
    try:
        yield gc.get_freeze_count()
    finally:
        gc.unfreeze()

"""Scheduling: encoding never leaves the calling thread real-time (SVT-AV1, run as root, makes it FIFO 99)."""

import ctypes
import itertools
import os
import threading

import numpy as np
import pytest

from station.dataset.spec import VideoSettings
from station.dataset.video import encode_video


def test_encoding_av1_leaves_the_calling_threads_scheduling_as_it_was(tmp_path):
    seen = {}

    def encode() -> None:  # in a thread of its own, so a failure cannot leave the test runner real-time
        before = (os.sched_getscheduler(0), os.sched_getparam(0))
        frames = iter([np.zeros((48, 64, 3), np.uint8)] * 5)
        encode_video(frames, tmp_path / "v.mp4", 30, 64, 48, VideoSettings.for_codec("libsvtav1"))
        seen["before"], seen["after"] = before, (os.sched_getscheduler(0), os.sched_getparam(0))

    thread = threading.Thread(target=encode, name="encode-under-test")
    thread.start()
    thread.join(60)
    assert seen["after"] == seen["before"]


def test_the_window_runs_with_its_start_up_objects_frozen_and_lets_them_go_after():
    import gc
    import weakref

    from station.session.running import running_session

    class Node:
        pass

    before = gc.get_freeze_count()
    with running_session(gui=False) as done:
        assert gc.get_freeze_count() > before  # what exists now is out of the collector's way
        assert done and "frozen" in done[0]
        cycle = Node()
        cycle.me = cycle  # garbage made while the session runs is still collected
        gone = weakref.ref(cycle)
        del cycle
        gc.collect()
        assert gone() is None
    assert gc.get_freeze_count() == 0  # tests run many sessions in one process: nothing stays frozen


def test_the_gui_thread_in_the_foreground_hands_normal_scheduling_to_its_threads_and_gets_its_own_back():
    from station.priority import foreground

    seen = {}

    def gui() -> None:  # in a thread of its own, so a failure cannot leave the test runner real-time
        seen["before"] = (os.sched_getscheduler(0), os.sched_getparam(0))
        with foreground() as done:
            seen["done"] = done
            seen["inside"] = os.sched_getscheduler(0) & ~os.SCHED_RESET_ON_FORK
            child = threading.Thread(target=lambda: seen.setdefault("child", os.sched_getscheduler(0)))
            child.start()
            child.join(10)
        seen["after"] = (os.sched_getscheduler(0), os.sched_getparam(0))

    thread = threading.Thread(target=gui, name="gui-under-test")
    thread.start()
    thread.join(10)
    assert seen["after"] == seen["before"]
    assert seen["child"] == os.SCHED_OTHER  # threads the GUI starts are never real-time by inheritance
    if seen["done"].startswith("real-time"):  # where the process may use real-time priorities (root here)
        assert seen["inside"] == os.SCHED_FIFO


def test_encoder_turns_come_one_at_a_time_and_a_gap_apart():
    import time

    from station.priority import ENCODER_GAP_S, EncoderTurns

    turns = EncoderTurns()
    spans: list[tuple[float, float]] = []

    def turn() -> None:
        turns.take()
        start = time.monotonic()
        time.sleep(0.01)  # an encoder opening or being freed, holding the GIL
        spans.append((start, time.monotonic()))
        turns.give_back()

    threads = [threading.Thread(target=turn) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    spans.sort()
    assert len(spans) == 3
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end + ENCODER_GAP_S  # the threads waiting for the GIL got it in between


def test_an_encoder_is_freed_in_a_turn_of_its_own_and_its_start_within_one_may_free_it(tmp_path, monkeypatch):
    import station.priority as priority
    from station.priority import BackgroundThreads, EncoderTurns

    class Recorded(EncoderTurns):
        def __init__(self) -> None:
            super().__init__()
            self.held = 0
            self.most = 0
            self.taken = 0

        def take(self) -> None:
            super().take()
            self.taken += 1
            self.held += 1
            self.most = max(self.most, self.held)

        def give_back(self) -> None:
            self.held -= 1
            super().give_back()

    turns = Recorded()
    monkeypatch.setattr(priority, "ENCODER_TURNS", turns)
    settings = VideoSettings.for_codec("libsvtav1")
    frames = [np.zeros((48, 64, 3), np.uint8)] * 3
    with BackgroundThreads() as starting:  # released once the encoder is open, as a save job does
        encode_video(iter(frames), tmp_path / "a.mp4", 30, 64, 48, settings, on_open=starting.release)
    assert turns.taken == 2  # the start, then the teardown
    assert turns.most == 1 and turns.held == 0  # the start's turn was over before the teardown took its own
    with BackgroundThreads(), priority.encoder_turn():  # an encoder freed before its first frame: no deadlock
        assert turns.held == 2
    assert turns.held == 0


def test_the_encoder_is_announced_open_with_its_threads_before_it_takes_the_first_frame(tmp_path):
    """BackgroundThreads is released in on_open: the encoder's threads are lowered before they work on a frame."""
    from station.priority import thread_ids

    calls: list[tuple[str, int]] = []
    before = len(thread_ids())
    frames = [np.zeros((48, 64, 3), np.uint8)] * 3
    encode_video(iter(frames), tmp_path / "a.mp4", 30, 64, 48, VideoSettings.for_codec("libsvtav1"),
                 on_open=lambda: calls.append(("open", len(thread_ids()))),
                 on_frame=lambda i: calls.append(("frame", i)))
    assert calls[0][0] == "open" and calls[0][1] > before  # SVT-AV1's threads exist by then
    assert calls[1:] == [("frame", 0), ("frame", 1), ("frame", 2)]


@pytest.mark.skipif(not hasattr(ctypes.CDLL(None), "mallinfo2"), reason="glibc 2.33 or later only")
def test_an_encoder_opens_into_the_heap_and_freed_memory_stays_for_the_next(tmp_path):
    """In a process set up as `station` sets it up (tune_process), a large allocation made inside encoder_heap()
    comes from the heap, freed heap memory is not given back to the system, and a large allocation outside it
    that the heap cannot hold is memory-mapped. Run in a child: the settings are the process's."""
    import subprocess
    import sys

    code = """
import ctypes
from station.priority import encoder_heap, keeps_encoder_heap, tune_process
FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in FIELDS.split()]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
assert not keeps_encoder_heap()
with encoder_heap():  # before tune_process: glibc's own rules (a 8 MB block is mapped)
    p = libc.malloc(8 << 20)
assert libc.mallinfo2().hblkhd >= 8 << 20
libc.free(p)
tune_process()
assert keeps_encoder_heap()
mapped = libc.mallinfo2().hblkhd
with encoder_heap():
    p = libc.malloc(8 << 20)
assert libc.mallinfo2().hblkhd == mapped, "inside encoder_heap: from the heap"
heap = libc.mallinfo2().arena
libc.free(p)
assert libc.mallinfo2().arena == heap, "freed: kept in the heap"
q = libc.malloc(32 << 20)  # over the 128 kB threshold and more than the heap has free
assert libc.mallinfo2().hblkhd >= mapped + (32 << 20), "outside: memory-mapped"
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


def test_a_save_trims_the_freed_memory_unless_the_process_keeps_it_for_the_next_encoders(tmp_path, monkeypatch):
    """station.saving.job gives the encoders' pages back after a take (malloc_trim) only where the process does
    not keep them for the next take's encoders to open into (tune_process, keeps_encoder_heap)."""
    import station.saving.job as job
    import station.saving.memory as memory
    from station.dataset.spec import DatasetSpec
    from station.dataset.writer import DatasetWriter
    from station.saving.spool import SpoolReader
    from tests.test_take_source import CAM, record

    trims: list[bool] = []
    monkeypatch.setattr(memory, "_malloc_trim", lambda: lambda pad: trims.append(True))
    spec = DatasetSpec(fps=30, cameras=(CAM,), video=VideoSettings.for_codec("h264"))
    writer = DatasetWriter.create(tmp_path / "ds", "test/trim", spec)
    for keeps, expected in ((False, [True]), (True, [True])):
        monkeypatch.setattr(memory, "keeps_encoder_heap", lambda keeps=keeps: keeps)
        job.save_episode(SpoolReader(record(tmp_path / "ds")), writer)
        assert trims == expected

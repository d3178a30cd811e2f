"""Scheduling: encoding never leaves the calling thread real-time (SVT-AV1, run as root, makes it FIFO 99)."""

import os
import threading

import numpy as np

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

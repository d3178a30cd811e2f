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

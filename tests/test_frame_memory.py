"""Camera frames in reused page-aligned memory (station.hardware.frame_memory), and the spool writing them as
they are."""

from __future__ import annotations

import gc
import sys
import threading
import time

import av
import numpy as np
import pytest

from station.hardware.cameras import PyAVCamera
from station.hardware.frame_memory import PAGE, FramePool, copy_yuv420p, frame_mapping, page_buffer
from station.saving.spool import CadenceReport, SpoolReader, SpoolWriter, TakeInfo, frame_stride

SHAPE = (720, 640)  # a 640x480 yuv420p frame: 460,800 bytes, 113 pages


def test_a_frame_starts_a_page_aligned_mapping_that_is_used_again_once_no_array_on_it_is_left():
    pool = FramePool(SHAPE, keep=4)
    frame = pool.new_frame()
    assert frame.shape == SHAPE and frame.dtype == np.uint8 and frame.flags.writeable
    assert frame.ctypes.data % PAGE == 0
    first = frame.ctypes.data
    frame[:] = 7
    del frame
    again = pool.new_frame()
    assert again.ctypes.data == first and pool.made == 1  # the same memory, no new mapping
    assert int(again[0, 0]) == 7  # what the last frame left: the camera writes every byte anyway


def test_memory_is_not_used_again_while_any_view_of_its_frame_is_alive():
    pool = FramePool(SHAPE, keep=4)
    frame = pool.new_frame()
    frame[:] = 1
    view = frame.reshape(-1)[100:]  # what a reader may keep: a view, not the frame itself
    wrapped = av.VideoFrame.from_numpy_buffer(frame, format="yuv420p")  # what the encoder holds
    del frame
    other = pool.new_frame()
    other[:] = 2
    assert pool.made == 2 and int(view[0]) == 1
    del view
    gc.collect()
    assert pool.free == 0  # the encoder's frame still holds it
    del wrapped
    assert pool.free == 1


def test_the_pool_keeps_only_so_many_free_mappings():
    pool = FramePool(SHAPE, keep=2)
    frames = [pool.new_frame() for _ in range(5)]
    assert pool.made == 5
    del frames
    assert pool.free == 2
    assert [pool.new_frame() is not None for _ in range(2)] and pool.made == 5


def test_frames_freed_on_other_threads_come_back_to_the_pool():
    pool = FramePool(SHAPE, keep=64)
    frames = [pool.new_frame() for _ in range(32)]
    handed = [frames[i::4] for i in range(4)]
    del frames
    threads = [threading.Thread(target=part.clear) for part in handed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert pool.free == 32 and pool.made == 32


@pytest.mark.parametrize("size", [(330, 250), (640, 480), (4464, 32)])
def test_a_decoded_frame_is_copied_as_its_planes_one_after_another_without_line_padding(size):
    w, h = size
    with av.open(f"testsrc2=size={w}x{h}:rate=30,format=yuv420p", format="lavfi") as src:
        decoded = next(src.decode(video=0))
    out = FramePool((h * 3 // 2, w), keep=1).new_frame()
    assert np.array_equal(copy_yuv420p(decoded, out), decoded.to_ndarray())


def test_page_buffer_finds_a_pool_frames_mapping_and_nothing_else():
    pool = FramePool(SHAPE, keep=1)
    frame = pool.new_frame()
    stride = frame_stride(640, 480, "yuv420p")
    whole = page_buffer(frame, stride)
    assert whole is not None and len(whole) == stride
    assert page_buffer(frame.reshape(-1), stride) is not None  # a view of all of it
    assert page_buffer(frame[1:], stride) is None  # a view that starts later
    assert page_buffer(frame, stride + PAGE) is None  # more than the mapping holds
    assert page_buffer(np.zeros(SHAPE, np.uint8), stride) is None  # ordinary memory


def test_the_spool_writes_pool_frames_as_they_are_and_reads_them_back_whole(tmp_path):
    info = TakeInfo(task="t", fps=30, robot_type="so_follower", joint_names=[f"j{i}" for i in range(6)],
                    cameras=[{"name": "front", "width": 640, "height": 480}], created=time.time())
    pool = FramePool(SHAPE, keep=4)
    writer = SpoolWriter.create(tmp_path, info)
    expected = []
    for i in range(12):
        frame = pool.new_frame()
        frame[:] = np.arange(frame.size, dtype=np.uint64).reshape(SHAPE) * (i + 1) % 251
        expected.append(frame.tobytes())
        writer.append(i / 30, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": frame})
        del frame  # the pool may hand this memory out again once the writer is done with it
    path = writer.finish(CadenceReport(fps=30, ticks=12))
    assert [f.tobytes() for f in SpoolReader(path).frames_of("front")] == expected
    assert pool.made < 12  # memory was used again


def test_a_camera_hands_over_frames_from_its_pool():
    camera = PyAVCamera("front", "testsrc", "testsrc", 640, 480, 30)
    camera.start()
    try:
        deadline = time.monotonic() + 20
        while ((latest := camera.latest()) is None or latest.seq < 60) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert latest is not None and latest.seq >= 60
        assert page_buffer(latest.image, frame_stride(640, 480, "yuv420p")) is not None
        assert not latest.image.flags.writeable
        assert camera._pool is not None and camera._pool.made < 10  # 60 frames in a few mappings used again
    finally:
        camera.stop()



def _mapping_flags(memory) -> tuple[str, set[str]]:
    """The permissions ("rw-p": private) and VmFlags of the mapping that holds `memory`, from /proc/self/smaps."""
    start = np.frombuffer(memory, dtype=np.uint8, count=0).ctypes.data
    perms, inside = "", False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()
            if "-" in head[0] and len(head) >= 5:
                lo, hi = (int(x, 16) for x in head[0].split("-"))
                inside, perms = lo <= start < hi, head[1]
            elif inside and head[0] == "VmFlags:":
                return perms, set(head[1:])
    raise AssertionError("mapping not found")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/self/smaps is Linux's")
def test_frame_memory_is_private_whole_pages_without_huge_page_advice():
    for nbytes in (640 * 480 * 3 // 2, 3 * 2 * 1024 * 1024 + 5):
        memory = frame_mapping(nbytes)
        perms, flags = _mapping_flags(memory)
        assert perms.endswith("p") and "hg" not in flags  # private; no compaction asked for on first touch
        assert len(memory) % PAGE == 0 and len(memory) >= nbytes

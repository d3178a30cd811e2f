"""Camera frames in page-aligned memory that is used again once a frame is done with.

A camera hands over each frame as yuv420p planes (H * 3 / 2, W), copied once into memory from its FramePool:
- each frame's memory is an anonymous mapping of its own, rounded up to whole pages, so the spool writes the
  frame straight to the disk (O_DIRECT wants page-aligned memory and lengths) with no copy into an aligned
  buffer of its own (`page_buffer` finds the mapping again);
- when the last array on a frame is freed (the spool wrote it, the live encoder took it, the window drew a
  newer one) its mapping goes back to the pool, and the camera's next frame is copied into it. Memory the
  kernel has to find, fault in and zero for every frame is what a camera costs most on a virtual machine:
  a fresh 22 MB frame took 1.5-16 ms of CPU, varying with the host, against 1 ms to copy into used memory.
  The pool keeps at most KEEP_SECONDS of free frames; beyond that a freed mapping is unmapped (CPython does
  that with the GIL released).
- the mapping is private to the process (Python's mmap maps shared memory by default). Huge pages were
  measured and not kept: per 12.3 MB frame they cut the spool's direct write from 0.8 to 0.3 ms of CPU and a
  copy from 1.4 to 1.2 ms, within the noise of the capacity bench, but asking for them (MADV_HUGEPAGE) lets
  the kernel compact memory on a fresh frame's first touch where the distributions' default is "defrag
  when asked": a stall in a camera's or the spool writer's thread on a long-running, fragmented machine.
PyAV's to_ndarray made the same array with two copies (each plane made contiguous, then joined into fresh
memory).
"""

from __future__ import annotations

import mmap
import threading
import weakref

import av
import numpy as np

PAGE = mmap.PAGESIZE
KEEP_SECONDS = 0.5  # free mappings kept per camera, in seconds of its frames


def page_aligned(nbytes: int) -> int:
    """`nbytes` rounded up to whole pages."""
    return -(-nbytes // PAGE) * PAGE


def frame_mapping(nbytes: int) -> mmap.mmap:
    """Anonymous memory for one frame: `nbytes` rounded up to whole pages, private to the process."""
    return mmap.mmap(-1, page_aligned(max(nbytes, 1)), flags=mmap.MAP_PRIVATE)


class FramePool:
    """Frames of one shape (uint8), each at the start of a page-aligned mapping of its own that is used again
    for a later frame once no array on it is left. Thread-safe: frames may be freed on any thread."""

    def __init__(self, shape: tuple[int, ...], keep: int) -> None:
        self.shape = shape
        self.nbytes = int(np.prod(shape))
        self.keep = keep
        self.made = 0  # mappings made (the pool's misses): for tests and the bench
        self._free: list[mmap.mmap] = []
        self._lock = threading.Lock()

    def new_frame(self) -> np.ndarray:
        """A writable array of the pool's shape; what it holds is left from an earlier frame (or zero)."""
        with self._lock:
            memory = self._free.pop() if self._free else None
        if memory is None:
            memory = frame_mapping(self.nbytes)
            self.made += 1
        image = np.frombuffer(memory, dtype=np.uint8, count=self.nbytes)
        # Every array on this memory (views included) holds `image`, which holds the buffer view numpy took:
        # when that view is freed nothing can read the memory any more, and it goes back to the pool.
        done = weakref.finalize(image.base, self._give_back, memory)
        done.atexit = False
        return image.reshape(self.shape)

    def _give_back(self, memory: mmap.mmap) -> None:
        with self._lock:
            if len(self._free) < self.keep:
                self._free.append(memory)
        # else dropped: unmapped when its last reference goes, with the GIL released (CPython's mmap)

    @property
    def free(self) -> int:
        return len(self._free)


def copy_yuv420p(frame: av.VideoFrame, out: np.ndarray) -> np.ndarray:
    """Copy a yuv420p VideoFrame (even sides) into `out` (H * 3 / 2, W): its planes one after another, without
    the padding a decoder may leave at the end of each line. Returns `out`."""
    flat = out.reshape(-1)
    start = 0
    for plane in frame.planes:
        w, h = plane.width, plane.height
        lines = np.frombuffer(memoryview(plane), dtype=np.uint8, count=plane.line_size * h).reshape(h, plane.line_size)
        flat[start:start + w * h].reshape(h, w)[:] = lines[:, :w]
        start += w * h
    return out


def page_buffer(image: np.ndarray, nbytes: int) -> memoryview | None:
    """The first `nbytes` of the mapping `image` starts, if it is a FramePool frame (or any array at the start
    of an anonymous mapping) and that mapping holds that many bytes (the spool's stride); else None."""
    root = image
    while isinstance(root.base, np.ndarray):
        root = root.base
    view = root.base
    if not isinstance(view, memoryview) or not isinstance(view.obj, mmap.mmap) or len(view.obj) < nbytes:
        return None
    start = np.frombuffer(view.obj, dtype=np.uint8, count=0).ctypes.data
    if image.ctypes.data != start or not image.flags.c_contiguous:
        return None  # a view that does not start at the mapping's first byte
    return memoryview(view.obj)[:nbytes]

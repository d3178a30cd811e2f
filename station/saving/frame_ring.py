"""A camera's frames handed from the spool writer to the encoder process through shared memory: the ring.

The live encoders run in their own process (station/saving/encoder_process.py), so the window's process
never waits for them: PyAV opens and frees an encoder holding the GIL (10-45 ms each at 1280x720), and the
freed encoder's memory has to be trimmed. The spool writer already copies each frame once, into the aligned
buffer it writes to the disk from (O_DIRECT); with a ring that buffer is a slot of shared memory the encoder
process maps too, so the encoder reads the very bytes the disk got, with no copy and no read.

Layout of the shared memory (an anonymous memfd, handed to the encoder process over its socket, so a kill
leaves nothing behind): a HEADER_BYTES header of int64 fields, then `slots` slots of the frame file's stride.
  written   frames of the take in the camera's frame file (every camera's, see SpoolWriter.written)
  ended     1 once the take has ended: `written` is final
  taken     frames the encoder has taken (handed to the encoder, which copied them)
  seq[k]    the index of the frame slot k holds, or -1
One writer (the spool writer thread) and one reader (an encoding thread of the encoder process). The writer
puts frame i in slot i % slots only when the reader has taken frame i - slots, then sets seq, then `written`;
the reader takes frame i from its slot when seq says it is there, else (it fell more than `slots` frames
behind, or the frame came before the ring) from the frame file. Stores become visible in the order they are
made (x86-64; and between the frame's copy and its seq the writer makes the write system call to the disk).
"""

from __future__ import annotations

import io
import mmap
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

HEADER_BYTES = 4096  # a page, so that slots of a page-multiple stride are page-aligned (as O_DIRECT needs)
_WRITTEN, _ENDED, _TAKEN = 0, 1, 2
_SEQ = 8  # the int64 index of seq[0] in the header
MAX_SLOTS = HEADER_BYTES // 8 - _SEQ
# Frames the ring holds per camera: a second of frames, at most RING_BYTES and at least MIN_SLOTS (the encoder
# of a camera that falls further behind reads from the frame file, with the kernel reading ahead).
RING_SECONDS = 1.0
RING_BYTES = 128 * 1024 * 1024
MIN_SLOTS = 4
POLL_S = 0.005  # how often a reader waiting for the next frame looks again


def ring_slots(stride: int, fps: int) -> int:
    """Slots of a camera's ring: 30 for a 640x480 or a 1280x720 camera at 30 fps, 5 for 23 MB frames."""
    return max(MIN_SLOTS, min(int(RING_SECONDS * fps), RING_BYTES // max(1, stride), MAX_SLOTS))


class FrameRing:
    """Shared memory holding a camera's latest frames (see the module's note); `fd` is handed to the reader."""

    def __init__(self, fd: int, stride: int) -> None:
        self.fd = fd
        self.stride = stride
        size = os.fstat(fd).st_size
        self.slots = (size - HEADER_BYTES) // stride if stride else 0
        self._map: mmap.mmap | None = mmap.mmap(fd, size)
        self._head = np.frombuffer(self._map, dtype=np.int64, count=HEADER_BYTES // 8)

    @classmethod
    def create(cls, stride: int, slots: int) -> FrameRing:
        """A new ring in anonymous shared memory (a memfd where the system has one, else an unlinked file)."""
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create("station-frames", os.MFD_CLOEXEC)
        else:  # pragma: no cover  (macOS)
            with tempfile.TemporaryFile() as backing:
                fd = os.dup(backing.fileno())
        os.ftruncate(fd, HEADER_BYTES + stride * slots)
        ring = cls(fd, stride)
        ring._head[_SEQ:_SEQ + ring.slots] = -1
        return ring

    # the writer's side

    def slot_for(self, index: int) -> memoryview | None:
        """The slot frame `index` goes in, or None while the reader still needs the frame it holds."""
        if not self.slots or index - int(self._head[_TAKEN]) >= self.slots:
            return None
        self._head[_SEQ + index % self.slots] = -1  # being overwritten
        start = HEADER_BYTES + (index % self.slots) * self.stride
        assert self._map is not None
        return memoryview(self._map)[start:start + self.stride]

    def holds(self, index: int) -> None:
        """Frame `index` is whole in its slot."""
        self._head[_SEQ + index % self.slots] = index

    def set_written(self, frames: int) -> None:
        self._head[_WRITTEN] = frames

    def end(self) -> None:
        self._head[_ENDED] = 1

    # the reader's side

    @property
    def written(self) -> int:
        return int(self._head[_WRITTEN])

    @property
    def ended(self) -> bool:
        return bool(self._head[_ENDED])

    @property
    def taken(self) -> int:
        return int(self._head[_TAKEN])

    def frame(self, index: int, shape: tuple[int, ...]) -> np.ndarray | None:
        """Frame `index` as an array over its slot (valid until the reader says it has taken it), or None."""
        if not self.slots or int(self._head[_SEQ + index % self.slots]) != index:
            return None
        assert self._map is not None
        start = HEADER_BYTES + (index % self.slots) * self.stride
        return np.frombuffer(self._map, dtype=np.uint8, count=int(np.prod(shape)), offset=start).reshape(shape)

    def took(self, frames: int) -> None:
        self._head[_TAKEN] = frames

    def close(self) -> None:
        """Unmap and close (the other process keeps its own mapping). Arrays over slots must be gone by now."""
        if self._map is None:
            return
        del self._head
        try:
            self._map.close()
        except BufferError:  # an array over a slot is still alive (an error's traceback): freed with it
            pass
        self._map = None
        os.close(self.fd)


def ring_frames(
    ring: FrameRing,
    frame_file: Path,
    shape: tuple[int, ...],
    read: Callable[[io.BufferedReader, int, int], np.ndarray | None],
    cancelled: Callable[[], bool],
    on_missing: Callable[[], Exception],
) -> Iterator[np.ndarray]:
    """A camera's frames as they are recorded, ending with the take (or early when `cancelled()`).

    Each comes from its ring slot when it is there, else from the frame file through `read(f, i, written)`
    (None: the file ends before frame i). A frame handed out is taken (its slot may be reused) when the next
    is asked for: by then the encoder has copied it.
    """
    with open(frame_file, "rb") as f:
        i = 0
        try:
            while True:
                while ring.written <= i:
                    if ring.ended and ring.written <= i:
                        return
                    if cancelled():
                        return
                    time.sleep(POLL_S)
                frame = ring.frame(i, shape)
                if frame is None:
                    frame = read(f, i, ring.written)
                    if frame is None:
                        raise on_missing()
                yield frame
                del frame
                i += 1
                ring.took(i)
        finally:
            ring.took(i)

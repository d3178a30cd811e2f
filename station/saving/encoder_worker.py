"""The encoder process itself (see encoder_process.py): `python -m station.saving.encoder_worker FD`.

FD is its end of a SOCK_SEQPACKET socket to the station's process. Each request (an EncodeRequest, with a
ring's memfd attached for a live take) is encoded in its own thread; the child sends {"job", "encoded": n}
as frames are encoded, then {"job", "done": n} or {"job", "error": ...}. {"op": "stop", "job"} stops one.
It ends when the socket closes: the station's process ended, or stopped it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from station.dataset.video import encode_video
from station.priority import BackgroundThreads
from station.saving.encoder_process import (
    MESSAGE_BYTES,
    EncodeRequest,
    EncodingStopped,
    describe_error,
)
from station.saving.frame_ring import FrameRing, ring_frames
from station.saving.memory import release_freed_memory
from station.saving.spool import SpoolCutShort, SpoolReader, file_frame_reader, frame_shape

log = logging.getLogger("station.encoder")


def encode(request: EncodeRequest, ring_fd: int | None, stop: threading.Event,
           report: Callable[[int], None]) -> int:
    """Encode the request's camera; `report(n)` after each frame. A live take's frames come from its ring."""
    shape = frame_shape(request.width, request.height, request.pix_fmt)
    ring = FrameRing(ring_fd, request.stride) if ring_fd is not None else None
    frames: Iterator[np.ndarray]
    if ring is not None:
        frames = ring_frames(ring, request.frame_file, shape, file_frame_reader(shape, request.stride), stop.is_set,
                             lambda: SpoolCutShort(request.spool, request.camera))
    else:
        frames = SpoolReader(request.spool).frames_of(request.camera)
    starting = BackgroundThreads()  # the encoder's own threads (SVT-AV1's) at a low priority once it runs

    def on_frame(i: int) -> None:
        if i == 0:
            starting.release()
        if stop.is_set():
            raise EncodingStopped()
        report(i + 1)

    try:
        with starting:
            count = encode_video(frames, request.out, request.fps, request.width, request.height, request.video,
                                 on_frame=on_frame, pix_fmt=request.pix_fmt)
        if stop.is_set():  # the frames ended early because the take was discarded: not a video to keep
            request.out.unlink(missing_ok=True)
            raise EncodingStopped()
        return count
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()
        del frames
        if ring is not None:
            ring.close()


class Worker:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._stops: dict[int, threading.Event] = {}

    def send(self, message: dict[str, Any]) -> None:
        with self._send_lock, contextlib.suppress(OSError):  # the station is gone: this process ends with it
            self.sock.send(json.dumps(message).encode())

    def serve(self) -> None:
        while True:
            try:
                data, fds, _flags, _address = socket.recv_fds(self.sock, MESSAGE_BYTES, 1)
            except OSError:
                return
            if not data:
                return
            message = json.loads(data)
            job = int(message["job"])
            if message["op"] == "encode":
                stop = threading.Event()
                with self._lock:
                    self._stops[job] = stop
                request = EncodeRequest.from_message(message)
                threading.Thread(target=self._run, args=(job, request, fds[0] if fds else None, stop),
                                 name=f"encode-{request.camera}", daemon=True).start()
            elif message["op"] == "stop":
                with self._lock:
                    if job in self._stops:
                        self._stops[job].set()

    def _run(self, job: int, request: EncodeRequest, ring_fd: int | None, stop: threading.Event) -> None:
        try:
            count = encode(request, ring_fd, stop, lambda n: self.send({"job": job, "encoded": n}))
            self.send({"job": job, "done": count})
        except BaseException as e:
            if not isinstance(e, (EncodingStopped, OSError)):
                log.exception("encoding camera %s of %s failed", request.camera, request.spool.name)
            self.send({"job": job, **describe_error(e)})
        finally:
            with self._lock:
                self._stops.pop(job, None)
                idle = not self._stops
            if idle:
                release_freed_memory()  # the encoders are closed: give their pages back (saving/memory.py)


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the station decides when encoding ends
    with contextlib.suppress(OSError, AttributeError):  # scheduling inherited from a real-time thread: normal
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    logging.basicConfig(level=logging.WARNING, format="station encoder: %(message)s")
    Worker(socket.socket(fileno=int(argv[1]))).serve()
    os._exit(0)  # encodes still running (the station is gone) end here, without Python's shutdown


if __name__ == "__main__":
    sys.exit(main(sys.argv))

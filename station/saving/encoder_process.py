"""The encoder process: every camera of every take is encoded in a child process, not in the station's own.

Why (measured with three 1280x720 AV1 cameras and the window open, docs/performance.md): PyAV opens and frees
an encoder holding the GIL (10-26 ms and 9-14 ms each on a quiet machine, 24-45 ms under load), and the freed
encoders' memory is given back with malloc_trim, which holds the heap the window allocates from (18-38 ms);
in the station's process both stopped the window's event loop at the end of every take. In a child process
they stop nothing but the child. The child also keeps glibc's own malloc tuning (frames reuse heap memory
there; the station's process keeps the mmap threshold fixed, see station.priority.tune_process).

One child serves the whole station process, started with the first save queue (or the first encode) and
again if it ever dies; it encodes each camera in its own thread. A request goes over a Unix socket with the
ring's shared memory (frame_ring.py) attached when the take is live; the child reports each frame encoded,
then the count or the error. The child ends when the station's process does (its socket closes): a killed
station leaves no encoder running. Errors come back as the exceptions the save job knows (a full disk is an
OSError with its errno, a spool cut short a SpoolCutShort, a refused frame a DatasetError).
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from station.dataset.spec import VideoSettings
from station.errors import DatasetError, StationError
from station.saving.spool import SpoolCutShort

log = logging.getLogger(__name__)
MESSAGE_BYTES = 64 * 1024  # the largest message either side sends (a request, an error's text)
POLL_S = 0.1  # how often a waiting encode looks at its `cancelled()`


class EncodingStopped(Exception):
    """The encoder process stopped an encode because it was asked to (the take was discarded)."""


class EncoderProcessGone(StationError):
    """The encoder process ended (or could not start) with this encode unfinished."""


@dataclass(frozen=True)
class EncodeRequest:
    """One camera of one take to encode: its frame file in the spool and the video to write."""

    spool: Path
    camera: str
    frame_file: Path
    out: Path
    fps: int
    width: int
    height: int
    pix_fmt: str  # of the frame file
    stride: int  # bytes from one frame's start to the next in the frame file
    video: VideoSettings
    frames: int | None = None  # a finished take's frame count; None: live, the ring says how many

    def to_message(self, job: int) -> bytes:
        fields = asdict(self)
        fields.update(spool=str(self.spool), frame_file=str(self.frame_file), out=str(self.out), job=job)
        return json.dumps({"op": "encode", **fields}).encode()

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> EncodeRequest:
        fields = {k: v for k, v in message.items() if k not in ("op", "job")}
        fields.update(spool=Path(fields["spool"]), frame_file=Path(fields["frame_file"]), out=Path(fields["out"]),
                      video=VideoSettings(**fields["video"]))
        return cls(**fields)


def describe_error(error: BaseException) -> dict[str, Any]:
    """An exception as the child sends it back (see raise_error)."""
    if isinstance(error, EncodingStopped):
        return {"error": "stopped"}
    if isinstance(error, OSError) and error.errno:
        return {"error": "os", "errno": error.errno, "message": error.strerror or str(error),
                "filename": str(error.filename) if error.filename else None}
    if isinstance(error, SpoolCutShort):
        return {"error": "cut short"}
    if isinstance(error, DatasetError):
        return {"error": "dataset", "message": str(error)}
    return {"error": "other", "message": f"{type(error).__name__}: {error}"}


def raise_error(message: dict[str, Any], request: EncodeRequest) -> None:
    """Raise, in the station's process, the error the child sent back."""
    kind = message["error"]
    if kind == "stopped":
        raise EncodingStopped()
    if kind == "os":
        raise OSError(message["errno"], message["message"], message.get("filename"))
    if kind == "cut short":
        raise SpoolCutShort(request.spool, request.camera)
    if kind == "dataset":
        raise DatasetError(message["message"])
    if kind == "gone":
        raise EncoderProcessGone(f"the encoder process ended while encoding camera {request.camera} "
                                 f"({message['how']}): save the take again")
    raise RuntimeError(f"encoding camera {request.camera} failed: {message['message']}")


class EncoderProcess:
    """The station process's side of the encoder process (see the module's note). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen | None = None
        self._socket: socket.socket | None = None
        self._jobs: dict[int, tuple[subprocess.Popen, queue.Queue]] = {}
        self._next_job = 0

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None and process.poll() is None else None

    def start(self) -> None:
        """Start the child now (it takes a few hundred ms to import its libraries) rather than at the first take."""
        with self._lock:
            self._running()

    def _running(self) -> tuple[subprocess.Popen, socket.socket]:
        """The child, started if it is not running (under _lock)."""
        if self._process is not None and self._socket is not None and self._process.poll() is None:
            return self._process, self._socket
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            process = subprocess.Popen(
                [sys.executable, "-m", "station.saving.encoder_worker", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                start_new_session=True,  # Ctrl-C in the terminal is the station's to handle, not the encoder's
            )
        except OSError as e:
            ours.close()
            raise EncoderProcessGone(f"could not start the encoder process ({e.strerror or e})") from e
        finally:
            theirs.close()
        self._process, self._socket = process, ours
        threading.Thread(target=self._listen, args=(process, ours), name="encoder-process", daemon=True).start()
        return process, ours

    def _listen(self, process: subprocess.Popen, sock: socket.socket) -> None:
        """Hand each message of the child to the encode waiting for it; when the child ends, fail the rest."""
        while True:
            try:
                data = sock.recv(MESSAGE_BYTES)
            except OSError:
                data = b""
            if not data:
                break
            message = json.loads(data)
            with self._lock:
                job = self._jobs.get(message.get("job", -1))
            if job is not None:
                job[1].put(message)
        code = process.wait()
        how = f"signal {-code}" if code < 0 else f"exit code {code}"
        log.warning("the encoder process ended (%s)", how)
        with self._lock:
            for owner, events in self._jobs.values():
                if owner is process:
                    events.put({"error": "gone", "how": how})
            if self._process is process:
                self._process = None
                self._socket = None
        sock.close()

    def encode(self, request: EncodeRequest, ring_fd: int | None, on_frame: Callable[[int], None],
               cancelled: Callable[[], bool]) -> int:
        """Encode one camera in the child; returns the frames written. `on_frame(i)` is called as frame i is
        encoded (an exception from it stops the encode and is raised); the encode stops when `cancelled()`."""
        events: queue.Queue = queue.Queue()
        with self._lock:
            process, sock = self._running()
            job = self._next_job
            self._next_job += 1
            self._jobs[job] = (process, events)
        try:
            self._send(sock, request.to_message(job), [ring_fd] if ring_fd is not None else [])
            stopped = False
            while True:
                try:
                    message = events.get(timeout=POLL_S)
                except queue.Empty:
                    if not stopped and cancelled():
                        stopped = True
                        self._stop(sock, job)
                    continue
                if "encoded" in message:
                    if not stopped:
                        try:
                            on_frame(message["encoded"] - 1)
                        except BaseException:  # the encode ends with this, once the child has let go of the files
                            self._stop(sock, job)
                            self._wait_end(events)
                            raise
                    continue
                if "done" in message and not stopped:
                    return int(message["done"])
                raise_error(message if not stopped or message.get("error") == "gone" else {"error": "stopped"},
                            request)
        finally:
            with self._lock:
                self._jobs.pop(job, None)

    def _stop(self, sock: socket.socket, job: int) -> None:
        with contextlib.suppress(EncoderProcessGone):  # then the child's end fails the encode ("gone")
            self._send(sock, json.dumps({"op": "stop", "job": job}).encode())

    @staticmethod
    def _wait_end(events: queue.Queue) -> None:
        """Wait until the child has ended an encode it was asked to stop (a frame's time at most)."""
        while True:
            message = events.get()
            if "encoded" not in message:
                return

    def _send(self, sock: socket.socket, data: bytes, fds: list[int] | None = None) -> None:
        try:
            socket.send_fds(sock, [data], fds or [])
        except OSError as e:
            raise EncoderProcessGone(f"the encoder process cannot be reached ({e.strerror or e}): "
                                     "save the take again") from e

    def stop(self) -> None:
        """End the child (its encodes fail as 'gone'); the next encode starts a new one."""
        with self._lock:
            process, sock = self._process, self._socket
        if process is not None and sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()


_shared = EncoderProcess()


def encoder_process() -> EncoderProcess:
    """The encoder process of this station process."""
    return _shared

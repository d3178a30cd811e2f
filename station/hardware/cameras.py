"""Cameras read with PyAV, one reader thread per source, each keeping only its latest frame (a mailbox).

Sources: `testsrc` (FFmpeg's lavfi testsrc2, generated at the requested size), `/dev/videoN` (V4L2, in the
pixel format asked for, else MJPEG when the device offers it, at the slowest rate it lists that keeps up with the
session), or a video file (looped). lavfi and files produce frames as fast as they are asked
for, so the reader paces them on monotonic deadlines; a V4L2 device paces itself. Frames are yuv420p planes
(CAMERA_PIX_FMT, the format the spool and the encoders take: recording converts nothing; the window converts
to RGB only the frames it draws, at the size it draws them), converted and scaled in one swscale pass only
when needed, and read-only.

A camera that delivers nothing for stall_after_s(fps) (station.thresholds) is `stalled`; one whose thread ended
keeps the reason in `.error`.
`list_v4l2_devices()` asks the V4L2 driver itself (ioctl) for the formats, sizes and rates each device offers.
"""

from __future__ import annotations

import collections
import errno
import fcntl
import glob
import logging
import os
import struct
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np

from station.config import DEFAULT_CAMERA_SIZE, V4L2_DEVICE, CameraSource
from station.dataset.video import encodable_size_problem
from station.errors import ConfigError, HardwareError
from station.hardware.frame_memory import KEEP_SECONDS, FramePool, copy_yuv420p
from station.hardware.interfaces import CAMERA_PIX_FMT, Frame
from station.hardware.pixel_formats import AUTOMATIC_FORMAT, FFMPEG_INPUT_FORMATS
from station.priority import raise_current_thread
from station.thresholds import stall_after_s

log = logging.getLogger(__name__)
FILE_IN_MEMORY_S = 1.0  # a video file this short (or shorter) is decoded once and played from memory

SourceKind = Literal["testsrc", "v4l2", "file"]


def source_kind(source: str) -> SourceKind:
    """What a SOURCE string names; ConfigError if it is none of testsrc, /dev/videoN, an existing file."""
    if source == "testsrc":
        return "testsrc"
    if V4L2_DEVICE.match(source):
        return "v4l2"
    if Path(source).is_file():
        return "file"
    if "/" in source or Path(source).suffix:
        raise ConfigError(f"camera source {source}: no such file (give testsrc, /dev/videoN or a video file)")
    raise ConfigError(f"unknown camera source {source!r}: use testsrc, /dev/videoN or the path of a video file")


def open_camera(src: CameraSource, fps: int) -> PyAVCamera:
    """The camera for `--camera NAME=SOURCE[@WxH[/FORMAT]]`, not yet started. ConfigError for an unknown source."""
    if fps <= 0:
        raise ConfigError(f"camera fps must be above 0, got {fps}")
    kind = source_kind(src.source)
    width, height = src.width, src.height
    native = _probe_file_size(src.source) if kind == "file" else None
    if width is None or height is None:
        width, height = native or DEFAULT_CAMERA_SIZE
    problem = encodable_size_problem(width, height)
    if problem:
        raise ConfigError(f"camera {src.name} ({src.source}) {problem}")
    return PyAVCamera(src.name, src.source, kind, width, height, fps, src.pixel_format)


def _probe_file_size(path: str) -> tuple[int, int]:
    """The size of a video file's first video stream; ConfigError when it is not a video file."""
    try:
        with av.open(path) as container:
            if not container.streams.video:
                raise ConfigError(f"camera source {path} has no video stream: give a video file")
            ctx = container.streams.video[0].codec_context
            if not ctx.width or not ctx.height:
                raise ConfigError(f"camera source {path} is not a readable video file")
            return ctx.width, ctx.height
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"camera source {path} is not a video file ({_ffmpeg_reason(exc)})") from None


class PyAVCamera:
    """One camera source read on its own thread. Implements station.hardware.interfaces.Camera."""

    def __init__(self, name: str, source: str, kind: SourceKind, width: int, height: int, fps: int,
                 pixel_format: str | None = None) -> None:
        self.name = name
        self.source = source
        self.kind = kind
        self.width = width
        self.height = height
        self.fps = fps
        self.pixel_format = pixel_format  # V4L2 fourcc asked for; None: MJPG when offered, else the driver's
        self.error: str | None = None  # why the reader stopped, in the library's words (None while it runs)
        self.paused = False  # while True frames are read but not published (tests use it to fake a stall)
        self._container: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._latest: Frame | None = None
        self._seq = 0
        self._times: collections.deque[float] = collections.deque(maxlen=max(8, 2 * fps))
        self._last_t = 0.0
        self._pool: FramePool | None = None  # made with the first frame (camera thread only)

    def __repr__(self) -> str:
        return f"PyAVCamera({self.name!r}, {self.source!r}, {self.width}x{self.height}@{self.fps})"

    # -- lifecycle --

    def start(self) -> None:
        if self._thread is not None:
            return
        self.error = None
        self._container = self._open()
        self._stop.clear()
        self._last_t = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        thread.join(timeout=5)
        if thread.is_alive():
            log.error("camera %s: reader thread did not stop", self.name)

    def _fail(self, why: str) -> HardwareError:
        return HardwareError(f"camera {self.name} cannot open {self.source}: {why}")

    def _open(self) -> Any:
        w, h = self.width, self.height
        try:
            if self.kind == "testsrc":
                graph = f"testsrc2=size={w}x{h}:rate={self.fps},format={CAMERA_PIX_FMT}"
                return av.open(graph, format="lavfi")
            if self.kind == "v4l2":
                if not os.path.exists(self.source):
                    raise self._fail("no such device")
                try:
                    options = v4l2_options(w, h, self.fps, self.pixel_format, device_modes(self.source))
                except ModeRefused as refused:
                    raise self._fail(str(refused)) from None
                return av.open(self.source, format="v4l2", options=options, timeout=5.0)
            container = av.open(self.source)
            if not container.streams.video:
                container.close()
                raise self._fail("it has no video stream")
            container.streams.video[0].thread_type = "AUTO"
            return container
        except av.FFmpegError as exc:
            raise self._fail(_ffmpeg_reason(exc)) from None
        except OSError as exc:
            raise self._fail(exc.strerror or str(exc)) from None

    # -- the reader thread --

    def _frames(self) -> Iterator[av.VideoFrame]:
        """Decoded frames for ever: a file is rewound at its end; a live source ends only on error.

        A file of at most FILE_IN_MEMORY_S of frames is decoded once and then played from memory. Reading a
        file costs what a camera does not: each frame is read from the page cache into fresh memory the
        kernel faults in and zeroes (2.7-14 ms of CPU for a 22 MB frame, varying with the host), where a
        camera's hardware writes the frame and the reader only copies it (station.hardware.frame_memory)."""
        container = self._container
        stream = container.streams.video[0]
        kept: list[av.VideoFrame] | None = [] if self.kind == "file" else None
        while not self._stop.is_set():
            produced = False
            try:
                for packet in container.demux(stream):
                    for frame in packet.decode():
                        produced = True
                        if kept is not None:
                            kept.append(frame)
                            if len(kept) > FILE_IN_MEMORY_S * self._rate():
                                kept = None
                        yield frame
            except av.error.BlockingIOError:  # a device with nothing to give yet (EAGAIN): ask again
                self._stop.wait(0.002)
                continue
            if self.kind != "file":
                raise RuntimeError("the source ended")
            if not produced:
                raise RuntimeError("the file holds no decodable frame")
            if kept:
                break
            container.seek(0, stream=stream)
        while kept and not self._stop.is_set():
            yield from kept

    def _rate(self) -> float:
        if self.kind == "file":
            stream = self._container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            if rate:
                return float(rate)
        return float(self.fps)

    def _run(self) -> None:
        raise_current_thread(rt_priority=5)  # capture before background encoding, after the control loop
        paced = self.kind != "v4l2"
        period = 1.0 / self._rate()
        due = time.monotonic()
        try:
            for frame in self._frames():
                if self._stop.is_set():
                    break
                image = self._to_image(frame)
                if paced:
                    if self._stop.wait(max(0.0, due - time.monotonic())):
                        break
                    due = max(due + period, time.monotonic() - period)  # after a hiccup: no burst
                if not self.paused:
                    self._publish(image)
        except Exception as exc:  # ends the thread: kept in .error, reported as stalled
            self.error = _ffmpeg_reason(exc)
            log.error("camera %s (%s) stopped: %s", self.name, self.source, self.error, exc_info=True)
        finally:
            container, self._container = self._container, None
            if container is not None:
                container.close()

    def _to_image(self, frame: av.VideoFrame) -> np.ndarray:
        """The frame at the camera's size in CAMERA_PIX_FMT: one swscale step, or none if it already is, then
        one copy into memory of its own that the spool writes as it is (station.hardware.frame_memory)."""
        image: np.ndarray
        if frame.format.name != CAMERA_PIX_FMT or frame.width != self.width or frame.height != self.height:
            frame = frame.reformat(width=self.width, height=self.height, format=CAMERA_PIX_FMT)
        if CAMERA_PIX_FMT == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0:
            if self._pool is None:
                self._pool = FramePool((frame.height * 3 // 2, frame.width), keep=max(4, int(KEEP_SECONDS * self.fps)))
            image = copy_yuv420p(frame, self._pool.new_frame())
        else:
            image = frame.to_ndarray()
        if not image.flags.c_contiguous:
            image = np.ascontiguousarray(image)
        image.flags.writeable = False
        return image

    def _publish(self, image: np.ndarray) -> None:
        now = time.monotonic()
        self._latest = Frame(image, self._seq, now)
        self._seq += 1
        self._times.append(now)
        self._last_t = now

    # -- what the session reads --

    def latest(self) -> Frame | None:
        return self._latest

    @property
    def capture_fps(self) -> float:
        now = time.monotonic()
        times = [t for t in list(self._times) if now - t <= 1.0]
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])

    @property
    def stalled(self) -> bool:
        if self._thread is None or not self._thread.is_alive():
            return True
        return time.monotonic() - self._last_t > stall_after_s(self.fps)


def _ffmpeg_reason(exc: BaseException) -> str:
    if isinstance(exc, av.FFmpegError):
        text = exc.strerror or str(exc)
        if exc.errno == errno.ENOENT:
            return "no such file or device"
        return text
    return str(exc) or type(exc).__name__


# -- V4L2 device listing (ioctl, no extra tools) --

_IOC_READ, _IOC_WRITE = 2, 1


def _ioc(direction: int, number: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (ord("V") << 8) | number


_CAP = struct.Struct("16s32s32sIII3I")  # struct v4l2_capability
_FMTDESC = struct.Struct("III32sII3I")  # struct v4l2_fmtdesc
_FRMSIZE = struct.Struct("III6I2I")  # struct v4l2_frmsizeenum
_FRMIVAL = struct.Struct("IIIII6I2I")  # struct v4l2_frmivalenum
VIDIOC_QUERYCAP = _ioc(_IOC_READ, 0, _CAP.size)
VIDIOC_ENUM_FMT = _ioc(_IOC_READ | _IOC_WRITE, 2, _FMTDESC.size)
VIDIOC_ENUM_FRAMESIZES = _ioc(_IOC_READ | _IOC_WRITE, 74, _FRMSIZE.size)
VIDIOC_ENUM_FRAMEINTERVALS = _ioc(_IOC_READ | _IOC_WRITE, 75, _FRMIVAL.size)
_CAP_VIDEO_CAPTURE, _CAP_DEVICE_CAPS = 0x1, 0x80000000
_BUF_TYPE_VIDEO_CAPTURE = 1
_DISCRETE = 1


@dataclass
class V4L2Mode:
    fourcc: str
    description: str
    sizes: list[tuple[int, int, list[float]]] = field(default_factory=list)  # (width, height, fps values)


@dataclass
class V4L2Device:
    path: str
    card: str
    driver: str
    capture: bool
    modes: list[V4L2Mode] = field(default_factory=list)
    error: str | None = None


def _ioctl(fd: int, request: int, layout: struct.Struct, *values: int | bytes) -> tuple[Any, ...] | None:
    buf = bytearray(layout.pack(*values))
    try:
        fcntl.ioctl(fd, request, buf)
    except OSError:
        return None  # EINVAL ends every V4L2 enumeration
    return layout.unpack(bytes(buf))


def _cstr(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode(errors="replace")


def _fourcc(code: int) -> str:
    return "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4)).strip()


def _modes(fd: int) -> list[V4L2Mode]:
    modes = []
    for index in range(64):
        desc = _ioctl(fd, VIDIOC_ENUM_FMT, _FMTDESC, index, _BUF_TYPE_VIDEO_CAPTURE, 0, b"", 0, 0, 0, 0, 0)
        if desc is None:
            break
        pixfmt = desc[4]
        mode = V4L2Mode(_fourcc(pixfmt), _cstr(desc[3]))
        for size_index in range(64):
            size = _ioctl(fd, VIDIOC_ENUM_FRAMESIZES, _FRMSIZE, size_index, pixfmt, 0, *([0] * 8))
            if size is None:
                break
            if size[2] != _DISCRETE:  # stepwise or continuous: report the largest size
                mode.sizes.append((size[4], size[7], []))
                break
            width, height = size[3], size[4]
            rates = []
            for rate_index in range(32):
                ival = _ioctl(fd, VIDIOC_ENUM_FRAMEINTERVALS, _FRMIVAL, rate_index, pixfmt, width, height, *([0] * 9))
                if ival is None or ival[4] != _DISCRETE:
                    break
                num, den = ival[5], ival[6]
                if num:
                    rates.append(round(den / num, 2))
            mode.sizes.append((width, height, rates))
        modes.append(mode)
    return modes


def device_modes(path: str) -> list[V4L2Mode]:
    """What the V4L2 device at `path` offers; empty when it cannot be asked (busy, gone, not V4L2)."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
    except OSError:
        return []
    try:
        return _modes(fd)
    finally:
        os.close(fd)


# -- choosing what to ask a V4L2 device for --


class ModeRefused(Exception):
    """The device does not offer the mode asked for, or not fast enough: the reason in words."""


def keeps_up(rate: float, fps: int) -> bool:
    """Whether a camera rate serves a session at `fps` (29.97 serves 30: a repeated frame every half minute)."""
    return rate >= fps * 0.99


def mode_rate(rates: list[float], fps: int) -> float | None:
    """The slowest listed rate that keeps up with `fps` (less USB bandwidth, longer exposure), if any."""
    keeping = [r for r in rates if keeps_up(r, fps)]
    return min(keeping) if keeping else None


def v4l2_options(width: int, height: int, fps: int, pixel_format: str | None,
                 modes: list[V4L2Mode]) -> dict[str, str]:
    """The options FFmpeg's v4l2 input opens a device with: size, pixel format, frame rate.

    A format asked for must be one the device lists (when it lists any), at a size it lists, with a rate that
    keeps up with `fps`; else ModeRefused says what it offers. Without one, MJPG when offered, else the
    driver's own format, as the station always chose. The rate is the slowest listed one that keeps up.
    """
    options = {"video_size": f"{width}x{height}", "framerate": str(fps)}
    offered = {m.fourcc: m for m in modes}
    fourcc = pixel_format
    if fourcc is None and AUTOMATIC_FORMAT in offered:
        fourcc = AUTOMATIC_FORMAT
    if fourcc is not None:
        options["input_format"] = FFMPEG_INPUT_FORMATS[fourcc]
    if not modes or fourcc is None:
        return options
    mode = offered.get(fourcc)
    if mode is None:
        raise ModeRefused(f"it offers {', '.join(offered)}, not {fourcc}")
    rates = next((r for w, h, r in mode.sizes if (w, h) == (width, height)), None)
    discrete = any(r for _w, _h, r in mode.sizes)
    if rates is None and discrete and pixel_format is not None:
        sizes = ", ".join(f"{w}x{h}" for w, h, _r in mode.sizes)
        raise ModeRefused(f"it offers {fourcc} at {sizes}, not {width}x{height}")
    rate = mode_rate(rates or [], fps)
    if rate is not None:
        options["framerate"] = f"{rate:g}"
    elif rates and pixel_format is not None:
        raise ModeRefused(f"as {width}x{height} {fourcc} it gives at most {max(rates):g} fps, slower than the "
                          f"session's {fps} fps: choose another mode (`station cameras` lists them) or a lower fps")
    elif rates:
        log.warning("%dx%d %s gives at most %g fps, below the session's %d", width, height, fourcc, max(rates), fps)
    return options


def list_v4l2_devices(pattern: str = "/dev/video*") -> list[V4L2Device]:
    """Every V4L2 node matching `pattern` with what it can capture; nodes that cannot be opened say why."""
    devices = []
    for path in sorted(glob.glob(pattern), key=lambda p: (len(p), p)):
        try:
            fd = os.open(path, os.O_RDWR | os.O_NONBLOCK)
        except OSError as exc:
            devices.append(V4L2Device(path, "", "", False, error=exc.strerror or str(exc)))
            continue
        try:
            cap = _ioctl(fd, VIDIOC_QUERYCAP, _CAP, b"", b"", b"", 0, 0, 0, 0, 0, 0)
            if cap is None:
                devices.append(V4L2Device(path, "", "", False, error="not a V4L2 device"))
                continue
            caps = cap[5] if cap[4] & _CAP_DEVICE_CAPS else cap[4]
            capture = bool(caps & _CAP_VIDEO_CAPTURE)
            device = V4L2Device(path, _cstr(cap[1]), _cstr(cap[0]), capture)
            if capture:
                device.modes = _modes(fd)
            devices.append(device)
        finally:
            os.close(fd)
    return devices

"""Encode camera frames to mp4 on an exact constant-rate PTS grid, and probe what was written.

LeRobot finds the frame for row k of an episode at `from_timestamp + k / fps` and fails (or silently shifts)
when no decoded frame lies within 1e-4 s. So every input frame becomes exactly one encoded frame with pts i
in the codec time base 1/fps; the mp4 stream uses 1/(fps*512) like LeRobot's files, which makes every muxed
PTS an exact integer multiple (i * 512) with no rounding drift.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.stream import VideoStream

from station.dataset.fsutil import fsync_file, remove_quietly
from station.dataset.spec import CODECS, VideoSettings
from station.errors import DatasetError
from station.priority import encoder_heap, encoder_turn, foreground

# SVT-AV1 prints a banner on stderr for every encoder it opens; keep only its errors. Set once, here at import
# (on the importing thread), never from the encoder threads: setenv is not thread-safe.
os.environ.setdefault("SVT_LOG", "1")

log = logging.getLogger(__name__)

# LeRobot's mp4 stream time base is 1/(fps * 512); keeping it makes our files concatenate with theirs.
TIME_BASE_MULTIPLIER = 512


MIN_SIDE = 4  # SVT-AV1 refuses 2 px; x264 takes anything even
MAX_SIDE = 8192


def encodable_size_problem(width: int, height: int) -> str | None:
    """Why a camera of this size cannot be encoded to yuv420p by every codec we offer, or None."""
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        return f"is {width}x{height}: width and height must be between {MIN_SIDE} and {MAX_SIDE} pixels"
    if width % 2 or height % 2:
        even = f"{width + width % 2}x{height + height % 2}"
        return f"is {width}x{height}: videos need an even width and height (e.g. {even})"
    return None


# SVT-AV1 sizes its buffers for a 16-frame mini-GOP and a lookahead of its own choosing. With keyframes 2 frames
# apart (LeRobot's g=2) neither is ever used: the frames come out the same (all of 300 at 640x480; in 61-frame
# runs all but the last, odd, frame, whose PSNR moved by 0.01-0.03 dB), while one 1280x720 encoder peaked at
# 83-137 MB instead of 194-202 MB, and the opening and freeing, which hold the GIL (see encode_video), had
# less memory to fault in and give back (free 6.6-8.7 ms against 14.7-15.8 ms).
SHORT_GOP = 4  # frames: a GOP no longer than a mini-GOP of hierarchical-levels=2
SVT_SHORT_GOP_PARAMS = "lookahead=0:hierarchical-levels=2"


def _encoder_options(settings: VideoSettings, encoders_at_once: int = 1) -> dict[str, str]:
    options = {"g": str(settings.g), "crf": str(settings.crf), "preset": str(settings.preset)}
    if settings.codec == "libsvtav1":
        params = [f"lp={svt_parallelism(_cores_each(encoders_at_once))}"]
        if settings.g <= SHORT_GOP:
            params.insert(0, SVT_SHORT_GOP_PARAMS)
        options["svtav1-params"] = ":".join(params)
    return options


def _cores_each(encoders_at_once: int) -> int:
    """The cores this process may use, shared among the encoders that run at once (at least one each)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 2
    return max(1, cores // max(1, encoders_at_once))


# SVT-AV1 (3.0 on) takes a level of parallelism, 1-6, not a count of cores; left to itself it picks the level
# from the machine's cores (1 core: 1, 2: 2, 3-5: 3, 6-11: 4, 12-23: 5, more: 6) for every encoder, and a live
# take runs one encoder per camera. Each encoder gets the level it would pick for its share of the cores.
# (Before 3.0, lp was a count of cores: the same for 1 and 2.) Measured on 2 cores (AMD EPYC, 1280x720, the
# station's mmap threshold so that every open faults its memory in fresh): 47-49 threads per encoder at level
# 2 (its own choice), 16-18 at level 1; opening (holding the GIL) 24-31 ms against 13-16 ms; three encoders at
# once 83-88 camera-frames/s at level 1 against 70-78, two at 640x480 124-133 against 117-123; one alone needs
# both cores: 77-80 at level 1 against 119-130.
SVT_LEVELS = ((24, 6), (12, 5), (6, 4), (3, 3), (2, 2))


def svt_parallelism(cores: int) -> int:
    """SVT-AV1's level of parallelism for an encoder that has `cores` cores to itself."""
    return next((level for least, level in SVT_LEVELS if cores >= least), 1)


def _thread_count(encoder: str) -> int:
    """Threads per encode, for encoders that take PyAV's thread count (x264: 1 thread each ran best with two
    cameras on 2 cores). SVT-AV1 ignores it: its level of parallelism is set in _encoder_options (SVT_LEVELS).
    """
    if encoder == "libsvtav1":
        return 0
    return max(1, (os.cpu_count() or 2) // 2)


def _check_frame(i: int, frame: np.ndarray, width: int, height: int, pix_fmt: str = "rgb24") -> None:
    if pix_fmt == "yuv420p":
        if frame.dtype != np.uint8 or frame.shape != (height * 3 // 2, width):
            raise DatasetError(f"camera frame {i} is {frame.dtype} {frame.shape}, not a {width}x{height} yuv420p "
                               "image: cannot encode it")
        return
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise DatasetError(f"camera frame {i} is {frame.dtype} {frame.shape}, not an RGB uint8 image: cannot encode it")
    if frame.shape[0] != height or frame.shape[1] != width:
        raise DatasetError(
            f"camera frame {i} is {frame.shape[1]}x{frame.shape[0]} but the video is {width}x{height}: "
            "the camera changed resolution during the episode"
        )


class _DtsLikeLeRobot:
    """Packets of an h264 stream without B-frames get their dts one frame before their pts, as LeRobot's
    own h264 files have (libx264 with B-frames). LeRobot's merge joins video files with ffmpeg's concat
    demuxer, each file starting at the previous one's duration: after a file whose last dts is one frame
    short of its duration, one of LeRobot's h264 files would repeat that dts and the merge fails. Packets
    are in the codec time base (1/fps) here, so one frame is 1. Other codecs (AV1: LeRobot's files have
    dts = pts) and streams that reorder frames are left as the encoder made them."""

    def __init__(self, codec: str) -> None:
        self.early: bool | None = None if CODECS[codec][1] == "h264" else False

    def __call__(self, packets: list[av.Packet]) -> list[av.Packet]:
        for packet in packets:
            if self.early is None:  # decided on the first packet: no reordering means its dts is its pts
                self.early = packet.pts is not None and packet.dts == packet.pts
            if self.early and packet.pts is not None:
                packet.dts = packet.pts - 1
        return packets


def video_frame(image: np.ndarray, pix_fmt: str) -> av.VideoFrame:
    """An image (RGB (H, W, 3), or yuv420p planes (H * 3 / 2, W)) as a VideoFrame that wraps its memory where
    PyAV can, rather than a copy: what takes the frame next (an encoder, swscale) copies or reads it without the
    GIL, while from_ndarray's copy holds it (0.5 ms per 1280x720 frame: 45 ms a second with three cameras
    encoding, which the window's GUI thread waited for). PyAV wraps yuv420p only for heights that are a multiple
    of 4 (it takes the height as rows // 6 * 4); other heights are copied."""
    image = np.ascontiguousarray(image)
    if pix_fmt == "rgb24" or (pix_fmt == "yuv420p" and image.shape[0] % 6 == 0):
        return av.VideoFrame.from_numpy_buffer(image, format=pix_fmt)
    return av.VideoFrame.from_ndarray(image, format=pix_fmt)


def encode_video(
    frames: Iterable[np.ndarray],
    path: Path,
    fps: int,
    width: int,
    height: int,
    settings: VideoSettings,
    on_frame: Callable[[int], None] | None = None,
    pix_fmt: str = "rgb24",
    encoders_at_once: int = 1,
    on_open: Callable[[], object] | None = None,
) -> int:
    """Encode frames to `path`, one encoded frame per input frame, pts i on 1/fps.

    Frames are RGB uint8 (H, W, 3) (pix_fmt "rgb24", converted by the encoder) or yuv420p planes
    (H * 3 / 2, W) as the spool stores them, which the encoder takes as they are. `encoders_at_once` is how
    many encodes run in parallel with this one included: they share the machine's cores (SVT_LEVELS).
    `on_open()` is called once the encoder is open (at the first frame: never for none), before it takes that
    frame. Callers release BackgroundThreads there: SVT-AV1, run as root, starts its threads real-time 99,
    and left so for the first frame they kept the window's GUI thread off both cores for 20-30 ms.

    Returns the number of frames written. The file is fsynced before returning; on any error the partial
    file is deleted so a half-written video is never mistaken for a finished one.

    GIL holds: PyAV opens the encoder (avcodec_open2) and frees it holding the GIL, 30-38 ms and 5-18 ms for
    SVT-AV1 at 1280x720, while every other Python thread (the window's GUI thread, the control loop) waits;
    with three such cameras recording, the three teardowns at a take's end held it 24-45 ms back to back.
    Opens and teardowns take turns, ENCODER_GAP_S apart (station.priority.EncoderTurns; the open's turn is
    the caller's BackgroundThreads). The calling thread runs in the foreground for those moments only, so
    that it is not kept off a core while it holds the GIL; between them it keeps its own (normal)
    scheduling, as x264 encodes in it.
    """
    if settings.codec not in CODECS:
        raise DatasetError(f"unknown video codec {settings.codec!r}: use libsvtav1 or h264")
    if width % 2 or height % 2:
        raise DatasetError(f"a {width}x{height} camera cannot be encoded as {settings.pix_fmt}: use even sizes")
    encoder = CODECS[settings.codec][0]
    codec_tb = Fraction(1, fps)
    path = Path(path)
    count = 0
    try:
        with av.open(str(path), "w", format="mp4") as container:
            stream = container.add_stream(encoder, rate=fps, options=_encoder_options(settings, encoders_at_once))
            assert isinstance(stream, VideoStream)
            stream.width = width
            stream.height = height
            stream.pix_fmt = settings.pix_fmt
            stream.codec_context.time_base = codec_tb
            stream.time_base = Fraction(1, fps * TIME_BASE_MULTIPLIER)
            threads = _thread_count(encoder)
            if threads:
                stream.codec_context.thread_count = threads
            dts = _DtsLikeLeRobot(settings.codec)
            encoding = False  # the encoder itself is at work (an error there: it may not drain)
            try:
                for frame in frames:
                    _check_frame(count, frame, width, height, pix_fmt)
                    vf = video_frame(frame, pix_fmt)  # the encoder copies it as it takes it, without the GIL
                    vf.pts = count
                    vf.time_base = codec_tb
                    if count == 0:
                        # Opening the encoder holds the GIL (see the note above); SVT-AV1 also makes the thread
                        # that opens it real-time, and leaving foreground() gives the thread its scheduling back.
                        with foreground(), encoder_heap():
                            stream.codec_context.open()
                        if on_open is not None:  # before the first frame: the encoder's threads exist now
                            on_open()
                    encoding = True
                    packets = stream.encode(vf)
                    encoding = False
                    container.mux(dts(packets))
                    count += 1
                    if on_frame is not None:
                        on_frame(count - 1)
            except BaseException:
                if count and not encoding:  # cut short (cancelled, a failed write): drained, as SVT-AV1 expects
                    _drain_quietly(stream)
                raise
            with foreground():  # the flush and the trailer (the GIL is released while the encoder drains)
                container.mux(dts(stream.encode(None)))
                container.close()
            with foreground(), encoder_turn():  # the encoder freed with its stream, holding the GIL
                del stream
        fsync_file(path)
    except BaseException:
        remove_quietly(path)
        raise
    return count


def _drain_quietly(stream: VideoStream) -> None:
    """End an encode that is being abandoned: the frames it still holds (at most about 12 for SVT-AV1) are
    encoded and thrown away, without the GIL. Freed without it, SVT-AV1 drains while PyAV frees it, holding
    the GIL (1280x720: 103-145 ms, against 90-107 ms draining without the GIL and 10-16 ms freeing after),
    and prints "Svt[error]: deinit called without sending EOS!" on the terminal. Not after an error of the
    encoder itself, whose pipeline may never say it has ended."""
    try:
        with foreground():
            stream.encode(None)
    except Exception:  # the encode is abandoned for a reason already being raised
        log.debug("draining an abandoned encoder failed", exc_info=True)


def probe_video(path: Path) -> tuple[int, list[float]]:
    """(frame count, timestamp in seconds of every decoded frame), by decoding the whole file.

    Decoding rather than trusting the container index is the point: it is what LeRobot's loader sees.
    """
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            tb = stream.time_base
            stamps: list[float] = []
            for frame in container.decode(stream):
                if frame.pts is None or tb is None:
                    raise DatasetError(f"{path} has a frame without a timestamp")
                stamps.append(float(frame.pts * tb))
    except (av.FFmpegError, IndexError) as e:
        raise DatasetError(f"{path} is not a readable video ({e})") from e
    return len(stamps), stamps


def video_stream_info(path: Path) -> dict[str, object]:
    """Cheap facts from the container header (no decoding): frames, width, height, codec, fps."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return {
                "frames": int(stream.frames),
                "width": int(stream.codec_context.width),
                "height": int(stream.codec_context.height),
                "codec": stream.codec_context.codec.canonical_name,
                "fps": float(stream.average_rate) if stream.average_rate else None,
            }
    except (av.FFmpegError, IndexError) as e:
        raise DatasetError(f"{path} is not a readable video ({e})") from e

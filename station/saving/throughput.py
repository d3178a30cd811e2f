"""How fast this machine encodes a camera set, measured: the encoder alone on the frames the spool holds.

`encoder_fps(width, height, codec, cameras, seconds)` encodes test-pattern frames (FFmpeg's testsrc2, the
bench's cameras) already in the spool's pixel format, one encoder per camera at once as a live take does,
and returns camera-frames encoded per second. It is the denominator of the bench's capacity fraction and
what the preflight (station.preflight) compares a camera set against; `cached_encoder_fps` keeps results
per machine so that the preflight costs about two seconds once, not at every start (a result measured while
the machine is busy with other work is used but not kept).
"""

from __future__ import annotations

import logging
import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import numpy as np

from station.dataset.spec import VideoSettings
from station.dataset.video import encode_video
from station.priority import BackgroundThreads
from station.saving.measured_cache import best_measured, cache_directory
from station.saving.spool import SPOOL_PIX_FMT

log = logging.getLogger(__name__)
PATTERN_FRAMES = 30  # distinct frames, cycled (a moving pattern: the encoder cannot skip them as static)
CACHE_VERSION = 3  # 3: SVT-AV1 encoders share the cores (lp), so figures measured before do not hold


def pattern_frames(width: int, height: int, fps: int = 30, count: int = PATTERN_FRAMES) -> list[np.ndarray]:
    """`count` frames of the test pattern the bench's cameras show, in the spool's pixel format."""
    out: list[np.ndarray] = []
    with av.open(f"testsrc2=size={width}x{height}:rate={fps},format={SPOOL_PIX_FMT}", format="lavfi") as src:
        for frame in src.decode(video=0):
            out.append(frame.to_ndarray())  # generated in the spool's format: nothing to convert
            if len(out) >= count:
                break
    return out


def encoder_fps(width: int, height: int, codec: str, cameras: int = 1, seconds: float = 2.0,
                frames: list[np.ndarray] | None = None, cancelled: Callable[[], bool] = lambda: False) -> float:
    """Camera-frames per second `cameras` parallel encoders sustain on this machine, nothing else running.

    `cancelled()` turning true ends the probe early (its result then means nothing)."""
    frames = frames if frames is not None else pattern_frames(width, height)
    settings = VideoSettings.for_codec(codec)
    deadline: list[float] = []
    first: list[float] = []  # when the first frame went in: the encoders' set-up is not throughput
    counts = [0] * cameras

    def stream() -> Iterator[np.ndarray]:
        i = 0
        while (not deadline or time.perf_counter() < deadline[0]) and not cancelled():
            yield frames[i % len(frames)]
            i += 1

    with tempfile.TemporaryDirectory(prefix="station-encoder-probe-") as tmp:

        def run(cam: int) -> None:
            with BackgroundThreads() as starting:

                def on_frame(i: int) -> None:
                    if i == 0 and not first:
                        first.append(time.perf_counter())
                    counts[cam] = i + 1

                # the encoder's threads lowered as soon as they exist (see priority.py)
                encode_video(stream(), Path(tmp) / f"{cam}.mp4", 30, width, height, settings,
                             on_frame=on_frame, pix_fmt=SPOOL_PIX_FMT, encoders_at_once=cameras,
                             on_open=starting.release)

        start = time.perf_counter()
        deadline.append(start + seconds)
        with ThreadPoolExecutor(max_workers=cameras, thread_name_prefix="encoder-probe") as pool:
            runs = [pool.submit(run, c) for c in range(cameras)]
        # from the first frame to the last packet, the encoders' flush included: what a take's encode costs
        elapsed = time.perf_counter() - (first[0] if first else start)
        if cancelled():
            return 0.0
        for done in runs:
            done.result()  # an encoder's error, raised here in the caller's thread
    return sum(counts) / elapsed


def machine_busy() -> bool:
    """More runnable processes than cores (1-minute load average): a probe now measures the leftovers."""
    try:
        return os.getloadavg()[0] > (os.cpu_count() or 1)
    except OSError:
        return False


def _machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.machine()} {os.cpu_count()} cpus {cpu} av {av.__version__}"


def cached_encoder_fps(width: int, height: int, codec: str, cameras: int, cache: Path | None = None,
                       seconds: float = 1.5, cancelled: Callable[[], bool] = lambda: False,
                       again: bool = False) -> tuple[float, bool]:
    """encoder_fps, measured once per machine and camera set: (frames/s, whether it came from the cache).
    With `again` it is measured anew and the best figure is kept and given (a machine does not get slower;
    a lower figure was measured while something else ran)."""
    key = f"v{CACHE_VERSION} {_machine()} | {codec} {width}x{height} x{cameras}"
    return best_measured(cache or cache_directory() / "encoder-throughput.json", key,
                         lambda: encoder_fps(width, height, codec, cameras, seconds, cancelled=cancelled), again,
                         keep=lambda: not (cancelled() or machine_busy()))

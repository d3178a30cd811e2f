"""Capacity: the largest camera load the station records with no backlog growth, over the encoder's own speed.

In one run, on the same frames (the bench cameras' test pattern, in the spool's pixel format):
1. the encoder alone: `cameras` parallel encoders and nothing else (station.saving.throughput.encoder_fps);
2. the whole station recording (cameras, control loop, spool writer, live encoders), one take per load,
   the camera rate bisected between 40 % and 130 % of the encoder alone, starting at 80 % (three takes): a
   load keeps up when the backlog (camera-frames recorded but not yet encoded) does not grow;
3. the encoder alone again, since other work on a shared machine changes what it gets; their mean is the
   reference.
capacity_fraction = the largest recorded load that kept up / the encoder alone. Loads are camera-frames per
second of the given size (pixels/s = that x width x height); the camera rate is the knob, so the frames and
sizes stay those the operator records (the control loop runs at the camera rate too, as it does).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from station.bench.load_bench import bench_config
from station.config import MAX_FPS as SESSION_MAX_FPS

# Camera rate cap for the probes: the highest rate a session accepts (h264 at 640x480 may encode more).
MAX_FPS = SESSION_MAX_FPS


@dataclass
class Probe:
    fps: int
    load: float  # camera-frames per second asked for (fps x cameras)
    recorded: float  # camera-frames per second that reached the spool
    encoded: float  # camera-frames per second the live encoders did
    backlog_growth: float  # camera-frames per second by which the backlog grew (a line fit)
    backlog_end: float  # camera-frames behind at the end

    @property
    def keeps_up(self) -> bool:
        """No backlog growth: it grows by under 3 % of the load, or stays under half a second of frames."""
        return self.backlog_growth < 0.03 * self.load or self.backlog_end < 0.5 * self.load


def record_probe(root: Path, cameras: int, size: tuple[int, int], vcodec: str, fps: int, seconds: float,
                 warmup_s: float = 1.5) -> Probe:
    """One take at `fps` per camera for warmup_s + seconds; the backlog sampled every 0.25 s."""
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    from station.session.builder import start_session
    from station.session.state import Event

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    assert app is not None
    config = bench_config(root, cameras, size, vcodec, episode_s=warmup_s + seconds + 5.0, fps=fps)
    session = start_session(config)
    samples: list[tuple[float, float, float]] = []  # (time, camera-frames recorded, camera-frames encoded)

    def sample() -> None:
        job = next((j for j in session.queue.jobs if j.live is not None), None)
        if job is None or job.live is None:
            return
        written = job.live.written
        samples.append((time.monotonic(), written * cameras, job.progress * written * cameras))

    timer = QTimer()
    timer.timeout.connect(sample)
    try:
        session.recorder.start()
        session.recorder.fire(Event.RECORD)
        wait = QEventLoop()
        QTimer.singleShot(int(warmup_s * 1000), wait.quit)
        wait.exec()
        timer.start(250)
        QTimer.singleShot(int(seconds * 1000), wait.quit)
        wait.exec()
        timer.stop()
    finally:
        session.close(wait_ms=10_000)
    a = np.asarray(samples[1:] or [(0.0, 0.0, 0.0), (1.0, 0.0, 0.0)])
    t = a[:, 0] - a[0, 0]
    span = max(float(t[-1]), 1e-9)
    backlog = a[:, 1] - a[:, 2]
    growth = float(np.polyfit(t, backlog, 1)[0]) if len(t) >= 3 else 0.0
    return Probe(fps=fps, load=float(fps * cameras), recorded=float(a[-1, 1] - a[0, 1]) / span,
                 encoded=float(a[-1, 2] - a[0, 2]) / span, backlog_growth=growth, backlog_end=float(backlog[-1]))


def measure_capacity(root: Path, cameras: int, size: tuple[int, int], vcodec: str, seconds: float = 8.0,
                     log: Callable[[str], None] = print) -> dict:
    """Bisect the camera rate between 40 % and 130 % of the encoder alone (3 takes, about 45 s in all)."""
    from station.saving.throughput import encoder_fps, pattern_frames

    w, h = size
    frames = pattern_frames(w, h)
    alone = encoder_fps(w, h, vcodec, cameras, seconds=3.0, frames=frames)
    log(f"capacity: encoder alone {alone:.0f} camera-frames/s ({cameras} x {w}x{h}, {vcodec})")
    # bisect over [0.4, 1.3] of the first measurement (above 1: the encoder alone may have been measured in
    # a bad moment of a shared machine), starting at the target 0.8
    lo, hi, fraction = 0.4, 1.3, 0.8
    probes: list[Probe] = []
    best: Probe | None = None
    for attempt in range(3):
        fps = min(MAX_FPS, max(1, round(fraction * alone / cameras)))
        probe = record_probe(root / f"probe-{attempt}", cameras, size, vcodec, fps, seconds)
        probes.append(probe)
        log(f"capacity: {fps} fps per camera = {probe.recorded:.0f} camera-frames/s recorded "
            f"({probe.recorded / alone:.2f} of the encoder alone): backlog "
            + ("steady" if probe.keeps_up else f"grows by {probe.backlog_growth:.0f} frames/s"))
        if probe.keeps_up:
            if best is None or probe.recorded > best.recorded:
                best = probe
            if fps == MAX_FPS:
                break
            lo = fraction
        else:
            hi = fraction
        fraction = (lo + hi) / 2
    again = encoder_fps(w, h, vcodec, cameras, seconds=3.0, frames=frames)  # the machine may have changed
    log(f"capacity: encoder alone again {again:.0f} camera-frames/s")
    reference = (alone + again) / 2
    load = best.recorded if best is not None else 0.0
    return {
        "encoder_alone_fps": round(reference, 1),
        "encoder_alone_fps_before_after": [round(alone, 1), round(again, 1)],
        "capacity_fps": round(load, 1),
        "capacity_pixels_per_s": round(load * w * h),
        "capacity_fraction": round(load / reference, 3) if reference > 0 else 0.0,
        "capacity_capped": best is not None and best.fps == MAX_FPS,  # the cameras' rate cap was reached
        "capacity_probes": [
            {"fps": p.fps, "recorded": round(p.recorded, 1), "encoded": round(p.encoded, 1),
             "backlog_growth": round(p.backlog_growth, 1), "keeps_up": p.keeps_up} for p in probes
        ],
    }


def spool_costs(width: int, height: int, frames: int = 60) -> dict:
    """Bytes and CPU per camera-frame on the spool's path, RGB24 (before) against the spool format (after).

    CPU counts what differs between the two: the writer's conversion (after only), writing and reading the
    frame back, and handing it to the encoder including the encoder's own conversion to yuv420p (before
    only). The compression itself is the same either way and is left out.
    """
    import os
    import tempfile

    import av

    from station.saving.spool import SPOOL_PIX_FMT, frame_bytes, to_spool_format

    rgb = _rgb_pattern(width, height, frames)  # the bench cameras' pattern, as a camera hands it over

    def path_cost(pix_fmt: str) -> float:
        with tempfile.TemporaryDirectory(prefix="station-spool-cost-") as tmp:
            path = os.path.join(tmp, "frames")
            start = time.process_time()
            with open(path, "wb", buffering=0) as f:
                for image in rgb:
                    f.write(to_spool_format(image, pix_fmt).data)
            shape = (height, width, 3) if pix_fmt == "rgb24" else (height * 3 // 2, width)
            with open(path, "rb") as f:
                for _ in rgb:
                    frame = np.empty(shape, dtype=np.uint8)
                    f.readinto(frame.data)
                    vf = av.VideoFrame.from_ndarray(frame, format=pix_fmt)
                    if pix_fmt != SPOOL_PIX_FMT:
                        vf = vf.reformat(format=SPOOL_PIX_FMT)  # what the encoder did with RGB input
            return (time.process_time() - start) / len(rgb) * 1000

    before, after = path_cost("rgb24"), path_cost(SPOOL_PIX_FMT)
    return {
        "spool_bytes_per_frame": frame_bytes(width, height, SPOOL_PIX_FMT),
        "spool_bytes_per_frame_rgb24": frame_bytes(width, height, "rgb24"),
        "spool_cpu_ms_per_frame": round(after, 3),
        "spool_cpu_ms_per_frame_rgb24": round(before, 3),
    }


def _rgb_pattern(width: int, height: int, count: int) -> list[np.ndarray]:
    import av

    out: list[np.ndarray] = []
    with av.open(f"testsrc2=size={width}x{height}:rate=30,format=rgb24", format="lavfi") as src:
        for frame in src.decode(video=0):
            out.append(frame.to_ndarray())
            if len(out) >= count:
                break
    return out

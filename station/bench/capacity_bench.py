"""Capacity: the largest camera load the station records with no backlog growth, over the encoder's own speed.

The load is camera pixels per second; the knob is the cameras' size, at the session's frame rate (30 fps), so
that what the station does per frame (the control loop, one row, one spool append per camera) stays what an
operator's session does and only the pixels grow. Each probe, in one run:
1. the encoder alone at the probe's size: `cameras` parallel encoders and nothing else, on 30 frames of the
   test pattern in the spool's pixel format (station.saving.throughput.encoder_fps), measured just before and
   just after the station so both see the same machine (a shared machine changes from one minute to the next),
   the better of the two kept;
2. the whole station recording one take at that size (cameras, control loop, spool writers, live encoders): it
   keeps up when it records every frame asked for and the backlog (camera-frames the control loop recorded,
   written to the spool or still queued for its writer, but not yet encoded) does not grow. Its cameras play
   the same 30 frames, written to a raw video file, through the station's file camera: both sides see the
   same frames, and a camera costs the station what a real one does, a decoded frame handed over (drawing the
   test pattern live costs 3.7 ms of CPU per 2624x1968 frame, work a real camera does in its own hardware).
The fraction of the encoders' pixel rate asked for is bisected over 40-130 %, starting at 80 %, in six probes
(four left the result up to 0.07 short of where it lies); each probe's size comes from the latest
encoder-alone measurement (encoders do more pixels per second on larger frames, so the rate at the given size
alone would undershoot). capacity_fraction = the recorded load of a probe that kept up over its own encoder
alone, the largest among the probes that kept up.

Every recorded frame goes to the disk raw (the spool) as well: a fast encoder (h264 at the ultrafast preset, on
frames of several megapixels) can outrun the disk, and then the disk bounds the capacity whatever the station
does. The disk's speed is measured in the same run (station.saving.disk_speed, before and after the probes, the
better kept) and reported with each probe as `disk_limit`: the most of its encoder alone that the disk takes
in raw frames of that size.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from station.bench.load_bench import bench_config
from station.bench.session_bench import wait_until_ready
from station.config import MAX_CAMERA_SIDE

SIDE_STEP = 16  # probe sizes are multiples of 16 (encoders' blocks; even for yuv420p)
PROBES = 6


@dataclass
class Probe:
    size: tuple[int, int]
    fps: int
    load: float  # camera-frames per second asked for (fps x cameras)
    recorded: float  # camera-frames per second that reached the spool
    encoded: float  # camera-frames per second the live encoders did
    backlog_growth: float  # camera-frames per second by which the backlog grew (a line fit)
    backlog_end: float  # camera-frames behind at the end
    written: float = 0.0  # camera-frames per second the spool's writer put on the disk
    encoder_alone: float = 0.0  # camera-frames per second of the encoders alone at this size, just before
    disk_limit: float = 0.0  # the most of encoder_alone the spool's disk takes, in raw frames of this size

    @property
    def keeps_up(self) -> bool:
        """Every frame asked for recorded (within 3 %: the control loop kept its rate) and no backlog growth: it
        grows by under 3 % of the load, or stays under half a second of frames."""
        steady = self.backlog_growth < 0.03 * self.load or self.backlog_end < 0.5 * self.load
        return steady and self.recorded >= 0.97 * self.load

    @property
    def fraction(self) -> float:
        """The recorded load over the encoder alone on the same frames. The rate measured over the window can
        exceed the load asked for (the spool catching up on its queue after the first sample): not counted."""
        return min(self.recorded, self.load) / self.encoder_alone if self.encoder_alone > 0 else 0.0


def scaled_size(size: tuple[int, int], pixel_scale: float) -> tuple[int, int]:
    """`size` with about `pixel_scale` times its pixels, same aspect, sides multiples of SIDE_STEP."""
    w, h = size
    k = math.sqrt(max(pixel_scale, 1e-6))

    def side(x: int) -> int:
        return min(MAX_CAMERA_SIDE, max(4 * SIDE_STEP, round(x * k / SIDE_STEP) * SIDE_STEP))

    return side(w), side(h)


def write_raw_video(frames: list[np.ndarray], path: Path, fps: int = 30) -> Path:
    """`frames` (yuv420p, as the spool holds them) as an uncompressed video file a file camera plays as it is
    (no conversion: only the decoded frame is handed over)."""
    import av

    height, width = frames[0].shape[0] * 2 // 3, frames[0].shape[1]
    with av.open(str(path), "w", format="nut") as container:
        stream = container.add_stream("rawvideo", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i, frame in enumerate(frames):
            video_frame = av.VideoFrame.from_ndarray(frame, format="yuv420p")
            video_frame.pts = i
            container.mux(stream.encode(video_frame))
        container.mux(stream.encode(None))
    return path


def record_probe(root: Path, cameras: int, size: tuple[int, int], vcodec: str, fps: int, seconds: float,
                 warmup_s: float = 1.5, source: str = "testsrc") -> Probe:
    """One take at `size` and `fps` per camera for warmup_s + seconds; the backlog sampled every 0.25 s."""
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    from station.session.builder import start_session
    from station.session.state import Event

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    assert app is not None
    config = bench_config(root, cameras, size, vcodec, episode_s=warmup_s + seconds + 1.0, fps=fps, source=source)
    session = start_session(config)
    samples: list[tuple[float, float, float, float]] = []  # (time, camera-frames recorded, encoded, written)

    def sample() -> None:
        job = next((j for j in session.queue.jobs if j.live is not None), None)
        if job is None or job.live is None:
            return
        # Recorded: the rows the control loop handed to the spool, written or still queued for its writer (a
        # writer that fell behind and catches up wrote faster than the load: counting what it wrote made a
        # backlog the encoders were keeping pace with look as if it grew). Encoded: the frames the live
        # encoders have taken, counted (the save's progress is a fraction of what the spool had written at its
        # last report, which credited the encoders with frames a writer catching up had only just written).
        samples.append((time.monotonic(), job.live.frames * cameras, job.live.taken, job.live.written * cameras))

    timer = QTimer()
    timer.timeout.connect(sample)
    try:
        session.recorder.start()
        wait_until_ready(session.recorder)
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
    a = np.asarray(samples[1:] or [(0.0, 0.0, 0.0, 0.0), (1.0, 0.0, 0.0, 0.0)])
    t = a[:, 0] - a[0, 0]
    span = max(float(t[-1]), 1e-9)
    backlog = a[:, 1] - a[:, 2]
    growth = float(np.polyfit(t, backlog, 1)[0]) if len(t) >= 3 else 0.0
    return Probe(size=size, fps=fps, load=float(fps * cameras), recorded=float(a[-1, 1] - a[0, 1]) / span,
                 encoded=float(a[-1, 2] - a[0, 2]) / span, written=float(a[-1, 3] - a[0, 3]) / span,
                 backlog_growth=growth, backlog_end=float(backlog[-1]))


def measure_capacity(root: Path, cameras: int, size: tuple[int, int], vcodec: str, fps: int = 30,
                     seconds: float = 8.0, log: Callable[[str], None] = print) -> dict:
    """Bisect the load over 40-130 % of the encoders' pixel rate (6 probes, about two minutes in all)."""
    from station.saving.disk_speed import disk_write_speed
    from station.saving.spool import SPOOL_PIX_FMT, frame_stride
    from station.saving.throughput import encoder_fps, pattern_frames

    w, h = size
    root.mkdir(parents=True, exist_ok=True)
    disk_bps = disk_write_speed(root, seconds=2.0)  # 0: not measured (too little free space)
    log(f"capacity: the spool's disk takes {disk_bps / 1e6:.0f} MB/s")

    def disk_limit(p: Probe) -> float:
        return disk_bps / (frame_stride(*p.size, SPOOL_PIX_FMT) * p.encoder_alone) if p.encoder_alone > 0 else 0.0

    alone = encoder_fps(w, h, vcodec, cameras, seconds=3.0)
    alone_px = alone * w * h
    log(f"capacity: encoder alone {alone:.0f} camera-frames/s = {alone_px / 1e6:.1f} Mpixel/s "
        f"({cameras} x {w}x{h}, {vcodec})")
    lo, hi, fraction = 0.4, 1.3, 0.8
    probes: list[Probe] = []
    reference_px = alone_px  # the encoders' pixel rate measured nearest the next probe's size
    for attempt in range(PROBES):
        # Encoders do more pixels per second on larger frames: the size for the fraction wanted comes from the
        # latest measurement, at the size nearest to it.
        probe_size = scaled_size(size, fraction * reference_px / (fps * cameras) / (w * h))
        pw, ph = probe_size
        frames = pattern_frames(pw, ph, fps)
        before = encoder_fps(pw, ph, vcodec, cameras, seconds=3.0, frames=frames)
        probe_root = root / f"probe-{attempt}"
        probe_root.mkdir(parents=True)
        source = write_raw_video(frames, probe_root / "pattern.nut", fps)
        try:
            probe = record_probe(probe_root / "dataset", cameras, probe_size, vcodec, fps, seconds,
                                 source=str(source))
        finally:
            shutil.rmtree(probe_root, ignore_errors=True)  # a take not saved keeps its spool: gigabytes here
        # The reference is measured again after the station: the better of the two (a machine does not get
        # slower; a lower figure means something else ran then), so noise lowers the fraction, never raises it.
        here = max(before, encoder_fps(pw, ph, vcodec, cameras, seconds=3.0, frames=frames))
        del frames
        reference_px = here * pw * ph
        probe.encoder_alone = here
        probe.disk_limit = disk_limit(probe)
        probes.append(probe)
        log(f"capacity: {cameras} x {pw}x{ph} at {fps} fps: {probe.recorded:.0f} of {probe.load:.0f} camera-frames/s "
            f"recorded, {probe.written:.0f} written, the encoder alone {here:.0f} ({probe.fraction:.2f}; the disk "
            f"takes {probe.disk_limit:.2f} of it): "
            + ("kept up" if probe.keeps_up else
               "recording fell short" if probe.recorded < 0.97 * probe.load else
               f"backlog grows by {probe.backlog_growth:.0f} frames/s"))
        if probe.keeps_up:  # bisect on what was measured, which the asked fraction only approaches
            lo = max(lo, probe.fraction)
        else:
            hi = min(hi, max(probe.fraction, lo))
        fraction = (lo + hi) / 2
    # The disk measured again after the probes, the better kept: a lower figure means something else wrote.
    disk_bps = max(disk_bps, disk_write_speed(root, seconds=2.0))
    for p in probes:
        p.disk_limit = disk_limit(p)
    kept = [p for p in probes if p.keeps_up]
    best = max(kept, key=lambda p: p.fraction) if kept else None
    return {
        "spool_disk_mb_per_s": round(disk_bps / 1e6, 1),
        # the most of the encoders' rate the disk takes in raw frames, at the capacity's size (or the last probe's)
        "capacity_disk_limit": round((best or probes[-1]).disk_limit, 3),
        "encoder_alone_fps": round(alone, 1),
        "encoder_alone_pixels_per_s": round(alone_px),
        "capacity_size": f"{best.size[0]}x{best.size[1]}" if best else None,
        "capacity_fps": round(min(best.recorded, best.load), 1) if best else 0.0,
        "capacity_pixels_per_s": round(min(best.recorded, best.load) * best.size[0] * best.size[1]) if best else 0,
        "capacity_fraction": round(best.fraction, 3) if best else 0.0,
        "capacity_probes": [
            {"size": f"{p.size[0]}x{p.size[1]}", "fps": p.fps, "recorded": round(p.recorded, 1),
             "encoded": round(p.encoded, 1), "written": round(p.written, 1),
             "encoder_alone": round(p.encoder_alone, 1), "fraction": round(p.fraction, 3),
             "disk_limit": round(p.disk_limit, 3), "backlog_growth": round(p.backlog_growth, 1),
             "keeps_up": p.keeps_up} for p in probes
        ],
    }


def spool_costs(width: int, height: int, frames: int = 60) -> dict:
    """Bytes and CPU per camera-frame on the recording path, before (RGB24 cameras and spool) and after
    (yuv420p from the camera to the encoder).

    CPU counts what differs between the two: the camera's own conversion of what it decoded into its
    format (testsrc2 is generated in either), writing the frame to the spool and reading it back, and handing
    it to the encoder including the encoder's conversion to yuv420p (before only). The compression itself is
    the same either way and is left out.
    """
    import os
    import tempfile

    import av

    from station.saving.spool import SPOOL_PIX_FMT, frame_bytes, to_spool_format

    def path_cost(pix_fmt: str) -> float:
        shape = (height, width, 3) if pix_fmt == "rgb24" else (height * 3 // 2, width)
        with tempfile.TemporaryDirectory(prefix="station-spool-cost-") as tmp, \
                av.open(f"testsrc2=size={width}x{height}:rate=30,format={pix_fmt}", format="lavfi") as src:
            path = os.path.join(tmp, "frames")
            start = time.process_time()
            with open(path, "wb", buffering=0) as f:
                for n, decoded in enumerate(src.decode(video=0)):  # the camera: in its format, then spooled
                    f.write(to_spool_format(decoded.to_ndarray(), pix_fmt).data)
                    if n + 1 == frames:
                        break
            with open(path, "rb") as f:
                for _ in range(frames):
                    frame = np.empty(shape, dtype=np.uint8)
                    f.readinto(frame.data)
                    vf = av.VideoFrame.from_ndarray(frame, format=pix_fmt)
                    if pix_fmt != SPOOL_PIX_FMT:
                        vf = vf.reformat(format=SPOOL_PIX_FMT)  # what the encoder did with RGB input
            return (time.process_time() - start) / frames * 1000

    before, after = path_cost("rgb24"), path_cost(SPOOL_PIX_FMT)
    return {
        "spool_bytes_per_frame": frame_bytes(width, height, SPOOL_PIX_FMT),
        "spool_bytes_per_frame_rgb24": frame_bytes(width, height, "rgb24"),
        "spool_cpu_ms_per_frame": round(after, 3),
        "spool_cpu_ms_per_frame_rgb24": round(before, 3),
    }

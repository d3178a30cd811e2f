"""The station's recording session measured twice in one process: background saving vs a synchronous save.

Both runs use the same simulated arms, the same cameras (PyAV lavfi test patterns, paced in real time), the
same Recorder and the same dataset writer; the only difference is whether a finished take is saved on the
save queue's threads or inline before the next take may start (what LeRobot's recorder does by default).
"""

from __future__ import annotations

import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from station.config import CameraSource, SessionConfig
from station.session.state import Phase, Step


@dataclass
class RunResult:
    dead_times_ms: list[float] = field(default_factory=list)
    periods_ms: list[float] = field(default_factory=list)
    late_ticks: int = 0
    ticks: int = 0
    rows: int = 0
    video_frames: dict[str, int] = field(default_factory=dict)
    repeated_frames: int = 0
    drain_s: float = 0.0
    encode_fps: float = 0.0
    wall_s: float = 0.0
    rss_mb: list[float] = field(default_factory=list)  # resident memory once a second from the first take


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    a = np.asarray(values)
    return {"p50": round(float(np.percentile(a, 50)), 2), "p99": round(float(np.percentile(a, 99)), 2),
            "max": round(float(a.max()), 2)}


def _status_mb(key: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident memory of the whole process since the last reset_peak_rss() (VmHWM), in MB."""
    peak = _status_mb("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    return _status_mb("VmRSS") or 0.0


def reset_peak_rss() -> None:
    """Start a new peak (Linux: writing 5 to clear_refs resets VmHWM), so each phase reports its own."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def run_events_until(done: Callable[[], bool], timeout_s: float) -> None:
    """Let Qt's events run (the cameras' first frames, a probe's verdict) until `done()` or `timeout_s`."""
    from PySide6.QtCore import QCoreApplication, QEventLoop

    deadline = time.monotonic() + timeout_s
    while not done() and time.monotonic() < deadline:
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)
        time.sleep(0.01)


def wait_until_ready(recorder: Any, timeout_s: float = 10.0) -> None:
    """Until every camera has sent a frame and the arms run (the recorder may start a take), as an operator
    presses Record once the window shows the cameras; after `timeout_s` Record will say why not."""
    run_events_until(lambda: not recorder.not_ready_reason(), timeout_s)


def run_session(
    root: Path, cameras: list[CameraSource], fps: int, episodes: int, episode_s: float, reset_s: float,
    vcodec: str, synchronous: bool,
) -> RunResult:
    """Record `episodes` takes back to back and wait for every save; measure what the operator would feel."""
    from PySide6.QtCore import QCoreApplication, QTimer

    from station.bench.synchronous import SynchronousRecorder
    from station.dataset.reader import DatasetReader
    from station.dataset.video import probe_video
    from station.session.builder import start_session
    from station.session.recorder import Recorder
    from station.session.state import Event

    config = SessionConfig(root=root, episodes=episodes, episode_time_s=episode_s, reset_time_s=reset_s, fps=fps,
                           cameras=tuple(cameras), vcodec=vcodec, demo=True)
    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    session = start_session(config, recorder_factory=SynchronousRecorder if synchronous else Recorder)
    queue, recorder = session.queue, session.recorder
    tick_times: list[float] = []
    real_tick = recorder.loop.tick

    def timed_tick(t: float, tick_no: int | None = None) -> None:
        tick_times.append(t)
        real_tick(t, tick_no)

    recorder.loop.tick = timed_tick  # type: ignore[method-assign]
    takes = []
    recorder.take_recorded.connect(lambda ft: takes.append(ft.take.cadence))
    stopped_at: list[float] = []
    def on_state(step: Step) -> None:
        if step.after is Phase.STOPPED:
            stopped_at.append(time.monotonic())

    recorder.state_changed.connect(on_state)
    recorder.finished.connect(app.quit)
    watchdog = QTimer()
    watchdog.setSingleShot(True)
    watchdog.timeout.connect(app.quit)
    watchdog.start(int((episodes * (episode_s + reset_s) + 600) * 1000))
    rss: list[float] = []
    sampler = QTimer()
    sampler.timeout.connect(lambda: rss.append(current_rss_mb()))
    sampler.start(1000)
    try:
        recorder.start()
        wait_until_ready(recorder)
        first = len(tick_times)
        start = time.monotonic()
        recorder.fire(Event.RECORD)
        app.exec()
        wall = time.monotonic() - start
    finally:
        session.close()
    sampler.stop()
    result = RunResult(wall_s=wall, rss_mb=rss)
    period = 1.0 / fps
    cadences = sorted(takes, key=lambda c: c.first_tick)
    for a, b in zip(cadences, cadences[1:], strict=False):
        result.dead_times_ms.append(max(0.0, (b.first_tick - a.last_tick - period) * 1000))
    in_session = np.asarray(tick_times[first:])
    gaps = np.diff(in_session) * 1000
    result.periods_ms = gaps.tolist()
    result.ticks = len(gaps)
    result.late_ticks = int((gaps > 1.5 * period * 1000).sum())
    result.repeated_frames = sum(sum((c.repeated_frames or {}).values()) for c in cadences)
    result.drain_s = max(0.0, time.monotonic() - stopped_at[0]) if stopped_at else 0.0
    # A whole take saved with nothing else to do: pure throughput.
    if isinstance(recorder, SynchronousRecorder) and recorder.sync_save_s:
        frames_per_take = episode_s * fps * len(cameras)
        result.encode_fps = frames_per_take / float(np.median(recorder.sync_save_s))
    else:
        result.encode_fps = queue.encode_fps
    reader = DatasetReader(root)
    result.rows = reader.total_frames
    for cam in cameras:
        key = f"observation.images.{cam.name}"
        result.video_frames[cam.name] = sum(
            probe_video(reader.video_path(ep, key))[0] for ep in range(reader.total_episodes)
        )
    return result


def run(
    fps: int = 30, cameras: int = 2, size: tuple[int, int] = (640, 480), episodes: int = 4, episode_s: float = 10.0,
    reset_s: float = 0.0, vcodec: str = "libsvtav1", long_take: bool = False, commit_episodes: int = 50,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    from station.bench.capacity_bench import measure_capacity, spool_costs
    from station.bench.commit_bench import commit_growth

    w, h = size
    sources = [CameraSource(name, "testsrc", w, h) for name in ("front", "wrist", "side", "top")[:cameras]]
    work = Path(tempfile.mkdtemp(prefix="station-bench-"))
    try:
        log(f"background run: {episodes} takes of {episode_s:g} s, {cameras} cameras {w}x{h} at {fps} fps, {vcodec}")
        reset_peak_rss()
        bg = run_session(work / "background", sources, fps, episodes, episode_s, reset_s, vcodec, synchronous=False)
        rss_after_bg = peak_rss_mb()
        log("synchronous baseline: the same session, each take saved before the next starts")
        reset_peak_rss()
        sync = run_session(work / "sync", sources, fps, episodes, episode_s, reset_s, vcodec, synchronous=True)
        rss_sync = peak_rss_mb()
        log(f"commit cost: {commit_episodes} short episodes into one dataset")
        growth = commit_growth(work / "commits", commit_episodes)
        log("capacity: the largest camera load recorded without a growing backlog, against the encoder alone")
        capacity = measure_capacity(work / "capacity", cameras, (w, h), vcodec, fps=fps, log=log)
        spool = spool_costs(w, h)
        long_rss = None
        long_trend = None
        if long_take:
            log("long take: one 60 s take, to see that memory does not grow with take length")
            reset_peak_rss()
            long = run_session(work / "long", sources, fps, 1, 60.0, 0.0, vcodec, synchronous=False)
            long_rss = peak_rss_mb()
            long_trend = (long.rss_mb[9], long.rss_mb[59]) if len(long.rss_mb) >= 60 else None
        capture_rate = fps * cameras
        bg_dead = percentiles(bg.dead_times_ms)
        sync_dead = percentiles(sync.dead_times_ms)
        rows_frames = min(bg.video_frames.values()) if bg.video_frames else 0
        return {
            "fps": fps, "cameras": cameras, "size": f"{w}x{h}", "episodes": episodes, "episode_s": episode_s,
            "vcodec": vcodec,
            "dead_time_ms": bg_dead,
            "sync_dead_time_ms": sync_dead,
            "dead_time_ratio": round(sync_dead["p50"] / max(bg_dead["p99"], 1.0), 1),
            "late_tick_fraction": round(bg.late_ticks / max(1, bg.ticks), 5),
            "period_p99_ms": round(float(np.percentile(bg.periods_ms, 99)), 2) if bg.periods_ms else 0.0,
            "period_target_ms": round(1000 / fps, 2),
            "sync_late_tick_fraction": round(sync.late_ticks / max(1, sync.ticks), 5),
            "rows": bg.rows, "video_frames": rows_frames,
            "dropped_frames": sum(bg.rows - n for n in bg.video_frames.values()),
            "repeated_frames": bg.repeated_frames,
            "drain_s": round(bg.drain_s, 2),
            "encode_fps": round(sync.encode_fps, 1),
            "realtime_factor": round(sync.encode_fps / capture_rate, 2) if capture_rate else 0.0,
            "commit_growth": growth["commit_growth"],
            "commit_ms_first": growth["first_ms"], "commit_ms_last": growth["last_ms"],
            "peak_rss_mb": round(max(rss_after_bg, long_rss or 0.0), 1),
            "peak_rss_mb_4_takes": round(rss_after_bg, 1),
            "peak_rss_mb_sync_baseline": round(rss_sync, 1),
            "peak_rss_mb_60s_take": round(long_rss, 1) if long_rss is not None else None,
            "rss_mb_at_10s_and_60s_of_long_take": [round(v, 1) for v in long_trend] if long_trend else None,
            "wall_s": {"background": round(bg.wall_s, 1), "sync": round(sync.wall_s, 1)},
            **capacity,
            **spool,
        }
    finally:
        shutil.rmtree(work, ignore_errors=True)

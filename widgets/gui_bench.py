"""What the window costs the control loop: display rate, event-loop stalls and late ticks, against headless.

`measure_gui(seconds, root, cameras, size, vcodec)` first records the same load headless in a child process
(station.bench.load_bench), then opens the real window on the demo set-up (test-pattern cameras, simulated arms),
records back-to-back 3 s takes so saves run during the measurement (the first once the preflight has its answer,
as headless, whose preflight line comes before the first take), and reports:
- display_fps: new camera frames drawn per second, averaged over the cameras;
- max_stall_ms / p99_stall_ms: gaps between the ticks of a 5 ms QTimer beyond its 5 ms period, i.e. how long
  the event loop was kept from answering (input, repaints) at worst and at the 99th percentile;
- late_tick_fraction / control_loop_fps: the control loop with the window open (late = a gap over 1.5
  periods), and headless_late_tick_fraction: the same load headless, measured just before in the same run;
- rss_mb: the window process's peak resident memory (VmHWM) during the run; headless_rss_mb the child's;
- display_steps_down: how often the display gave way to the loop (widgets.display_rate);
- gc_longest_ms: the longest garbage collection, all on the GUI thread (station.session.collector);
- listed_takes: saved takes the save queue listed before the first take (`--listed-takes`, as after a day of
  recording: the queue lists every take of the session; their records only, no data behind them).
The window runs as `station` runs it: GUI thread in the foreground, start-up objects frozen, garbage
collected on the GUI thread only (station.session.running).
Called by `station bench --gui`; runs offscreen when there is no display.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from station.saving.queue import SaveQueue

PROBE_MS = 5
PREFLIGHT_WAIT_S = 60.0


def measure_gui(seconds: float, root: Path, cameras: int = 2, size: tuple[int, int] = (640, 480),
                vcodec: str = "libsvtav1", warmup_s: float = 1.5, headless: bool = True,
                listed_takes: int = 0) -> dict:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from station.bench.load_bench import bench_config, measure_headless_in_child
    from station.bench.session_bench import peak_rss_mb, reset_peak_rss, run_events_until, wait_until_ready

    alone = measure_headless_in_child(cameras, size, vcodec, seconds) if headless else None

    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from station.saving.queue import JobStatus
    from station.session.collector import GuiThreadCollector
    from station.session.running import running_session
    from station.session.state import Event
    from widgets.app import apply_style, build_window

    reset_peak_rss()
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    apply_style(app)
    root = Path(root)
    config = bench_config(root / "gui-bench-dataset", cameras, size, vcodec)
    settings = QSettings(str(root / "gui-bench-settings.ini"), QSettings.Format.IniFormat)
    window, controller = build_window(config, settings)
    window.resize(1500, 950)
    window.show()
    controller.start()
    if controller.session is None:
        controller.quit_anyway()
        raise RuntimeError("the bench session could not start: " + "; ".join(window.messages.texts()))
    list_saved_takes(controller.session.queue, listed_takes, cameras)

    gaps: list[float] = []
    measuring = False
    last: list[float] = []  # the previous probe time, while measuring

    def probe() -> None:
        now = time.perf_counter()
        if measuring:
            if last:
                gaps.append((now - last[0]) * 1000)
            last[:] = [now]

    collector = GuiThreadCollector()
    # As the window runs (widgets.app.run_window): entered once the session has started, before its cameras
    # have warmed up, so that no collection runs on their threads meanwhile.
    with running_session(gui=True, collector=collector):
        wait_until_ready(controller.session.recorder)
        # As headless says its preflight line before the first take (and an operator reads the window's banner
        # before pressing Record): a probe on a machine whose figure is not cached, or was measured busy, runs
        # now and not during the measurement.
        run_events_until(lambda: not controller.preflight.busy(), PREFLIGHT_WAIT_S)
        controller.fire(Event.RECORD)
        timer = QTimer()
        timer.setInterval(PROBE_MS)
        timer.timeout.connect(probe)
        timer.start()
        wait = QEventLoop()
        QTimer.singleShot(int(warmup_s * 1000), wait.quit)
        wait.exec()
        session = controller.session
        assert session is not None
        loop = session.recorder.loop
        drawn0 = [v.frames_drawn for v in window.cameras.views]
        ticks0, late0, steps0 = loop.ticks, loop.late_ticks, controller.display_rate.steps_down
        measuring = True
        t0 = time.perf_counter()
        QTimer.singleShot(int(seconds * 1000), wait.quit)
        wait.exec()
        elapsed = time.perf_counter() - t0
        measuring = False
        timer.stop()
        ticks, late = loop.ticks - ticks0, loop.late_ticks - late0
        drawn = [v.frames_drawn - d for v, d in zip(window.cameras.views, drawn0, strict=True)]
        saved = sum(1 for j in session.queue.jobs if j.status is JobStatus.DONE)
        queued = len(session.queue.jobs)
        rss = peak_rss_mb()
        steps = controller.display_rate.steps_down - steps0
        gc_longest_ms = max(collector.longest_ms)  # while measuring (the last one, after shutdown, is not)
        controller.quit_anyway()
        controller.shutdown()
    stalls = np.maximum(np.asarray(gaps or [0.0]) - PROBE_MS, 0.0)
    w, h = size
    return {
        "cameras": cameras,
        "size": f"{w}x{h}",
        "vcodec": vcodec,
        "display_fps": round(float(np.mean(drawn)) / elapsed, 1) if drawn else 0.0,
        "max_stall_ms": round(float(stalls.max()), 1),
        "p99_stall_ms": round(float(np.percentile(stalls, 99)), 1),
        "late_tick_fraction": round(late / max(1, ticks), 5),
        "control_loop_fps": round(ticks / elapsed, 1),
        "rss_mb": round(rss, 1),
        "headless_late_tick_fraction": alone["late_tick_fraction"] if alone else None,
        "headless_control_loop_fps": alone["control_loop_fps"] if alone else None,
        "headless_rss_mb": alone["rss_mb"] if alone else None,
        "display_steps_down": steps,
        "gc_longest_ms": round(gc_longest_ms, 2),
        "listed_takes": listed_takes,
        "seconds": round(elapsed, 1),
        "takes_queued": queued,
        "takes_saved": saved,
        "platform": app.platformName(),
    }


def list_saved_takes(queue: SaveQueue, count: int, cameras: int) -> None:
    """The records of `count` saved takes, listed in the session's (empty) save queue as a day's would be."""
    from station.saving.queue import JobState, SaveJob

    assert not queue.jobs
    t = time.monotonic() - 60  # each saved in 3 s, a minute ago
    for i in range(count):
        queue.jobs.append(SaveJob(-1 - i, Path("/nonexistent"), "pick up the cube", 300, cameras,
                                  state=JobState.DONE, episode=i, submitted_at=t, started_at=t,
                                  prepared_at=t + 2, finished_at=t + 3))
        queue.job_added.emit(i)


if __name__ == "__main__":
    import json
    import sys

    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(measure_gui(secs, Path(tmp)), indent=1))

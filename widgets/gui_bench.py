"""How the window keeps up while recording: display fps and the longest GUI-thread stall.

`measure_gui(seconds, root)` opens the real window on the demo set-up (two 640x480 test-pattern cameras,
simulated arms), records back-to-back takes so saves run during the measurement, and measures:
- display_fps: new camera frames drawn per second, averaged over the cameras;
- max_stall_ms / p99_stall_ms: gaps between the ticks of a 5 ms QTimer beyond its 5 ms period, i.e. how long
  the event loop was kept from answering (input, repaints) at worst and at the 99th percentile.
Called by `station bench --gui`; runs offscreen when there is no display.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

PROBE_MS = 5


def measure_gui(seconds: float, root: Path, vcodec: str = "libsvtav1", episode_time_s: float = 3.0,
                warmup_s: float = 1.5) -> dict:
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("QT_QPA_PLATFORM")):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtCore import QEventLoop, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from station.config import CameraSource, SessionConfig
    from station.saving.queue import JobStatus
    from station.session.state import Event
    from widgets.app import apply_style, build_window

    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    apply_style(app)
    root = Path(root)
    config = SessionConfig(
        root=root / "gui-bench-dataset", repo_id="local/gui_bench", episodes=1000,
        episode_time_s=episode_time_s, reset_time_s=0.0, fps=30, vcodec=vcodec, demo=True,
        cameras=[CameraSource("front", "testsrc", 640, 480), CameraSource("wrist", "testsrc", 640, 480)],
    )
    settings = QSettings(str(root / "gui-bench-settings.ini"), QSettings.Format.IniFormat)
    window, controller = build_window(config, settings)
    window.resize(1500, 950)
    window.show()
    controller.start()
    if controller.session is None:
        controller.quit_anyway()
        raise RuntimeError("the bench session could not start: " + "; ".join(window.messages.texts()))
    controller.fire(Event.RECORD)

    gaps: list[float] = []
    measuring = False
    last: list[float] = []  # the previous probe time, while measuring

    def probe() -> None:
        now = time.perf_counter()
        if measuring:
            if last:
                gaps.append((now - last[0]) * 1000)
            last[:] = [now]

    timer = QTimer()
    timer.setInterval(PROBE_MS)
    timer.timeout.connect(probe)
    timer.start()
    wait = QEventLoop()
    QTimer.singleShot(int(warmup_s * 1000), wait.quit)
    wait.exec()
    drawn0 = [v.frames_drawn for v in window.cameras.views]
    measuring = True
    t0 = time.perf_counter()
    QTimer.singleShot(int(seconds * 1000), wait.quit)
    wait.exec()
    elapsed = time.perf_counter() - t0
    measuring = False
    timer.stop()
    drawn = [v.frames_drawn - d for v, d in zip(window.cameras.views, drawn0, strict=True)]
    session = controller.session
    assert session is not None
    saved = sum(1 for j in session.queue.jobs if j.status is JobStatus.DONE)
    queued = len(session.queue.jobs)
    loop_fps = session.recorder.loop.achieved_fps
    controller.quit_anyway()
    controller.shutdown()
    stalls = np.maximum(np.asarray(gaps or [0.0]) - PROBE_MS, 0.0)
    return {
        "display_fps": round(float(np.mean(drawn)) / elapsed, 1) if drawn else 0.0,
        "max_stall_ms": round(float(stalls.max()), 1),
        "p99_stall_ms": round(float(np.percentile(stalls, 99)), 1),
        "seconds": round(elapsed, 1),
        "cameras": len(drawn),
        "takes_queued": queued,
        "takes_saved": saved,
        "control_loop_fps": round(loop_fps, 1),
        "platform": app.platformName(),
    }


if __name__ == "__main__":
    import json
    import sys

    secs = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(measure_gui(secs, Path(tmp)), indent=1))

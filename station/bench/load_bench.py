"""A recording load measured headless: back-to-back takes with saving, the control loop's late ticks, peak memory.

`station bench --gui` runs this in a child process before opening the window, so that the window's late ticks
are compared with the same load headless on the same machine in the same run, and each process's peak
memory is its own. Also runnable alone:
    python -m station.bench.load_bench --cameras 3 --size 1280x720 --seconds 15 --vcodec libsvtav1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from station.bench.session_bench import peak_rss_mb, reset_peak_rss, wait_until_ready
from station.config import CameraSource, SessionConfig

CAMERA_NAMES = ("front", "wrist", "side", "top")


def bench_config(root: Path, cameras: int, size: tuple[int, int], vcodec: str, episode_s: float = 3.0,
                 fps: int = 30, source: str = "testsrc") -> SessionConfig:
    """The demo set-up (simulated arms, test-pattern cameras, or every camera playing the video file `source`)
    recording many short takes back to back."""
    w, h = size
    return SessionConfig(
        root=root, repo_id="local/load_bench", episodes=10_000, episode_time_s=episode_s, reset_time_s=0.0,
        fps=fps, vcodec=vcodec, demo=True,
        cameras=tuple(CameraSource(name, source, w, h) for name in CAMERA_NAMES[:cameras]),
    )


def measure_headless(root: Path, cameras: int, size: tuple[int, int], vcodec: str, seconds: float,
                     warmup_s: float = 1.5) -> dict:
    """Record for `warmup_s + seconds` and report the control loop over the last `seconds`."""
    from PySide6.QtCore import QCoreApplication, QEventLoop, QTimer

    from station.session.builder import start_session
    from station.session.collector import GuiThreadCollector
    from station.session.running import running_session
    from station.session.state import Event

    app = QCoreApplication.instance() or QCoreApplication(sys.argv[:1])
    assert app is not None
    reset_peak_rss()
    session = start_session(bench_config(root, cameras, size, vcodec))
    collector = GuiThreadCollector()
    with running_session(gui=False, collector=collector):  # as `station record --headless` runs
        try:
            session.recorder.start()
            wait_until_ready(session.recorder)
            session.recorder.fire(Event.RECORD)
            wait = QEventLoop()
            QTimer.singleShot(int(warmup_s * 1000), wait.quit)
            wait.exec()
            loop = session.recorder.loop
            ticks0, late0, t0 = loop.ticks, loop.late_ticks, time.monotonic()
            QTimer.singleShot(int(seconds * 1000), wait.quit)
            wait.exec()
            ticks, late, elapsed = loop.ticks - ticks0, loop.late_ticks - late0, time.monotonic() - t0
            rss = peak_rss_mb()
            gc_longest_ms = max(collector.longest_ms)  # while measuring (the last one, after closing, is not)
        finally:
            session.close(wait_ms=0)
    return {
        "late_tick_fraction": round(late / max(1, ticks), 5),
        "control_loop_fps": round(ticks / max(elapsed, 1e-9), 1),
        "rss_mb": round(rss, 1),
        "gc_longest_ms": round(gc_longest_ms, 2),
    }


def measure_headless_in_child(cameras: int, size: tuple[int, int], vcodec: str, seconds: float,
                              timeout_s: float = 240) -> dict:
    """measure_headless in a fresh Python process (its own GIL, its own memory)."""
    w, h = size
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run(
        [sys.executable, "-m", "station.bench.load_bench", "--cameras", str(cameras), "--size", f"{w}x{h}",
         "--vcodec", vcodec, "--seconds", str(seconds)],
        capture_output=True, text=True, env=env, timeout=timeout_s, check=False,
    )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"the headless run failed: {tail}")
    result: dict = json.loads(lines[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m station.bench.load_bench")
    p.add_argument("--cameras", type=int, default=2)
    p.add_argument("--size", default="640x480")
    p.add_argument("--vcodec", default="libsvtav1")
    p.add_argument("--seconds", type=float, default=15.0)
    args = p.parse_args(argv)
    from station.priority import tune_process

    tune_process()  # as `station` does
    w, h = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="station-load-bench-", ignore_cleanup_errors=True) as tmp:
        result = measure_headless(Path(tmp) / "ds", args.cameras, (w, h), args.vcodec, args.seconds)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The controller's ~30 Hz pull of live data (frames, joints, countdown) and its slower refreshes.

Rates, the queue summary and the status bar refresh every half second, disk space every two seconds. The
words come from widgets.presenters; this object only gathers the facts and hands them to the views.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer

from station.saving.queue import JobStatus
from widgets.messages import Level
from widgets.presenters import QueueFacts, SessionFacts, no_session_view, queue_summary, session_view

if TYPE_CHECKING:
    from widgets.controller import Controller

FRAME_INTERVAL_MS = 33
SLOW_EVERY = 15  # frames between refreshes of rates, summary and status (0.5 s)
DISK_EVERY = 60  # frames between disk-space checks (2 s)
LOW_DISK_BYTES = 5e9


class LiveRefresh(QObject):
    def __init__(self, controller: Controller) -> None:
        super().__init__(controller)
        self.c = controller
        self.window = controller.window
        self._frame = 0
        self._low_disk_warned = False
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_INTERVAL_MS)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self.frame)

    def refresh(self) -> None:
        self.session_bar()
        self.slow()
        self.disk()

    def frame(self) -> None:
        self._frame += 1
        session, devices = self.c.session, self.c.devices
        if devices is not None:
            for view, cam in zip(self.window.cameras.views, devices.cameras, strict=False):
                view.show_frame(cam.latest(), cam.stalled)
        if session is not None:
            t, action, state = session.recorder.loop.history.snapshot()
            self.window.joints.show_history(t, action, state)
            self.session_bar()
        if self._frame % SLOW_EVERY == 0:
            self.slow()
        if self._frame % DISK_EVERY == 1:
            self.disk()

    def session_bar(self) -> None:
        bar = self.window.session_bar
        s = self.c.session
        if s is None:
            bar.show_session(no_session_view(str(self.c.config.root)))
            return
        r = s.recorder
        m = r.machine
        bar.show_session(session_view(SessionFacts(
            dataset=s.config.repo_id, phase=r.phase, episode=r.episode, kept=m.kept, planned=m.episodes,
            duration_s=r.phase_duration_s(), remaining_s=r.phase_remaining_s(), countdown_held=r.countdown_held,
            held=m.held, cut=m.cut, warmup=m.warmup,
        )))

    def slow(self) -> None:
        w = self.window
        devices = self.c.devices
        if devices is not None:
            for view, cam in zip(w.cameras.views, devices.cameras, strict=False):
                view.show_rates(cam.capture_fps)
        s = self.c.session
        if s is not None:
            loop = s.recorder.loop
            failure = s.recorder.device_failure
            w.status.show_loop(loop.achieved_fps, loop.fps, loop.running)
            if loop.error is not None or (failure is not None and "arm" in failure):
                w.status.show_arms(f"error: {failure or loop.error}", ok=False)
            elif devices is not None:
                w.status.show_arms("simulated (demo)" if devices.simulated else "connected", ok=True)
            w.queue_model.tick()
        else:
            w.status.show_loop(0.0, self.c.config.fps, False)
            w.status.show_arms("connected" if devices is not None else "not connected", ok=devices is not None)
        self.summary()
        self.c.quitting.show_progress()

    def summary(self) -> None:
        s = self.c.session
        panel = self.window.queue_panel
        if s is None:
            panel.show_summary("No dataset open.", None)
            return
        q, cfg = s.queue, s.config
        cams = max(1, len(s.writer.spec.cameras))
        duty = cfg.episode_time_s / (cfg.episode_time_s + cfg.reset_time_s)
        text, keeping_up = queue_summary(QueueFacts(
            pending=q.pending_count, backlog=q.backlog, failed=q.failed_count,
            done=sum(1 for j in q.jobs if j.status is JobStatus.DONE),
            drain_s=q.drain_estimate_s() if q.backlog else None, encoder_lag_s=q.encoder_lag_s(cfg.fps),
            encode_fps=q.encode_fps, need_fps=cfg.fps * cams * duty,
        ))
        panel.show_summary(text, keeping_up)

    def disk(self) -> None:
        root = self.c.config.root
        where = root if root.exists() else next((p for p in root.parents if p.exists()), Path("/"))
        try:
            free = float(shutil.disk_usage(where).free)
        except OSError:
            self.window.status.show_disk(None, str(root))
            return
        self.window.status.show_disk(free, str(where))
        if free < LOW_DISK_BYTES and not self._low_disk_warned:
            self._low_disk_warned = True
            self.c.say(f"The disk holding {where} is nearly full ({free / 1e9:.1f} GB free): free some space "
                       "before the next take, or saves will fail.", Level.WARNING)

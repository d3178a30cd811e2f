"""The controller's ~30 Hz pull of live data (frames, joints, countdown) and its slower refreshes.

Rates, the queue summary and the status bar refresh every half second, disk space every two seconds. The
words come from widgets.presenters; this object only gathers the facts and hands them to the views.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer

from station.dataset.fsutil import size_in_words
from station.hardware.interfaces import what_to_check
from station.saving.queue import JobStatus
from station.session.state import Phase
from station.thresholds import LOW_DISK_BYTES
from widgets.banners import DISK, Facts, ended_topics
from widgets.display_rate import DisplayRate
from widgets.messages import Level
from widgets.presenters import SessionFacts, no_session_view, session_view
from widgets.save_queue_presenter import SummaryView, Tone, queue_facts, summary_view

if TYPE_CHECKING:
    from station.session.devices import Devices
    from widgets.controller import Controller

FRAME_INTERVAL_MS = 33
SLOW_EVERY = 15  # frames between refreshes of rates, summary and status (0.5 s)
DISK_EVERY = 60  # frames between disk-space checks (2 s)


class LiveRefresh(QObject):
    def __init__(self, controller: Controller) -> None:
        super().__init__(controller)
        self.c = controller
        self.window = controller.window
        self._frame = 0
        self._low_disk_warned = False
        self._disk_low = False
        self._room_for_a_take = True
        self.display_rate = DisplayRate(FRAME_INTERVAL_MS / 1000)
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
        # the display gives way (plots first, then cameras) when the control loop runs late: never the loop
        due = self.display_rate.due(time.monotonic(), session.recorder.loop.late_ticks if session else 0)
        if devices is not None and due.cameras:
            for view, cam in zip(self.window.cameras.views, devices.cameras, strict=False):
                view.show_frame(cam.latest(), cam.stalled, what_to_check([cam]))
        if session is not None:
            loop = session.recorder.loop
            if due.plots:
                t, action, state = loop.history.snapshot()
                self.window.joints.show_history(t, action, state)
            self.window.joints.set_no_data(  # a device failed: the lines would stand still as if live
                "" if loop.error is None else "the arms are no longer read: see the message above")
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
            held_for_replay=self.c.replay_open(),
            held=m.held, cut=m.cut, warmup=m.warmup, typing_task=bar.task_edit.hasFocus(),
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
                w.status.show_arms(arms_words(devices), ok=True)
            w.queue_model.tick()
        else:
            w.status.show_loop(0.0, self.c.config.fps, False)
            w.status.show_arms(arms_words(devices), ok=devices is not None)
        self.summary()
        self.clear_ended_banners()
        self.c.quitting.show_progress()

    def clear_ended_banners(self) -> None:
        """Banners whose condition has ended go away (the arm is back, the camera sends frames again, …)."""
        s, devices = self.c.session, self.c.devices
        cameras = devices.cameras if devices is not None else []
        loop = s.recorder.loop if s is not None else None
        facts = Facts(
            arms_ok=loop is not None and loop.running and loop.error is None,
            stalled_cameras=frozenset(c.name for c in cameras if c.stalled),
            cameras=frozenset(c.name for c in cameras),
            disk_low=self._disk_low,
            room_for_a_take=self._room_for_a_take,
            failed_saves=frozenset(j.id for j in s.queue.jobs if j.status is JobStatus.FAILED) if s else frozenset(),
            recording=s is not None and s.recorder.phase is Phase.RECORDING and loop is not None
            and loop.take is not None and loop.take.rows > 0,
        )
        messages = self.window.messages
        for topic in ended_topics(messages.topics(), facts):
            messages.clear(topic)

    def summary(self) -> None:
        s = self.c.session
        panel = self.window.queue_panel
        if s is None:
            panel.show_summary(SummaryView("No dataset open", Tone.QUIET))
            return
        cfg = s.config
        facts = queue_facts(s.queue, len(s.writer.spec.cameras), cfg.episode_time_s, cfg.reset_time_s)
        panel.show_summary(summary_view(facts))

    def disk(self) -> None:
        root = self.c.config.root
        where = root if root.exists() else next((p for p in root.parents if p.exists()), Path("/"))
        try:
            free = float(shutil.disk_usage(where).free)
        except OSError:
            self.window.status.show_disk(None, str(root))
            return
        self.window.status.show_disk(free, str(where))
        self._disk_low = free < LOW_DISK_BYTES
        s = self.c.session
        self._room_for_a_take = s is None or free >= s.recorder.space_needed_for_a_take()
        if self._disk_low and not self._low_disk_warned:
            self._low_disk_warned = True
            self.c.say(f"The disk holding {where} is nearly full ({size_in_words(free)} free): free some space "
                       "before the next take, or saves will fail.", Level.WARNING, topic=DISK)
        elif not self._disk_low:
            self._low_disk_warned = False


def arms_words(devices: Devices | None) -> str:
    """The status bar's word for the arms, with a session or without."""
    if devices is None:
        return "not connected"
    return "simulated (demo)" if devices.simulated else "connected"

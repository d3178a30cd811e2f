"""The one place that wires the views to the session: keys and buttons to the Recorder, the queue to its panel.

Views emit intent; this object turns intent into session events and pulls live data on one ~30 Hz timer
(frames, joints, countdown). Slower facts (rates, queue summary, disk space) refresh every half second.
Nothing slow runs here: the control loop, spool writers and saves all live on their own threads.
"""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QDialog, QMessageBox

from station.config import SessionConfig
from station.errors import CalibrationNeeded, DatasetExistsError, StationError
from station.preflight import Fit
from station.saving.queue import JobStatus, SaveJob, SaveQueue
from station.saving.recovery import held_partial_takes
from station.session.builder import Session, open_session
from station.session.devices import Devices, open_devices
from station.session.recorder import FinishedTake
from station.session.state import Event, Phase, Step
from station.thresholds import LOW_DISK_BYTES
from widgets import dataset_actions, device_actions
from widgets.about import about_html
from widgets.banners import DATASET, DEVICES, DISK, SAVE, Facts, ended_topics, recovery_words, window_words
from widgets.device_choices import device_advice
from widgets.display_rate import DisplayRate
from widgets.keymap import keys_help_html
from widgets.main_window import MainWindow
from widgets.messages import Level
from widgets.pack_action import pack_open_dataset
from widgets.preflight_banner import Preflight
from widgets.push_action import push_open_dataset
from widgets.quit_dialog import QuitDialog
from widgets.review_actions import Review, wire_review_keys
from widgets.save_queue_presenter import SummaryView, Tone, queue_facts, summary_view
from widgets.session_bar import SessionView

log = logging.getLogger(__name__)
FRAME_INTERVAL_MS = 33
SLOW_EVERY = 15  # frames between refreshes of rates, summary and status (0.5 s)
DISK_EVERY = 60  # frames between disk-space checks (2 s)

HINTS = {
    Phase.IDLE: "Space: record",
    Phase.RECORDING: "→ or N: keep the take   ← or R: record it again   Esc or Q: stop",
    Phase.RESETTING: "Space or →: next take now   ← or R: throw the last take away and redo it   Esc: stop",
    Phase.STOPPED: "Session over: saves finish in the background. Ctrl+Q quits (it waits for them).",
}


class Controller(QObject):
    closing = Signal()  # the window is about to close for good

    def __init__(
        self,
        window: MainWindow,
        config: SessionConfig,
        settings: QSettings,
        devices: Devices | None = None,
        queue_factory=SaveQueue,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.config = config
        self.settings = settings
        self.devices = devices
        self.queue_factory = queue_factory
        self.session: Session | None = None
        self.quit_dialog: QuitDialog | None = None
        self._quit_anyway = False
        self._closed = False
        self._frame = 0
        self._low_disk_warned = False
        self._disk_low = False
        self._cal_dialog: QDialog | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_INTERVAL_MS)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._on_frame)
        self.display_rate = DisplayRate(FRAME_INTERVAL_MS / 1000)
        self.preflight = Preflight(self)  # does the camera set fit real time? said before the first take
        self.preflight.verdict.connect(self._on_preflight)
        self._wire_views()
        window.close_guard = self._may_close

    # -- set-up --
    def _wire_views(self) -> None:
        w = self.window
        self.review = Review(self)
        wire_review_keys(self)
        for name, action in w.keys.items():
            if name == "quit":
                action.triggered.connect(w.close)
            elif action.data() is not None:
                event = action.data()
                action.triggered.connect(lambda _checked=False, e=event: self.fire(e))
        w.session_bar.task_edited.connect(self._on_task_edited)
        w.queue_panel.retry_requested.connect(self.retry)
        w.queue_panel.discard_requested.connect(self.discard)
        w.new_dataset_action.triggered.connect(self._new_dataset)
        w.open_dataset_action.triggered.connect(self._open_dataset)
        w.pack_action.triggered.connect(lambda _checked=False: pack_open_dataset(self))
        w.push_action.triggered.connect(lambda _checked=False: push_open_dataset(self))
        w.connect_arms_action.triggered.connect(self._connect_arms)
        w.calibrate_action.triggered.connect(self._calibrate)
        w.disconnect_arms_action.triggered.connect(lambda: device_actions.disconnect_arms(self))
        w.cameras_action.triggered.connect(lambda: device_actions.choose_cameras(self))
        w.reset_layout_action.triggered.connect(w.reset_layout)
        w.keys_help_action.triggered.connect(self._show_keys)
        w.about_action.triggered.connect(self._show_about)

    def restore_settings(self) -> None:
        w = self.window
        w.place(self.settings.value("window/geometry"))
        w.restore_layout(self.settings.value("window/state"), self.settings.value("window/splitter"))

    def save_settings(self) -> None:
        for key, value in zip(("window/geometry", "window/state", "window/splitter"),
                              self.window.layout_to_remember(), strict=True):
            if value is None:
                self.settings.remove(key)  # what does not fit the screen, or squashes the live view, is forgotten
            else:
                self.settings.setValue(key, value)
        self.settings.setValue("session/task", self.config.task)
        self.settings.setValue("session/root", str(self.config.root))
        self.settings.sync()

    def start(self) -> None:
        """Open devices (if not given) and the session; say what went wrong in the window if they cannot."""
        if self.config.demo:
            self.say(
                "Demo set-up: simulated arms and test-pattern cameras, since no arms were given. "
                "To record with real arms, connect them with Devices > Connect arms…",
                Level.INFO,
            )
        self.window.session_bar.show_task(self.config.task)
        self.window.home_focus.setFocus(Qt.FocusReason.OtherFocusReason)
        if self.devices is None and not self._open_devices():
            self._refresh_all()
            self.timer.start()
            return
        self._open_session(self.config)
        self.timer.start()

    def _open_devices(self) -> bool:
        try:
            self.devices = open_devices(self.config)
        except CalibrationNeeded as e:
            self.say(f"{e} — calibrate it with Devices > Calibrate an arm…, then connect with Devices > Connect arms…",
                     topic=DEVICES)
            return False
        except StationError as e:
            self.say(device_advice(str(e)), topic=DEVICES)
            return False
        except Exception as e:
            log.exception("opening devices failed")
            self.say(f"The arms or cameras could not be opened ({type(e).__name__}: {e}). "
                     "Check the cables, then use Devices > Connect arms… or Devices > Cameras….", topic=DEVICES)
            return False
        self.window.messages.clear(DEVICES)
        return True

    def _open_session(self, config: SessionConfig) -> bool:
        assert self.devices is not None
        try:
            session = open_session(config, self.devices, self.queue_factory)
        except DatasetExistsError as e:
            actions = [("Choose another folder…", self._new_dataset)]
            if not config.resume:
                actions.insert(0, ("Append to it", lambda: self._switch(replace(config, resume=True))))
            self.say(f"{e.root} already holds a dataset: append to it, or choose another folder.", actions=actions,
                     topic=DATASET + "open")
            self._refresh_all()
            return False
        except StationError as e:
            self.say(str(e), actions=[("Choose another folder…", self._new_dataset)], topic=DATASET + "open")
            self._refresh_all()
            return False
        for topic in self.window.messages.topics():  # what was said about the dataset open before has ended
            if topic.startswith(DATASET):
                self.window.messages.clear(topic)
        self.config = config
        self.session = session
        self.review.attach(session)
        dataset_actions.remember_repo_id(self.settings, config.root, config.repo_id)
        self.window.cameras.set_cameras([(c.name, c.width, c.height) for c in self.devices.cameras])
        self.window.queue_model.set_queue(session.queue)
        self.window.session_bar.show_task(session.recorder.task)
        self.window.setWindowTitle(f"Station — {config.repo_id} ({config.root})")
        self.preflight.start(self.devices.camera_specs, config.fps, config.vcodec)
        r, q = session.recorder, session.queue
        r.state_changed.connect(self._on_state_changed)
        r.take_recorded.connect(self._on_take_recorded)
        r.problem.connect(self.say)
        r.finished.connect(self._on_finished)
        q.job_failed.connect(self._on_job_failed)
        q.job_added.connect(lambda _row: self._refresh_summary())
        q.job_changed.connect(lambda _row: self._refresh_summary())
        if session.recovered_takes:
            log.info("recovery: %s", "; ".join(session.recovered))
            episodes = [e for e in (q.expected_episode(j) for j in q.jobs if not j.held) if e is not None]
            if episodes:
                self.say(recovery_words(episodes), Level.WARNING, topic=DATASET + "recovered")
        for job in held_partial_takes(q):
            seconds = job.frames / max(1, config.fps)
            self.say(
                f"A take was cut short by a crash ({job.frames} frames, {seconds:.1f} s). Keep it in the dataset, "
                "or drop it? Takes recorded meanwhile are saved once you decide.",
                Level.WARNING,
                [("Keep it", lambda *_, job=job: q.confirm(job)), ("Drop it", lambda *_, job=job: q.cancel(job))],
                topic=f"{DATASET}partial{job.id}",
            )
        r.start()
        self._refresh_all()
        return True

    def _close_session(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        self.window.queue_model.set_queue(None)
        session.close()

    def _switch(self, config: SessionConfig) -> None:
        """Close the current session (if it may close) and open another on the same devices."""
        if self.session is not None and not self._can_switch():
            self.say("Stop the session and let its saves finish before opening another dataset.", Level.WARNING)
            return
        self._close_session()
        if self.devices is None and not self._open_devices():
            return
        self._open_session(config)

    def _can_switch(self) -> bool:
        s = self.session
        return s is None or (s.recorder.phase in (Phase.IDLE, Phase.STOPPED) and s.queue.is_idle
                             and not s.recorder.finished_takes)

    # -- intent from the views --
    def fire(self, event: Event) -> bool:
        if self.session is None:
            return False
        return self.session.recorder.try_fire(event)

    def _on_task_edited(self, text: str) -> None:
        self.config = replace(self.config, task=text)
        if self.session is not None:
            self.session.recorder.task = text  # the next take records it
        self.settings.setValue("session/task", text)

    def retry(self, row: int) -> None:
        job = self.window.queue_model.job_at(row)
        if job is not None and self.session is not None:
            self.session.queue.retry(job)

    def discard(self, row: int) -> None:
        job = self.window.queue_model.job_at(row)
        if job is None or self.session is None:
            return
        answer = QMessageBox.question(
            self.window, "Discard this take?",
            f"The recording of episode {self.window.queue_model.expected_episode(job)} ({job.frames} frames) "
            "will be deleted and the takes behind it move up. This cannot be undone.",
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.session.queue.discard(job)

    def _on_preflight(self, fit: Fit) -> None:
        self.preflight.last = fit
        if not fit.fits:
            self.say(fit.text.removeprefix("preflight: "), Level.WARNING, topic=DATASET + "preflight")

    def say(self, text: str, level: Level = Level.ERROR, actions=None, topic: str | None = None) -> None:
        log.log(logging.ERROR if level is Level.ERROR else logging.INFO, "%s", text)
        self.window.messages.show_message(window_words(text), level, actions, topic)

    # -- from the session --
    def _on_state_changed(self, _step: Step) -> None:
        if self.session is not None:
            self.window.session_bar.show_task(self.session.recorder.task)
        self._refresh_actions()
        self._refresh_session_bar()

    def _on_take_recorded(self, ft: FinishedTake) -> None:
        self.window.session_bar.show_cadence(ft.take.cadence)

    def _on_job_failed(self, job: SaveJob) -> None:
        assert self.session is not None
        queue = self.session.queue
        row = queue.row_of(job)
        self.window.queue_panel.select_row(row)
        self.say(
            f"Episode {self.window.queue_model.expected_episode(job)} could not be saved: {job.error}. "
            "Its recording is kept; the takes behind it wait. Fix the cause, then press Retry.",
            actions=[("Retry", lambda: self.retry(queue.row_of(job)) if job in queue.jobs else None)],
            topic=f"{SAVE}{job.id}",
        )

    def _on_finished(self) -> None:
        if self.quit_dialog is not None:
            self.window.close()

    # -- the ~30 Hz pull --
    def _on_frame(self) -> None:
        self._frame += 1
        session, devices = self.session, self.devices
        # the display gives way (plots first, then cameras) when the control loop runs late: never the loop
        due = self.display_rate.due(time.monotonic(), session.recorder.loop.late_ticks if session else 0)
        if devices is not None and due.cameras:
            for view, cam in zip(self.window.cameras.views, devices.cameras, strict=False):
                view.show_frame(cam.latest(), cam.stalled)
        if session is not None:
            if due.plots:
                t, action, state = session.recorder.loop.history.snapshot()
                self.window.joints.show_history(t, action, state)
            self._refresh_session_bar()
        if self._frame % SLOW_EVERY == 0:
            self._refresh_slow()
        if self._frame % DISK_EVERY == 1:
            self._refresh_disk()

    def _refresh_all(self) -> None:
        self._refresh_actions()
        self._refresh_session_bar()
        self._refresh_slow()
        self._refresh_disk()

    def _refresh_actions(self) -> None:
        recorder = self.session.recorder if self.session is not None else None
        for action in self.window.keys.values():
            event = action.data()
            if isinstance(event, Event):
                action.setEnabled(recorder is not None and recorder.allowed(event) and not self._closing())

    def _closing(self) -> bool:
        return self.quit_dialog is not None

    def _refresh_session_bar(self) -> None:
        bar = self.window.session_bar
        s = self.session
        if s is None:
            hint = "No session: see the message above."
            bar.show_session(SessionView(str(self.config.root), None, "", None, 0.0, hint))
            return
        r = s.recorder
        phase = r.phase
        kept = r.machine.kept
        total = r.machine.episodes
        if phase is Phase.RECORDING:
            episode = f"Episode {r.episode}  ·  take {kept + 1} of {total}"
        elif phase is Phase.STOPPED:
            episode = f"Session over: {kept} of {total} takes kept"
        else:
            episode = f"Next: episode {r.episode}  ·  take {kept + 1} of {total}"
        duration = r.phase_duration_s()
        remaining, fraction = None, 0.0
        if duration:
            elapsed = r.phase_elapsed_s()
            remaining, fraction = duration - elapsed, elapsed / duration
        name = s.config.repo_id
        bar.show_session(SessionView(name, phase, episode, remaining, fraction, HINTS[phase]))

    def _refresh_slow(self) -> None:
        w = self.window
        devices = self.devices
        if devices is not None:
            for view, cam in zip(w.cameras.views, devices.cameras, strict=False):
                view.show_rates(cam.capture_fps)
        s = self.session
        if s is not None:
            loop = s.recorder.loop
            w.status.show_loop(loop.achieved_fps, loop.fps, loop.running)
            if loop.error is not None:
                w.status.show_arms(f"error, follower torque off ({loop.error})", ok=False)
            elif devices is not None:
                w.status.show_arms("simulated (demo)" if devices.simulated else "connected", ok=True)
            w.queue_model.tick()
        else:
            w.status.show_loop(0.0, self.config.fps, False)
            w.status.show_arms("connected" if devices is not None else "not connected", ok=devices is not None)
        self._refresh_summary()
        self._clear_ended_banners()
        if self.quit_dialog is not None and s is not None:
            self.quit_dialog.show_progress(s.queue, s.recorder.finished_takes)

    def _clear_ended_banners(self) -> None:
        """Banners whose condition has ended go away (the arm is back, the camera sends frames again, …)."""
        s, devices = self.session, self.devices
        cameras = devices.cameras if devices is not None else []
        loop = s.recorder.loop if s is not None else None
        facts = Facts(
            arms_ok=loop is not None and loop.running and loop.error is None,
            stalled_cameras=frozenset(c.name for c in cameras if c.stalled),
            cameras=frozenset(c.name for c in cameras),
            disk_low=self._disk_low,
            failed_saves=frozenset(j.id for j in s.queue.jobs if j.status is JobStatus.FAILED) if s else frozenset(),
        )
        messages = self.window.messages
        for topic in ended_topics(messages.topics(), facts):
            messages.clear(topic)

    def _refresh_summary(self) -> None:
        s = self.session
        panel = self.window.queue_panel
        if s is None:
            panel.show_summary(SummaryView("No dataset open", Tone.QUIET))
            return
        cfg = s.config
        facts = queue_facts(s.queue, len(s.writer.spec.cameras), cfg.episode_time_s, cfg.reset_time_s)
        panel.show_summary(summary_view(facts))

    def _refresh_disk(self) -> None:
        root = self.config.root
        where = root if root.exists() else next((p for p in root.parents if p.exists()), Path("/"))
        try:
            free = float(shutil.disk_usage(where).free)
        except OSError:
            self.window.status.show_disk(None, str(root))
            return
        self.window.status.show_disk(free, str(where))
        self._disk_low = free < LOW_DISK_BYTES
        if self._disk_low and not self._low_disk_warned:
            self._low_disk_warned = True
            self.say(f"The disk holding {where} is nearly full ({free / 1e9:.1f} GB free): free some space "
                     "before the next take, or saves will fail.", Level.WARNING, topic=DISK)
        elif not self._disk_low:
            self._low_disk_warned = False

    # -- quitting --
    def _may_close(self) -> bool:
        """The window's close guard: close now, or stop, show the saves' progress and close when they end."""
        if self._closed:
            return True
        s = self.session
        busy = s is not None and (
            not s.queue.is_idle or bool(s.recorder.finished_takes) or s.recorder.phase is Phase.RECORDING
        )
        if busy and not self._quit_anyway:
            assert s is not None
            if self.quit_dialog is None:
                s.recorder.try_fire(Event.STOP)  # keeps the take in progress
                self.quit_dialog = QuitDialog(self.window)
                self.quit_dialog.quit_anyway.connect(self._on_quit_anyway)
                self.quit_dialog.show_progress(s.queue, s.recorder.finished_takes)
                self.quit_dialog.open()
                self._refresh_actions()
            if s.queue.is_idle and not s.recorder.finished_takes:
                pass  # everything finished while stopping: close now
            else:
                return False
        self.shutdown()
        return True

    def _on_quit_anyway(self) -> None:
        self._quit_anyway = True
        self.window.close()

    def shutdown(self) -> None:
        """Release everything: the session (spools of unsaved takes stay for recovery), devices, timers."""
        if self._closed:
            return
        self._closed = True
        self.closing.emit()
        self.timer.stop()
        self.preflight.cancel()
        if self._cal_dialog is not None:
            self._cal_dialog.done(0)
        if self.quit_dialog is not None:
            self.quit_dialog.accept()
        self.save_settings()
        session = self.session
        if session is not None and self._quit_anyway and not session.queue.is_idle:
            left = session.queue.pending_count
            log.warning("quitting with %d take(s) unsaved: their spools stay in %s for recovery",
                        left, session.writer.root)
        try:
            self._close_session()
        finally:
            if self.devices is not None:
                self.devices.close()
                self.devices = None

    # -- menus --
    def _new_dataset(self) -> None:
        dataset_actions.new_dataset(self)

    def _open_dataset(self) -> None:
        dataset_actions.open_dataset(self)

    def _connect_arms(self) -> None:
        device_actions.choose_arms(self)

    def _calibrate(self) -> None:
        device_actions.calibrate(self)

    def _show_keys(self) -> None:
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keys", keys_help_html(), QMessageBox.StandardButton.Close,
                          self.window)
        box.open()

    def _show_about(self) -> None:
        QMessageBox.about(self.window, "About Station", about_html())

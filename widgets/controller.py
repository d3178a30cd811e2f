"""The one place that wires the views to the session: keys and buttons to the Recorder, the queue to its panel.

Views emit intent; this object turns intent into session events and pulls live data on one ~30 Hz timer
(frames, joints, countdown). Slower facts (rates, queue summary, disk space) refresh every half second.
Nothing slow runs here: the control loop, spool writers and saves all live on their own threads.
"""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox

from station.config import SessionConfig
from station.dataset.repo_id import folder_repo_id, repo_id_problem
from station.errors import CalibrationNeeded, DatasetExistsError, StationError
from station.saving.queue import SaveJob, SaveQueue
from station.saving.recovery import held_partial_takes
from station.session.devices import Devices
from station.session.recorder import FinishedTake
from station.session.state import Event, Phase, Step
from widgets.keymap import keys_help_html
from widgets.live_session import LiveSession, open_session, open_station_devices
from widgets.main_window import MainWindow
from widgets.messages import Level
from widgets.quit_dialog import QuitDialog
from widgets.save_queue_presenter import SummaryView, Tone, queue_facts, summary_view
from widgets.session_bar import SessionView

log = logging.getLogger(__name__)
FRAME_INTERVAL_MS = 33
SLOW_EVERY = 15  # frames between refreshes of rates, summary and status (0.5 s)
DISK_EVERY = 60  # frames between disk-space checks (2 s)
LOW_DISK_BYTES = 5e9

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
        self.session: LiveSession | None = None
        self.quit_dialog: QuitDialog | None = None
        self._quit_anyway = False
        self._closed = False
        self._frame = 0
        self._low_disk_warned = False
        self._cal_dialog: QDialog | None = None
        self.timer = QTimer(self)
        self.timer.setInterval(FRAME_INTERVAL_MS)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._on_frame)
        self._wire_views()
        window.close_guard = self._may_close

    # -- set-up --
    def _wire_views(self) -> None:
        w = self.window
        for name, action in w.keys.items():
            if name == "quit":
                action.triggered.connect(w.close)
            else:
                event = action.data()
                action.triggered.connect(lambda _checked=False, e=event: self.fire(e))
        w.session_bar.task_edited.connect(self._on_task_edited)
        w.queue_panel.retry_requested.connect(self.retry)
        w.queue_panel.discard_requested.connect(self.discard)
        w.new_dataset_action.triggered.connect(self._new_dataset)
        w.open_dataset_action.triggered.connect(self._open_dataset)
        w.connect_arms_action.triggered.connect(self._connect_arms)
        w.calibrate_action.triggered.connect(self._calibrate)
        w.reset_layout_action.triggered.connect(w.reset_layout)
        w.keys_help_action.triggered.connect(self._show_keys)
        w.about_action.triggered.connect(self._show_about)

    def restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.window.restoreGeometry(geometry)
        state = self.settings.value("window/state")
        if state is not None:
            self.window.restoreState(state)
        splitter = self.settings.value("window/splitter")
        if splitter is not None:
            self.window.splitter.restoreState(splitter)

    def save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.window.saveGeometry())
        self.settings.setValue("window/state", self.window.saveState())
        self.settings.setValue("window/splitter", self.window.splitter.saveState())
        self.settings.setValue("session/task", self.config.task)
        self.settings.setValue("session/root", str(self.config.root))
        self.settings.sync()

    def start(self) -> None:
        """Open devices (if not given) and the session; say what went wrong in the window if they cannot."""
        if self.config.demo:
            self.say(
                "Demo set-up: simulated arms and test-pattern cameras, since no arms were given. "
                "To record with real arms, start with --follower-port and --leader-port.",
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
            self.devices = open_station_devices(self.config)
        except CalibrationNeeded as e:
            self.say(f"{e} — or use Arms > Calibrate…, then Arms > Connect arms.")
            return False
        except StationError as e:
            self.say(f"{e} — check the cables and power, then use Arms > Connect arms.")
            return False
        except Exception as e:
            log.exception("opening devices failed")
            self.say(f"The arms or cameras could not be opened ({type(e).__name__}: {e}). "
                     "Check the cables, then use Arms > Connect arms.")
            return False
        return True

    def _open_session(self, config: SessionConfig) -> bool:
        assert self.devices is not None
        try:
            session = open_session(config, self.devices, self.queue_factory)
        except DatasetExistsError as e:
            actions = [("Choose another folder…", self._new_dataset)]
            if not config.resume:
                actions.insert(0, ("Append to it", lambda: self._switch(replace(config, resume=True))))
            self.say(f"{e.root} already holds a dataset: append to it, or choose another folder.", actions=actions)
            self._refresh_all()
            return False
        except StationError as e:
            self.say(str(e), actions=[("Choose another folder…", self._new_dataset)])
            self._refresh_all()
            return False
        self.config = config
        self.session = session
        self.window.cameras.set_cameras([(c.name, c.width, c.height) for c in self.devices.cameras])
        self.window.queue_model.set_queue(session.queue)
        self.window.session_bar.show_task(session.recorder.task)
        self.window.setWindowTitle(f"Station — {config.repo_id} ({config.root})")
        r, q = session.recorder, session.queue
        r.state_changed.connect(self._on_state_changed)
        r.take_recorded.connect(self._on_take_recorded)
        r.problem.connect(self.say)
        r.finished.connect(self._on_finished)
        q.job_failed.connect(self._on_job_failed)
        q.job_added.connect(lambda _row: self._refresh_summary())
        q.job_changed.connect(lambda _row: self._refresh_summary())
        if session.recovered_takes:
            self.say(
                f"Found {session.recovered_takes} take(s) from an earlier session that were never saved: "
                "saving them now (see the save queue). " + "; ".join(session.recovered[-3:]),
                Level.WARNING,
            )
        for job in held_partial_takes(q):
            seconds = job.frames / max(1, config.fps)
            self.say(
                f"A take was cut short by a crash ({job.frames} frames, {seconds:.1f} s). Keep it in the dataset, "
                "or drop it? Takes recorded meanwhile are saved once you decide.",
                Level.WARNING,
                [("Keep it", lambda *_, job=job: q.confirm(job)), ("Drop it", lambda *_, job=job: q.cancel(job))],
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

    def say(self, text: str, level: Level = Level.ERROR, actions=None) -> None:
        log.log(logging.ERROR if level is Level.ERROR else logging.INFO, "%s", text)
        self.window.messages.show_message(text, level, actions)

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
        )

    def _on_finished(self) -> None:
        if self.quit_dialog is not None:
            self.window.close()

    # -- the ~30 Hz pull --
    def _on_frame(self) -> None:
        self._frame += 1
        session, devices = self.session, self.devices
        if devices is not None:
            for view, cam in zip(self.window.cameras.views, devices.cameras, strict=False):
                view.show_frame(cam.latest(), cam.stalled)
        if session is not None:
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
        if self.quit_dialog is not None and s is not None:
            self.quit_dialog.show_progress(s.queue, s.recorder.finished_takes)

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
        if free < LOW_DISK_BYTES and not self._low_disk_warned:
            self._low_disk_warned = True
            self.say(f"The disk holding {where} is nearly full ({free / 1e9:.1f} GB free): free some space "
                     "before the next take, or saves will fail.", Level.WARNING)

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
        start = str(self.config.root.parent)
        path = QFileDialog.getExistingDirectory(self.window, "Choose an empty folder for the new dataset", start)
        if path:
            self._switch_to_folder(Path(path), resume=False)

    def _open_dataset(self) -> None:
        start = str(self.config.root.parent)
        path = QFileDialog.getExistingDirectory(self.window, "Open a dataset to add episodes to", start)
        if path:
            self._switch_to_folder(Path(path), resume=True)

    def _switch_to_folder(self, root: Path, resume: bool) -> None:
        """File > New/Open: the folder's name becomes the dataset's name, by the one repo-id rule."""
        repo_id = folder_repo_id(root.name)
        problem = repo_id_problem(repo_id)
        if problem:
            self.say(f"The folder's name cannot name a dataset: {problem}. Choose or rename the folder.",
                     actions=[("Choose another folder…", self._new_dataset)])
            return
        self._switch(replace(self.config, root=root, repo_id=repo_id, resume=resume))

    def _connect_arms(self) -> None:
        if self.session is not None and self.session.recorder.loop.running:
            self.say("The arms are connected.", Level.INFO)
            return
        if self.session is not None and not self._can_switch():
            self.say("Let the saves finish before reconnecting the arms.", Level.WARNING)
            return
        self._close_session()
        if self.devices is not None:
            self.devices.close()
            self.devices = None
        if self._open_devices():
            self._open_session(replace(self.config, resume=self.config.root.exists()))

    def _calibrate(self) -> None:
        from widgets.calibration_dialog import CalibrationDialog

        if self.session is not None and self.session.recorder.loop.running and not self.config.demo:
            self.say("Calibration needs the arms to itself: stop the session and quit, or disconnect first.",
                     Level.WARNING)
            return
        arms = self.config.arms
        self._cal_dialog = CalibrationDialog(self.window, arms)
        self._cal_dialog.open()

    def _show_keys(self) -> None:
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keys", keys_help_html(), QMessageBox.StandardButton.Close,
                          self.window)
        box.open()

    def _show_about(self) -> None:
        QMessageBox.about(
            self.window, "About Station",
            "<p><b>Station</b> records SO-101 teleoperation demonstrations as LeRobot v3.0 datasets.</p>"
            "<p>Takes are saved in the background; each is durable once committed, and takes left by a crash "
            "are saved on the next start.</p>",
        )

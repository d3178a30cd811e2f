"""The one place that wires the views to the session: keys and buttons to the Recorder, the queue to its panel.

Views emit intent; this object turns intent into session events. Live data (frames, joints, countdown) and
the slower facts (rates, queue summary, banners, disk space) are pulled by widgets.live_refresh; what the
session bar says is worded by widgets.presenters and the queue summary by widgets.save_queue_presenter (both
Qt-free); quitting lives in widgets.quitting, the menus' commands in widgets.menu_actions and
widgets.dataset_actions, what is remembered between runs in widgets.remembered.
Nothing slow runs here: the control loop, spool writers and saves all live on their own threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtWidgets import QDialog, QMessageBox

from station.config import SessionConfig
from station.errors import CalibrationNeeded, DatasetExistsError, DatasetMismatchError, StationError
from station.preflight import Fit
from station.saving.queue import JobStatus, SaveJob, SaveQueue
from station.saving.recovery import held_partial_takes
from station.saving.spool import find_spools
from station.session.builder import Session, open_session
from station.session.devices import Devices, open_devices
from station.session.recorder import FinishedTake
from station.session.state import Event, Phase, Step, Take
from widgets import dataset_actions
from widgets.banners import DATASET, DEVICES, SAVE, recovery_words, window_words
from widgets.device_choices import device_advice
from widgets.fault_banners import FaultBanners
from widgets.live_refresh import LiveRefresh
from widgets.main_window import MainWindow
from widgets.menu_actions import MenuActions
from widgets.messages import Actions, Level
from widgets.preflight_banner import Preflight
from widgets.presenters import thrown_away_words, waiting_takes_words
from widgets.quitting import Quitting
from widgets.remembered import Remembered
from widgets.review_actions import Review, wire_review_keys

log = logging.getLogger(__name__)


class Controller(QObject):
    closing = Signal()  # the window is about to close for good

    def __init__(
        self,
        window: MainWindow,
        config: SessionConfig,
        settings: QSettings,
        devices: Devices | None = None,
        queue_factory: Callable[..., SaveQueue] = SaveQueue,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.window = window
        self.config = config
        self.settings = settings
        self.devices = devices
        self.queue_factory = queue_factory
        self.session: Session | None = None
        self._closed = False
        self.remembered = Remembered(settings, config)
        self.quitting = Quitting(window, lambda: self.session, self.shutdown, self._refresh_actions)
        self.live = LiveRefresh(self)
        self.timer = self.live.timer
        self.display_rate = self.live.display_rate
        self._cal_dialog: QDialog | None = None  # Devices > Calibrate an arm…, while it is open
        self.preflight = Preflight(self)  # does the camera set fit real time? said before the first take
        self.preflight.verdict.connect(self._on_preflight)
        self._wire_views()
        self.menus = MenuActions(self)
        self.faults = FaultBanners(self)
        window.close_guard = self.quitting.may_close

    # -- set-up --
    def _wire_views(self) -> None:
        w = self.window
        self.review = Review(self)
        wire_review_keys(self)
        for name, action in w.keys.items():
            if name == "quit":
                action.triggered.connect(w.close)
            elif name == "task":
                action.triggered.connect(self.edit_task)
            elif action.data() is not None:
                event = action.data()
                action.triggered.connect(lambda _checked=False, e=event: self.fire(e))
        w.session_bar.task_edited.connect(self._on_task_edited)
        w.session_bar.task_focus.connect(self._on_task_focus)
        w.queue_panel.retry_requested.connect(self.retry)
        w.queue_panel.discard_requested.connect(self.discard)

    def restore_settings(self) -> None:
        self.remembered.restore(self.window)

    def save_settings(self) -> None:
        self.remembered.save(self.window, self.config)

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
        self.window.cameras.set_cameras([(c.name, c.width, c.height) for c in self.devices.cameras])  # session or not
        return True

    def _open_session(self, config: SessionConfig) -> bool:
        assert self.devices is not None
        config = self.remembered.task_for(config)
        try:
            session = open_session(config, self.devices, self.queue_factory)
        except DatasetExistsError as e:
            actions = [("Choose another folder…", self.menus.new_dataset)]
            if not config.resume:
                actions.insert(0, ("Append to it", lambda: self._switch(replace(config, resume=True))))
            try:
                waiting = waiting_takes_words(*(len(spools) for spools in find_spools(e.root)))
            except OSError:
                waiting = ""
            self.say(f"{e.root} already holds a dataset: append to it, or choose another folder.{waiting}",
                     Level.WARNING,
                     actions=actions, topic=DATASET + "open", question=True)  # a question, not an error
            self._refresh_all()
            return False
        except DatasetMismatchError as e:  # its command-line options are no advice in the window
            self.say(f"{e.difference[:1].upper()}{e.difference[1:]}: this session cannot append to it.",
                     actions=[("Choose another folder…", self.menus.new_dataset)], topic=DATASET + "open")
            self._refresh_all()
            return False
        except StationError as e:
            self.say(str(e), actions=[("Choose another folder…", self.menus.new_dataset)], topic=DATASET + "open")
            self._refresh_all()
            return False
        self.window.messages.clear_all(DATASET)  # what was said about the dataset open before has ended
        self.config = config
        self.session = session
        self.review.attach(session)
        dataset_actions.remember_repo_id(self.settings, config.root, config.repo_id)
        self.window.cameras.set_cameras([(c.name, c.width, c.height) for c in self.devices.cameras])
        self.window.queue_model.set_queue(session.queue)
        session.recorder.hold_after_stop_s = config.reset_time_s  # ← may throw the last take away meanwhile
        self.window.session_bar.show_task(session.recorder.task)
        self.window.setWindowTitle(f"Station — {config.repo_id} ({config.root})")
        self.preflight.start(self.devices.camera_specs, config.fps, config.vcodec, config.root,
                             lambda: session.queue.pending_count > 0)
        r, q = session.recorder, session.queue
        r.state_changed.connect(self._on_state_changed)
        r.changed.connect(self._refresh_session_bar)
        r.take_recorded.connect(self._on_take_recorded)
        self.faults.attach(r)
        r.finished.connect(self._on_finished)
        q.job_failed.connect(self._on_job_failed)
        q.job_added.connect(lambda _row: self._refresh_summary())
        q.job_changed.connect(lambda _row: self._refresh_summary())
        if session.recovered_takes:
            log.info("recovery: %s", "; ".join(session.recovered))
            recovering = [j for j in q.jobs if not j.held]
            episodes = [e for e in (q.expected_episode(j) for j in recovering) if e is not None]
            if episodes:
                self.say(recovery_words(episodes), Level.WARNING, topic=DATASET + "recovered")
                q.job_changed.connect(lambda _row: self._recovery_saved(q, recovering))
        for job in held_partial_takes(q):
            seconds = job.frames / max(1, config.fps)
            self.say(
                f"A take was cut short by a crash ({job.frames} frames, {seconds:.1f} s). Keep it in the dataset, "
                "or drop it? Takes recorded meanwhile are saved once you decide.",
                Level.WARNING,
                [("Keep it", lambda *_, job=job: q.confirm(job)), ("Drop it", lambda *_, job=job: q.cancel(job))],
                topic=f"{DATASET}partial{job.id}", question=True,
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
        s = self.session
        if s is not None and s.recorder.allowed(Event.KEEP) and not s.recorder.machine.cut:
            s.recorder.try_fire(Event.KEEP)  # the held last take: moving on keeps it
        if s is not None and not self._can_switch():
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
        if event in (Event.RECORD, Event.NEXT):
            self.window.session_bar.task_edit.commit_typing()  # a take may start: it records the text shown
        return self.session.recorder.try_fire(event)

    def quit_anyway(self) -> None:
        """Close the window now: a take in progress is kept in its spool; unsaved takes wait for recovery."""
        self.quitting.quit_anyway()

    def quit_keeping_the_take(self) -> None:
        """Quit like Ctrl+Q without the question: a take in progress is kept (a stop signal)."""
        self.quitting.quit_keeping_the_take()

    def edit_task(self) -> None:
        """F2: the cursor in the task field (between takes); the countdown to the next take holds meanwhile."""
        if not self.window.session_bar.edit_task():
            self.say("There is no session to give a task to: open or create a dataset first.", Level.INFO,
                     topic="task")
        elif (keeps := self._recording_task()) is not None:
            self.say(f"Typing the next take's task: this take keeps “{keeps}”. "
                     "Enter or Escape gives the keys back.", Level.INFO, topic="task")

    def _recording_task(self) -> str | None:
        """The task of the take being recorded (fixed when it started), or None between takes."""
        take = self.session.recorder.loop.take if self.session is not None else None
        if take is None or self.session is None or self.session.recorder.phase is not Phase.RECORDING:
            return None
        return take.spool.info.task

    def _on_task_edited(self, text: str) -> None:
        self.config = replace(self.config, task=text)
        if self.session is not None:
            self.session.recorder.task = text  # the next take records it
            keeps = self._recording_task()
            if keeps is not None and keeps != text:
                self.say(f"The next take records “{text}”; this one keeps “{keeps}”.", Level.INFO, topic="task")
            elif keeps is None:  # between takes: what F2 said during the take no longer holds
                self.window.messages.clear("task")
        self.remembered.remember_task(self.config.root, text)

    def _on_task_focus(self, _typing: bool) -> None:
        self.hold_countdown_while_busy()
        self._refresh_session_bar()  # its hint says how to get the keys back

    def replay_open(self) -> bool:
        return self.review.replay_dialog is not None  # set while it is open (replay_view._open)

    def hold_countdown_while_busy(self) -> None:
        """The countdown to the next take holds while the task is typed or a take is replayed: the operator is
        not at the arms. A take being recorded runs its course (F2 during a take types the next one's task),
        and its reset holds if the typing (or the replay) goes on."""
        if self.session is not None:
            recorder = self.session.recorder
            busy = self.window.session_bar.task_edit.hasFocus() or self.replay_open()
            recorder.hold_countdown(busy and recorder.phase is not Phase.RECORDING)

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

    def say(self, text: str, level: Level = Level.ERROR, actions: Actions | None = None,
            topic: str | None = None, question: bool = False) -> None:
        log.log(logging.ERROR if level is Level.ERROR else logging.INFO, "%s", text)
        self.window.messages.show_message(window_words(text), level, actions, topic, question)

    # -- from the session --
    def _on_state_changed(self, step: Step) -> None:
        if self.session is not None:
            self.window.session_bar.show_task(self.session.recorder.task)
            self.hold_countdown_while_busy()
            if Take.DISCARD_CURRENT in step.takes or Take.DISCARD_PREVIOUS in step.takes:
                self.window.session_bar.cadence_label.setText(thrown_away_words())
            if step.before is Phase.RECORDING and step.after is not Phase.RECORDING:
                self.window.messages.clear("task")  # what F2 said of "this take" is past: the field says the rest
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
            topic=f"{SAVE}{job.id}", question=True,
        )

    def _on_finished(self) -> None:
        if self.quitting.waiting:
            self.window.close()

    # -- what the views show --
    def _refresh_all(self) -> None:
        self._refresh_actions()
        self.live.refresh()

    def _recovery_saved(self, queue: SaveQueue, recovering: list[SaveJob]) -> None:
        """The recovered takes are all saved (or thrown away): the banner that said they would be goes."""
        if self.session is not None and self.session.queue is queue \
                and all(j.status in (JobStatus.DONE, JobStatus.CANCELLED) for j in recovering):
            self.window.messages.clear(DATASET + "recovered")

    def _refresh_session_bar(self) -> None:
        self.live.session_bar()

    def _refresh_summary(self) -> None:
        self.live.summary()

    def _refresh_actions(self) -> None:
        recorder = self.session.recorder if self.session is not None else None
        for action in self.window.keys.values():
            event = action.data()
            if isinstance(event, Event):
                allowed = recorder is not None and (
                    recorder.allowed(event)
                    or (event is Event.RECORD and recorder.machine.cut)  # Space then says why it waits
                )
                action.setEnabled(allowed and not self.quitting.waiting)

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
        self.quitting.finish()
        self.save_settings()
        session = self.session
        if session is not None and self.quitting.anyway and not session.queue.is_idle:
            left = session.queue.pending_count
            log.warning("quitting with %d take(s) unsaved: their spools stay in %s for recovery",
                        left, session.writer.root)
        try:
            self._close_session()
        finally:
            if self.devices is not None:
                self.devices.close()
                self.devices = None

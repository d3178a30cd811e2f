"""The recording session: carries out the state machine's steps with the control loop, spools and save queue.

Lives on the thread that owns it (the GUI thread or the headless event loop). Slow things never run there:
spools are finished (flushed, fsynced) on a short-lived thread each, saves on the save queue's pool.
(The benchmark's synchronous baseline, station/bench/synchronous.py, overrides the four hooks marked below.)
"""

from __future__ import annotations

import copy
import logging
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from station.dataset.fsutil import size_in_words
from station.dataset.spec import CameraSpec
from station.dataset.writer import DatasetWriter
from station.errors import DiskFullError, StationError
from station.hardware.interfaces import Arm, Camera, Follower, TorqueOff, what_to_check
from station.saving.queue import HELD_FOR_OPERATOR, JobStatus, SaveJob, SaveQueue
from station.saving.spool import (
    SpoolWriter,
    TakeInfo,
    describe_write_error,
    frame_stride,
    remove_spool,
    spool_pix_fmt,
)
from station.session.loop import ControlLoop, TakeRecorder
from station.session.problems import About, Problem
from station.session.state import Event, IllegalTransition, Phase, SessionMachine, Step, Take
from station.thresholds import STALL_AFTER_S

log = logging.getLogger(__name__)
SWITCHING_TORQUE_OFF = "Switching the follower's torque off…"  # said with an arm's failure, until read back
SPOOL_MARGIN = 1.5  # free space needed before a take, as a multiple of the take's spool size
CAMERA_SILENT_S = 1.0  # a camera that sends nothing for this long during a take ends the take
ARM_SILENT_S = 0.3  # a tick stuck this long in an arm's read or write: the arm is reported as not answering
WATCH_EVERY_S = 0.1  # how often the devices are watched
# A watch this late means the process itself did not run meanwhile (a loaded machine, a suspended VM, a long
# pause of the GUI thread): no device could send either, so silence is counted again from now, not blamed on them.
WATCH_LATE_S = 0.5
MIN_RESUMED_COUNTDOWN_S = 2.0  # a countdown held while the task was typed goes on with at least this much


class NotReady(StationError):
    """A take may not start: a device is not ready (About.NOT_READY), or a take cut short waits for Keep / Drop
    (About.TAKE_WAITS)."""

    def __init__(self, message: str, about: About) -> None:
        super().__init__(message)
        self.about = about



def spool_space_needed(cameras: Sequence[CameraSpec], fps: int, episode_time_s: float) -> float:
    """The free bytes a take of `episode_time_s` needs before it starts: its spool, with a margin."""
    pix_fmt = spool_pix_fmt(cameras)
    return fps * sum(frame_stride(c.width, c.height, pix_fmt) + 64 for c in cameras) * episode_time_s * SPOOL_MARGIN


def spool_space_problem(root: Path, cameras: Sequence[CameraSpec], fps: int, episode_time_s: float) -> str:
    """Why a take of `episode_time_s` may not start for lack of room for its spool at `root` (or at the folder
    that will hold it), or "" if there is room."""
    need = spool_space_needed(cameras, fps, episode_time_s)
    where = next(p for p in (root, *root.parents) if p.exists())
    free = shutil.disk_usage(where).free
    if free >= need:
        return ""
    return (
        f"not enough free disk space at {root} for a {episode_time_s:.0f} s take: "
        f"{size_in_words(free)} free, {size_in_words(need)} needed; free some space first"
    )

@dataclass
class FinishedTake:
    """A take that left the control loop: its spool is being made durable, then it is queued for saving."""

    episode: int
    take: TakeRecorder
    discarded: bool = False
    spool_dir: Path | None = None
    error: str = ""
    job: SaveJob | None = None
    finished: threading.Event = field(default_factory=threading.Event)


class Recorder(QObject):
    state_changed = Signal(object)  # Step
    changed = Signal()  # something the session shows changed without a step (countdown held, takes kept)
    take_recorded = Signal(object)  # FinishedTake, once its spool is durable on disk
    take_saved = Signal(object)  # SaveJob, once committed to the dataset
    problem = Signal(object)  # Problem: something the operator must know, in plain words
    fault = Signal(object)  # Problem: a device failed (a camera went silent, an arm stopped answering), in words
    take_cut = Signal(object)  # FinishedTake ended by a device failure, held until Event.KEEP or Event.RERECORD
    finished = Signal()  # stopped, every take handed to the queue and the queue idle
    stuck = Signal(object)  # SaveJob: stopped, every take handed to the queue, and a failed save blocks the rest
    _spool_done = Signal(object)  # FinishedTake, from a finisher thread
    _take_full = Signal(object)  # TakeRecorder, from the control loop
    _loop_failed = Signal(str)
    _torque_checked = Signal(object)  # TorqueOff: the follower's torque as read back after an arm error
    _spool_failed = Signal(object, str)  # SpoolWriter, why: from its writer thread, the moment a write fails

    def __init__(
        self,
        writer: DatasetWriter,
        queue: SaveQueue,
        leader: Arm,
        follower: Follower,
        cameras: list[Camera],
        fps: int,
        episodes: int,
        episode_time_s: float,
        reset_time_s: float,
        task: str,
        hold_after_stop_s: float = 0.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.writer = writer
        self.queue = queue
        self.leader, self.follower, self.cameras = leader, follower, cameras
        self.fps = fps
        self.episode_time_s = episode_time_s
        self.reset_time_s = reset_time_s
        self.task = task
        # after a stop (or the last planned take) the last take is held this long: ← may still throw it away
        self.hold_after_stop_s = hold_after_stop_s
        self.machine = SessionMachine(episodes, reset_time_s)
        self.device_failure: str | None = None  # one line naming the device whose failure ended a take
        self.loop = ControlLoop(leader, follower, cameras, fps, on_error=self._on_loop_error)
        self.phase_started = time.monotonic()
        self.finished_takes: list[FinishedTake] = []  # in take order, until handed to the queue
        self._closed = False
        # Why the session stopped (or could not start the next take) by itself, not because it was asked
        # to: an arm error, a disk that filled up. "" while nothing like that happened.
        self.stopped_by = ""
        self.torque_off: TorqueOff | None = None  # after an arm error: the follower's torque as read back
        self._current: TakeRecorder | None = None  # the take the loop records into
        self._ended: TakeRecorder | None = None  # the take the last step ended
        self._held: FinishedTake | None = None  # the take just finished, while its reset phase may discard it
        self._phase_timer = QTimer(self)  # the reset phase, or the hold after a stop
        self._phase_timer.setSingleShot(True)
        self._phase_timer.timeout.connect(self._phase_time_up)
        self._deadline: float | None = None  # monotonic time the phase's countdown ends
        self._held_remaining: float | None = None  # the countdown is held (the task is being typed)
        self._next_take_held = False  # a question about the take is open: a full take does not lead into the next
        self._waiting_reset = False  # ... so with no reset time it ended into a reset phase without a countdown
        self._kept_jobs: set[int] = set()  # ids of the save jobs of takes this session kept
        self._dropped_jobs: set[int] = set()  # ... of those, committed then dropped from the dataset (drop-last)
        self._spool_done.connect(self._on_spool_done)
        self._take_full.connect(self._on_take_full)
        self._loop_failed.connect(self._on_loop_failed)
        self._torque_checked.connect(self._on_torque_checked)
        self.torque_state = ""  # after an arm error: the follower's torque as read back, in words
        self._spool_failed.connect(self._on_spool_failed)
        queue.job_saved.connect(self.take_saved)
        queue.idle.connect(self._check_finished)
        queue.stuck.connect(self._check_finished)
        queue.job_changed.connect(self._on_job_changed)
        self._stalled: set[str] = set()
        self._arm_reported = False
        self._disk_slow_said = False  # once a session: every take after it meets the same disk
        self._watch = QTimer(self)
        self._watch.setInterval(round(WATCH_EVERY_S * 1000))
        self._watch.timeout.connect(self._watch_devices)
        self._watched_at = self._watching_since = time.monotonic()  # the last watch; since when it ran on time

    # -- life cycle --
    @property
    def phase(self) -> Phase:
        return self.machine.phase

    @property
    def episode(self) -> int:
        """The dataset's episode index of the take in progress, or of the next take: the queue says."""
        take = self._current
        if self.phase is Phase.RECORDING and take is not None and take.job is not None:
            expected = self.queue.expected_episode(take.job)
            if expected is not None:
                return expected
        return self.next_episode()

    def next_episode(self) -> int:
        """The index the next take gets: episodes in the dataset plus takes queued ahead (held, saving, failed)."""
        ahead = sum(1 for j in self.queue.jobs if j.status not in (JobStatus.DONE, JobStatus.CANCELLED))
        return self.queue.committed_episodes + ahead

    @property
    def held_take(self) -> FinishedTake | None:
        """The take just finished while it may still be thrown away (a reset phase, a stop, a fault)."""
        return self._held

    def start(self) -> None:
        """Start teleoperation (arms live, nothing recorded yet)."""
        self.loop.start()
        self._watched_at = self._watching_since = time.monotonic()
        self._watch.start()

    def shutdown(self) -> None:
        """Stop the loop; a take still in progress is kept (as stop would) and made durable on disk.

        Takes not yet handed to the queue stay in the spool for recovery: after shutdown nothing is queued.
        """
        if self.machine.allowed(Event.STOP):
            self.fire(Event.STOP)
        if self.machine.allowed(Event.KEEP) and not self.machine.cut:
            self.fire(Event.KEEP)
        self.loop.stop()
        self._watch.stop()
        for ft in list(self.finished_takes):
            ft.finished.wait(30)
        self._closed = True

    def allowed(self, event: Event) -> bool:
        return self.machine.allowed(event)

    def phase_duration_s(self) -> float | None:
        if self.phase is Phase.RECORDING:
            return self.episode_time_s
        if self.phase is Phase.RESETTING and self.reset_time_s > 0:
            return self.reset_time_s
        if self.phase is Phase.STOPPED and self._deadline is not None:
            return self.hold_after_stop_s
        return None

    def phase_elapsed_s(self) -> float:
        duration = self.phase_duration_s()
        if self.phase is not Phase.RECORDING and duration is not None:
            return duration - self.phase_remaining_s()
        return time.monotonic() - self.phase_started

    def phase_remaining_s(self) -> float:
        """Seconds left in the phase's countdown (0 when it has none)."""
        if self._held_remaining is not None:
            return self._held_remaining
        if self._deadline is not None:
            return max(0.0, self._deadline - time.monotonic())
        duration = self.phase_duration_s()
        return 0.0 if duration is None else max(0.0, duration - (time.monotonic() - self.phase_started))

    @property
    def countdown_held(self) -> bool:
        return self._held_remaining is not None

    def hold_countdown(self, hold: bool) -> None:
        """Hold the countdown to the next take (the operator is typing the task), or let it go on."""
        if hold and self._held_remaining is None and self._deadline is not None:
            self._held_remaining = max(0.0, self._deadline - time.monotonic())
            self._phase_timer.stop()
            self.changed.emit()
        elif not hold and self._held_remaining is not None:
            remaining, self._held_remaining = self._held_remaining, None
            self._start_countdown(max(remaining, MIN_RESUMED_COUNTDOWN_S))
            self.changed.emit()

    def hold_next_take(self, hold: bool, go_on: bool = True) -> None:
        """While a question about the take in progress is open (quitting), its end does not start the next take.

        With a reset time the countdown is held (hold_countdown); with none, a full take ends into a reset phase
        without a countdown, held, so the answer is about that take. Letting go with `go_on` starts the next take
        as the full take would have; without it (the take was kept or thrown away) the caller decides.
        """
        self._next_take_held = hold
        if hold:
            return
        waiting, self._waiting_reset = self._waiting_reset, False
        if waiting and go_on and self.phase is Phase.RESETTING and self.machine.allowed(Event.NEXT):
            self.try_fire(Event.NEXT)

    def _start_countdown(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds
        if self._held_remaining is not None:  # held while typing: the countdown starts when typing ends
            self._held_remaining = seconds
            return
        self._phase_timer.start(max(0, int(seconds * 1000)))

    def not_ready_reason(self) -> str:
        """Why a take may not start now, in the operator's words, or "" when it may."""
        if self.machine.cut:
            return "a take cut short by a failure waits: keep it or drop it first"
        if self.loop.error is not None or not self.loop.running:
            why = self.device_failure or "the arms are not running"
            return f"{why}; reconnect the arms (Devices > Connect arms…) first"
        watched = self._watched_s(time.monotonic()) > STALL_AFTER_S  # a stall of the process is not the camera's
        silent = [c for c in self.cameras if c.latest() is None or (c.stalled and watched)]
        if silent:
            names = ", ".join(c.name for c in silent)
            has = "camera {} has" if len(silent) == 1 else "cameras {} have"
            return (f"{has.format(names)} no signal: check {what_to_check(silent)}, "
                    "then use Devices > Reconnect cameras")
        return ""

    # -- events --
    def try_fire(self, event: Event) -> bool:
        """Fire an event from a key or button; an event the table does not allow now does nothing."""
        try:
            self.fire(event)
        except IllegalTransition:
            if event is Event.RECORD and self.machine.cut:
                self.problem.emit(Problem(About.TAKE_WAITS, f"No take started: {self.not_ready_reason()}."))
            return False
        except NotReady as e:
            self.problem.emit(Problem(e.about, str(e)))
            return False
        except DiskFullError as e:
            self.problem.emit(Problem(About.NO_ROOM, str(e)))
            return False
        except StationError as e:
            self.problem.emit(Problem(About.OTHER, str(e)))
            return False
        return True

    def fire(self, event: Event) -> Step:
        if Take.START in copy.copy(self.machine).fire(event).takes:  # a preview: raises if illegal
            reason = self.not_ready_reason()
            if reason:
                about = About.TAKE_WAITS if self.machine.cut else About.NOT_READY
                if event is Event.TIME_UP and self.machine.allowed(Event.STOP):  # no automatic take on a fault
                    self.device_failure = self.device_failure or reason
                    self.fire(Event.STOP)
                    raise NotReady(f"The next take did not start: {reason}.", about)
                raise NotReady(f"No take started: {reason}.", about)
            problem = self.disk_space_problem()
            if problem:
                self.stopped_by = problem
                if self.machine.phase is Phase.RECORDING:  # the take in progress is kept all the same
                    self.fire(Event.STOP)
                    problem += " (the take in progress was kept and recording stopped)"
                elif self.machine.phase is Phase.RESETTING:
                    # Waiting in the reset would hold the last take, and the room its recording takes, for good:
                    # stopping keeps it (after the stop's short hold), and its room comes back once it is saved.
                    held = self.machine.held
                    self.fire(Event.STOP)
                    problem += (" (the last take is kept and the session stopped: record again once it is saved)"
                                if held else " (the session stopped)")
                raise DiskFullError(problem)
        step = self.machine.fire(event)
        self._phase_timer.stop()
        self._deadline = None
        self._held_remaining = None if step.after is not step.before or step.after is Phase.RECORDING \
            else self._held_remaining
        self._hand_over(step)
        for effect in step.takes:
            self._apply(effect, step)
        self.phase_started = time.monotonic()
        if step.after is Phase.RESETTING and self.reset_time_s > 0:
            self._start_countdown(self.reset_time_s)
        elif step.after is Phase.STOPPED and self.machine.held and not self.machine.cut and self.hold_after_stop_s > 0:
            self._start_countdown(self.hold_after_stop_s)
        self.state_changed.emit(step)
        if step.after is Phase.STOPPED and self.machine.held and not self.machine.cut and self.hold_after_stop_s <= 0:
            self.fire(Event.KEEP)  # no hold time: the take is kept at once
            return step
        if step.cut and Take.KEEP_CURRENT in step.takes and self._held is not None:
            self.take_cut.emit(self._held)
        if step.after is Phase.STOPPED:
            self._check_finished()
        return step

    def _apply(self, effect: Take, step: Step) -> None:
        if effect is Take.START:
            self._start_take()
        elif effect is Take.KEEP_CURRENT:
            self._end_take(self._ended, keep=True, held=step.held, cut=step.cut)
        elif effect is Take.DISCARD_CURRENT:
            self._end_take(self._ended, keep=False, held=False)
        elif effect is Take.CONFIRM_PREVIOUS:
            ft, self._held = self._held, None
            if ft is not None and ft.job is not None:
                self.queue.confirm(ft.job)
        elif effect is Take.DISCARD_PREVIOUS:
            ft, self._held = self._held, None
            if ft is not None:
                ft.discarded = True
                if ft.job is not None:
                    self._kept_jobs.discard(ft.job.id)
                    self.queue.cancel(ft.job)

    def _take_info(self) -> TakeInfo:
        spec = self.writer.spec
        return TakeInfo(
            task=self.task,
            fps=self.fps,
            robot_type=spec.robot_type,
            joint_names=list(spec.joint_names),
            cameras=tuple(spec.cameras),
            created=time.time(),
            episode_time_s=self.episode_time_s,
        )

    def _new_take(self) -> TakeRecorder:
        spool = SpoolWriter.create(
            self.writer.root, self._take_info(),
            on_error=lambda failed, error: self._spool_failed.emit(failed, describe_write_error(error)),
        )
        max_rows = max(1, round(self.episode_time_s * self.fps))
        take = TakeRecorder(spool, self.fps, max_rows, on_full=lambda: self._take_full.emit(take))
        return take

    def _hand_over(self, step: Step) -> None:
        """Move the control loop from the take in progress to the next one (or none) in one atomic swap.

        The next take is usually ready already (see _start_take), so no tick falls between two takes.
        """
        old = self._current
        new = None
        if Take.START in step.takes:
            new = old.next if old is not None and old.next is not None else self._new_take()
        self.loop.swap_take(self._loop_take(new))
        if new is None and old is not None and old.next is not None:
            # prepared for a next take that will not come (stop, reset, last take); abandoned after the swap,
            # as the loop may have switched to it already (a full take) and writes no row to it after the swap
            self._abandon(old.next)
        self._ended, self._current = old, new

    def _loop_take(self, new: TakeRecorder | None) -> TakeRecorder | None:
        """Hook: what the loop records into right after a step: the next take at once, so no tick is lost."""
        return new

    def _start_take(self) -> None:
        """Hook: the take just handed to the loop starts; its live save job encodes while it is recorded."""
        take = self._current
        assert take is not None
        take.job = self.queue.submit_live(take.spool, held=True)  # encode while recording
        if self.reset_time_s == 0 and self.machine.kept + 1 < self.machine.episodes:
            # Takes follow back to back: have the next one ready, so that when this one is full the loop
            # switches on the very next tick, without waiting for the session's thread.
            take.next = self._new_take()

    def _abandon(self, take: TakeRecorder) -> None:
        if take.job is not None:
            self.queue.cancel(take.job)
        threading.Thread(target=take.spool.abandon, name="spool-abandon", daemon=True).start()

    def _end_take(self, take: TakeRecorder | None, keep: bool, held: bool, cut: bool = False) -> None:
        if take is None:
            return
        if not keep or take.rows == 0:  # re-recorded, or stopped before its first tick: nothing to keep
            self._abandon(take)
            if keep:
                self.machine.take_was_empty()
            return
        ft = FinishedTake(self._episode_of(take.job), take, job=take.job)
        self.finished_takes.append(ft)
        if take.job is not None:
            self._kept_jobs.add(take.job.id)
        if held:
            self._held = ft
            if cut and ft.job is not None:  # a device failure ended it: it waits for Keep / Drop, not for a reset
                ft.job.held_for = HELD_FOR_OPERATOR
        elif ft.job is not None:
            self.queue.confirm(ft.job)
        self._finish(ft)

    def _finish(self, ft: FinishedTake) -> None:
        """Hook: seal the take's spool off this thread (it fsyncs); _on_spool_done follows on this thread."""
        threading.Thread(target=self._finish_spool, args=(ft,), name="spool-finish", daemon=True).start()

    def _episode_of(self, job: SaveJob | None) -> int:
        """The episode index a kept take gets, as the queue (the dataset) counts."""
        expected = None if job is None else self.queue.expected_episode(job)
        return self.next_episode() if expected is None else expected

    def _finish_spool(self, ft: FinishedTake) -> None:
        try:
            ft.spool_dir = ft.take.spool.finish(ft.take.cadence)
        except BaseException as e:
            log.info("finishing the spool of episode %d failed", ft.episode, exc_info=e)  # said by ft.error
            ft.error = f"episode {ft.episode} could not be written to disk: {e}"
        ft.finished.set()
        self._spool_done.emit(ft)

    def _on_spool_done(self, _ft: FinishedTake) -> None:
        """Hand finished takes to the queue strictly in take order."""
        if self._closed:
            return
        while self.finished_takes and self.finished_takes[0].finished.is_set():
            ft = self.finished_takes.pop(0)
            if ft.discarded:  # re-recorded during its reset: its save was cancelled already
                remove_spool(ft.take.spool.directory)
                continue
            if ft.error:  # the save job fails by itself (incomplete spool) and keeps what reached the disk
                self.problem.emit(Problem(About.WRITE_FAILED, ft.error))
                continue
            assert ft.spool_dir is not None
            if ft.job is not None:
                ft.episode = self._episode_of(ft.job)  # takes ahead may have been dropped meanwhile
            self.take_recorded.emit(ft)
            self._save(ft)
        self._check_finished()

    def _save(self, ft: FinishedTake) -> None:
        """Hook: a finished take's spool is complete on disk; its live save job may finish and commit it."""
        if ft.job is not None:
            self.queue.take_ended(ft.job, ft.take.rows, ft.take.cadence)

    # -- timers and failures --
    def _on_take_full(self, take: TakeRecorder) -> None:
        if self._current is take and self.phase is Phase.RECORDING:
            if self._next_take_held and self.reset_time_s <= 0 and self.machine.kept + 1 < self.machine.episodes:
                self._waiting_reset = self.try_fire(Event.RESET)  # kept and held; no next take until the answer
                return
            self.try_fire(Event.TIME_UP)

    def _phase_time_up(self) -> None:
        self._deadline = None
        if self.machine.allowed(Event.TIME_UP) and self.phase is not Phase.RECORDING:
            self.try_fire(Event.TIME_UP)

    def _on_job_changed(self, row: int) -> None:
        """A kept take of this session dropped from the queue (a failed save discarded) or from the dataset
        (drop-last) is no longer kept; put back, it is kept again."""
        if 0 <= row < len(self.queue.jobs):
            job = self.queue.jobs[row]
            if (job.status is JobStatus.CANCELLED or job.dropped) and job.id in self._kept_jobs:
                self._kept_jobs.discard(job.id)
                if job.dropped:
                    self._dropped_jobs.add(job.id)
                self.machine.take_dropped()
                self.changed.emit()
            elif not job.dropped and job.id in self._dropped_jobs:  # its drop was undone: kept again
                self._dropped_jobs.discard(job.id)
                self._kept_jobs.add(job.id)
                self.machine.kept += 1
                self.changed.emit()

    def _arm_words(self, role: str | None) -> str:
        arm = self.leader if role == "leader" else self.follower
        port = getattr(arm, "port", None)
        return f"The {role or 'arm'} arm" + (f" on {port}" if port else "")

    def _end_take_on_fault(self, why: str) -> None:
        """A device failed during a take: the take ends, held for Keep / Drop and flagged; no next take starts."""
        self.device_failure = self.device_failure or why
        self._stopped_for(why)
        if self.machine.allowed(Event.FAULT):
            self.fire(Event.FAULT)

    def stop_for(self, why: str) -> None:
        """Stop the session for a reason that is not the operator's (headless: a save failed). A take in
        progress ends there and is kept, flagged cut short with `why`."""
        self._stopped_for(why)
        self.try_fire(Event.STOP)

    def _stopped_for(self, why: str) -> None:
        self.stopped_by = self.stopped_by or why
        take = self._current
        if take is not None and self.phase is Phase.RECORDING:
            take.cadence.interrupted = take.cadence.interrupted or why

    def _on_loop_error(self, error: BaseException) -> None:
        self._loop_failed.emit(str(error) or type(error).__name__)

    def _on_loop_failed(self, message: str) -> None:
        if self._arm_reported:  # said already, when the call got stuck: the error itself goes to the log
            log.warning("control loop ended: %s", message)
            return
        self._arm_failed(self.loop.failed_role, message)

    def _arm_failed(self, role: str | None, message: str = "") -> None:
        """An arm stopped answering: the take so far is held, the session stops, the follower's torque goes off.

        The torque is switched off (and read back) on a thread of its own: the bus may take seconds to give up.
        """
        self._arm_reported = True
        what = self._arm_words(role)
        self._end_take_on_fault(f"{what.removeprefix('The ')} stopped answering" + (f": {message}" if message else ""))
        self.fault.emit(Problem(
            About.ARM_STOPPED,
            f"{what} stopped answering" + (f" ({message})" if message else "")
            + ": recording stopped. Check its power and USB cable, then use Devices > Connect arms… "
            + SWITCHING_TORQUE_OFF,
            device=role or "",
        ))

        def torque_off() -> None:
            torque: TorqueOff | None = None
            try:
                torque = self.follower.disconnect()
            except Exception:
                log.exception("disabling follower torque after an arm error failed")
            checked = torque or TorqueOff("follower", confirmed=False)
            self.torque_off = checked
            self._torque_checked.emit(checked)

        threading.Thread(target=torque_off, name="torque-off", daemon=True).start()

    def _on_torque_checked(self, torque: TorqueOff) -> None:
        words = torque.sentence
        self.torque_state = words
        self.fault.emit(Problem(About.TORQUE, words[0].upper() + words[1:] + ".", device=torque.arm,
                                serious=not torque.confirmed))

    def _on_spool_failed(self, spool: SpoolWriter, reason: str) -> None:
        """The disk refused a write of the take being recorded: it ends at its last whole frame, and the
        session stops (a next take would meet the same disk)."""
        take = self._current
        if take is None or spool not in (take.spool, take.next.spool if take.next is not None else None):
            return  # a take already ended (its finish reports what it kept) or abandoned
        if not self.machine.allowed(Event.STOP):
            return
        self.stopped_by = f"could not write to disk: {reason}"
        self.fire(Event.STOP)
        if spool is take.spool:
            self.problem.emit(Problem(
                About.WRITE_FAILED,
                f"could not write the take to disk ({reason}): it was ended at its last whole frame "
                f"({spool.written} frames) and recording stopped",
            ))
        else:
            self.problem.emit(Problem(About.WRITE_FAILED, f"could not write to disk ({reason}): recording stopped"))

    def _watch_devices(self) -> None:
        """Every 0.1 s: an arm call stuck for 0.3 s, a camera silent for 1 s in a take, cameras going quiet.

        Only time the process ran counts: after a stall of the whole process (this watch came late) a camera
        or arm has had no chance to answer yet, so the silence they are judged on starts again now."""
        now = time.monotonic()
        watched_s = self._watched_s(now)
        if watched_s == 0.0:
            self._watching_since = now
        self._watched_at = now
        stuck = self.loop.stuck()
        if stuck is not None and min(stuck[1], watched_s) > ARM_SILENT_S and not self._arm_reported:
            self._arm_failed(stuck[0])
        take = self._current
        # Half a second of ticks that found the writer's queue full: not one stall (a sync, a busy moment)
        if take is not None and take.spool.waited >= self.fps / 2 and not self._disk_slow_said:
            self._disk_slow_said = True
            self.problem.emit(Problem(
                About.DISK_SLOW,
                "The disk is not keeping up with the cameras: the take's frames are over a second behind on their "
                "way to it, so recording waits for the disk and frames repeat the one before. Record with smaller "
                "or fewer cameras, or into a dataset on a faster disk.",
            ))
        for cam in self.cameras:
            frame = cam.latest()
            silent_s = min(now - frame.t, watched_s) if frame is not None else None
            if self.phase is Phase.RECORDING and (silent_s is None or silent_s > CAMERA_SILENT_S):
                take = self._current
                if take is not None and take.cadence.stalled_cameras is not None \
                        and cam.name not in take.cadence.stalled_cameras:
                    take.cadence.stalled_cameras.append(cam.name)
                self._stalled.add(cam.name)
                self._end_take_on_fault(f"camera {cam.name} sent nothing for over {CAMERA_SILENT_S:g} s")
                why = f" (it stopped: {cam.error})" if cam.error else ""
                self.fault.emit(Problem(
                    About.CAMERA_SILENT,
                    f"Camera {cam.name} sent nothing for over {CAMERA_SILENT_S:g} s{why}: the take was ended and is "
                    f"held (keep it or drop it) and no next take starts. Check {what_to_check([cam])}, then use "
                    "Devices > Reconnect cameras.",
                    device=cam.name,
                ))
            elif cam.stalled and watched_s > STALL_AFTER_S and cam.name not in self._stalled:
                self._stalled.add(cam.name)
                self.fault.emit(Problem(
                    About.CAMERA_SILENT,
                    f"Camera {cam.name} has sent no frame for over {STALL_AFTER_S:g} s: no take starts until it "
                    "sends again",
                    device=cam.name,
                ))
            elif not cam.stalled and cam.name in self._stalled:
                self._stalled.discard(cam.name)

    def _watched_s(self, now: float) -> float:
        """How long the devices have been watched with the process running throughout: 0 when the watch is late
        (the process did not run meanwhile; see WATCH_LATE_S)."""
        if now - self._watched_at > WATCH_LATE_S:
            return 0.0
        return now - self._watching_since

    def devices_reconnected(self) -> None:
        """The cameras were reopened: the session may record again once they send."""
        self._stalled.clear()
        if self.device_failure and self.device_failure.startswith("camera") and self.loop.error is None:
            self.device_failure = None

    def disk_space_problem(self) -> str:
        """Why a new take may not start for lack of room for its spool, or "" if there is room."""
        return spool_space_problem(self.writer.root, self.writer.spec.cameras, self.fps, self.episode_time_s)

    def space_needed_for_a_take(self) -> float:
        """The free bytes the next take needs before it may start (what disk_space_problem checks)."""
        return spool_space_needed(self.writer.spec.cameras, self.fps, self.episode_time_s)

    def _check_finished(self, *_args: object) -> None:
        if self.phase is not Phase.STOPPED or self.finished_takes:
            return
        if self.queue.is_idle:
            self.finished.emit()
        elif (stuck := self.queue.stuck_on) is not None:
            self.stuck.emit(stuck)

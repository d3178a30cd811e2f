"""The recording session: carries out the state machine's steps with the control loop, spools and save queue.

Lives on the thread that owns it (the GUI thread or the headless event loop). Slow things never run there:
spools are finished (flushed, fsynced) on a short-lived thread each, saves on the save queue's pool. In
synchronous mode (the benchmark's baseline, LeRobot's behaviour) a take is saved inline before the next starts.
"""

from __future__ import annotations

import copy
import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from station.dataset.fsutil import size_in_words
from station.dataset.writer import DatasetWriter
from station.errors import DiskFullError, StationError
from station.hardware.interfaces import Arm, Camera, Follower, TorqueOff
from station.saving.job import save_episode
from station.saving.queue import SaveJob, SaveQueue
from station.saving.spool import SpoolReader, SpoolWriter, TakeInfo, describe_write_error, remove_spool
from station.session.loop import ControlLoop, TakeRecorder
from station.session.state import Event, IllegalTransition, Phase, SessionMachine, Step, Take

log = logging.getLogger(__name__)
SPOOL_MARGIN = 1.5  # free space needed before a take, as a multiple of the take's spool size


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
    take_recorded = Signal(object)  # FinishedTake, once its spool is durable on disk
    take_saved = Signal(object)  # SaveJob, once committed to the dataset
    problem = Signal(str)  # something the operator must know, in plain words
    finished = Signal()  # stopped, every take handed to the queue and the queue idle
    stuck = Signal(object)  # SaveJob: stopped, every take handed to the queue, and a failed save blocks the rest
    _spool_done = Signal(object)  # FinishedTake, from a finisher thread
    _take_full = Signal(object)  # TakeRecorder, from the control loop
    _loop_failed = Signal(str)
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
        synchronous: bool = False,
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
        self.synchronous = synchronous
        first = writer.total_episodes + queue.pending_count + queue.failed_count
        self.machine = SessionMachine(episodes, reset_time_s, first_episode=first)
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
        self.sync_save_s: list[float] = []  # synchronous mode: how long each inline save blocked the session
        self._held: FinishedTake | None = None  # the take just finished, while its reset phase may discard it
        self._reset_timer = QTimer(self)
        self._reset_timer.setSingleShot(True)
        self._reset_timer.timeout.connect(self._reset_time_up)
        self._spool_done.connect(self._on_spool_done)
        self._take_full.connect(self._on_take_full)
        self._loop_failed.connect(self._on_loop_failed)
        self._spool_failed.connect(self._on_spool_failed)
        queue.job_saved.connect(self.take_saved)
        queue.idle.connect(self._check_finished)
        queue.stuck.connect(self._check_finished)
        self._stalled: set[str] = set()
        self._watch = QTimer(self)
        self._watch.setInterval(250)
        self._watch.timeout.connect(self._watch_cameras)

    # -- life cycle --
    @property
    def phase(self) -> Phase:
        return self.machine.phase

    @property
    def episode(self) -> int:
        return self.machine.episode

    def start(self) -> None:
        """Start teleoperation (arms live, nothing recorded yet)."""
        self.loop.start()
        self._watch.start()

    def shutdown(self) -> None:
        """Stop the loop; a take still in progress is kept (as stop would) and made durable on disk.

        Takes not yet handed to the queue stay in the spool for recovery: after shutdown nothing is queued.
        """
        if self.machine.allowed(Event.STOP):
            self.fire(Event.STOP)
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
        return None

    def phase_elapsed_s(self) -> float:
        return time.monotonic() - self.phase_started

    # -- events --
    def try_fire(self, event: Event) -> bool:
        """Fire an event from a key or button; an event the table does not allow now does nothing."""
        try:
            self.fire(event)
        except IllegalTransition:
            return False
        except StationError as e:
            self.problem.emit(str(e))
            return False
        return True

    def fire(self, event: Event) -> Step:
        if Take.START in copy.copy(self.machine).fire(event).takes:  # a preview: raises if illegal
            problem = self._disk_space_problem()
            if problem:
                self.stopped_by = problem
                if self.machine.phase is Phase.RECORDING:  # the take in progress is kept all the same
                    self.fire(Event.STOP)
                    problem += " (the take in progress was kept and recording stopped)"
                raise DiskFullError(problem)
        step = self.machine.fire(event)
        self._reset_timer.stop()
        self._hand_over(step)
        for effect in step.takes:
            self._apply(effect, step)
        self.phase_started = time.monotonic()
        if step.after is Phase.RESETTING and self.reset_time_s > 0:
            self._reset_timer.start(int(self.reset_time_s * 1000))
        self.state_changed.emit(step)
        if step.after is Phase.STOPPED:
            self._check_finished()
        return step

    def _apply(self, effect: Take, step: Step) -> None:
        if effect is Take.START:
            self._start_take()
        elif effect is Take.KEEP_CURRENT:
            self._end_take(self._ended, keep=True, held=step.after is Phase.RESETTING, episode=step.episode - 1)
        elif effect is Take.DISCARD_CURRENT:
            self._end_take(self._ended, keep=False, held=False, episode=step.episode)
        elif effect is Take.CONFIRM_PREVIOUS:
            ft, self._held = self._held, None
            if ft is not None and ft.job is not None:
                self.queue.confirm(ft.job)
        elif effect is Take.DISCARD_PREVIOUS:
            ft, self._held = self._held, None
            if ft is not None:
                ft.discarded = True
                if ft.job is not None:
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
        elif old is not None and old.next is not None:
            self._abandon(old.next)  # prepared for a next take that will not come (stop, reset, last take)
        # The synchronous baseline starts recording the new take only after the inline save (_start_take).
        self.loop.swap_take(None if self.synchronous else new)
        self._ended, self._current = old, new

    def _start_take(self) -> None:
        take = self._current
        assert take is not None
        if self.synchronous:  # the baseline: the next take starts only now, after the inline save
            self.loop.swap_take(take)
            return
        take.job = self.queue.submit_live(take.spool, held=True)  # encode while recording
        if self.reset_time_s == 0 and self.machine.kept + 1 < self.machine.episodes:
            # Takes follow back to back: have the next one ready, so that when this one is full the loop
            # switches on the very next tick, without waiting for the session's thread.
            take.next = self._new_take()

    def _abandon(self, take: TakeRecorder) -> None:
        if take.job is not None:
            self.queue.cancel(take.job)
        threading.Thread(target=take.spool.abandon, name="spool-abandon", daemon=True).start()

    def _end_take(self, take: TakeRecorder | None, keep: bool, held: bool, episode: int) -> None:
        if take is None:
            return
        if not keep or take.rows == 0:  # re-recorded, or stopped before its first tick: nothing to keep
            self._abandon(take)
            if keep:
                self.machine.take_was_empty()
            return
        ft = FinishedTake(episode, take, job=take.job)
        self.finished_takes.append(ft)
        if held:
            self._held = ft
        elif ft.job is not None:
            self.queue.confirm(ft.job)
        if self.synchronous:
            self._finish_spool(ft)
            self._on_spool_done(ft)
        else:
            threading.Thread(target=self._finish_spool, args=(ft,), name="spool-finish", daemon=True).start()

    def _finish_spool(self, ft: FinishedTake) -> None:
        try:
            ft.spool_dir = ft.take.spool.finish(ft.take.cadence)
        except BaseException as e:
            log.info("finishing the spool of episode %d failed", ft.episode, exc_info=e)  # said by ft.error
            ft.error = f"episode {ft.episode} could not be written to disk: {e}"
        ft.finished.set()
        if not self.synchronous:
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
                self.problem.emit(ft.error)
                continue
            assert ft.spool_dir is not None
            self.take_recorded.emit(ft)
            if self.synchronous:
                started = time.monotonic()
                save_episode(SpoolReader(ft.spool_dir), self.writer)
                self.sync_save_s.append(time.monotonic() - started)
            elif ft.job is not None:
                self.queue.take_ended(ft.job, ft.take.rows, ft.take.cadence)
        self._check_finished()

    # -- timers and failures --
    def _on_take_full(self, take: TakeRecorder) -> None:
        if self._current is take and self.phase is Phase.RECORDING:
            self.try_fire(Event.NEXT)

    def _reset_time_up(self) -> None:
        if self.phase is Phase.RESETTING:
            self.try_fire(Event.NEXT)

    def _on_loop_error(self, error: BaseException) -> None:
        self._loop_failed.emit(str(error) or type(error).__name__)

    def _on_loop_failed(self, message: str) -> None:
        """An arm stopped answering: keep the take so far, stop, and take the follower's torque off."""
        take = self._current
        if take is not None:
            take.cadence.interrupted = f"arm error: {message}"
        self.stopped_by = f"arm error: {message}"
        if self.machine.allowed(Event.STOP):
            self.fire(Event.STOP)
        torque: TorqueOff | None = None
        try:
            torque = self.follower.disconnect()
        except Exception:
            log.exception("disabling follower torque after an arm error failed")
        self.torque_off = torque or TorqueOff("follower", confirmed=False)
        self.problem.emit(f"arm error, recording stopped; {self.torque_off.sentence}: {message}")

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
            self.problem.emit(
                f"could not write the take to disk ({reason}): it was ended at its last whole frame "
                f"({spool.written} frames) and recording stopped"
            )
        else:
            self.problem.emit(f"could not write to disk ({reason}): recording stopped")

    def _watch_cameras(self) -> None:
        for cam in self.cameras:
            if cam.stalled and cam.name not in self._stalled:
                self._stalled.add(cam.name)
                self.problem.emit(
                    f"camera {cam.name} has sent no frame for over 0.5 s: its last frame is being repeated"
                )
            elif not cam.stalled and cam.name in self._stalled:
                self._stalled.discard(cam.name)

    def _disk_space_problem(self) -> str:
        """Why a new take may not start for lack of room for its spool, or "" if there is room."""
        bytes_per_s = self.fps * sum(c.width * c.height * 3 + 64 for c in self.writer.spec.cameras)
        need = bytes_per_s * self.episode_time_s * SPOOL_MARGIN
        root = self.writer.root
        free = shutil.disk_usage(root).free
        if free >= need:
            return ""
        return (
            f"not enough free disk space at {root} for a {self.episode_time_s:.0f} s take: "
            f"{size_in_words(free)} free, {size_in_words(need)} needed; free some space first"
        )

    def _check_finished(self, *_args: object) -> None:
        if self.phase is not Phase.STOPPED or self.finished_takes:
            return
        if self.queue.is_idle:
            self.finished.emit()
        elif (stuck := self.queue.stuck_on) is not None:
            self.stuck.emit(stuck)

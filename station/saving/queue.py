"""The save queue: one job per take, prepared on a QThreadPool, committed strictly in order.

The truth is a plain Python list of SaveJob records, mutated only on the thread that owns the queue (the GUI
or the headless event loop); the window's table model adapts it. Workers are QRunnables that carry their
signals in a QObject member and never touch the list. A failed job keeps its spool and blocks the commits
behind it, so episode numbers never shift under the operator; Retry runs it again, Discard drops it.

A job's life is one state (JobState), changed only here:

    submit ─> QUEUED ─> PREPARING ─┬─> HELD ──(confirm)──┐
    submit_live ─> RECORDING ──────┘   (take_ended)      ├─> READY ─> COMMITTING ─> DONE
                                   └──────────────────────┘
    any state before COMMITTING ─(cancel)─> CANCELLED;  PREPARING/RECORDING/COMMITTING ─(error)─> FAILED
    FAILED ─(retry)─> READY (already prepared) or QUEUED/RECORDING;  FAILED ─(discard)─> CANCELLED

Who owns a take's spool is explicit (SpoolOwner): the recorder while its take is being recorded (it writes
the files, and deletes them itself if the take is abandoned), the queue from take_ended on; the queue
deletes only spools it owns. Every worker is released on its own terminal signal (prepared, committed,
failed, cancelled), whatever state its job is in by then, so `idle` always comes once the work is over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from PySide6.QtCore import QObject, QThreadPool, Signal

from station.dataset.spec import VideoSettings
from station.dataset.writer import DatasetWriter, EpisodeData
from station.errors import describe_error
from station.priority import foreground
from station.saving.faults import checkpoint
from station.saving.job import Cancelled, Reporter, commit_episode, prepare_episode, prepare_live
from station.saving.spool import CadenceReport, SpoolReader, SpoolWriter, remove_spool

log = logging.getLogger(__name__)
# A job's progress reaches the window at most this often: each report redraws the save-queue table on the GUI
# thread (measured 2 ms of CPU each, 25 reports a second with two takes saving at 0.1 s: 52 ms/s).
PROGRESS_INTERVAL_S = 0.25
PrepareFn = Callable[[SpoolReader, VideoSettings, Reporter], EpisodeData]
PrepareLiveFn = Callable[[SpoolWriter, VideoSettings, Reporter], EpisodeData]
CommitFn = Callable[[DatasetWriter, EpisodeData, Reporter, Path], int]


class JobState(Enum):
    QUEUED = "queued"  # a finished take waiting for an encoder thread
    RECORDING = "recording"  # the take is still being recorded (and encoded as it goes); the recorder owns it
    PREPARING = "preparing"  # encoding, computing stats
    HELD = "held"  # prepared; waits until the take can no longer be re-recorded (confirm)
    READY = "ready"  # prepared; waits for its turn to commit
    COMMITTING = "committing"
    DONE = "done"
    FAILED = "failed"  # its spool is kept; the takes behind it wait (retry or discard)
    CANCELLED = "cancelled"  # re-recorded or discarded: never committed


WORKING = (JobState.QUEUED, JobState.RECORDING, JobState.PREPARING, JobState.COMMITTING)
PENDING = (*WORKING, JobState.HELD, JobState.READY)
TERMINAL = (JobState.DONE, JobState.CANCELLED)  # no longer ahead of anything


class SpoolOwner(Enum):
    RECORDER = "recorder"  # writes the spool while the take is recorded; deletes it itself if abandoned
    QUEUE = "queue"  # the take ended: the queue saves it, then deletes its spool


class JobStatus(Enum):
    """A coarse reading of JobState, for views that only tell waiting, done, failed and thrown away apart."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


_STATUS = {
    JobState.QUEUED: JobStatus.QUEUED, JobState.DONE: JobStatus.DONE, JobState.FAILED: JobStatus.FAILED,
    JobState.CANCELLED: JobStatus.CANCELLED,
}
HELD_FOR_RESET = "the reset"  # the reset phase (or the hold after a stop) may still throw the take away
HELD_FOR_OPERATOR = "the operator"  # a device failure cut the take: the operator keeps or drops it


@dataclass(eq=False)  # a job is itself: the queue finds it among hundreds by identity, not by its fields
class SaveJob:
    id: int
    spool_dir: Path
    task: str
    frames: int
    cameras: int
    cadence: CadenceReport | None = None
    state: JobState = JobState.QUEUED
    owner: SpoolOwner = SpoolOwner.QUEUE
    stage: str = "queued"  # what the worker says it is doing, in words
    progress: float = 0.0
    error: str = ""
    held: bool = False  # the take may still be re-recorded: prepare it, but do not commit yet
    held_for: str = HELD_FOR_RESET  # what the held take waits for (HELD_FOR_RESET or HELD_FOR_OPERATOR)
    episode: int | None = None  # the dataset's episode index, once committed
    dropped: bool = False  # committed, then dropped from the dataset again (drop-last; undone by putting it back)
    submitted_at: float = field(default_factory=time.monotonic)  # a finished take handed over whole: its save begins
    started_at: float | None = None
    prepared_at: float | None = None
    released_at: float | None = None  # when a held take was let go (confirm): it may commit from then
    finished_at: float | None = None
    prepared: EpisodeData | None = None
    live: SpoolWriter | None = None  # the spool being recorded, which the live encoder follows
    ended_at: float | None = None  # when a live take ended, and how much of it was encoded by then:
    encoded_at_end: float = 0.0  # the tail after that is encoded flat out, which measures throughput
    cancel_flag: threading.Event = field(default_factory=threading.Event)
    flags: list[str] = field(default_factory=list)  # quality flags found while preparing (station.dataset.quality)

    @property
    def status(self) -> JobStatus:
        if self.state is JobState.RECORDING and self.started_at is None:
            return JobStatus.QUEUED  # recorded, but its encoder waits for the take ahead of it
        return _STATUS.get(self.state, JobStatus.RUNNING)

    @property
    def pending(self) -> bool:
        return self.state in PENDING

    @property
    def recorded(self) -> bool:
        """The take's spool is complete on disk and the queue's (a live take: once it has ended)."""
        return self.owner is SpoolOwner.QUEUE

    @property
    def committing(self) -> bool:
        return self.state is JobState.COMMITTING

    @property
    def elapsed_s(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.finished_at or time.monotonic()) - self.started_at


class _WorkerSignals(QObject):
    stage = Signal(int, str)
    progress = Signal(int, float)
    prepared = Signal(int, object)
    committed = Signal(int, int)
    failed = Signal(int, str)
    cancelled = Signal(int)


class _ThrottledReporter:
    """Reports stage changes at once and progress at most every PROGRESS_INTERVAL_S, from the worker thread."""

    def __init__(self, job_id: int, signals: _WorkerSignals, cancel_flag: threading.Event) -> None:
        self._id = job_id
        self._signals = signals
        self._cancel = cancel_flag
        self._last = 0.0
        self._sent = 0.0  # the last fraction reported

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def stage(self, name: str) -> None:
        self._signals.stage.emit(self._id, name)

    def progress(self, fraction: float) -> None:
        now = time.monotonic()
        # Reaching the end is said at once, but only once: a live take's encoder that keeps up with the
        # recording is at 1.0 after almost every frame (measured: 26 reports a second instead of 4).
        if now - self._last >= PROGRESS_INTERVAL_S or fraction >= 1.0 > self._sent:
            self._last, self._sent = now, fraction
            self._signals.progress.emit(self._id, fraction)


class _JobRunnable:
    """A step of one job on a pool thread. It never touches the job record: it reports through signals.

    Handed to the pool as a callable (its `run`), not as a QRunnable: PySide keeps every QRunnable started
    without auto-delete referenced for as long as the pool lives, so each take's runnables, with the episode
    and the spool writer they hold, stayed in memory all day (33 alive after a 17-take session).
    """

    def __init__(self, job: SaveJob) -> None:
        self.signals = _WorkerSignals()
        self._job_id = job.id
        self._spool_dir = job.spool_dir
        self._reporter = _ThrottledReporter(job.id, self.signals, job.cancel_flag)

    def run(self) -> None:
        with foreground():  # holds the GIL at times: never behind the machine's normal load (see priority.py)
            self._run()

    def _run(self) -> None:
        raise NotImplementedError

    def _failed(self, step: str, error: BaseException) -> None:
        if self._reporter.cancelled:  # re-recorded or discarded: its spool may go away under it; not an error
            log.debug("%s take %s stopped after it was cancelled: %s", step, self._spool_dir.name, error)
            self.signals.cancelled.emit(self._job_id)
            return
        # Reported to the operator in plain words (job.error); the traceback was logged at debug level (-v).
        log.info("%s take %s failed: %s", step, self._spool_dir.name, error)
        self.signals.failed.emit(self._job_id, describe_error(error))


class _PrepareRunnable(_JobRunnable):
    def __init__(self, job: SaveJob, writer: DatasetWriter, prepare: PrepareFn, prepare_live: PrepareLiveFn) -> None:
        super().__init__(job)
        self._prepare = prepare
        self._prepare_live = prepare_live
        self._live = job.live if job.owner is SpoolOwner.RECORDER else None  # follow the take as it is recorded
        self._video = writer.spec.video

    def _run(self) -> None:
        try:
            if self._reporter.cancelled:
                raise Cancelled()
            if self._live is not None:
                episode = self._prepare_live(self._live, self._video, self._reporter)
            else:
                episode = self._prepare(SpoolReader(self._spool_dir), self._video, self._reporter)
        except Cancelled:
            self.signals.cancelled.emit(self._job_id)
        except BaseException as e:  # every failure reaches the job record; the traceback goes to the log (-v)
            log.debug("preparing take %s stopped", self._spool_dir.name, exc_info=e)
            self._failed("preparing", e)
        else:
            self.signals.prepared.emit(self._job_id, episode)


class _CommitRunnable(_JobRunnable):
    def __init__(self, job: SaveJob, writer: DatasetWriter, commit: CommitFn) -> None:
        super().__init__(job)
        assert job.prepared is not None
        self._commit = commit
        self._writer = writer
        self._episode = job.prepared

    def _run(self) -> None:
        try:
            index = self._commit(self._writer, self._episode, self._reporter, self._spool_dir)
        except BaseException as e:  # every failure reaches the job record; the traceback goes to the log (-v)
            log.debug("committing take %s stopped", self._spool_dir.name, exc_info=e)
            self._failed("committing", e)
            return
        checkpoint("committed")
        remove_spool(self._spool_dir)
        self.signals.committed.emit(self._job_id, index)


class SaveQueue(QObject):
    """Background saving of takes. All methods are called on the owning thread."""

    job_added = Signal(int)  # row
    job_changed = Signal(int)  # row
    job_saved = Signal(object)  # SaveJob, committed
    job_failed = Signal(object)  # SaveJob
    idle = Signal()  # nothing queued or running any more (failed jobs may remain)
    stuck = Signal(object)  # SaveJob: it failed, and every later commit waits for it (Retry or Discard)

    def __init__(
        self,
        writer: DatasetWriter,
        prepare_threads: int = 1,
        parent: QObject | None = None,
        prepare: PrepareFn = prepare_episode,
        commit: CommitFn = commit_episode,
        prepare_live: PrepareLiveFn = prepare_live,
    ) -> None:
        super().__init__(parent)
        self.writer = writer
        # The pure job functions; tests substitute slow, failing or encoder-free ones.
        self.prepare, self.commit, self.prepare_live = prepare, commit, prepare_live
        self.jobs: list[SaveJob] = []
        self._next_id = 0
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(prepare_threads)
        self._commit_pool = QThreadPool(self)
        self._commit_pool.setMaxThreadCount(1)
        self._workers: dict[int, _JobRunnable] = {}  # job id -> its worker, referenced until its terminal signal
        self._closed = False
        # Episodes in the dataset as this queue knows them: counted here, on the queue's thread, because the
        # writer's own count changes on the commit thread before the queue hears of the commit.
        self.committed_episodes = writer.total_episodes
        self.encoded_frames = 0  # camera-frames prepared, for the throughput estimate
        self.encode_seconds = 0.0

    # -- operator and session actions --
    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise RuntimeError("the save queue is shut down")

    def submit(self, spool_dir: Path, held: bool = False) -> SaveJob:
        """A finished take (a crash left it, or saving could not follow it live)."""
        self._refuse_if_closed()
        spool = SpoolReader(spool_dir)
        return self._add(SaveJob(
            self._next_id, spool_dir, spool.info.task, spool.frames, len(spool.info.cameras),
            cadence=spool.cadence, held=held,
        ))

    def submit_live(self, spool: SpoolWriter, held: bool = True) -> SaveJob:
        """A take that has just started: encode it while it is recorded. Held until the take is kept."""
        self._refuse_if_closed()
        cameras = len(spool.info.cameras)
        return self._add(SaveJob(
            self._next_id, spool.directory, spool.info.task, 0, cameras, state=JobState.RECORDING,
            owner=SpoolOwner.RECORDER, stage="recording", held=held, live=spool,
        ))

    def _add(self, job: SaveJob) -> SaveJob:
        self._next_id += 1
        self.jobs.append(job)
        self.job_added.emit(len(self.jobs) - 1)
        self._start_prepare(job)
        return job

    def take_ended(self, job: SaveJob, frames: int, cadence: CadenceReport | None) -> None:
        """The live take's spool is complete on disk: from now on it is the queue's."""
        job.encoded_at_end = job.progress * job.frames * job.cameras
        job.frames, job.cadence, job.owner = frames, cadence, SpoolOwner.QUEUE
        job.ended_at = time.monotonic()
        if job.state is JobState.RECORDING:
            if job.prepared is not None:  # its encoder finished before the take's hand-over arrived
                job.state = JobState.HELD if job.held else JobState.READY
            else:
                job.state = JobState.PREPARING if job.id in self._workers else JobState.QUEUED
        elif job.state is JobState.CANCELLED and job.id not in self._workers:
            remove_spool(job.spool_dir)  # discarded while it was recorded: now it may go
        self._changed(job)
        self._pump()

    def confirm(self, job: SaveJob) -> None:
        """The take can no longer be re-recorded: let it commit."""
        if not job.held:
            return
        job.held = False
        job.released_at = time.monotonic()
        if job.state is JobState.HELD:
            job.state = JobState.READY
        self._changed(job)
        self._pump()

    def cancel(self, job: SaveJob) -> bool:
        """Drop a take that has not been committed (re-record). Returns False if it is already in the dataset
        or being written to it."""
        if job.state in (JobState.DONE, JobState.CANCELLED, JobState.COMMITTING):
            return False
        job.cancel_flag.set()
        job.state, job.stage, job.finished_at = JobState.CANCELLED, "discarded", time.monotonic()
        self._remove_spool_if_free(job)
        self._changed(job)
        self._pump()
        return True

    def retry(self, job: SaveJob) -> None:
        if job.state is not JobState.FAILED:
            return
        job.error = ""
        job.finished_at = None
        if job.prepared is not None:
            job.state, job.stage = (JobState.HELD if job.held else JobState.READY), "waiting to commit"
            self._changed(job)
            self._pump()
        else:
            recording = job.owner is SpoolOwner.RECORDER
            job.state = JobState.RECORDING if recording else JobState.QUEUED
            job.stage, job.progress = ("recording" if recording else "queued"), 0.0
            job.cancel_flag.clear()
            self._changed(job)
            self._start_prepare(job)

    def discard(self, job: SaveJob) -> None:
        """Give up on a failed take: its spool is deleted and the takes behind it move up."""
        if job.state is JobState.FAILED:
            self.cancel(job)

    # -- what the panel and the session read --
    @property
    def pending_count(self) -> int:
        return sum(1 for j in self.jobs if j.pending)

    @property
    def backlog(self) -> int:
        """Finished takes not yet saved (the take being recorded is not counted)."""
        return sum(1 for j in self.jobs if j.pending and j.recorded)

    @property
    def failed_count(self) -> int:
        return sum(1 for j in self.jobs if j.state is JobState.FAILED)

    @property
    def is_idle(self) -> bool:
        return self.pending_count == 0

    @property
    def closed(self) -> bool:
        """shutdown() was called: the queue takes no more work, and what it had not saved stays in spools."""
        return self._closed

    def has_worker(self, job: SaveJob) -> bool:
        """A worker of the job's is in flight (or has not yet sent its last signal)."""
        return job.id in self._workers

    @property
    def workers(self) -> int:
        """Workers started and not yet released (a job's work in flight, or ending)."""
        return len(self._workers)

    @property
    def commit_in_flight(self) -> bool:
        """A commit is changing the dataset's files now (none starts until the GUI thread pumps the queue)."""
        return any(j.state is JobState.COMMITTING for j in self.jobs)

    @property
    def stuck_on(self) -> SaveJob | None:
        """The failed take every later commit waits for (nothing ahead of it is left to run), or None."""
        head = self._head()
        return head if head is not None and head.state is JobState.FAILED else None

    def waiting_behind(self, job: SaveJob) -> list[SaveJob]:
        """The takes that wait for `job` to be saved or discarded (their spools are kept)."""
        return [j for j in self.jobs[self.row_of(job) + 1:] if j.pending]

    def row_of(self, job: SaveJob) -> int:
        return self.jobs.index(job)

    def expected_episode(self, job: SaveJob) -> int | None:
        """The episode index the take will get if everything ahead of it commits."""
        if job.episode is not None:
            return job.episode
        if job.state is JobState.CANCELLED:
            return None
        ahead = 0
        for j in self.jobs:
            if j is job:
                break
            if j.state not in TERMINAL:
                ahead += 1
        return self.committed_episodes + ahead

    def _measure_throughput(self, job: SaveJob, frames: int) -> None:
        """Learn the encoder's speed from work it did flat out: a finished take, or a live take's tail.

        While a take is recorded its encoder mostly waits for frames (and SVT-AV1 encodes on its own threads
        behind the calls), so that part says nothing about speed.
        """
        assert job.prepared_at is not None
        work: float
        if job.live is None and job.started_at is not None:
            work, seconds = frames * job.cameras, job.prepared_at - job.started_at
        elif job.ended_at is not None:
            work, seconds = frames * job.cameras - job.encoded_at_end, job.prepared_at - job.ended_at
        else:
            return
        if work >= 30 and seconds > 0.05:
            self.encoded_frames += int(work)
            self.encode_seconds += seconds

    def encoder_lag_s(self, fps: int) -> float | None:
        """How far the encoding of the take being recorded is behind the recording, in seconds."""
        live = [j for j in self.jobs if j.state is JobState.RECORDING]
        if not live:
            return None
        job = live[-1]
        behind = job.frames * (1.0 - job.progress)
        return behind / max(1, fps)

    @property
    def encode_fps(self) -> float:
        """Camera-frames encoded per second when the encoder has a backlog, measured on this session's saves."""
        return self.encoded_frames / self.encode_seconds if self.encode_seconds > 0 else 0.0

    def drain_estimate_s(self) -> float | None:
        rate = self.encode_fps
        if rate <= 0:
            return None
        left = sum(j.frames * j.cameras * (1 - j.progress) for j in self.jobs if j.pending and j.recorded)
        return left / rate

    # -- internals --
    def dataset_changed(self, total_episodes: int) -> None:
        """The dataset was cut back (drop-last) or grew again (its drop undone) outside the queue, or only read
        again after such a change failed: the next takes are numbered from `total_episodes`."""
        self.committed_episodes = total_episodes

    def mark_dropped(self, episode: int, dropped: bool) -> None:
        """The take saved as `episode` was dropped from the dataset (or put back): its row says so. Only that
        take, the newest saved under the number: another saved since under it is not the dropped one."""
        job = next((j for j in reversed(self.jobs)
                    if j.state is JobState.DONE and j.episode == episode and j.dropped != dropped), None)
        if job is not None:
            job.dropped = dropped
            self._changed(job)

    def can_restore(self, job: SaveJob) -> bool:
        """Whether the dropped take of `job` may be put back now: the dataset ends where it was dropped."""
        return job.dropped and job.episode == self.committed_episodes

    def _head(self) -> SaveJob | None:
        return next((j for j in self.jobs if j.state not in TERMINAL), None)

    def _job(self, job_id: int) -> SaveJob:
        return next(j for j in self.jobs if j.id == job_id)

    def _changed(self, job: SaveJob) -> None:
        self.job_changed.emit(self.row_of(job))

    def _remove_spool_if_free(self, job: SaveJob) -> None:
        """Delete a cancelled take's spool once nobody uses it: the queue owns it and no worker reads it."""
        if job.state is JobState.CANCELLED and job.owner is SpoolOwner.QUEUE and job.id not in self._workers:
            remove_spool(job.spool_dir)

    def _connect(self, runnable: _JobRunnable) -> None:
        s = runnable.signals
        s.stage.connect(self._on_stage)
        s.progress.connect(self._on_progress)
        s.prepared.connect(self._on_prepared)
        s.committed.connect(self._on_committed)
        s.failed.connect(self._on_failed)
        s.cancelled.connect(self._on_cancelled)

    def _start_prepare(self, job: SaveJob) -> None:
        self._launch(job, _PrepareRunnable(job, self.writer, self.prepare, self.prepare_live), self._pool)

    def _launch(self, job: SaveJob, runnable: _JobRunnable, pool: QThreadPool) -> None:
        assert job.id not in self._workers, "one worker per job at a time"
        self._connect(runnable)
        self._workers[job.id] = runnable  # referenced (and its signals alive) until it reports back
        pool.start(runnable.run)

    def _release(self, job: SaveJob) -> None:
        """The job's worker sent its terminal signal: let it go, whatever its job's state is now."""
        self._workers.pop(job.id, None)
        self._remove_spool_if_free(job)

    def _on_stage(self, job_id: int, name: str) -> None:
        job = self._job(job_id)
        if job.state is JobState.CANCELLED:
            return
        if job.started_at is None:
            job.started_at = time.monotonic()
        if job.state is JobState.QUEUED:
            job.state = JobState.PREPARING
        job.stage = name
        self._changed(job)

    def _on_progress(self, job_id: int, fraction: float) -> None:
        job = self._job(job_id)
        if job.state in (JobState.RECORDING, JobState.PREPARING):
            job.progress = fraction
            if job.state is JobState.RECORDING and job.live is not None:
                job.frames = job.live.written
            self._changed(job)

    def _on_prepared(self, job_id: int, episode: EpisodeData) -> None:
        job = self._job(job_id)
        self._release(job)
        if job.state is JobState.CANCELLED:
            return
        job.prepared, job.prepared_at = episode, time.monotonic()
        facts = getattr(episode, "facts", None)  # a substituted prepare function may return something else
        job.flags = list(facts.flags) if facts is not None else []
        self._measure_throughput(job, len(episode.action) if job.live is not None else job.frames)
        job.live = None
        job.progress = 1.0
        if job.state is not JobState.RECORDING:  # a live take's hand-over (take_ended) may still be on its way
            job.state = JobState.HELD if job.held else JobState.READY
        job.stage = ("waiting for the operator's Keep / Drop" if job.held_for == HELD_FOR_OPERATOR
                     else "waiting for the reset to end") if job.held else "waiting to commit"
        self._changed(job)
        self._pump()

    def _on_committed(self, job_id: int, index: int) -> None:
        job = self._job(job_id)
        self._release(job)
        job.state, job.stage, job.episode = JobState.DONE, "saved", index
        self.committed_episodes = index + 1
        job.finished_at = time.monotonic()
        job.prepared = None
        for other in self.jobs:  # a take dropped as this episode can no longer be put back: its row says so
            if other.dropped and other.episode == index:
                self._changed(other)
        self._changed(job)
        self.job_saved.emit(job)
        self._pump()

    def _on_failed(self, job_id: int, reason: str) -> None:
        job = self._job(job_id)
        self._release(job)
        if job.state is JobState.CANCELLED:
            self._pump()
            return
        job.state, job.error, job.finished_at = JobState.FAILED, reason, time.monotonic()
        job.live = None if job.owner is SpoolOwner.QUEUE else job.live
        self._changed(job)
        self.job_failed.emit(job)
        self._pump()

    def _on_cancelled(self, job_id: int) -> None:
        self._release(self._job(job_id))
        self._pump()

    def _pump(self) -> None:
        """Commit the head of the queue when it is ready; announce idleness, or a failure nothing passes."""
        if self._closed:
            return
        head = self._head()
        if head is not None and head.state is JobState.READY and head.id not in self._workers:
            head.state, head.stage = JobState.COMMITTING, "committing"
            self._changed(head)
            self._launch(head, _CommitRunnable(head, self.writer, self.commit), self._commit_pool)
        if self.is_idle and not self._workers:
            self.idle.emit()
        stuck = self.stuck_on
        if stuck is not None:
            self.stuck.emit(stuck)

    def shutdown(self, wait_ms: int = 30_000) -> None:
        """Stop taking work; wait for workers in flight (used when quitting anyway). A commit in flight is
        let finish; everything else is cancelled, and unsaved takes keep their spools for recovery."""
        self._closed = True
        for j in self.jobs:
            if j.pending and j.state is not JobState.COMMITTING:
                j.cancel_flag.set()
        self._pool.waitForDone(wait_ms)
        self._commit_pool.waitForDone(wait_ms)

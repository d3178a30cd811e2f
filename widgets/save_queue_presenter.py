"""What the save-queue panel (and the quit dialog) say about each take, from the queue's job records. Qt-free.

One function decides a take's stage (`stage_of`); everything shown follows from it, so a row never reads as
saved before its commit, a bar is drawn only for work that progresses (encoding a finished take), and the
time shown is the save's own: from the end of the take to its commit.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from station.dataset.quality import FLAG_WORDS
from station.saving.queue import HELD_FOR_OPERATOR, JobState, JobStatus, SaveJob, SaveQueue


class RowStage(Enum):
    RECORDING = "recording"  # the take is still being recorded, and encoded as it goes
    WAITING_TO_ENCODE = "waiting to encode"
    ENCODING = "encoding"
    HELD = "held"  # encoded, kept back until the reset ends or the operator keeps / drops it
    WAITING_TO_COMMIT = "waiting for the take ahead"
    COMMITTING = "writing to the dataset"
    SAVED = "saved"
    FAILED = "failed"
    THROWN_AWAY = "thrown away"


class Tone(Enum):
    QUIET = "quiet"  # waiting, thrown away
    BUSY = "busy"  # work in progress
    DONE = "done"
    BAD = "bad"


TONES = {
    RowStage.RECORDING: Tone.BUSY, RowStage.WAITING_TO_ENCODE: Tone.QUIET, RowStage.ENCODING: Tone.BUSY,
    RowStage.HELD: Tone.QUIET, RowStage.WAITING_TO_COMMIT: Tone.QUIET, RowStage.COMMITTING: Tone.BUSY,
    RowStage.SAVED: Tone.DONE, RowStage.FAILED: Tone.BAD, RowStage.THROWN_AWAY: Tone.QUIET,
}
UNFINISHED = (RowStage.RECORDING, RowStage.WAITING_TO_ENCODE, RowStage.ENCODING, RowStage.HELD,
              RowStage.WAITING_TO_COMMIT, RowStage.COMMITTING)


STAGES = {
    JobState.RECORDING: RowStage.RECORDING, JobState.QUEUED: RowStage.WAITING_TO_ENCODE,
    JobState.PREPARING: RowStage.ENCODING, JobState.HELD: RowStage.HELD, JobState.READY: RowStage.WAITING_TO_COMMIT,
    JobState.COMMITTING: RowStage.COMMITTING, JobState.DONE: RowStage.SAVED, JobState.FAILED: RowStage.FAILED,
    JobState.CANCELLED: RowStage.THROWN_AWAY,
}


def stage_of(job: SaveJob) -> RowStage:
    """The one reading of a job record the panel relies on: its state."""
    return STAGES[job.state]


def seconds_words(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s"


def save_started_at(job: SaveJob) -> float | None:
    """When the save began: the end of the take (a finished take handed over whole: when it was handed over)."""
    if job.ended_at is not None:
        return job.ended_at
    return job.submitted_at if job.recorded else None


def save_seconds(job: SaveJob, now: float | None = None) -> float | None:
    """The save's own time: from the end of the take to its commit (still counting while it is not saved),
    less the time it waited, encoded, for the reset to end or the operator's Keep / Drop (not the save's)."""
    start = save_started_at(job)
    if start is None or job.status is JobStatus.CANCELLED:
        return None
    done = job.finished_at if job.status in (JobStatus.DONE, JobStatus.FAILED) else None
    end = done if done is not None else (time.monotonic() if now is None else now)
    held_until = end if job.held else job.released_at
    if job.prepared_at is not None and held_until is not None:
        end -= max(0.0, held_until - max(job.prepared_at, start))
    return max(0.0, end - start)


def recorded_frames(job: SaveJob) -> int:
    """Frames of the take on disk so far (a live take's spool counts them as they are written)."""
    return job.live.written if job.live is not None and not job.recorded else job.frames


def encoder_behind_s(job: SaveJob, fps: int) -> float:
    """How far the encoding of a take being recorded is behind its recording (all of it, if not started)."""
    encoded = job.progress * job.frames if job.status is JobStatus.RUNNING else 0.0
    return max(0.0, recorded_frames(job) - encoded) / max(1, fps)


@dataclass(frozen=True)
class RowView:
    stage: RowStage
    episode: str
    task: str
    frames: str
    words: str  # the stage in words
    bar: float | None  # 0..1 for work that progresses; None: no bar
    progress_text: str  # shown where there is no bar
    elapsed: str
    tooltip: str
    tone: Tone


def held_words(job: SaveJob) -> str:
    """What a held take waits for: the end of the reset, or the operator's Keep / Drop after a device failure."""
    if job.held_for == HELD_FOR_OPERATOR:
        return "held until you Keep or Drop it"
    return "held while ← can throw it away"  # the reset phase, or the seconds after a stop


def row_view(job: SaveJob, episode: int | None, fps: int, now: float | None = None, restorable: bool = False
             ) -> RowView:
    """What a take's row says; `restorable`: a dropped take that may still be put back."""
    stage = stage_of(job)
    bar: float | None = None
    progress_text = ""
    tooltip = ""
    if stage is RowStage.RECORDING and job.status is JobStatus.QUEUED:
        words = "recording · its encoding starts once the take ahead is encoded"
        progress_text = "waiting"
    elif stage is RowStage.RECORDING:
        words = f"recording · encoded as it goes, {seconds_words(encoder_behind_s(job, fps))} behind"
        progress_text = "live"
    elif stage is RowStage.WAITING_TO_ENCODE:
        words = "waiting to encode"
    elif stage is RowStage.ENCODING and job.progress >= 1.0:  # the video is done; image stats follow
        words = "encoded · computing image statistics" + (f", then {held_words(job)}" if job.held else "")
        progress_text = "not saved yet"
    elif stage is RowStage.ENCODING:
        words = "encoding" + (f" · then {held_words(job)}" if job.held else "")
        bar = min(1.0, max(0.0, job.progress))
    elif stage is RowStage.HELD:
        words = f"encoded · {held_words(job)}, not saved yet"
        progress_text = "not saved yet"
    elif stage is RowStage.WAITING_TO_COMMIT:
        words = "encoded · waits for the take ahead of it to be saved"
        progress_text = "not saved yet"
    elif stage is RowStage.COMMITTING:
        words = "writing to the dataset"
        progress_text = "writing…"
    elif stage is RowStage.SAVED and job.dropped:
        words = "dropped from the dataset" if episode is None else \
            f"dropped from the dataset (was episode {episode}; Review > Put the dropped take back)" if restorable \
            else f"dropped from the dataset (was episode {episode})"
        progress_text = "dropped"
    elif stage is RowStage.SAVED:
        words = f"saved as episode {episode}" if episode is not None else "saved"
        progress_text = "✓ saved"
        if job.flags:  # the take's quality flags, in plain words; each one's meaning in the tooltip
            words += " · " + ", ".join(FLAG_WORDS[f][0] for f in job.flags if f in FLAG_WORDS)
            tooltip = "\n".join(f"{FLAG_WORDS[f][0]}: {FLAG_WORDS[f][1]}" for f in job.flags if f in FLAG_WORDS)
    elif stage is RowStage.FAILED:
        words = f"failed: {job.error} — select it, then Retry or Discard"
        progress_text = "not saved"
        tooltip = job.error
    else:
        words = "thrown away (recorded again or discarded)"
    seconds = save_seconds(job, now)
    return RowView(
        stage=stage,
        episode="—" if episode is None else str(episode),
        task=job.task,
        frames=str(recorded_frames(job)),
        words=words,
        bar=bar,
        progress_text=progress_text,
        elapsed="" if seconds is None else seconds_words(seconds),
        tooltip=tooltip or words,
        tone=Tone.QUIET if job.dropped else TONES[stage],
    )


def overall_progress(jobs: Sequence[SaveJob]) -> tuple[int, int, float]:
    """(saved, total, fraction) over the given takes: what the quit dialog shows, in the panel's own figures.

    Each take counts the percentage its row's bar shows while it is encoded, 100 % once encoded; the whole
    stays below 100 % until every take is committed. A take still being recorded counts 0; thrown-away
    takes do not count.
    """
    kept = [j for j in jobs if j.status is not JobStatus.CANCELLED]
    if not kept:
        return 0, 0, 1.0
    saved = sum(1 for j in kept if j.status is JobStatus.DONE)
    fraction = sum(row_fraction(j) for j in kept) / len(kept)
    return saved, len(kept), fraction if saved == len(kept) else min(0.99, fraction)


def row_fraction(job: SaveJob) -> float:
    """The take's progress as its row shows it (its bar's value while encoding)."""
    stage = stage_of(job)
    if stage in (RowStage.SAVED, RowStage.HELD, RowStage.WAITING_TO_COMMIT, RowStage.COMMITTING):
        return 1.0
    if stage is RowStage.ENCODING:
        return min(1.0, max(0.0, job.progress))
    return 0.0


# -- the summary line --

@dataclass(frozen=True)
class QueueFacts:
    """What the summary is computed from (gathered by the controller from the queue and the session)."""

    saved: int
    saving: int  # kept takes not yet in the dataset (the one being recorded included)
    failed: int
    drain_s: float | None  # time to save the finished takes, once measured
    backlog: int  # finished takes still to be encoded (the time left is theirs)
    lag_s: float | None  # how far live encoding is behind the take being recorded
    encode_fps: float  # camera-frames per second the encoder manages, once measured
    need_fps: float  # camera-frames per second recording produces, averaged over take + reset


def queue_facts(queue: SaveQueue, cameras: int, episode_time_s: float, reset_time_s: float) -> QueueFacts:
    fps = queue.writer.spec.fps
    stages = [stage_of(j) for j in queue.jobs]
    duty = episode_time_s / max(1e-9, episode_time_s + reset_time_s)
    return QueueFacts(
        saved=sum(1 for j, s in zip(queue.jobs, stages, strict=True) if s is RowStage.SAVED and not j.dropped),
        saving=sum(1 for s in stages if s in UNFINISHED),
        failed=stages.count(RowStage.FAILED),
        drain_s=queue.drain_estimate_s(),
        backlog=sum(1 for j, s in zip(queue.jobs, stages, strict=True)
                    if s is RowStage.WAITING_TO_ENCODE or (s is RowStage.ENCODING and j.progress < 1.0)),
        # how far behind the take being recorded is, once its encoder runs (waiting for the take ahead, the
        # rate says whether saving keeps up)
        lag_s=next((encoder_behind_s(j, fps) for j, s in zip(queue.jobs, stages, strict=True)
                    if s is RowStage.RECORDING and j.status is JobStatus.RUNNING), None),
        encode_fps=queue.encode_fps,
        need_fps=fps * max(1, cameras) * duty,
    )


@dataclass(frozen=True)
class SummaryView:
    text: str
    tone: Tone


def summary_view(f: QueueFacts) -> SummaryView:
    """Always in this order: saved · saving (and time left) · speed · failed. Nothing said twice or against itself."""
    parts: list[str] = []
    tone = Tone.DONE
    parts.append(f"{f.saved} saved")
    if f.saving:
        saving = f"{f.saving} saving"
        if f.backlog and f.drain_s is not None:
            saving += f", about {f.drain_s:.0f} s left" if f.drain_s >= 1 else ", done within a second"
        elif f.backlog:
            saving += ", estimating the time left"
        parts.append(saving)
        tone = Tone.BUSY
    elif f.failed:
        pass  # "n saved", then the failures: not "all saved"
    elif f.saved == 0:
        parts[0] = "Nothing to save yet"
        tone = Tone.QUIET
    else:
        parts[0] = f"All takes saved ({f.saved})"
    speed = _speed_words(f)
    if speed is not None and f.failed and speed[1]:
        speed = None  # encoding keeps up, but a failed save holds every take behind it: not "keeping up"
    if speed is not None:
        words, keeping_up = speed
        parts.append(words)
        if not keeping_up:
            tone = Tone.BAD
    if f.failed:
        parts.append(f"{f.failed} failed: select the row, then Retry or Discard")
        tone = Tone.BAD
    return SummaryView("  ·  ".join(parts), tone)


def _speed_words(f: QueueFacts) -> tuple[str, bool] | None:
    """Whether saving keeps up, said only while there is saving to keep up with."""
    if not f.saving:
        return None
    if f.lag_s is not None and f.lag_s < 2:
        return "keeping up with recording", True
    if f.lag_s is not None and f.encode_fps <= 0:
        return f"encoding {f.lag_s:.0f} s behind the take in progress", f.lag_s < 5
    if f.lag_s is None and f.backlog == 0:
        return None  # every take kept is encoded: nothing is behind now (the next take will say how it goes)
    if f.encode_fps <= 0 or f.need_fps <= 0:
        return None
    if f.encode_fps >= 0.9 * f.need_fps:
        return "keeping up with recording", True
    # short enough for the panel's one line at 1280 px with the counts before it (the preflight's banner says
    # where H.264 is chosen)
    return "slower than recording: lengthen the reset, or use H.264 video", False


def dataset_job_row(task: str, seconds: float, *, running: str, bar: float | None = None,
                    done: tuple[str, str] | None = None, failed: tuple[str, str] | None = None,
                    frames: str = "") -> RowView:
    """The panel row of a job on the whole dataset (pack, push): running (with a bar), done or failed, each given
    as (words, progress text)."""
    if failed is not None:
        stage, (words, text) = RowStage.FAILED, failed
    elif done is not None:
        stage, (words, text) = RowStage.SAVED, done
    else:
        stage, words, text = RowStage.COMMITTING, running, ""
    return RowView(
        stage=stage,
        episode="all",
        task=task,
        frames=frames,
        words=words,
        bar=bar if stage is RowStage.COMMITTING else None,
        progress_text=text,
        elapsed=seconds_words(seconds),
        tooltip=words,
        tone=TONES[stage],
    )

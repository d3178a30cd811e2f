"""What the save-queue panel says about a take at each stage, from job records alone (no window, no queue)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from station.saving.queue import HELD_FOR_OPERATOR, JobState, SaveJob, SpoolOwner
from widgets.save_queue_presenter import (
    QueueFacts,
    RowStage,
    Tone,
    overall_progress,
    queue_facts,
    row_view,
    save_seconds,
    stage_of,
    summary_view,
)

FPS = 30


def job(**fields) -> SaveJob:
    record = SaveJob(id=0, spool_dir=Path("/nonexistent"), task="stack", frames=150, cameras=2, submitted_at=100.0)
    for name, value in fields.items():
        setattr(record, name, value)
    return record


PREPARED = object()  # stands for the EpisodeData of an encoded take


def live_take(**fields) -> SaveJob:
    """A take being recorded and encoded as it goes (held: the reset may still throw it away)."""
    return job(**{"state": JobState.RECORDING, "owner": SpoolOwner.RECORDER, "held": True, "started_at": 100.0,
                  **fields})


ENDED = {"owner": SpoolOwner.QUEUE, "ended_at": 105.0}  # the take ended: its spool is the queue's


def test_each_stage_of_a_kept_take_reads_true_and_only_encoding_has_a_bar():
    recording = live_take(progress=0.9)
    ended = live_take(state=JobState.PREPARING, progress=0.6, **ENDED)
    held = live_take(state=JobState.HELD, progress=1.0, prepared=PREPARED, **ENDED)
    waiting = job(state=JobState.READY, ended_at=105.0, progress=1.0, prepared=PREPARED)
    committing = job(state=JobState.COMMITTING, ended_at=105.0, progress=1.0, prepared=PREPARED)
    saved = job(state=JobState.DONE, ended_at=105.0, progress=1.0, episode=3, finished_at=106.5)
    failed = job(state=JobState.FAILED, ended_at=105.0, error="the disk is full", finished_at=106.0)
    queued = job()

    views = {name: row_view(j, 3, FPS, now=107.0) for name, j in [
        ("recording", recording), ("ended", ended), ("held", held), ("waiting", waiting),
        ("committing", committing), ("saved", saved), ("failed", failed), ("queued", queued)]}
    assert [v.stage for v in views.values()] == [
        RowStage.RECORDING, RowStage.ENCODING, RowStage.HELD, RowStage.WAITING_TO_COMMIT, RowStage.COMMITTING,
        RowStage.SAVED, RowStage.FAILED, RowStage.WAITING_TO_ENCODE]
    assert views["recording"].words == "recording · encoded as it goes, 0.5 s behind"  # 15 of 150 frames
    waiting = row_view(live_take(started_at=None, frames=0, progress=0.0), 3, FPS)  # no encoder yet
    assert waiting.stage is RowStage.RECORDING and "starts once the take ahead is encoded" in waiting.words
    assert waiting.progress_text == "waiting"  # not "encoded as it goes, 0.0 s behind"
    assert views["recording"].progress_text == "live"
    assert views["ended"].bar == pytest.approx(0.6) and "then held while ← can throw it away" in views["ended"].words
    assert views["held"].words == "encoded · held while ← can throw it away, not saved yet"
    assert views["held"].progress_text == "not saved yet"
    assert views["committing"].words == "writing to the dataset"
    assert views["saved"].words == "saved as episode 3" and views["saved"].tone is Tone.DONE
    assert views["failed"].words.startswith("failed: the disk is full") and views["failed"].tone is Tone.BAD
    # a full bar never stands for "saved": only work that progresses has one
    assert [name for name, v in views.items() if v.bar is not None] == ["ended"]
    assert not any("100" in v.progress_text for v in views.values())


def test_the_save_time_runs_from_the_end_of_the_take_to_its_commit_less_its_wait_for_the_operator():
    # a 5 s take (started at 100), encoded by 106, held by a 3 s reset until 108, committed at 108.4: the save
    # took 1.4 s, not 8.4 s (from the take's start) nor 3.4 s (its wait for the reset counted)
    saved = live_take(state=JobState.DONE, held=False, prepared_at=106.0, released_at=108.0, finished_at=108.4,
                      **ENDED)
    assert save_seconds(saved) == pytest.approx(1.4)
    assert row_view(saved, 0, FPS).elapsed == "1.4 s"
    assert save_seconds(live_take(), now=104.0) is None  # still being recorded: no save time yet
    assert row_view(live_take(), 0, FPS, now=104.0).elapsed == ""
    encoding = live_take(state=JobState.PREPARING, **ENDED)
    assert save_seconds(encoding, now=107.0) == pytest.approx(2.0)  # held, still encoding: counting
    held = live_take(state=JobState.HELD, prepared=PREPARED, prepared_at=106.0, **ENDED)
    assert save_seconds(held, now=107.0) == save_seconds(held, now=160.0) == pytest.approx(1.0)  # waits: stopped
    # a take released before it was encoded never waited for anyone
    early = live_take(state=JobState.DONE, held=False, prepared_at=107.0, released_at=106.0, finished_at=107.5,
                      **ENDED)
    assert save_seconds(early) == pytest.approx(2.5)
    # a finished take handed over whole (recovery): from when it was handed over
    assert save_seconds(job(state=JobState.DONE, finished_at=172.0)) == pytest.approx(72.0)
    assert row_view(job(state=JobState.DONE, finished_at=172.0), 0, FPS).elapsed == "1 min 12 s"
    assert save_seconds(job(state=JobState.CANCELLED, finished_at=101.0)) is None


def test_overall_progress_uses_the_rows_own_figures_and_never_reads_saved_before_the_commit():
    encoding = job(state=JobState.PREPARING, progress=0.77, started_at=101.0)
    assert overall_progress([encoding]) == (0, 1, pytest.approx(0.77))  # the row's bar says 77 %
    encoded = job(state=JobState.READY, progress=1.0, prepared=PREPARED)
    assert overall_progress([encoded])[2] == pytest.approx(0.99)  # encoded, not yet committed
    saved = job(state=JobState.DONE, finished_at=103.0)
    thrown = job(state=JobState.CANCELLED)
    assert overall_progress([saved, encoding, thrown]) == (1, 2, pytest.approx((1 + 0.77) / 2))
    assert overall_progress([saved]) == (1, 1, 1.0)


def facts(**fields) -> QueueFacts:
    base = dict(saved=0, saving=0, failed=0, drain_s=None, backlog=0, lag_s=None, encode_fps=0.0, need_fps=60.0)
    base.update(fields)
    return QueueFacts(**base)


def test_the_summary_keeps_one_order_and_never_contradicts_itself():
    idle = summary_view(facts(saved=5, encode_fps=20.0))  # a slow encoder, but nothing left to save
    assert idle.text == "All takes saved (5)" and idle.tone is Tone.DONE
    assert summary_view(facts()).text == "Nothing to save yet"
    live = summary_view(facts(saved=2, saving=1, lag_s=0.4, encode_fps=200.0))
    assert live.text == "2 saved  ·  1 saving  ·  keeping up with recording" and live.tone is Tone.BUSY
    slow = summary_view(facts(saved=2, saving=3, backlog=2, drain_s=41.6, encode_fps=20.0, failed=1))
    parts = slow.text.split("  ·  ")
    assert parts[0] == "2 saved" and parts[1] == "3 saving, about 42 s left"
    assert parts[2].startswith("slower than recording") and parts[3].startswith("1 failed")
    assert slow.tone is Tone.BAD
    assert "--" not in slow.text and "vcodec" not in slow.text  # window words, not command-line flags
    # during a reset the take just recorded is encoded and held: a slow encoder has nothing to be behind on
    held = summary_view(facts(saved=1, saving=1, encode_fps=20.0))
    assert held.text == "1 saved  ·  1 saving" and held.tone is Tone.BUSY
    blocked = summary_view(facts(saved=1, saving=2, lag_s=0.4, encode_fps=200.0, failed=1))
    assert "keeping up" not in blocked.text and blocked.text.endswith("1 failed: select the row, then Retry or Discard")
    failed_only = summary_view(facts(saved=1, failed=1))
    assert failed_only.text == "1 saved  ·  1 failed: select the row, then Retry or Discard"
    assert failed_only.tone is Tone.BAD


def test_stage_of_follows_the_queue_record_not_its_stage_text():
    # the worker's stage text says "saved" as the writer finishes, before the queue hears of the commit
    committing = job(state=JobState.COMMITTING, prepared=PREPARED, stage="saved")
    assert stage_of(committing) is RowStage.COMMITTING


def test_a_take_held_after_a_device_failure_waits_for_the_operator_not_for_a_reset():
    cut = live_take(state=JobState.HELD, progress=1.0, prepared=PREPARED, held_for=HELD_FOR_OPERATOR, **ENDED)
    view = row_view(cut, None, FPS, now=106.0)
    assert view.stage is RowStage.HELD
    assert view.words == "encoded · held until you Keep or Drop it, not saved yet"
    encoding = row_view(live_take(state=JobState.PREPARING, progress=0.5, held_for=HELD_FOR_OPERATOR, **ENDED), None,
                        FPS)
    assert "reset" not in encoding.words and "Keep or Drop" in encoding.words


def test_a_take_still_recording_whose_encoding_has_not_started_does_not_count_as_keeping_up():
    # a finished take is still being encoded, and the take being recorded waits for an encoder: nothing
    # encodes it yet, so its (tiny) distance behind says nothing; the measured rate decides
    encoding = job(state=JobState.PREPARING, progress=0.5, started_at=101.0, ended_at=100.0)
    waiting = live_take(started_at=None, frames=0, progress=0.0)
    queue = SimpleNamespace(jobs=[encoding, waiting], writer=SimpleNamespace(spec=SimpleNamespace(fps=FPS)),
                            drain_estimate_s=lambda: 6.0, encode_fps=20.0)
    f = queue_facts(queue, cameras=2, episode_time_s=8.0, reset_time_s=6.0)  # type: ignore[arg-type]
    assert f.lag_s is None and f.backlog == 1
    parts = summary_view(f).text.split("  ·  ")
    assert parts[1] == "2 saving, about 6 s left"
    assert parts[2].startswith("slower than recording") and "keeping up" not in summary_view(f).text
    assert summary_view(f).tone is Tone.BAD
    # once its own encoder runs, 0.5 s behind: that is keeping up, whatever the rate measured so far
    queue.jobs = [live_take(progress=0.9)]
    f = queue_facts(queue, cameras=2, episode_time_s=8.0, reset_time_s=6.0)  # type: ignore[arg-type]
    assert f.lag_s == pytest.approx(0.5)
    assert summary_view(f).text.endswith("keeping up with recording")

"""The save queue with fake slow jobs: commit order, failure and retry, cancel on re-record, discard."""

from __future__ import annotations

import errno
import gc
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from station.dataset.spec import DatasetSpec
from station.saving.job import disk_errors_in_plain_words
from station.saving.queue import JobState, JobStatus, SaveQueue, SpoolOwner
from station.saving.spool import CadenceReport, SpoolWriter, TakeInfo


@dataclass
class FakeWriter:
    root: Path
    spec: DatasetSpec = field(default_factory=lambda: DatasetSpec(fps=30))
    committed: list[str] = field(default_factory=list)

    @property
    def total_episodes(self) -> int:
        return len(self.committed)

    def repair(self) -> list[str]:
        return []


class Gates:
    """Prepare functions that wait until the test opens their gate, and can fail on demand."""

    def __init__(self) -> None:
        self.gates: dict[str, threading.Event] = {}
        self.fail_once: set[str] = set()

    def gate(self, task: str) -> threading.Event:
        return self.gates.setdefault(task, threading.Event())

    def prepare(self, spool, video, reporter):
        task = spool.info.task
        reporter.stage("encoding front")
        assert self.gate(task).wait(10)
        if task in self.fail_once:
            self.fail_once.discard(task)
            with disk_errors_in_plain_words(spool.directory):
                raise OSError(errno.ENOSPC, "No space left on device")
        reporter.progress(1.0)
        return task

    @staticmethod
    def commit(writer, episode, reporter, spool_dir):
        reporter.stage("committing")
        writer.committed.append(episode)
        return len(writer.committed) - 1


def make_spool(root: Path, task: str) -> Path:
    info = TakeInfo(task, 30, "so_follower", [f"j{i}" for i in range(6)], [], time.time())
    w = SpoolWriter.create(root, info)
    for i in range(3):
        w.append(i / 30, np.zeros(6, np.float32), np.zeros(6, np.float32), {})
    return w.finish(CadenceReport(ticks=3))


@pytest.fixture
def setup(qtbot, tmp_path):
    gates = Gates()
    writer = FakeWriter(tmp_path)
    queue = SaveQueue(writer, prepare_threads=2, prepare=gates.prepare, commit=gates.commit)  # type: ignore[arg-type]
    yield queue, writer, gates, tmp_path
    for g in gates.gates.values():
        g.set()
    queue.shutdown()


def test_commits_follow_take_order_whatever_finishes_first(qtbot, setup):
    queue, writer, gates, root = setup
    jobs = [queue.submit(make_spool(root, t)) for t in ("a", "b", "c")]
    assert [queue.expected_episode(j) for j in jobs] == [0, 1, 2]
    gates.gate("b").set()
    qtbot.waitUntil(lambda: jobs[1].stage == "waiting to commit")
    assert writer.committed == []  # b is ready but a is not
    with qtbot.waitSignal(queue.idle, timeout=10_000, check_params_cb=lambda *a: queue.is_idle):
        gates.gate("a").set()
        gates.gate("c").set()
    assert writer.committed == ["a", "b", "c"]
    assert [j.episode for j in jobs] == [0, 1, 2]
    assert all(j.status is JobStatus.DONE for j in jobs)
    assert not any(j.spool_dir.exists() for j in jobs)


def test_a_saved_take_leaves_nothing_behind_in_memory(qtbot, tmp_path):
    class Episode:  # what a prepare step hands to its commit step (weakly referenceable, unlike a str)
        pass

    made: list[weakref.ref] = []

    def prepare(spool, video, reporter):
        episode = Episode()
        made.append(weakref.ref(episode))
        return episode

    queue = SaveQueue(FakeWriter(tmp_path), prepare_threads=2, prepare=prepare,  # type: ignore[arg-type]
                      commit=lambda writer, episode, reporter, spool_dir: 0)
    try:
        with qtbot.waitSignal(queue.idle, timeout=10_000, check_params_cb=lambda *a: queue.is_idle):
            jobs = [queue.submit(make_spool(tmp_path, t)) for t in ("a", "b", "c")]
        assert all(j.status is JobStatus.DONE for j in jobs)
        gc.collect()
        assert len(made) == 3 and [r() for r in made] == [None] * 3  # (the pool used to keep every runnable)
    finally:
        queue.shutdown()


def first_of_two_fails(qtbot, queue, gates, root):
    """Takes a and b queued; a's save fails on a full disk. Returns (a, b)."""
    gates.fail_once.add("a")
    a = queue.submit(make_spool(root, "a"))
    b = queue.submit(make_spool(root, "b"))
    with qtbot.waitSignal(queue.job_failed, timeout=10_000):
        gates.gate("a").set()
    return a, b


def test_failure_keeps_spool_blocks_later_commits_and_retry_works(qtbot, setup):
    queue, writer, gates, root = setup
    a, b = first_of_two_fails(qtbot, queue, gates, root)
    assert a.status is JobStatus.FAILED
    assert "disk" in a.error and "full" in a.error and "free some space" in a.error
    assert "Retry" not in a.error  # the window offers Retry itself; headless has none
    assert a.spool_dir.exists()
    gates.gate("b").set()
    qtbot.waitUntil(lambda: b.stage == "waiting to commit")
    assert writer.committed == []  # b must not take a's episode number
    assert queue.expected_episode(b) == 1
    with qtbot.waitSignal(queue.job_saved, timeout=10_000, check_params_cb=lambda j: j is b):
        queue.retry(a)
    assert writer.committed == ["a", "b"] and (a.episode, b.episode) == (0, 1)


def test_discarding_a_failed_take_moves_the_next_one_up(qtbot, setup):
    queue, writer, gates, root = setup
    a, b = first_of_two_fails(qtbot, queue, gates, root)
    with qtbot.waitSignal(queue.job_saved, timeout=10_000):
        gates.gate("b").set()
        queue.discard(a)
    assert a.status is JobStatus.CANCELLED and not a.spool_dir.exists()
    assert writer.committed == ["b"] and b.episode == 0


def test_rerecord_cancels_the_held_take(qtbot, setup):
    queue, writer, gates, root = setup
    a = queue.submit(make_spool(root, "a"), held=True)  # in its reset phase: may still be re-recorded
    gates.gate("a").set()
    qtbot.waitUntil(lambda: a.prepared is not None)
    assert writer.committed == [] and a.stage == "waiting for the reset to end"
    assert queue.cancel(a)
    assert a.status is JobStatus.CANCELLED and not a.spool_dir.exists()
    b = queue.submit(make_spool(root, "a again"))
    assert queue.expected_episode(b) == 0
    with qtbot.waitSignal(queue.job_saved, timeout=10_000):
        gates.gate("a again").set()
    assert writer.committed == ["a again"] and b.episode == 0


def test_cancel_while_running_drops_the_result(qtbot, setup):
    queue, writer, gates, root = setup
    a = queue.submit(make_spool(root, "a"), held=True)
    qtbot.waitUntil(lambda: a.status is JobStatus.RUNNING)
    assert queue.cancel(a)
    gates.gate("a").set()
    qtbot.waitUntil(lambda: queue.workers == 0)
    assert a.status is JobStatus.CANCELLED and writer.committed == [] and not a.spool_dir.exists()


def test_confirmed_take_commits(qtbot, setup):
    queue, writer, gates, root = setup
    a = queue.submit(make_spool(root, "a"), held=True)
    gates.gate("a").set()
    qtbot.waitUntil(lambda: a.prepared is not None)
    with qtbot.waitSignal(queue.job_saved, timeout=10_000):
        queue.confirm(a)
    assert a.status is JobStatus.DONE and writer.committed == ["a"]
    assert not queue.cancel(a)  # in the dataset: too late to discard


def test_a_failed_take_that_blocks_the_rest_is_announced_as_stuck(qtbot, setup):
    queue, writer, gates, root = setup
    a, b = first_of_two_fails(qtbot, queue, gates, root)
    assert queue.stuck_on is a and queue.waiting_behind(a) == [b]
    with qtbot.waitSignal(queue.stuck, timeout=10_000, check_params_cb=lambda j: j is a):
        gates.gate("b").set()  # b is prepared, and can only wait: nothing else will happen by itself
    assert not queue.is_idle and writer.committed == []
    queue.discard(a)
    assert queue.stuck_on is None


def live_spool(root: Path, task: str) -> SpoolWriter:
    info = TakeInfo(task, 30, "so_follower", [f"j{i}" for i in range(6)], (), time.time())
    return SpoolWriter.create(root, info)


def add_rows(spool: SpoolWriter, n: int) -> None:
    for i in range(n):
        spool.append(i / 30, np.zeros(6, np.float32), np.zeros(6, np.float32), {})


def test_a_live_job_that_fails_mid_take_and_is_discarded_lets_the_queue_go_idle(qtbot, tmp_path):
    """Issue 9 defect 1: the worker ends (fails) while its take is still recorded; the take is discarded,
    then ends. Its worker must be released on its own signal, so that `idle` comes."""

    def live_encoder_that_fails(spool, video, reporter):
        reporter.stage("encoding front")
        raise OSError(5, "Input/output error")

    writer = FakeWriter(tmp_path)
    queue = SaveQueue(writer, prepare=Gates().prepare, commit=Gates.commit,  # type: ignore[arg-type]
                      prepare_live=live_encoder_that_fails)
    try:
        spool = live_spool(tmp_path, "a")
        with qtbot.waitSignal(queue.job_failed, timeout=10_000):
            job = queue.submit_live(spool)
        assert job.state is JobState.FAILED and job.owner is SpoolOwner.RECORDER
        add_rows(spool, 3)  # the take goes on being recorded
        queue.discard(job)
        assert job.state is JobState.CANCELLED and spool.directory.exists()  # still the recorder's
        with qtbot.waitSignal(queue.idle, timeout=10_000):
            spool.finish(CadenceReport(ticks=3))
            queue.take_ended(job, 3, None)
        assert queue.workers == 0 and not spool.directory.exists() and writer.committed == []
    finally:
        queue.shutdown()


def test_the_live_encoder_is_injectable_and_follows_the_take_to_its_end(qtbot, tmp_path):
    def count_rows(spool, video, reporter):
        reporter.stage("encoding front")
        with spool._written_changed:
            while not spool.ended:
                spool._written_changed.wait(0.1)
        return SimpleNamespace(task=spool.info.task, action=np.zeros((spool.written, 6), np.float32))

    writer = FakeWriter(tmp_path)
    queue = SaveQueue(writer, prepare=Gates().prepare, commit=Gates.commit,  # type: ignore[arg-type]
                      prepare_live=count_rows)
    try:
        spool = live_spool(tmp_path, "a")
        job = queue.submit_live(spool, held=True)
        assert job.state is JobState.RECORDING
        add_rows(spool, 5)
        spool.finish(CadenceReport(ticks=5))
        queue.take_ended(job, 5, None)
        qtbot.waitUntil(lambda: job.state is JobState.HELD)
        assert writer.committed == []  # held: the reset may still throw it away
        with qtbot.waitSignal(queue.idle, timeout=10_000):
            queue.confirm(job)
        assert job.state is JobState.DONE and len(writer.committed) == 1
        assert writer.committed[0].task == "a" and len(writer.committed[0].action) == 5
    finally:
        queue.shutdown()


def test_progress_reaches_the_window_a_few_times_a_second_even_while_a_live_encoder_keeps_up():
    import threading

    from station.saving.queue import PROGRESS_INTERVAL_S, _ThrottledReporter, _WorkerSignals

    signals = _WorkerSignals()
    sent: list[float] = []
    signals.progress.connect(lambda _id, fraction: sent.append(fraction))
    reporter = _ThrottledReporter(1, signals, threading.Event())
    for i in range(300):  # frames arriving and encoded at once: caught up (1.0) after almost every one
        reporter.progress(1.0 if i % 3 else 0.99)
    assert sent[:2] == [0.99, 1.0] and len(sent) <= 3  # no time has passed: not one report per frame
    reporter._last -= PROGRESS_INTERVAL_S  # a report's interval later
    reporter.progress(0.99)
    assert sent[-1] == 0.99

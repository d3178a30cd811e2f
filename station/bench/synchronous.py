"""The benchmark's baseline: the same session, but each take saved inline before the next one starts.

This is how LeRobot's recorder behaves (and how the station would without its background queue); the
benchmark records the same session both ways to measure what background saving buys. It lives here, not in
the Recorder, so the production class carries no benchmark mode: it overrides the Recorder's four hooks.
"""

from __future__ import annotations

import time
from typing import Any

from station.saving.job import save_episode
from station.saving.spool import SpoolReader
from station.session.loop import TakeRecorder
from station.session.recorder import FinishedTake, Recorder


class SynchronousRecorder(Recorder):
    """A Recorder that records the next take only after the previous one is saved, on the session's thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # the Recorder's own arguments
        super().__init__(*args, **kwargs)
        self.sync_save_s: list[float] = []  # how long each inline save blocked the session

    def next_episode(self) -> int:
        """Takes bypass the queue here: the dataset counts what was saved, plus the kept takes not yet saved."""
        return self.writer.total_episodes + sum(1 for ft in self.finished_takes if not ft.discarded)

    def _loop_take(self, new: TakeRecorder | None) -> TakeRecorder | None:
        return None  # nothing is recorded until _start_take, after the inline save

    def _start_take(self) -> None:
        assert self._current is not None
        self.loop.swap_take(self._current)  # no live save job, no next take prepared

    def _finish(self, ft: FinishedTake) -> None:
        self._finish_spool(ft)  # on this thread: its spool-done signal is delivered here directly

    def _save(self, ft: FinishedTake) -> None:
        assert ft.spool_dir is not None
        started = time.monotonic()
        save_episode(SpoolReader(ft.spool_dir), self.writer)
        self.sync_save_s.append(time.monotonic() - started)

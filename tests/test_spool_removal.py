"""A committed take's spool is removed so that a kill at any file never commits it twice nor blocks a start.

The kill is simulated in-process: the K-th file deletion raises an exception that is not an OSError (so no
`ignore_errors` swallows it), which leaves the disk exactly as a SIGKILL at that moment would.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from station.dataset.check import check_dataset
from station.dataset.reader import DatasetReader
from station.dataset.spec import CameraSpec, DatasetSpec, VideoSettings
from station.dataset.writer import DatasetWriter
from station.saving.job import save_episode
from station.saving.queue import SaveQueue
from station.saving.recovery import recover_into_queue
from station.saving.spool import (
    CadenceReport,
    SpoolReader,
    SpoolWriter,
    TakeInfo,
    list_spools,
    remove_spool,
    trash_root,
)

CAMERAS = (CameraSpec("front", 32, 24), CameraSpec("wrist", 16, 12))
FILES_IN_A_COMMITTED_SPOOL = 6  # take.json rows.bin done.json commit.json, 2 frame files (the videos were moved)

class Killed(BaseException):
    pass

def committed_take(root: Path) -> tuple[DatasetWriter, Path]:
    spec = DatasetSpec(fps=30, cameras=CAMERAS, video=VideoSettings.for_codec("h264"))
    writer = DatasetWriter.create(root, "test/removal", spec)
    info = TakeInfo(task="stack", fps=30, robot_type=spec.robot_type, joint_names=list(spec.joint_names),
                    cameras=CAMERAS, created=time.time())
    spool = SpoolWriter.create(root, info)
    for i in range(6):
        images = {c.name: np.full((c.height, c.width, 3), 40 * i, np.uint8) for c in CAMERAS}
        spool.append(i / 30, np.zeros(6, np.float32), np.zeros(6, np.float32), images)
    return writer, spool.finish(CadenceReport(fps=30, ticks=6, repeated_frames={"front": 0, "wrist": 0}))

@pytest.mark.parametrize("k", range(1, FILES_IN_A_COMMITTED_SPOOL + 1))
def test_a_kill_at_any_file_of_the_removal_never_commits_the_take_twice(qtbot, tmp_path, monkeypatch, k):
    writer, path = committed_take(tmp_path / "ds")
    real_unlink = os.unlink
    calls = {"n": 0}

    def unlink(target, *args, **kwargs):
        if "journal" in str(target):  # the commit's own journal, not the spool
            return real_unlink(target, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == k:
            raise Killed()
        return real_unlink(target, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", unlink)
    with pytest.raises(Killed):
        save_episode(SpoolReader(path), writer)
    monkeypatch.undo()
    assert DatasetReader(writer.root).total_episodes == 1

    # The next start (or `station recover`): the take is in the dataset once, and nothing is left over.
    writer = DatasetWriter.open(writer.root, writer.spec)
    queue = SaveQueue(writer)
    try:
        said = recover_into_queue(writer, queue)
        assert queue.jobs == [], said
    finally:
        queue.shutdown()
    assert DatasetReader(writer.root).total_episodes == 1 and check_dataset(writer.root) == []
    assert list_spools(writer.root) == [] and not any(trash_root(writer.root).iterdir())

def test_removing_a_spool_that_is_gone_or_half_gone_works(tmp_path):
    _, path = committed_take(tmp_path / "ds")

    remove_spool(path)
    remove_spool(path)  # already gone: nothing to do
    assert not path.exists() and not any(trash_root(tmp_path / "ds").iterdir())

"""A reader during commits, and a crash inside a commit: what anyone reading the dataset sees (issue 15 item 6).

The station's own readers (`station check`, DatasetReader) must see a consistent dataset at every instant
while takes are committed; a dataset left by a kill at any step of a commit must load in LeRobot before any
repair (`lerobot_view_problems` states LeRobot 0.6's rules without LeRobot: every counted episode whole, and
nothing it reads refers to a file that is not there). See docs/commit.md.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from station.dataset.check import check_dataset
from station.dataset.reader import DatasetReader
from station.dataset.writer import DatasetWriter
from station.saving.lock import DatasetLock
from tests.test_dataset_writer import make_episode, spec_with

COMMITS = 12


def test_a_reader_validating_in_a_loop_during_commits_never_sees_an_inconsistent_dataset(tmp_path):
    root = tmp_path / "ds"
    spec = spec_with()
    writer = DatasetWriter.create(root, "test/visibility", spec)
    episodes = [make_episode(root / ".station" / "spool", spec, 4 + i % 3, f"task {i % 4}", seed=i)
                for i in range(COMMITS)]
    done = threading.Event()
    progress = threading.Condition()
    reads: list[tuple[int, list[str], int]] = []  # (episodes counted, problems, episode rows the reader saw)

    def validate_in_a_loop() -> None:
        while not done.is_set() or len(reads) < 3:
            problems = check_dataset(root, decode_videos=False)
            reader = DatasetReader(root)
            rows = reader.episodes()
            consistent_rows = len(rows) == reader.total_episodes and sum(r["length"] for r in rows) == (
                reader.total_frames
            )
            with progress:
                reads.append((reader.total_episodes, problems + ([] if consistent_rows else ["rows"]), len(rows)))
                progress.notify_all()

    thread = threading.Thread(target=validate_in_a_loop)
    thread.start()
    try:
        with DatasetLock(root):  # as a running station holds it
            for ep in episodes:
                seen = len(reads)
                writer.commit_episode(ep)
                with progress:  # a station commits a take every few seconds: let the reader finish one read
                    progress.wait_for(lambda seen=seen: len(reads) > seen, timeout=30)
    finally:
        done.set()
        thread.join(timeout=60)
    bad = [(n, problems) for n, problems, _ in reads if problems]
    assert not bad, f"{len(bad)} of {len(reads)} reads inconsistent, e.g. {bad[0]}"
    assert len({n for n, _, _ in reads}) > 2, "the reader did not overlap the commits"


# ----- a kill at each step of a commit --------------------------------------------------------------------


def lerobot_view_problems(root: Path) -> list[str]:
    """What would stop LeRobot 0.6 loading `root` or reading any of its rows, found the way LeRobot reads:
    info.json, tasks, every meta/episodes file, every data file (globbed), then videos through the episodes.
    Files beyond info.json's counts are tolerated as LeRobot tolerates them, if whole."""
    info = json.loads((root / "meta" / "info.json").read_text())
    problems = []
    tasks = pq.read_table(root / "meta" / "tasks.parquet") if (root / "meta" / "tasks.parquet").exists() else None
    n_tasks = tasks.num_rows if tasks is not None else 0
    rows = [r for p in sorted((root / "meta" / "episodes").glob("*/*.parquet")) for r in pq.read_table(p).to_pylist()]
    data = [pq.read_table(p) for p in sorted((root / "data").glob("*/*.parquet"))]
    data_eps = sorted({int(e) for t in data for e in np.unique(t.column("episode_index").to_numpy())})
    if len(rows) < info["total_episodes"] or len(data_eps) < info["total_episodes"]:
        problems.append(f"info.json counts {info['total_episodes']} episodes, {len(rows)} rows, data of {data_eps}")
    if info["total_tasks"] > n_tasks:
        problems.append(f"info.json counts {info['total_tasks']} tasks, tasks.parquet has {n_tasks}")
    for e in data_eps:  # LeRobot reads any row it loaded: its episode row, task and videos must be there
        if e >= len(rows):
            problems.append(f"data rows of episode {e} have no meta/episodes row")
    for t in data:
        if len(t) and int(np.max(t.column("task_index").to_numpy())) >= n_tasks:
            problems.append("a data row names a task tasks.parquet does not have")
    for row in rows:
        for key in [k for k in row if k.startswith("videos/") and k.endswith("/chunk_index")]:
            vkey = key[len("videos/") : -len("/chunk_index")]
            path = root / info["video_path"].format(video_key=vkey, chunk_index=row[key],
                                                    file_index=row[f"videos/{vkey}/file_index"])
            if not path.is_file():
                problems.append(f"episode {row['episode_index']}: {path.relative_to(root)} is missing")
    return problems


COMMIT_STEPS = ["after-journal", "published-videos", "published-tasks", "published-episodes", "mid-rename",
                "before-info"]


@pytest.mark.parametrize("step", COMMIT_STEPS)
def test_a_kill_at_any_step_of_a_commit_leaves_a_dataset_lerobot_loads(tmp_path, step):
    root = tmp_path / "ds"
    killed = subprocess.run(
        [sys.executable, "-m", "station", "record", "--headless", "--demo", "--root", str(root), "--episodes", "2",
         "--episode-time", "0.3", "--reset-time", "0", "--camera", "front=testsrc@32x24", "--vcodec", "h264",
         "--task", "first"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ, STATION_KILL_AT=f"{step}:1"),
    )
    assert killed.returncode == -9, f"never reached {step}: {killed.stdout}{killed.stderr}"
    assert (root / ".station" / "journal.json").exists()
    assert lerobot_view_problems(root) == []  # before any repair
    DatasetReader(root).episodes()  # the station's reader too
    recovered = subprocess.run([sys.executable, "-m", "station", "recover", "--root", str(root)],
                               capture_output=True, text=True, timeout=120)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert check_dataset(root) == [] and lerobot_view_problems(root) == []

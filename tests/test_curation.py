"""Mark, exclude, drop-last (and its undo): atomic edits, exact restores, plain refusals, and kill -9 at each step."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from station.cli import main
from station.dataset.check import check_dataset
from station.dataset.curation import drop_last_episode, mark_episode, set_excluded, undo_drop
from station.dataset.episode_facts import COLUMNS, EpisodeFacts, read_episode_facts
from station.dataset.reader import DatasetReader, episode_files
from station.dataset.writer import DatasetWriter, repair_dataset
from station.errors import DatasetError
from station.saving.lock import DatasetLock
from tests.test_dataset_writer import make_episode, spec_with

EPISODES = [(12, "pick"), (9, "pick"), (11, "place")]  # the last brings a new task


def digest(root: Path) -> dict[str, str]:
    """Every dataset file with its content hash (the station's own .station folder left out)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and ".station" not in p.relative_to(root).parts}


def build(root: Path, episodes=EPISODES, facts: bool = True) -> list[dict[str, str]]:
    """Write the episodes one by one; returns the dataset's digest before each episode and after the last."""
    spec = spec_with(cameras=spec_with().cameras[:1])
    writer = DatasetWriter.create(root, "test/curation", spec)
    writer.writes_facts = facts
    states = [digest(root)]
    for seed, (n, task) in enumerate(episodes):
        writer.commit_episode(make_episode(root / ".station" / "spool", spec, n, task, seed))
        states.append(digest(root))
    return states


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> tuple[Path, list[dict[str, str]]]:
    root = tmp_path_factory.mktemp("pristine") / "ds"
    return root, build(root)


@pytest.fixture
def ds(pristine, tmp_path) -> Path:
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(pristine[0], root)
    return root


def station(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """The command line in a child process (for kill tests: the kill point is read at start-up)."""
    return subprocess.run([sys.executable, "-m", "station", *args], capture_output=True, text=True, timeout=120,
                          env=env, stdin=subprocess.DEVNULL)


def cli(*args: str) -> subprocess.CompletedProcess:
    """The command line in this process (fast); same exit codes and output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def test_mark_and_exclude_change_one_row_atomically(ds):
    before = digest(ds)
    assert mark_episode(ds, 1, "failure", "dropped the cube").outcome == "failure"
    set_excluded(ds, 2, True)
    facts = read_episode_facts(ds)
    assert facts[1] == EpisodeFacts(outcome="failure", note="dropped the cube")
    assert facts[2].excluded and facts[0] == EpisodeFacts()
    changed = {k for k in digest(ds) if digest(ds)[k] != before[k]}
    assert changed == {"meta/episodes/chunk-000/file-001.parquet", "meta/episodes/chunk-000/file-002.parquet"}
    set_excluded(ds, 2, False)
    mark_episode(ds, 1, "success")  # the note stays unless a new one is given
    assert read_episode_facts(ds)[1] == EpisodeFacts(outcome="success", note="dropped the cube")
    assert not read_episode_facts(ds)[2].excluded
    assert check_dataset(ds) == []


def test_drop_last_puts_every_file_total_and_stat_back_and_undo_restores_it(ds, pristine):
    states = pristine[1]
    assert digest(ds) == states[3]
    drop = drop_last_episode(ds)
    assert (drop.episode_index, drop.length, drop.task) == (2, 11, "place")
    assert digest(ds) == states[2]  # byte for byte: info.json, stats.json, tasks.parquet, no file of episode 2
    assert check_dataset(ds) == []
    undo_drop(ds)
    assert digest(ds) == states[3] and check_dataset(ds) == []
    for expected in (states[2], states[1], states[0]):
        drop_last_episode(ds)
        assert digest(ds) == expected
    assert DatasetReader(ds).total_episodes == 0 and check_dataset(ds) == []
    with pytest.raises(DatasetError, match="no episodes to drop"):
        drop_last_episode(ds)
    # a writer goes on from the shrunk dataset as if the dropped episodes had never been recorded
    writer = DatasetWriter.open(ds, spec_with(cameras=spec_with().cameras[:1]))
    assert writer.total_episodes == 0


def test_undo_is_refused_once_another_episode_was_recorded(ds):
    drop_last_episode(ds)
    spec = spec_with(cameras=spec_with().cameras[:1])
    DatasetWriter.open(ds, spec).commit_episode(make_episode(ds / ".station" / "spool", spec, 5, "pick", 9))
    with pytest.raises(DatasetError, match="no dropped episode"):
        undo_drop(ds)


def test_a_dataset_without_station_columns_gets_them_in_every_file(tmp_path):
    root = tmp_path / "ds"
    build(root, facts=False)
    mark_episode(root, 0, "success")
    for path in episode_files(root):
        assert [n for n in pq.read_schema(path).names if n.startswith("station/")] == list(COLUMNS)
    assert read_episode_facts(root)[0].outcome == "success" and check_dataset(root) == []
    assert DatasetWriter.open(root, spec_with(cameras=spec_with().cameras[:1])).writes_facts


# ----- the command line -----------------------------------------------------------------------------


def test_commands_list_mark_exclude_and_drop(ds):
    assert cli("mark", str(ds), "0", "--outcome", "success", "--note", "clean grasp").returncode == 0
    assert cli("exclude", str(ds), "1").returncode == 0
    rows = json.loads(cli("episodes", str(ds), "--json").stdout)
    assert [r["episode_index"] for r in rows] == [0, 1, 2]
    assert set(rows[0]) == {"episode_index", "length", "task", "outcome", "note", "excluded", "filled_ticks",
                            "repeated_frames", "flags"}
    assert (rows[0]["outcome"], rows[0]["note"], rows[1]["excluded"], rows[2]["task"]) == (
        "success", "clean grasp", True, "place")
    table = cli("episodes", str(ds)).stdout
    assert "clean grasp" in table and "3 episodes" in table
    before = digest(ds)
    unasked = cli("pack", str(ds))  # deletes excluded episodes for good: not without a yes
    assert unasked.returncode == 1 and digest(ds) == before
    assert unasked.stdout.splitlines() == [
        "Packing deletes the 1 excluded episode (1) for good and renumbers the episodes after them: go on? [y/N] ",
        "nothing packed"]
    assert cli("exclude", str(ds), "1", "--undo").returncode == 0
    assert not read_episode_facts(ds)[1].excluded
    unconfirmed = cli("drop-last", str(ds))
    assert unconfirmed.returncode == 1 and DatasetReader(ds).total_episodes == 3
    assert unconfirmed.stdout.splitlines()[-1] == "nothing dropped"  # on a line of its own
    assert cli("drop-last", str(ds), "--yes").returncode == 0
    assert DatasetReader(ds).total_episodes == 2
    assert cli("drop-last", str(ds), "--undo").returncode == 0
    assert DatasetReader(ds).total_episodes == 3


def refused(result: subprocess.CompletedProcess) -> bool:
    return result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_bad_input_is_one_line_exit_2_and_changes_nothing(ds, tmp_path):
    before = digest(ds)
    assert refused(cli("mark", str(ds), "7", "--outcome", "success"))
    assert refused(cli("exclude", str(ds), "-1"))
    assert refused(cli("mark", str(tmp_path / "nowhere"), "0", "--outcome", "failure"))
    assert refused(cli("drop-last", str(ds), "--undo"))  # nothing was dropped
    with DatasetLock(ds):  # another station has the dataset open
        for args in (("mark", str(ds), "0", "--outcome", "failure"), ("exclude", str(ds), "0"),
                     ("drop-last", str(ds), "--yes")):
            result = cli(*args)
            assert refused(result) and "in use by another station" in result.stderr
    assert digest(ds) == before

    empty = tmp_path / "empty"
    build(empty, episodes=[])
    assert refused(cli("drop-last", str(empty), "--yes"))

    (ds / "meta/episodes/chunk-000/file-001.parquet").write_bytes(b"not parquet")
    before = digest(ds)
    for args in (("mark", str(ds), "1", "--outcome", "failure"), ("episodes", str(ds)),
                 ("drop-last", str(ds), "--yes")):
        assert refused(cli(*args)), args
    assert digest(ds) == before


# ----- kill -9 at each step of drop-last ------------------------------------------------------------

DROP_RENAMES = 7  # the drop record, info.json, stats.json, tasks.parquet, episodes file, data file, video
KILL_POINTS = ["edit-temp-files:1", "edit-journal:1", *[f"edit-rename:{k}" for k in range(1, DROP_RENAMES + 1)]]


def counted_files_are_there(root: Path) -> bool:
    """What a reader sees before any repair, by LeRobot's rules (docs/commit.md): every episode info.json counts
    has its row, data and video; every data row on disk has its episodes row and its task."""
    reader = DatasetReader(root)
    rows = reader.episodes()
    if len(rows) < reader.total_episodes:
        return False
    for e in range(reader.total_episodes):
        if len(reader.episode_data(e)["index"]) != rows[e]["length"]:
            return False
        if not reader.video_path(e, "front").is_file():
            return False
    with_rows = {r["episode_index"] for path in episode_files(root) for r in pq.read_table(path).to_pylist()}
    tasks = len(pq.read_table(root / "meta/tasks.parquet")) if (root / "meta/tasks.parquet").exists() else 0
    for path in sorted((root / "data").glob("chunk-*/file-*.parquet")):
        table = pq.read_table(path, columns=["episode_index", "task_index"])
        if not set(table.column("episode_index").to_pylist()) <= with_rows:
            return False
        if max(table.column("task_index").to_pylist(), default=-1) >= tasks:
            return False
    return True


@pytest.mark.parametrize("moment", KILL_POINTS)
def test_kill_during_drop_last_leaves_the_dataset_before_or_after(ds, pristine, moment):
    states = pristine[1]
    killed = station("drop-last", str(ds), "--yes", env=dict(os.environ, STATION_KILL_AT=moment))
    assert killed.returncode == -9, f"never reached {moment}: {killed.stdout}{killed.stderr}"
    assert counted_files_are_there(ds)
    repair_dataset(ds)  # what any writer, edit or `station recover` does first
    after = digest(ds)
    journaled = moment != "edit-temp-files:1"
    assert after == (states[2] if journaled else states[3])
    assert check_dataset(ds) == []
    assert not [p for p in ds.rglob("*.tmp") if ".station" not in p.relative_to(ds).parts]


def test_kill_while_marking_leaves_the_old_row_or_the_new(ds):
    before = digest(ds)
    env = dict(os.environ, STATION_KILL_AT="edit-temp-file:1")
    killed = station("mark", str(ds), "1", "--outcome", "failure", env=env)
    assert killed.returncode == -9
    assert read_episode_facts(ds)[1].outcome == "unknown"
    repair_dataset(ds)
    assert digest(ds) == before and check_dataset(ds) == []


def test_journal_holds_only_paths_inside_the_dataset(ds):
    """The drop's journal names files relative to the dataset, so a moved dataset still rolls forward."""
    killed = station("drop-last", str(ds), "--yes", env=dict(os.environ, STATION_KILL_AT="edit-journal:1"))
    assert killed.returncode == -9
    journal = json.loads((ds / ".station" / "journal.json").read_text())
    assert all(not Path(p).is_absolute() for pair in journal["renames"] for p in pair)
    moved = ds.parent / "moved"
    ds.rename(moved)
    repair_dataset(moved)
    assert DatasetReader(moved).total_episodes == 2 and check_dataset(moved) == []


def test_pyarrow_table_columns_keep_lerobot_order(ds):
    """The station columns come after LeRobot's own, which keep their order and types."""
    table = pq.read_table(ds / "meta/episodes/chunk-000/file-000.parquet")
    mark_episode(ds, 0, "failure")
    marked = pq.read_table(ds / "meta/episodes/chunk-000/file-000.parquet")
    assert marked.column_names == table.column_names
    assert marked.schema.remove_metadata().equals(table.schema.remove_metadata())


@pytest.mark.parametrize("moment", ["edit-temp-files:1", "edit-journal:1", "edit-rename:3", "edit-rename:7"])
def test_kill_during_undo_leaves_the_dataset_before_or_after(ds, pristine, moment):
    states = pristine[1]
    drop_last_episode(ds)
    killed = station("drop-last", str(ds), "--undo", env=dict(os.environ, STATION_KILL_AT=moment))
    assert killed.returncode == -9, f"never reached {moment}: {killed.stdout}{killed.stderr}"
    assert counted_files_are_there(ds)
    repair_dataset(ds)
    assert digest(ds) == (states[3] if moment != "edit-temp-files:1" else states[2])
    assert check_dataset(ds) == []

"""Per-episode station facts: written with each episode, read back, defaults for datasets without them."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from station.dataset.check import check_dataset
from station.dataset.episode_facts import (
    COLUMNS,
    FLAGS,
    OUTCOME,
    REPEATED_FRAMES,
    EpisodeFacts,
    read_episode_facts,
)
from station.dataset.reader import episode_files
from station.dataset.writer import DatasetWriter
from tests.test_dataset_writer import make_episode, spec_with


def test_facts_are_written_with_the_episode_and_read_back(tmp_path: Path):
    root = tmp_path / "ds"
    spec = spec_with()
    writer = DatasetWriter.create(root, "test/facts", spec)
    ep = make_episode(root / ".station" / "spool", spec, 12, "pick", 0)
    ep.facts = EpisodeFacts(filled_ticks=3, repeated_frames={"front": 2, "wrist": 0}, flags=["too-short"])
    writer.commit_episode(ep)
    writer.commit_episode(make_episode(root / ".station" / "spool", spec, 9, "pick", 1))  # no facts: defaults

    facts = read_episode_facts(root)
    assert facts[0] == EpisodeFacts(filled_ticks=3, repeated_frames={"front": 2, "wrist": 0}, flags=["too-short"])
    assert facts[1] == EpisodeFacts()
    for path in episode_files(root):
        schema = pq.read_schema(path)
        assert [n for n in schema.names if n.startswith("station/")] == list(COLUMNS)
        assert pa.types.is_list(schema.field(FLAGS).type) and schema.field(FLAGS).type.value_type == pa.string()
        assert schema.field(REPEATED_FRAMES).type == pa.string()
    assert check_dataset(root) == []


def test_a_dataset_without_station_columns_reads_as_defaults_and_stays_uniform(tmp_path: Path):
    root = tmp_path / "ds"
    spec = spec_with()
    writer = DatasetWriter.create(root, "test/facts", spec)
    writer.writes_facts = False  # as an older station or LeRobot wrote it
    writer.commit_episode(make_episode(root / ".station" / "spool", spec, 10, "pick", 0))
    assert read_episode_facts(root) == {0: EpisodeFacts()}

    resumed = DatasetWriter.open(root, spec)
    assert not resumed.writes_facts  # adding the columns to one file only would make LeRobot refuse the table
    ep = make_episode(root / ".station" / "spool", spec, 8, "pick", 1)
    ep.facts = EpisodeFacts(outcome="success")
    resumed.commit_episode(ep)
    assert all(OUTCOME not in pq.read_schema(p).names for p in episode_files(root))
    assert check_dataset(root) == []


def test_facts_row_round_trip_tolerates_bad_values():
    assert EpisodeFacts.from_row({OUTCOME: "maybe", REPEATED_FRAMES: "not json"}) == EpisodeFacts()
    f = EpisodeFacts(outcome="failure", note="dropped the cube", excluded=True, filled_ticks=1,
                     repeated_frames={"a": 4}, flags=["joint-jump"])
    assert EpisodeFacts.from_row(f.values()) == f

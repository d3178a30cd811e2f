"""The station's own per-episode facts: outcome, note, excluded, filled ticks, repeated frames, quality flags.

They live as extra columns of the meta/episodes parquet, one row per episode, named `station/<fact>`. LeRobot
tolerates extra episodes columns (its loader keeps them, its merge carries them through) but not extra data
columns, so this is the one place a per-episode fact can be stored inside a LeRobot v3.0 dataset; see
docs/dataset.md. Every episodes file of a dataset holds all of these columns or none of them (LeRobot reads the
episodes files as one table and refuses files whose columns differ); a dataset recorded without them reads as
default facts for every episode.

The column names are defined here, once; everything else (writer, pack, window, command line) imports them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from station.errors import DatasetError

OUTCOME = "station/outcome"
NOTE = "station/note"
EXCLUDED = "station/excluded"
FILLED_TICKS = "station/filled_ticks"
REPEATED_FRAMES = "station/repeated_frames"  # a JSON object: camera name -> count
FLAGS = "station/flags"

SUCCESS, FAILURE, UNKNOWN = "success", "failure", "unknown"
OUTCOMES = (SUCCESS, FAILURE, UNKNOWN)

COLUMN_TYPES: dict[str, pa.DataType] = {
    OUTCOME: pa.string(),
    NOTE: pa.string(),
    EXCLUDED: pa.bool_(),
    FILLED_TICKS: pa.int64(),
    REPEATED_FRAMES: pa.string(),
    FLAGS: pa.list_(pa.string()),
}
COLUMNS = tuple(COLUMN_TYPES)


@dataclass
class EpisodeFacts:
    outcome: str = UNKNOWN
    note: str = ""
    excluded: bool = False
    filled_ticks: int = 0
    repeated_frames: dict[str, int] = field(default_factory=dict)  # camera name -> ticks that reused a frame
    flags: list[str] = field(default_factory=list)  # quality flag names (station.dataset.quality)

    def values(self) -> dict[str, Any]:
        """Column name -> the value stored in the episodes parquet."""
        return {
            OUTCOME: self.outcome,
            NOTE: self.note,
            EXCLUDED: bool(self.excluded),
            FILLED_TICKS: int(self.filled_ticks),
            REPEATED_FRAMES: json.dumps({str(k): int(v) for k, v in self.repeated_frames.items()}, sort_keys=True),
            FLAGS: [str(f) for f in self.flags],
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> EpisodeFacts:
        """Facts from one episodes-table row; missing or empty columns read as the defaults."""
        facts = cls()
        outcome = row.get(OUTCOME)
        if isinstance(outcome, str) and outcome in OUTCOMES:
            facts.outcome = outcome
        if isinstance(row.get(NOTE), str):
            facts.note = row[NOTE]
        if row.get(EXCLUDED) is not None:
            facts.excluded = bool(row[EXCLUDED])
        if row.get(FILLED_TICKS) is not None:
            facts.filled_ticks = int(row[FILLED_TICKS])
        facts.repeated_frames = _parse_repeats(row.get(REPEATED_FRAMES))
        if isinstance(row.get(FLAGS), list):
            facts.flags = [str(f) for f in row[FLAGS]]
        return facts

    def to_json(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "note": self.note,
            "excluded": self.excluded,
            "filled_ticks": self.filled_ticks,
            "repeated_frames": dict(self.repeated_frames),
            "flags": list(self.flags),
        }


def _parse_repeats(text: Any) -> dict[str, int]:
    if not isinstance(text, str) or not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): int(v) for k, v in value.items() if isinstance(v, int | float)}


def fact_arrays(facts: Sequence[EpisodeFacts]) -> dict[str, pa.Array]:
    """One arrow array per station column, a value per episode, in COLUMNS order."""
    rows = [f.values() for f in facts]
    return {name: pa.array([r[name] for r in rows], type=t) for name, t in COLUMN_TYPES.items()}


def has_fact_columns(table_or_schema: pa.Table | pa.Schema) -> bool:
    names = table_or_schema.column_names if isinstance(table_or_schema, pa.Table) else table_or_schema.names
    return all(c in names for c in COLUMNS)


def with_facts(table: pa.Table, facts: Sequence[EpisodeFacts]) -> pa.Table:
    """`table` (rows of the episodes table) with its station columns set to `facts` (appended when absent)."""
    if len(facts) != table.num_rows:
        raise ValueError(f"{len(facts)} facts for {table.num_rows} episodes")
    for name, array in fact_arrays(facts).items():
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), pa.field(name, array.type), array)
        else:
            table = table.append_column(pa.field(name, array.type), array)
    return table


def facts_of_table(table: pa.Table) -> list[EpisodeFacts]:
    """Facts of every row of an episodes table, in row order."""
    present = [c for c in COLUMNS if c in table.column_names]
    if not present:
        return [EpisodeFacts() for _ in range(table.num_rows)]
    return [EpisodeFacts.from_row(row) for row in table.select(present).to_pylist()]


def read_episode_facts(root: Path) -> dict[int, EpisodeFacts]:
    """episode_index -> its facts, for every episode of the dataset at `root` (reads only the small columns).

    A dataset recorded without station columns (by LeRobot, or an older station) gives default facts.
    """
    out: dict[int, EpisodeFacts] = {}
    for path in sorted((Path(root) / "meta" / "episodes").glob("chunk-*/file-*.parquet")):
        try:
            names = pq.read_schema(path).names
            wanted = ["episode_index", *[c for c in COLUMNS if c in names]]
            table = pq.read_table(path, columns=wanted)
        except (OSError, pa.ArrowException) as e:
            raise DatasetError(f"{path} is not a readable parquet file ({e})") from e
        for index, facts in zip(table.column("episode_index").to_pylist(), facts_of_table(table), strict=True):
            out[int(index)] = facts
    return out

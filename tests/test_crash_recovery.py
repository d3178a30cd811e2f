"""Kill -9 a headless session at exact moments, recover, and check that no reported take is lost.

Each moment is made certain by STATION_KILL_AT=NAME:K (station/saving/faults.py): the process kills itself
the K-th time it reaches that point. Takes are 1 s (30 rows) with two small cameras, so every episode in a
valid recovered dataset has exactly 30 rows; a partial take cut short by the kill is dropped.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from station.dataset.check import check_dataset
from station.dataset.reader import DatasetReader

MOMENTS = [
    ("spool-row:45", "mid-take: the second take half recorded"),
    ("spool-done:1", "the first take durable on disk but not yet reported"),
    ("encode-frame:5", "encoding the first camera of the first take"),
    ("encode-frame:40", "encoding the second camera of the first take"),
    ("after-temp-files:1", "commit: temp files written, no journal yet"),
    ("after-journal:1", "commit: journal written, nothing renamed"),
    ("mid-rename:1", "commit: videos, task, episode row and data renamed; stats and info.json not"),
    ("before-info:1", "commit: everything but info.json renamed"),
    ("committed:1", "after the commit, before the spool was removed"),
    ("spool-trashed:1", "the committed take's spool moved to the trash, none of it deleted"),
    ("trash-delete:3", "the committed take's spool half deleted"),
    ("after-journal:2", "commit of the second episode"),
]


def station(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "station", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize("moment, what", MOMENTS, ids=[m for m, _ in MOMENTS])
def test_kill_at_any_moment_loses_no_reported_take(tmp_path: Path, moment: str, what: str):
    root = tmp_path / "ds"
    env = dict(os.environ, STATION_KILL_AT=moment)
    killed = station(
        "record", "--headless", "--demo", "--root", str(root), "--episodes", "3", "--episode-time", "1",
        "--reset-time", "0", "--camera", "front=testsrc@64x48", "--camera", "wrist=testsrc@32x24",
        "--vcodec", "h264", env=env,
    )
    assert killed.returncode == -9, f"never reached {moment}: {killed.stdout}{killed.stderr}"
    reported = {int(n) for n in re.findall(r"^episode (\d+) recorded", killed.stdout, re.M)}

    recovered = station("recover", "--root", str(root))
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert check_dataset(root) == [], recovered.stdout
    reader = DatasetReader(root)
    episodes = reader.episodes()
    # every take reported recorded is there; at most one more (durable, killed before it was reported)
    assert len(reported) <= reader.total_episodes <= len(reported) + 1, (what, reported, recovered.stdout)
    assert all(ep["length"] == 30 for ep in episodes), "a partial take or a duplicate got in"
    assert not list((root / ".station" / "spool").iterdir())
    assert not (root / ".station" / "trash").exists() or not list((root / ".station" / "trash").iterdir())
    assert not [p for p in root.rglob("*") if p.name.endswith(".tmp")]

    again = station("recover", "--root", str(root))  # recovery is idempotent
    assert again.returncode == 0 and DatasetReader(root).total_episodes == reader.total_episodes


def test_recover_can_keep_the_take_cut_short(tmp_path: Path):
    root = tmp_path / "ds"
    env = dict(os.environ, STATION_KILL_AT="spool-row:20")
    killed = station("record", "--headless", "--demo", "--root", str(root), "--episodes", "2", "--episode-time", "1",
                     "--reset-time", "0", "--camera", "front=testsrc@64x48", "--vcodec", "h264", env=env)
    assert killed.returncode == -9
    recovered = station("recover", "--root", str(root), "--keep-partial")
    assert recovered.returncode == 0 and "kept the take cut short" in recovered.stdout
    reader = DatasetReader(root)
    assert reader.total_episodes == 1 and 1 <= reader.episodes()[0]["length"] <= 20
    assert check_dataset(root) == []

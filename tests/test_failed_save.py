"""After a save fails, headless recording and `station recover` stop, say why, keep the takes, exit non-zero.

The failure is injected with STATION_FAIL_AT (station/saving/faults.py): a commit that keeps failing from
the K-th one on, as an immutable data folder would make it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from station.dataset.check import check_dataset
from station.dataset.reader import DatasetReader
from station.saving.recovery import find_spools
from station.saving.spool import SpoolReader, frame_bytes

ROOT_ARGS = ("--episode-time", "1", "--reset-time", "0", "--camera", "front=testsrc@64x48", "--vcodec", "h264")


def station(*args: str, fail_at: str | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("STATION_FAIL_AT", None)
    if fail_at:
        env["STATION_FAIL_AT"] = fail_at
    return subprocess.run([sys.executable, "-m", "station", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def test_a_failed_save_stops_headless_recording_and_recover_names_what_it_could_not_save(tmp_path: Path):
    root = tmp_path / "ds"
    # The second commit and every later one fail: episode 0 is saved, episode 1 is not.
    result = station("record", "--headless", "--demo", "--root", str(root), "--episodes", "6", *ROOT_ARGS,
                     fail_at="after-temp-files:2")
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "episode 0 saved" in result.stdout
    failed = [line for line in result.stderr.splitlines() if "could not be saved" in line]
    assert len(failed) == 1 and failed[0].startswith("station record: episode 1 could not be saved: ")
    assert "Operation not permitted" in failed[0] and "station recover --root" in failed[0]
    assert "Retry" not in out and "Traceback" not in out
    assert all(line.startswith("station record: ") for line in result.stderr.splitlines()), result.stderr
    recorded = out.count(" recorded: ")
    assert 2 <= recorded < 6  # recording stopped instead of going on
    last = [line for line in result.stdout.splitlines() if line.startswith("  cadence: ")][-1]
    assert last.startswith("  cadence: 30 ticks") or last.endswith(  # the take the stop cut short says why
        "ended early: recording stopped: episode 1 could not be saved"), last
    complete, partial = find_spools(root)
    assert len(complete) == recorded - 1 and partial == []  # every unsaved take is kept, whole
    assert DatasetReader(root).total_episodes == 1 and check_dataset(root) == []

    still = station("recover", "--root", str(root), fail_at="after-temp-files:1")
    assert still.returncode == 1, still.stdout + still.stderr
    assert f"could not save {complete[0].name}: Operation not permitted" in still.stderr
    for behind in complete[1:]:
        assert f"not saved {behind.name}: it waits behind {complete[0].name}" in still.stderr
    assert find_spools(root) == (complete, []) and DatasetReader(root).total_episodes == 1

    fixed = station("recover", "--root", str(root))
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert DatasetReader(root).total_episodes == recorded and check_dataset(root) == []
    assert find_spools(root) == ([], [])


def test_recover_exits_non_zero_for_a_spool_it_cannot_read(tmp_path: Path):
    root = tmp_path / "ds"
    assert station("record", "--headless", "--demo", "--root", str(root), "--episodes", "1", *ROOT_ARGS,
                   fail_at="after-temp-files:1").returncode == 1
    (spool,), _ = find_spools(root)
    frames = SpoolReader(spool).info.frame_file(spool, "front")
    with open(frames, "r+b") as f:  # a frame lost after the take was sealed
        f.truncate(f.seek(0, os.SEEK_END) - frame_bytes(64, 48, "rgb24"))
    result = station("recover", "--root", str(root))
    assert result.returncode == 1, result.stdout + result.stderr
    said = [line for line in result.stderr.splitlines() if spool.name in line]
    assert len(said) == 1 and "truncated" in said[0] and "kept" in said[0]
    assert spool.exists()

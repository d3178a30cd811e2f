"""`station record --headless` end to end (a real subprocess, real encoders, real files), and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from station.dataset.check import check_dataset
from station.dataset.reader import DatasetReader
from widgets.dataset_summary import dataset_repo_id


def station(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "station", *args], capture_output=True, text=True, timeout=timeout
    )


def record(root: Path, *extra: str, episodes: int = 3, task: str | None = "stack the cubes"
           ) -> subprocess.CompletedProcess:
    return station(
        "record", "--headless", "--demo", "--root", str(root), "--episodes", str(episodes),
        "--episode-time", "1", "--reset-time", "0", "--camera", "front=testsrc@96x64",
        "--camera", "wrist=testsrc@64x48", "--vcodec", "h264", *(("--task", task) if task else ()), *extra,
    )


def test_demo_session_writes_a_valid_dataset_and_resume_appends(tmp_path):
    root = tmp_path / "ds"
    result = record(root, "--repo-id", "op/heavy")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for n in range(3):
        assert any(line.startswith(f"episode {n} recorded: ") and line.endswith(" frames") for line in lines)
        assert f"episode {n} saved" in lines
        assert lines.index(f"episode {n} saved") > next(
            i for i, line in enumerate(lines) if line.startswith(f"episode {n} recorded")
        )
    assert sum("cadence:" in line for line in lines) == 3
    assert check_dataset(root) == []
    reader = DatasetReader(root)
    assert reader.total_episodes == 3 and reader.tasks == ["stack the cubes"]
    assert all(ep["length"] == 30 for ep in reader.episodes())  # 1 s at 30 fps, exactly
    info = json.loads((root / "meta" / "info.json").read_text())
    assert info["features"]["observation.images.front"]["shape"] == [64, 96, 3]
    assert not list((root / ".station" / "spool").iterdir())

    again = record(root, "--resume", episodes=2, task=None)  # no --task: the dataset's last one goes on
    assert again.returncode == 0, again.stderr
    assert "episode 3 saved" in again.stdout and "episode 4 saved" in again.stdout
    assert "task: “stack the cubes”, the dataset's last episode's (--task gives another)" in again.stdout
    assert DatasetReader(root).total_episodes == 5 and DatasetReader(root).tasks == ["stack the cubes"]
    assert dataset_repo_id(root) == "op/heavy"  # the name it was created under, shown when the window opens it
    assert check_dataset(root) == []


def snapshot(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    "args, message",
    [
        (["--fps", "0"], "--fps"),
        (["--episodes", "-1"], "--episodes"),
        (["--camera", "front=nosuchsource"], "nosuchsource"),
        (["--camera", "front"], "NAME=SOURCE"),
        (["--vcodec", "h264", "--repo-id", "../escape"], "repo-id"),
    ],
)
def test_bad_options_exit_2_with_one_line_and_create_nothing(tmp_path, args, message):
    root = tmp_path / "ds"
    result = station("record", "--headless", "--demo", "--root", str(root), "--episodes", "1", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    err = result.stderr.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "Traceback" not in result.stderr
    assert not root.exists()


def test_existing_dataset_needs_resume_and_non_dataset_is_refused(tmp_path):
    root = tmp_path / "ds"
    assert record(root, episodes=1).returncode == 0
    before = snapshot(root)
    result = record(root, episodes=1)
    assert result.returncode == 2 and "--resume" in result.stderr
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"meow")
    result = record(other, episodes=1)
    assert result.returncode == 2 and "not a LeRobot dataset" in result.stderr
    assert snapshot(root) == before and snapshot(other) == {"cat.jpg": b"meow"}


def test_incompatible_resume_is_refused_and_changes_nothing(tmp_path):
    root = tmp_path / "ds"
    assert record(root, episodes=1).returncode == 0
    before = snapshot(root)
    result = record(root, "--resume", "--fps", "15", episodes=1)
    assert result.returncode == 2 and "fps" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.rstrip().endswith("to append to it, give --fps 30"), result.stderr
    # The dataset is h264; a resume without --vcodec (libsvtav1 by default) is told the exact option.
    result = station("record", "--headless", "--demo", "--root", str(root), "--episodes", "1", "--resume",
                     "--camera", "front=testsrc@96x64", "--camera", "wrist=testsrc@64x48")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "codec 'h264', not 'av1': to append to it, give --vcodec h264" in result.stderr, result.stderr
    assert snapshot(root) == before


def test_unwritable_root_is_refused():
    root = Path("/proc/station-test/ds")  # not even root may create anything under /proc
    result = record(root, episodes=1)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and str(root.parent) in result.stderr
    assert not root.exists()


def test_check_reports_a_broken_dataset(tmp_path):
    root = tmp_path / "ds"
    assert record(root, episodes=1).returncode == 0
    assert station("check", str(root)).returncode == 0
    info = json.loads((root / "meta" / "info.json").read_text())
    info["total_frames"] += 1
    (root / "meta" / "info.json").write_text(json.dumps(info))
    result = station("check", str(root))
    assert result.returncode == 1 and "total_frames" in result.stdout

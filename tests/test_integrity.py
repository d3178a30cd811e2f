"""Trusting nothing: the dataset lock, bad ids and camera sizes, dataset creation interrupted (issue 15)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from station.cli import main
from station.commands import calibrate as calibrate_command
from station.dataset import fsutil
from station.dataset.reader import DatasetReader
from station.dataset.spec import CameraSpec, DatasetSpec, VideoSettings
from station.dataset.writer import DatasetWriter
from station.errors import DatasetError
from station.hardware.emulator import EmulatedBus
from station.saving.lock import DatasetLock


def station(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "station", *args], capture_output=True, text=True,
                          timeout=timeout, env=env)


def files_under(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


# ----- item 10: the lock cannot be removed from under a running station --------------------------------------


def test_deleting_the_station_folder_does_not_release_the_lock(tmp_path):
    root = tmp_path / "ds"
    DatasetWriter.create(root, "test/lock", DatasetSpec(fps=30))
    with DatasetLock(root):
        (root / ".station" / "lock").unlink(missing_ok=True)
        shutil.rmtree(root / ".station", ignore_errors=True)
        with pytest.raises(DatasetError, match="in use by another station"):
            DatasetLock(root).acquire()
    with DatasetLock(root):  # released with the first one
        pass


# ----- item 11: calibration ids, camera sizes, camera files ----------------------------------------------------


def test_calibrate_refuses_an_id_that_leaves_the_calibration_folder(tmp_path, capsys, monkeypatch):
    cal = tmp_path / "a" / "b" / "cal"
    with EmulatedBus("follower") as arm:
        monkeypatch.setattr("builtins.input", lambda _prompt="": "")
        monkeypatch.setattr(calibrate_command, "enter_pressed", lambda _timeout: True)
        code = main(["calibrate", "--port", str(arm.port), "--role", "follower", "--id", "../../x",
                     "--calibration-dir", str(cal)])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.count("\n") == 1 and "bad calibration id '../../x'" in captured.err
    assert files_under(tmp_path) == []


@pytest.mark.parametrize("camera, why", [
    ("front=testsrc@2x2", "between 4 and 8192"),
    ("front=testsrc@63x48", "even width and height"),
    ("front=testsrc@64x47", "even width and height"),
    ("front=NOTES", "not a video file"),
])
def test_a_camera_that_cannot_be_recorded_is_refused_at_start(tmp_path, camera, why):
    (tmp_path / "NOTES").write_text("this is not a video\n" * 20)
    camera = camera.replace("NOTES", str(tmp_path / "NOTES"))
    root = tmp_path / "ds"
    result = station("record", "--headless", "--demo", "--root", str(root), "--episodes", "1",
                     "--episode-time", "0.5", "--reset-time", "0", "--camera", camera, "--vcodec", "h264")
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and why in result.stderr, result.stderr
    assert not root.exists()


def test_bench_refuses_an_odd_size_at_once(capsys):
    assert main(["bench", "--size", "161x121"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "even width and height" in err


def test_the_writer_refuses_a_size_no_codec_encodes(tmp_path):
    spec = DatasetSpec(fps=30, cameras=(CameraSpec("front", 2, 2),), video=VideoSettings.for_codec("h264"))
    with pytest.raises(DatasetError, match="between 4 and 8192"):
        DatasetWriter.create(tmp_path / "ds", "test/size", spec)
    assert not (tmp_path / "ds").exists()


# ----- item 7: creating a dataset is atomic -------------------------------------------------------------------


def record(root: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return station("record", "--headless", "--demo", "--root", str(root), "--episodes", "1", "--episode-time",
                   "0.3", "--reset-time", "0", "--camera", "front=testsrc@32x24", "--vcodec", "h264", *extra, env=env)


def test_a_kill_while_creating_the_dataset_does_not_block_its_folder(tmp_path):
    root = tmp_path / "ds"
    killed = record(root, env=dict(os.environ, STATION_KILL_AT="create-before-publish:1"))
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert not (root / "meta").exists()  # no half-made dataset under the name LeRobot reads
    again = record(root)
    assert again.returncode == 0, again.stdout + again.stderr
    assert DatasetReader(root).total_episodes == 1
    assert not [p for p in root.rglob("*") if fsutil.is_temp_name(p.name)]


def test_a_folder_left_by_an_older_interrupted_creation_is_usable(tmp_path):
    root = tmp_path / "ds"
    (root / "meta").mkdir(parents=True)
    (root / "meta" / ".info.json.tmp").write_text("{")
    result = record(root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert DatasetReader(root).total_episodes == 1


def test_a_full_disk_while_creating_leaves_nothing(tmp_path, monkeypatch):
    real = fsutil.write_temp_bytes

    def full(final: Path, data: bytes) -> Path:
        real(final, data[:3])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fsutil, "write_temp_bytes", full)
    root = tmp_path / "ds"
    with pytest.raises(DatasetError, match="No space left"):
        DatasetWriter.create(root, "test/full", DatasetSpec(fps=30))
    assert not root.exists()
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="No space left"):
        DatasetWriter.create(tmp_path / "empty", "test/full", DatasetSpec(fps=30))
    assert files_under(tmp_path / "empty") == []
    monkeypatch.undo()
    DatasetWriter.create(tmp_path / "empty", "test/full", DatasetSpec(fps=30))

"""Trusting nothing: the dataset lock, bad ids and camera sizes, dataset creation interrupted (issue 15)."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
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



def test_a_station_starting_while_check_probes_the_lock_waits_the_probe_out(tmp_path):
    """`station check` takes the lock shared for a moment to ask whether a station runs; a station starting in
    that moment must not be told the dataset is in use (seen in a reader-during-commits test)."""
    root = tmp_path / "ds"
    DatasetWriter.create(root, "test/lock", DatasetSpec(fps=30))
    probe = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(probe, fcntl.LOCK_SH | fcntl.LOCK_NB)  # check's probe, caught in the act
    release = threading.Timer(0.05, os.close, args=(probe,))
    release.start()
    try:
        with DatasetLock(root):
            pass
    finally:
        release.join()

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


def test_bench_refuses_a_negative_count_of_listed_takes_at_once(capsys):
    assert main(["bench", "--gui", "--listed-takes", "-3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--listed-takes -3" in err


def test_recover_takes_the_dataset_as_check_does_and_refuses_none_in_one_line(tmp_path, capsys):
    DatasetWriter.create(tmp_path / "ds", "test/recover", DatasetSpec(fps=30, cameras=(CameraSpec("front", 64, 48),)))
    assert main(["recover", str(tmp_path / "ds")]) == 0  # as `station check DIR`; --root DIR as before
    assert "nothing to recover" in capsys.readouterr().out
    assert main(["recover"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "station recover DIR" in err


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


# ----- item 13: torque off is said only when read back ----------------------------------------------------


def test_torque_off_is_confirmed_by_reading_it_back(tmp_path):
    from station.hardware.emulator import write_demo_calibration
    from station.hardware.so101 import SO101Follower, SO101Leader

    write_demo_calibration(tmp_path)
    with EmulatedBus("follower") as emu_f, EmulatedBus("leader") as emu_l:
        follower = SO101Follower(str(emu_f.port), tmp_path, "follower")
        leader = SO101Leader(str(emu_l.port), tmp_path, "leader")
        follower.connect()
        leader.connect()
        assert all(emu_f.torque_enabled().values())
        result = follower.disconnect()
        assert result.confirmed and result.sentence == "follower torque off, confirmed"
        assert not any(emu_f.torque_enabled().values())
        assert leader.disconnect().sentence == "leader torque off, confirmed"

        follower.connect()
        emu_f.silent = True  # power or cable lost: the switch-off cannot be confirmed
        result = follower.disconnect()
        emu_f.silent = False
        assert not result.confirmed and set(result.unconfirmed) == set(follower.bus.motors)
        assert result.sentence == "could not switch the follower's torque off: switch its power off"
        assert all(emu_f.torque_enabled().values())  # the servos answer again, holding torque: the words were right


# ----- item 14: rough edges --------------------------------------------------------------------------------


def test_the_stall_threshold_scales_with_the_frame_period():
    from station.hardware.sim import PatternCamera
    from station.thresholds import STALL_AFTER_S, stall_after_s

    assert stall_after_s(30) == STALL_AFTER_S
    assert stall_after_s(1) >= 2.0  # at 1 fps a frame comes once a second: 0.5 s without one is normal
    cam = PatternCamera("front", 8, 6, fps=1)
    cam.start()
    try:
        import time

        frame = cam.latest()
        deadline = time.monotonic() + 5
        while frame is None and time.monotonic() < deadline:  # the first frame comes at once
            time.sleep(0.01)
            frame = cam.latest()
        assert frame is not None
        object.__setattr__(frame, "t", time.monotonic() - 0.8)  # 0.8 s since the last frame, at 1 fps
        cam._latest = frame
        assert not cam.stalled
    finally:
        cam.stop()


def test_recover_after_a_kill_does_not_report_an_empty_take(tmp_path):
    root = tmp_path / "ds"
    killed = station("record", "--headless", "--demo", "--root", str(root), "--episodes", "2", "--episode-time",
                     "1", "--reset-time", "0", "--camera", "front=testsrc@32x24", "--vcodec", "h264",
                     env=dict(os.environ, STATION_KILL_AT="spool-row:20"))
    assert killed.returncode == -9
    recovered = station("recover", "--root", str(root))
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    assert "(0 frames)" not in recovered.stdout and ": 0 frames" not in recovered.stdout, recovered.stdout
    assert not list((root / ".station" / "spool").iterdir())


def test_free_space_is_said_in_sensible_units():
    assert fsutil.size_in_words(0) == "0 bytes"
    assert fsutil.size_in_words(1_000) == "1.0 kB"
    assert fsutil.size_in_words(40_000_000) == "40 MB"
    assert fsutil.size_in_words(1.5e9) == "1.5 GB"
    assert fsutil.size_in_words(2.5e12) == "2.5 TB"


def test_a_spool_cut_short_is_said_in_plain_words(tmp_path):
    from station.errors import StationError, describe_error
    from station.saving.spool import SpoolCutShort

    error = SpoolCutShort(tmp_path / "take-0001", "front")
    assert isinstance(error, StationError)
    assert describe_error(error) == (
        "the take in take-0001 is cut short on disk: its front camera frames end before its rows (was the disk full?)"
    )


# ----- item 8: recovery trusts nothing on disk -------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("recorded") / "ds"
    assert record(root).returncode == 0
    return root


@pytest.mark.parametrize("entry", ["ABSOLUTE", "../outside.json", "meta/../../outside.json", "data/x/../../.."])
def test_a_journal_naming_paths_outside_the_dataset_is_refused(tmp_path, recorded, entry):
    root = tmp_path / "ds"
    shutil.copytree(recorded, root)
    info = root / "meta" / "info.json"
    before = info.read_bytes()
    src = str(info) if entry == "ABSOLUTE" else "meta/info.json"
    dst = str(tmp_path / "stolen.json") if entry == "ABSOLUTE" else entry
    journal = root / ".station" / "journal.json"
    journal.write_text(json.dumps({"commit": "episode 1", "renames": [[src, dst]]}))
    result = station("recover", "--root", str(root))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and "journal" in result.stderr, result.stderr
    assert info.read_bytes() == before and journal.exists()
    assert not (tmp_path / "stolen.json").exists() and not (tmp_path / "outside.json").exists()


def test_a_spool_that_does_not_match_the_dataset_is_refused_and_kept(tmp_path):
    root = tmp_path / "ds"
    killed = record(root, env=dict(os.environ, STATION_KILL_AT="spool-done:1"))
    assert killed.returncode == -9
    spools = [p for p in (root / ".station" / "spool").iterdir() if (p / "done.json").exists()]
    assert len(spools) == 1
    take = json.loads((spools[0] / "take.json").read_text())
    take["fps"] = 60
    (spools[0] / "take.json").write_text(json.dumps(take))
    result = station("recover", "--root", str(root))
    lines = [line for line in result.stdout.splitlines() if spools[0].name in line]
    assert len(lines) == 1 and "could not recover" in lines[0] and "60 fps" in lines[0], result.stdout
    assert result.returncode != 0
    assert DatasetReader(root).total_episodes == 0
    assert spools[0].is_dir() and (spools[0] / "done.json").exists()


def test_a_refused_move_names_both_ends():
    import errno

    from station.errors import describe_error

    error = PermissionError(errno.EPERM, "Operation not permitted", "/spool/out/front.mp4", None,
                            "/ds/videos/front/file-000.mp4")
    assert describe_error(error) == ("Operation not permitted (moving /spool/out/front.mp4 to "
                                     "/ds/videos/front/file-000.mp4)")
    assert describe_error(FileNotFoundError(errno.ENOENT, "No such file or directory", "/x")) == \
        "No such file or directory (/x)"

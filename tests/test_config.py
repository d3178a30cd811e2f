"""Config: frozen, validated on construction and on every change; one repo-id rule everywhere; defaults once."""

from __future__ import annotations

import dataclasses

import pytest

from station.cli import build_parser, main
from station.commands.options import config_from_args
from station.config import ArmConfig, CameraSource, SessionConfig, default_of
from station.dataset.repo_id import repo_id_problem
from station.dataset.spec import DatasetSpec
from station.dataset.writer import DatasetWriter
from station.errors import ConfigError, DatasetError

REFUSED = ["mydata", "local/_x", "local/.cache", "a/b/c", "../escape", "local/..", "local/x-", "local/a--b", ""]
ACCEPTED = ["local/station", "ci/demo", "user/pick_cube.v2", "A1/x_"]


@pytest.mark.parametrize("repo_id", REFUSED)
def test_the_config_refuses_exactly_what_the_writer_refuses(repo_id, tmp_path):
    assert repo_id_problem(repo_id)
    with pytest.raises(ConfigError, match="repo-id"):
        SessionConfig(root=tmp_path / "ds", repo_id=repo_id)
    with pytest.raises(DatasetError):
        DatasetWriter.create(tmp_path / "ds", repo_id, DatasetSpec(fps=30, cameras=()))
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("repo_id", ACCEPTED)
def test_a_good_repo_id_passes_both(repo_id, tmp_path):
    assert repo_id_problem(repo_id) is None
    SessionConfig(root=tmp_path / "ds", repo_id=repo_id)
    DatasetWriter.create(tmp_path / "ds", repo_id, DatasetSpec(fps=30, cameras=()))


def test_the_command_line_refuses_a_bad_repo_id_before_opening_anything(tmp_path, capsys):
    code = main(["record", "--headless", "--demo", "--root", str(tmp_path / "ds"), "--repo-id", "local/.cache"])
    err = capsys.readouterr().err
    assert code == 2 and "local/.cache" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "ds").exists()


def test_config_is_frozen_and_every_change_is_validated(tmp_path):
    config = SessionConfig(root=tmp_path, cameras=[CameraSource("front", "testsrc", 32, 24)])
    assert config.cameras == (CameraSource("front", "testsrc", 32, 24),)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.fps = 0  # type: ignore[misc]
    with pytest.raises(ConfigError, match="--fps"):
        dataclasses.replace(config, fps=0)
    with pytest.raises(ConfigError, match="unique"):
        dataclasses.replace(config, cameras=(CameraSource("a", "testsrc"), CameraSource("a", "testsrc")))
    with pytest.raises(ConfigError, match="task"):
        dataclasses.replace(config, task="  ")
    with pytest.raises(ConfigError, match="codec"):
        dataclasses.replace(config, vcodec="mjpeg")
    with pytest.raises(ConfigError, match="no arms"):
        dataclasses.replace(config, demo=False)
    with pytest.raises(ConfigError, match="size"):
        CameraSource("front", "testsrc", 0, 10)
    with pytest.raises(ConfigError, match="max-relative-target"):
        ArmConfig("/dev/a", "/dev/b", tmp_path, max_relative_target=-1)


def test_the_command_lines_defaults_are_the_configs():
    parser, _modules, _commands = build_parser()
    args = parser.parse_args(["--demo", "--root", "/tmp/x"])
    config = config_from_args(args)
    for name in ("repo_id", "task", "episodes", "episode_time_s", "reset_time_s", "fps", "vcodec", "robot_type"):
        assert getattr(config, name) == default_of(SessionConfig, name), name
    assert f"default {default_of(SessionConfig, 'episodes')}" in parser.format_help()


@pytest.mark.parametrize("argv, words", [
    (["--fps", "0"], "--fps"),
    (["--episode-time", "-1"], "--episode-time"),
    (["--camera", "front=testsrc@0x10"], "size"),
    (["--camera", "front=/dev/video0@640x480/MJPEG"], "unknown pixel format 'MJPEG'"),
    (["--camera", "front=testsrc@640x480/YUYV"], "is for a V4L2 device"),
    (["--camera", "front=/dev/video0@MJPG"], "NAME=SOURCE[@WxH[/FORMAT]]"),
    (["--max-relative-target", "0", "--follower-port", "/dev/a", "--leader-port", "/dev/b"], "relative"),
])
def test_a_bad_value_is_one_line_and_exit_2(argv, words, tmp_path, capsys):
    demo = [] if "--follower-port" in argv else ["--demo"]
    code = main(["record", "--headless", *demo, "--root", str(tmp_path / "ds"), *argv])
    err = capsys.readouterr().err
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("text, expected", [
    ("front=testsrc", CameraSource("front", "testsrc")),
    ("front=testsrc@320x240", CameraSource("front", "testsrc", 320, 240)),
    ("front=/dev/video0@640x480/MJPG", CameraSource("front", "/dev/video0", 640, 480, "MJPG")),
    ("wrist=/dev/video2@1280x720/yuyv", CameraSource("wrist", "/dev/video2", 1280, 720, "YUYV")),
    ("top=/data/clip@2x.mp4", CameraSource("top", "/data/clip@2x.mp4")),
])
def test_camera_argument_with_a_pixel_format_reads_and_writes_back(text, expected):
    parsed = CameraSource.parse(text)
    assert parsed == expected
    assert CameraSource.parse(parsed.argument()) == parsed


def test_a_pixel_format_needs_a_v4l2_device_and_a_size():
    with pytest.raises(ConfigError, match="give the size with the pixel format"):
        CameraSource("front", "/dev/video0", pixel_format="MJPG")
    with pytest.raises(ConfigError, match="unknown pixel format 'XYZW'"):
        CameraSource("front", "/dev/video0", 640, 480, "XYZW")
    with pytest.raises(ConfigError, match="not clip.mp4"):
        CameraSource("front", "clip.mp4", 640, 480, "MJPG")

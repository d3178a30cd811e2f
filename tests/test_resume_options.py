"""A resume the dataset refuses names what differs and the exact options that fit it (the writer's own rule)."""

from __future__ import annotations

import shlex
from dataclasses import replace

import pytest

from station.config import CameraSource, SessionConfig
from station.dataset.features import build_info
from station.dataset.spec import CameraSpec, DatasetSpec, VideoSettings
from station.dataset.writer import compatibility_problem
from station.session.resume_options import resume_refusal

FRONT = CameraSpec("front", 64, 48)
WRIST = CameraSpec("wrist", 32, 24)
DATASET = DatasetSpec(fps=30, cameras=(FRONT, WRIST), video=VideoSettings.for_codec("h264"))
CONFIG = SessionConfig(root="/tmp/unused", cameras=(CameraSource("front", "/dev/video4"),
                                                    CameraSource("wrist", "testsrc", 32, 24)))


@pytest.mark.parametrize(
    "session, said, options",
    [
        (replace(DATASET, video=VideoSettings()), "videos use codec 'h264', not 'av1'", "--vcodec h264"),
        (replace(DATASET, fps=15), "records at 30 fps but this session is at 15 fps", "--fps 30"),
        (replace(DATASET, robot_type="koch_follower"), "robot type 'so_follower'", "--robot-type so_follower"),
        (replace(DATASET, cameras=(CameraSpec("front", 640, 480), WRIST)), "camera front at 64x48, not 640x480",
         "--camera front=/dev/video4@64x48 --camera wrist=testsrc@32x24"),
        (replace(DATASET, cameras=(FRONT,)), "has cameras front, wrist but this session has front",
         "--camera front=/dev/video4@64x48 --camera wrist=testsrc@32x24"),
        (replace(DATASET, fps=60, video=VideoSettings()), "60 fps", "--fps 30 --vcodec h264"),
    ],
)
def test_a_refused_resume_names_the_difference_and_the_options_that_fit(session, said, options):
    info = build_info(DATASET)
    line = resume_refusal(info, session, CONFIG)
    assert line is not None and said in line and line.endswith(f": to append to it, give {options}"), line
    fitted = fit(session, shlex.split(options))
    assert compatibility_problem(info, fitted) is None  # the advice is what the writer accepts


def test_the_advice_keeps_the_pixel_format_the_session_asks_for():
    config = replace(CONFIG, cameras=(CameraSource("front", "/dev/video4", 640, 480, "YUYV"), CONFIG.cameras[1]))
    session = replace(DATASET, cameras=(CameraSpec("front", 640, 480), WRIST))
    line = resume_refusal(build_info(DATASET), session, config)
    assert line is not None and line.endswith("give --camera front=/dev/video4@64x48/YUYV --camera wrist=testsrc@32x24")


def fit(spec: DatasetSpec, argv: list[str]) -> DatasetSpec:
    """The session spec the advised options give (the camera sources are the operator's)."""
    cameras = [CameraSource.parse(v) for k, v in zip(argv[::2], argv[1::2], strict=True) if k == "--camera"]
    opts = dict(zip(argv[::2], argv[1::2], strict=True))
    return replace(
        spec,
        fps=int(opts.get("--fps", spec.fps)),
        robot_type=opts.get("--robot-type", spec.robot_type),
        cameras=tuple(CameraSpec(c.name, c.width or 0, c.height or 0) for c in cameras) or spec.cameras,
        video=VideoSettings.for_codec(opts["--vcodec"]) if "--vcodec" in opts else spec.video,
    )


def test_a_dataset_no_option_fits_says_to_choose_another_root():
    info = build_info(DATASET)
    other_joints = replace(DATASET, joint_names=("a", "b"))
    line = resume_refusal(info, other_joints, CONFIG)
    assert line is not None and line.endswith(": this station cannot append to it; choose another --root")
    assert resume_refusal(info, DATASET, CONFIG) is None

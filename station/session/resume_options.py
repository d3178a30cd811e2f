"""The command-line options that make a session fit the dataset it resumes, for the refusal to name them.

The writer's rule (`compatibility_problem`) says what differs; this says what to pass instead: each
difference an option can change (fps, robot type, cameras and their sizes, codec) is set to the dataset's
value and the rule asked again, so the advice is exactly what the writer would accept. Qt-free.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from station.config import CameraSource, SessionConfig
from station.dataset.reader import spec_from_info
from station.dataset.spec import DatasetSpec, VideoSettings
from station.dataset.writer import compatibility_problem

VCODEC_OF_ENCODER = {"libsvtav1": "libsvtav1", "libx264": "h264"}  # the encoder in info.json -> its --vcodec
SOURCE_PLACEHOLDER = "SOURCE"  # a camera the session does not have: the operator names its source
NO_CAMERA = "no --camera"  # a dataset without cameras


def matching_options(info: dict[str, Any], spec: DatasetSpec, config: SessionConfig) -> list[str] | None:
    """The options to give (e.g. ["--vcodec h264"]) so `spec` can append to the dataset of `info`; [] when it
    already can; None when no option can (other joints, features this station does not record, other encoder
    settings for the same codec)."""
    have = spec_from_info(info)
    options: list[str] = []
    fitted = spec
    if have.fps != spec.fps:
        options.append(f"--fps {have.fps}")
        fitted = replace(fitted, fps=have.fps)
    if have.robot_type != spec.robot_type:
        options.append(f"--robot-type {have.robot_type}")
        fitted = replace(fitted, robot_type=have.robot_type)
    if _sizes(have) != _sizes(spec):
        if not have.cameras:
            if config.demo:  # --demo without --camera brings its own cameras: no option removes them
                return None
            options.append(NO_CAMERA)
        given = {c.name: c for c in config.cameras}
        options.extend(_camera_option(c.name, c.width, c.height, given.get(c.name)) for c in have.cameras)
        fitted = replace(fitted, cameras=have.cameras)
    vcodec = VCODEC_OF_ENCODER.get(have.video.codec)
    if vcodec is not None and have.video.codec != spec.video.codec:
        options.append(f"--vcodec {vcodec}")
        fitted = replace(fitted, video=VideoSettings.for_codec(vcodec))
    if compatibility_problem(info, fitted) is not None:
        return None
    return options


def _camera_option(name: str, width: int, height: int, given: CameraSource | None) -> str:
    """`--camera NAME=SOURCE@WxH` at the dataset's size, from the source (and pixel format) the session has."""
    if given is None:
        return f"--camera {name}={SOURCE_PLACEHOLDER}@{width}x{height}"
    return "--camera " + replace(given, width=width, height=height).argument()


def _sizes(spec: DatasetSpec) -> dict[str, tuple[int, int]]:
    return {c.name: (c.width, c.height) for c in spec.cameras}


def resume_refusal(info: dict[str, Any], spec: DatasetSpec, config: SessionConfig) -> str | None:
    """Why `spec` cannot append to the dataset of `info`, with the options that would let it; None if it can."""
    problem = compatibility_problem(info, spec)
    if problem is None:
        return None
    options = matching_options(info, spec, config)
    if not options:
        return f"{problem}: this station cannot append to it; choose another --root"
    given = " ".join(o for o in options if o != NO_CAMERA)
    words = " and ".join(w for w in (given, NO_CAMERA if NO_CAMERA in options else "") if w)
    return f"{problem}: to append to it, give {words}"

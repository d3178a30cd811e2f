"""Typed session configuration: frozen dataclasses validated on construction, one line for each bad value.

A config that exists is a valid one: `__post_init__` checks every value, and `dataclasses.replace` builds a
new instance, so a change is checked too. The command line's defaults are read from here.
Static configuration lives here; remembered UI state (window geometry, last task) lives in QSettings.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from station.dataset.repo_id import repo_id_problem
from station.dataset.spec import CODECS
from station.errors import ConfigError
from station.hardware.pixel_formats import pixel_format_problem
from station.joints import ROBOT_TYPE

DEFAULT_CAMERA_SIZE = (640, 480)
MAX_FPS = 240  # the highest control and capture rate a session accepts
_CAMERA_ARG = re.compile(
    r"^(?P<name>[A-Za-z0-9_\-]+)=(?P<source>.+?)(@(?P<w>\d+)x(?P<h>\d+)(/(?P<format>[A-Za-z0-9]+))?)?$")
_CAMERA_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
V4L2_DEVICE = re.compile(r"^/dev/video\d+$")
CAMERA_SYNTAX = "NAME=SOURCE[@WxH[/FORMAT]]"
MAX_CAMERA_SIDE = 8192


@dataclass(frozen=True)
class CameraSource:
    """`--camera NAME=SOURCE[@WxH[/FORMAT]]`: SOURCE is `testsrc`, a `/dev/videoN` device or a video file.

    FORMAT is the V4L2 pixel format (fourcc) to ask a device for, e.g. MJPG or YUYV; without it the camera asks
    for MJPG when the device offers it, else takes the driver's own.
    """

    name: str
    source: str
    width: int | None = None
    height: int | None = None
    pixel_format: str | None = None

    @classmethod
    def parse(cls, text: str) -> CameraSource:
        m = _CAMERA_ARG.match(text.strip())
        if not m or (V4L2_DEVICE.match(m.group("source").split("@")[0]) and "@" in m.group("source")):
            raise ConfigError(f"bad --camera {text!r}: expected {CAMERA_SYNTAX}, e.g. front=testsrc@640x480 "
                              "or front=/dev/video0@640x480/MJPG")
        w, h, fmt = m.group("w"), m.group("h"), m.group("format")
        return cls(m.group("name"), m.group("source"), int(w) if w else None, int(h) if h else None,
                   fmt.upper() if fmt else None)

    def argument(self) -> str:
        """The `--camera` value that gives this source (parse(argument()) == self)."""
        mode = f"@{self.width}x{self.height}" if self.width is not None else ""
        if self.pixel_format:
            mode += f"/{self.pixel_format}"
        return f"{self.name}={self.source}{mode}"

    def __post_init__(self) -> None:
        if not _CAMERA_NAME.match(self.name):
            raise ConfigError(f"bad camera name {self.name!r}: use letters, digits, - and _")
        if not self.source.strip():
            raise ConfigError(f"camera {self.name}: the source must not be empty")
        if (self.width is None) != (self.height is None):
            raise ConfigError(f"camera {self.name}: give both width and height, or neither")
        for side in (self.width, self.height):
            if side is not None and not 1 <= side <= MAX_CAMERA_SIDE:
                raise ConfigError(
                    f"bad camera size for {self.name}: width and height must be between 1 and {MAX_CAMERA_SIDE}"
                )
        if self.pixel_format is not None:
            problem = pixel_format_problem(self.pixel_format)
            if problem:
                raise ConfigError(f"camera {self.name}: {problem}")
            if not V4L2_DEVICE.match(self.source):
                raise ConfigError(f"camera {self.name}: a pixel format ({self.pixel_format}) is for a V4L2 device "
                                  f"(/dev/videoN), not {self.source}")
            if self.width is None:
                raise ConfigError(f"camera {self.name}: give the size with the pixel format, "
                                  f"e.g. {self.source}@640x480/{self.pixel_format}")


@dataclass(frozen=True)
class ArmConfig:
    follower_port: str
    leader_port: str
    calibration_dir: Path
    follower_id: str = "follower"
    leader_id: str = "leader"
    max_relative_target: float | None = None

    def __post_init__(self) -> None:
        if not self.follower_port or not self.leader_port:
            raise ConfigError("give both --follower-port and --leader-port")
        if self.max_relative_target is not None and not self.max_relative_target > 0:
            raise ConfigError(f"--max-relative-target must be above 0 degrees, got {self.max_relative_target}")


def default_calibration_dir() -> Path:
    env = os.environ.get("HF_LEROBOT_CALIBRATION")
    if env:
        return Path(env)
    return Path.home() / ".cache" / "huggingface" / "lerobot" / "calibration"


def default_root(repo_id: str) -> Path:
    home = os.environ.get("HF_LEROBOT_HOME")
    base = Path(home) if home else Path.home() / ".cache" / "huggingface" / "lerobot"
    return base / repo_id


def demo_cameras() -> list[CameraSource]:
    w, h = DEFAULT_CAMERA_SIZE
    return [CameraSource("front", "testsrc", w, h), CameraSource("wrist", "testsrc", w, h)]


@dataclass(frozen=True)
class SessionConfig:
    root: Path
    repo_id: str = "local/station"
    task: str = "Pick up the cube and place it in the box"
    episodes: int = 50
    episode_time_s: float = 60.0
    reset_time_s: float = 60.0
    fps: int = 30
    cameras: tuple[CameraSource, ...] = ()
    vcodec: str = "libsvtav1"
    resume: bool = False
    demo: bool = True
    arms: ArmConfig | None = None
    robot_type: str = ROBOT_TYPE

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        object.__setattr__(self, "cameras", tuple(self.cameras))  # a list given by a caller is frozen too
        self._validate()

    def _validate(self) -> None:
        """Raise ConfigError naming the first absurd value."""
        if not 1 <= self.fps <= MAX_FPS:
            raise ConfigError(f"--fps must be between 1 and {MAX_FPS}, got {self.fps}")
        if not 1 <= self.episodes <= 100_000:
            raise ConfigError(f"--episodes must be between 1 and 100000, got {self.episodes}")
        if not 0 < self.episode_time_s <= 24 * 3600:
            raise ConfigError(f"--episode-time must be above 0 and at most a day, got {self.episode_time_s}")
        if not 0 <= self.reset_time_s <= 24 * 3600:
            raise ConfigError(f"--reset-time must be between 0 and a day, got {self.reset_time_s}")
        problem = repo_id_problem(self.repo_id)
        if problem:
            raise ConfigError(f"bad --repo-id: {problem}")
        names = [c.name for c in self.cameras]
        if len(set(names)) != len(names):
            raise ConfigError(f"camera names must be unique, got {', '.join(names)}")
        if not self.task.strip():
            raise ConfigError("--task must not be empty")
        if self.vcodec not in CODECS:
            raise ConfigError(f"unknown video codec {self.vcodec!r}: use {' or '.join(CODECS)}")
        if not self.robot_type.strip():
            raise ConfigError("--robot-type must not be empty")
        if not self.demo and self.arms is None:
            raise ConfigError("no arms: give --follower-port and --leader-port, or use --demo")


def default_of(cls: type, name: str) -> Any:
    """The default of a config field (the command line shows and uses these; they are spelled only here)."""
    for f in fields(cls):
        if f.name == name:
            return f.default
    raise KeyError(name)

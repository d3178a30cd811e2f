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
from station.joints import ROBOT_TYPE

DEFAULT_CAMERA_SIZE = (640, 480)
MAX_FPS = 240  # the highest control and capture rate a session accepts
_CAMERA_ARG = re.compile(r"^(?P<name>[A-Za-z0-9_\-]+)=(?P<source>.+?)(@(?P<w>\d+)x(?P<h>\d+))?$")
_CAMERA_NAME = re.compile(r"^[A-Za-z0-9_\-]+$")
MAX_CAMERA_SIDE = 8192


@dataclass(frozen=True)
class CameraSource:
    """`--camera NAME=SOURCE[@WxH]`: SOURCE is `testsrc`, a `/dev/videoN` device or a video file."""

    name: str
    source: str
    width: int | None = None
    height: int | None = None

    @classmethod
    def parse(cls, text: str) -> CameraSource:
        m = _CAMERA_ARG.match(text.strip())
        if not m:
            raise ConfigError(f"bad --camera {text!r}: expected NAME=SOURCE[@WxH], e.g. front=testsrc@640x480")
        w, h = m.group("w"), m.group("h")
        return cls(m.group("name"), m.group("source"), int(w) if w else None, int(h) if h else None)

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

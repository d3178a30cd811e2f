"""Typed session configuration, validated once at start with a one-line message for each bad value.

Static configuration lives here; remembered UI state (window geometry, last task) lives in QSettings.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from station.errors import ConfigError
from station.joints import ROBOT_TYPE

DEFAULT_CAMERA_SIZE = (640, 480)
_CAMERA_ARG = re.compile(r"^(?P<name>[A-Za-z0-9_\-]+)=(?P<source>.+?)(@(?P<w>\d+)x(?P<h>\d+))?$")
_REPO_ID = re.compile(r"^[A-Za-z0-9_\-.]+(/[A-Za-z0-9_\-.]+)?$")


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
        if w is not None and (int(w) <= 0 or int(h) <= 0 or int(w) > 8192 or int(h) > 8192):
            raise ConfigError(f"bad camera size in {text!r}: width and height must be between 1 and 8192")
        return cls(m.group("name"), m.group("source"), int(w) if w else None, int(h) if h else None)


@dataclass(frozen=True)
class ArmConfig:
    follower_port: str
    leader_port: str
    calibration_dir: Path
    follower_id: str = "follower"
    leader_id: str = "leader"
    max_relative_target: float | None = None


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


@dataclass
class SessionConfig:
    root: Path
    repo_id: str = "local/station"
    task: str = "Pick up the cube and place it in the box"
    episodes: int = 50
    episode_time_s: float = 60.0
    reset_time_s: float = 60.0
    fps: int = 30
    cameras: list[CameraSource] = field(default_factory=list)
    vcodec: str = "libsvtav1"
    resume: bool = False
    demo: bool = True
    arms: ArmConfig | None = None
    robot_type: str = ROBOT_TYPE

    def validate(self) -> None:
        """Raise ConfigError naming the first absurd value."""
        if not 1 <= self.fps <= 240:
            raise ConfigError(f"--fps must be between 1 and 240, got {self.fps}")
        if not 1 <= self.episodes <= 100_000:
            raise ConfigError(f"--episodes must be between 1 and 100000, got {self.episodes}")
        if not 0 < self.episode_time_s <= 24 * 3600:
            raise ConfigError(f"--episode-time must be above 0 and at most a day, got {self.episode_time_s}")
        if not 0 <= self.reset_time_s <= 24 * 3600:
            raise ConfigError(f"--reset-time must be between 0 and a day, got {self.reset_time_s}")
        if not _REPO_ID.match(self.repo_id) or ".." in self.repo_id:
            raise ConfigError(f"bad --repo-id {self.repo_id!r}: use letters, digits, - _ . and at most one /")
        names = [c.name for c in self.cameras]
        if len(set(names)) != len(names):
            raise ConfigError(f"camera names must be unique, got {', '.join(names)}")
        if not self.task.strip():
            raise ConfigError("--task must not be empty")
        if not self.demo and self.arms is None:
            raise ConfigError("no arms: give --follower-port and --leader-port, or use --demo")

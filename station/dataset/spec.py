"""What a dataset holds: fps, robot, joints, cameras and how video is encoded. Compared on resume."""

from __future__ import annotations

from dataclasses import dataclass, field

from station.joints import JOINT_FEATURE_NAMES, ROBOT_TYPE

# codec option -> (PyAV encoder, canonical stream codec name written into info.json)
CODECS: dict[str, tuple[str, str]] = {
    "libsvtav1": ("libsvtav1", "av1"),
    "av1": ("libsvtav1", "av1"),
    "h264": ("libx264", "h264"),
    "libx264": ("libx264", "h264"),
}


@dataclass(frozen=True)
class VideoSettings:
    """Encoder settings. Defaults are LeRobot's (libsvtav1, yuv420p, g=2, crf=30, preset 12)."""

    codec: str = "libsvtav1"
    pix_fmt: str = "yuv420p"
    g: int = 2
    crf: int = 30
    preset: int | str = 12

    @classmethod
    def for_codec(cls, name: str) -> VideoSettings:
        if name not in CODECS:
            from station.errors import ConfigError

            raise ConfigError(f"unknown video codec {name!r}: use libsvtav1 or h264")
        encoder, _ = CODECS[name]
        if encoder == "libx264":
            return cls(codec="libx264", g=2, crf=23, preset="ultrafast")
        return cls()

    @property
    def stream_codec(self) -> str:
        return CODECS[self.codec][1]


@dataclass(frozen=True)
class CameraSpec:
    name: str  # e.g. "front"; the feature is observation.images.<name>
    width: int
    height: int

    @property
    def key(self) -> str:
        return f"observation.images.{self.name}"


@dataclass(frozen=True)
class DatasetSpec:
    fps: int
    cameras: tuple[CameraSpec, ...] = ()
    robot_type: str = ROBOT_TYPE
    joint_names: tuple[str, ...] = JOINT_FEATURE_NAMES
    video: VideoSettings = field(default_factory=VideoSettings)

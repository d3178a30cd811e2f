"""What the session needs from arms and cameras. Real, emulated and simulated devices all implement these.

Values are in LeRobot units: joints 1-5 in degrees about the calibrated middle, gripper 0..100,
as float32 arrays of shape (6,) in `station.joints.JOINTS` order.
Images are RGB uint8 arrays of shape (height, width, 3), never modified after they are handed out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class TorqueOff:
    """What switching an arm's torque off achieved, as read back from its motors (Torque_Enable)."""

    arm: str  # "follower" or "leader"
    confirmed: bool  # every motor answered and read back Torque_Enable = 0
    unconfirmed: tuple[str, ...] = ()  # motors that read back 1 or did not answer

    @property
    def sentence(self) -> str:
        if self.confirmed:
            return f"{self.arm} torque off, confirmed"
        return f"could not switch the {self.arm}'s torque off: switch its power off"


class Arm(Protocol):
    name: str

    def connect(self) -> None: ...

    def disconnect(self) -> TorqueOff | None:
        """Torque off and close; returns what was read back (None when the arm cannot tell)."""
        ...

    def read(self) -> np.ndarray:
        """Present joint values, shape (6,), float32. Raises HardwareError when the bus stops answering."""
        ...


class Follower(Arm, Protocol):
    def write(self, goal: np.ndarray) -> np.ndarray:
        """Command goal joint values (6,); returns what was actually sent (after any clamp)."""
        ...


CAMERA_PIX_FMT = "yuv420p"  # what PyAV cameras hand over


@dataclass(frozen=True)
class Frame:
    # uint8, read-only: (H, W, 3) RGB, or (H * 3 // 2, W) yuv420p planes (Y, then U, then V), the format the
    # spool and the encoders take, so that recording converts nothing (see image_format)
    image: np.ndarray
    seq: int  # increases by one per captured frame
    t: float  # time.monotonic() at capture


def image_format(image: np.ndarray) -> str:
    """The pixel format of a camera image: "rgb24" (H, W, 3) or "yuv420p" (H * 3 // 2, W)."""
    return "rgb24" if image.ndim == 3 else "yuv420p"


def image_size(image: np.ndarray) -> tuple[int, int]:
    """(width, height) of a camera image in either format."""
    if image.ndim == 3:
        return image.shape[1], image.shape[0]
    return image.shape[1], image.shape[0] * 2 // 3


class Camera(Protocol):
    name: str
    width: int
    height: int

    @property
    def kind(self) -> str:
        """"v4l2" (a device), "file" (a video file) or "testsrc" (a test pattern)."""
        ...

    @property
    def error(self) -> str | None:
        """Why the camera's reader stopped, if it stopped on an error; None while it runs."""
        ...

    def start(self) -> None:
        """Open the source and start the capture thread. Raises HardwareError if it cannot be opened."""
        ...

    def stop(self) -> None: ...

    def latest(self) -> Frame | None:
        """The newest frame (a mailbox: older frames are gone), or None before the first one."""
        ...

    @property
    def capture_fps(self) -> float:
        """Frames per second measured over the last second or so."""
        ...

    @property
    def stalled(self) -> bool:
        """True when no new frame arrived for more than STALL_AFTER_S (or the source ended or failed)."""
        ...


def what_to_check(cameras: Sequence[Camera]) -> str:
    """What the operator looks at when these cameras send nothing: "its cable", "its file", "their cables"."""
    links = sorted({"file" if c.kind == "file" else "source" if c.kind == "testsrc" else "cable" for c in cameras})
    if len(cameras) == 1:
        return f"its {links[0]}"
    return "their " + " and ".join(f"{link}s" for link in links)

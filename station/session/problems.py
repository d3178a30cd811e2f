"""What the session tells the operator, typed: each problem says what it is about, apart from its words.

The window keys its banners on `Problem.about` (and the device it names), never on the wording: rewording a
message cannot change which banner it replaces or which condition takes it away. Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class About(Enum):
    """What a problem is about; each one ends in its own way (see widgets.banners)."""

    ARM_STOPPED = "arm stopped"  # an arm stopped answering: ends when the arms run again
    TORQUE = "torque"  # the follower's torque as read back after an arm stopped answering
    CAMERA_SILENT = "camera silent"  # a camera (Problem.device) sends no frames: ends when it sends again
    NOT_READY = "not ready"  # no take could start, an arm or camera not being ready: ends when they are
    TAKE_WAITS = "take waits"  # no take could start: a take cut short waits for Keep / Drop
    NO_ROOM = "no room"  # not enough free disk space for the next take
    WRITE_FAILED = "write failed"  # the disk refused a write of a take: recording stopped
    DISK_SLOW = "disk slow"  # the disk fell a second behind the cameras' frames and the control loop waited for it
    OTHER = "other"  # anything else: a message of its own


@dataclass(frozen=True)
class Problem:
    about: About
    text: str  # in plain words: what happened and what to do
    device: str = ""  # the camera (or arm) it is about, if any
    serious: bool = True  # False: a notice (e.g. the torque went off as it should)

    def __str__(self) -> str:
        return self.text

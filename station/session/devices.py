"""Opening the arms and cameras a session asks for, all or nothing.

If any device fails to open, the ones already opened are closed again (follower torque off) and a one-line
HardwareError/ConfigError says which and why; nothing is created on disk before this succeeds.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from station.config import CameraSource, SessionConfig
from station.dataset.spec import CameraSpec
from station.hardware.interfaces import Arm, Camera, Follower
from station.hardware.sim import SimulatedFollower, SimulatedLeader

log = logging.getLogger(__name__)


@dataclass
class Devices:
    leader: Arm
    follower: Follower
    cameras: list[Camera]
    simulated: bool

    @property
    def camera_specs(self) -> tuple[CameraSpec, ...]:
        return tuple(CameraSpec(c.name, c.width, c.height) for c in self.cameras)

    def close(self) -> None:
        for cam in self.cameras:
            try:
                cam.stop()
            except Exception:
                log.exception("stopping camera %s failed", cam.name)
        for arm in (self.follower, self.leader):  # follower first: its torque goes off
            try:
                arm.disconnect()
            except Exception:
                log.exception("disconnecting %s failed", arm.name)


def open_cameras(sources: Sequence[CameraSource], fps: int) -> list[Camera]:
    from station.hardware.cameras import open_camera

    cameras: list[Camera] = []
    try:
        for src in sources:
            camera: Camera = open_camera(src, fps)
            camera.start()
            cameras.append(camera)
    except BaseException:
        for started in cameras:
            started.stop()
        raise
    return cameras


def open_devices(config: SessionConfig) -> Devices:
    if config.demo:
        leader: Arm = SimulatedLeader()
        follower: Follower = SimulatedFollower()
        leader.connect()
        follower.connect()
    else:
        from station.hardware.so101 import connect_arms

        assert config.arms is not None
        leader, follower = connect_arms(config.arms, config.robot_type)
    try:
        cameras = open_cameras(config.cameras, config.fps)
    except BaseException:
        follower.disconnect()
        leader.disconnect()
        raise
    return Devices(leader, follower, cameras, simulated=config.demo)

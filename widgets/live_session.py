"""Opening and closing what a window session needs: devices, dataset (locked), save queue, recorder.

The same steps as the headless command (station.session.setup), gathered for the window, which may open
several sessions in a row (File > New/Open) on the same devices. Takes a crash left behind are queued here,
before the Recorder numbers its first episode, so the numbers it shows are the ones the dataset will get.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from station.config import SessionConfig
from station.dataset.writer import DatasetWriter
from station.hardware.interfaces import Camera
from station.saving.lock import DatasetLock
from station.saving.queue import SaveQueue
from station.saving.recovery import find_spools, recover_into_queue
from station.session.devices import Devices, open_devices
from station.session.recorder import Recorder
from station.session.setup import check_root, open_dataset

log = logging.getLogger(__name__)


@dataclass
class LiveSession:
    config: SessionConfig
    writer: DatasetWriter
    lock: DatasetLock
    queue: SaveQueue
    recorder: Recorder
    recovered: list[str] = field(default_factory=list)  # what recovery did, in words
    recovered_takes: int = 0

    def close(self, wait_ms: int = 30_000) -> None:
        """Stop the loop (a take in progress is kept in its spool), stop the queue, release the dataset."""
        try:
            self.recorder.shutdown()
            # Takes stopped just now have durable spools; if the queue is being shut down they must stay
            # there for recovery rather than be handed to it by a spool-done event still in flight.
            self.recorder.finished_takes.clear()
        finally:
            self.queue.shutdown(wait_ms)
            self.lock.release()


def open_station_devices(config: SessionConfig) -> Devices:
    """open_devices, with test-pattern cameras for the demo when the camera readers are not installed."""
    try:
        return open_devices(config)
    except ModuleNotFoundError as e:
        if not config.demo or e.name != "station.hardware.cameras":
            raise
        from station.hardware.sim import PatternCamera, SimulatedFollower, SimulatedLeader

        log.warning("camera readers unavailable: the demo uses numpy test patterns")
        leader, follower = SimulatedLeader(), SimulatedFollower()
        leader.connect()
        follower.connect()
        cameras: list[Camera] = []
        for src in config.cameras:
            cam = PatternCamera(src.name, src.width or 640, src.height or 480, fps=config.fps)
            cam.start()
            cameras.append(cam)
        return Devices(leader, follower, cameras, simulated=True)


def open_session(config: SessionConfig, devices: Devices, queue_factory=SaveQueue) -> LiveSession:
    """Open (or create) the dataset, queue any takes left from before, and build the recorder."""
    check_root(config)
    writer, lock = open_dataset(config, devices)
    try:
        queue = queue_factory(writer)
        recovered: list[str] = []
        takes = 0
        complete, partial = find_spools(writer.root)
        if complete or partial:
            # Recover by default. A take cut short by a crash is kept but held: the operator keeps or drops it.
            recovered = recover_into_queue(writer, queue, keep_partial=True, hold_partial=True)
            takes = len(queue.jobs)
        recorder = Recorder(
            writer, queue, devices.leader, devices.follower, devices.cameras, config.fps,
            config.episodes, config.episode_time_s, config.reset_time_s, config.task,
        )
    except BaseException:
        lock.release()
        raise
    return LiveSession(config, writer, lock, queue, recorder, recovered, takes)

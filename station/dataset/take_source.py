"""A recorded take, read back for replay: from its spool while it is being saved, from the dataset once committed.

Both give the same things: fps, length, camera names, the leader's and follower's joints, and any frame by
index. A spool frame is a seek into the raw file; a dataset frame is decoded by a cursor that goes forward
frame by frame while playing and seeks (to the previous key frame) only on a jump. Nothing here is Qt: the
window runs these on a worker thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import av
import numpy as np

from station.dataset.features import ACTION, IMAGE_PREFIX, STATE, video_keys
from station.dataset.reader import DatasetReader
from station.saving.spool import SpoolReader, read_frame, spooled_to_rgb

SEEK_AHEAD = 30  # a jump further ahead than this many frames seeks instead of decoding through


class TakeSource(Protocol):
    fps: int
    length: int
    cameras: list[str]
    joint_names: list[str]
    action: np.ndarray  # (length, joints)
    state: np.ndarray

    def frame(self, camera: str, index: int) -> np.ndarray: ...

    def close(self) -> None: ...


class SpoolTake:
    """A take in its spool (complete or still being saved). Keeps its files open, so it plays on even if the
    spool is removed once the take is committed."""

    def __init__(self, directory: Path) -> None:
        spool = SpoolReader(directory)
        self.fps = spool.info.fps
        self.length = spool.frames
        self.cameras = [c.name for c in spool.info.cameras]
        self.joint_names = list(spool.info.joint_names)
        self.action, self.state = spool.action, spool.state
        self._info = spool.info
        self._sizes = {c.name: (c.width, c.height) for c in spool.info.cameras}
        self._files = {name: open(spool.info.frame_file(directory, name), "rb")  # noqa: SIM115 (kept open)
                       for name in self.cameras}

    def frame(self, camera: str, index: int) -> np.ndarray:
        raw = read_frame(self._files[camera], max(0, min(index, self.length - 1)), self._info.frame_shape(camera),
                         self._info.frame_stride(camera))
        if raw is None:
            raise ValueError(f"camera {camera} has no frame {index}")
        width, height = self._sizes[camera]
        return spooled_to_rgb(raw, self._info.pix_fmt, width, height)

    def close(self) -> None:
        for f in self._files.values():
            f.close()


class VideoCursor:
    """Frames of one episode inside an mp4, by index, decoding forward and seeking only on jumps."""

    def __init__(self, path: Path, fps: int, from_timestamp: float = 0.0) -> None:
        self.container: Any = av.open(str(path))
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        self.fps, self.start = fps, from_timestamp
        self._frames: Any = None
        self._next = -1  # index of the frame the decoder yields next (-1: must seek)
        self._last: tuple[int, np.ndarray] | None = None

    def frame(self, index: int) -> np.ndarray:
        if self._last is not None and self._last[0] == index:
            return self._last[1]
        if self._frames is None or index < self._next or index > self._next + SEEK_AHEAD:
            t = self.start + index / self.fps
            base = float(self.stream.time_base or 1 / 90000)
            self.container.seek(max(0, int(t / base)), stream=self.stream, backward=True)
            self._frames = self.container.decode(self.stream)
        image: np.ndarray | None = None
        for f in self._frames:
            i = round((float(f.time) - self.start) * self.fps)
            self._next = i + 1
            if i >= index:
                image = f.to_ndarray(format="rgb24")
                break
        if image is None:  # past the end: the last frame
            if self._last is None:
                raise ValueError(f"no frame {index} in {self.container.name}")
            return self._last[1]
        self._last = (index, image)
        return image

    def close(self) -> None:
        self.container.close()


class DatasetTake:
    """A committed episode of a dataset (any v3.0 layout)."""

    def __init__(self, root: Path, episode: int) -> None:
        reader = DatasetReader(root)
        row = reader.episodes()[episode]
        data = reader.episode_data(episode)
        self.fps = reader.fps
        self.length = int(row["length"])
        self.action = np.asarray(data[ACTION], dtype=np.float32)
        self.state = np.asarray(data[STATE], dtype=np.float32)
        self.joint_names = list(reader.spec().joint_names)
        keys = video_keys(reader.info["features"])
        self.cameras = [k[len(IMAGE_PREFIX):] if k.startswith(IMAGE_PREFIX) else k for k in keys]
        self._cursors = {
            name: VideoCursor(reader.video_path(episode, key), self.fps,
                              float(row.get(f"videos/{key}/from_timestamp") or 0.0))
            for name, key in zip(self.cameras, keys, strict=True)
        }

    def frame(self, camera: str, index: int) -> np.ndarray:
        return self._cursors[camera].frame(max(0, min(index, self.length - 1)))

    def close(self) -> None:
        for cursor in self._cursors.values():
            cursor.close()


def thumbnail(root: Path, episode: int, max_height: int = 48) -> np.ndarray | None:
    """The middle frame of the episode's first camera, shrunk by striding (None when it has no camera)."""
    take = DatasetTake(root, episode)
    try:
        if not take.cameras:
            return None
        image = take.frame(take.cameras[0], take.length // 2)
    finally:
        take.close()
    step = max(1, image.shape[0] // max_height)
    return np.ascontiguousarray(image[::step, ::step])

"""Simulated SO-101 pair and a numpy test-pattern camera, behind the same interfaces as real devices.

Used by `--demo` and by tests that do not need the serial path. The leader follows a smooth scripted
motion inside the joint limits; the follower tracks the commanded goal with a first-order lag.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import numpy as np

from station.hardware.interfaces import Frame, TorqueOff
from station.thresholds import stall_after_s

# (centre, amplitude, period_s) per joint; degrees for joints 1-5, 0..100 for the gripper.
_MOTION = (
    (0.0, 40.0, 7.0),
    (-10.0, 30.0, 9.0),
    (15.0, 35.0, 6.0),
    (0.0, 25.0, 5.0),
    (0.0, 60.0, 11.0),
    (50.0, 45.0, 4.0),
)


class SimulatedLeader:
    """A leader arm moved by a scripted 'person': sums of slow sines per joint, always inside limits."""

    def __init__(self, name: str = "leader (simulated)", clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._clock = clock
        self._t0 = clock()
        self.connected = False

    def connect(self) -> None:
        self._t0 = self._clock()
        self.connected = True

    def disconnect(self) -> TorqueOff:
        self.connected = False
        return TorqueOff("leader", confirmed=True)  # a simulated leader never holds torque

    def read(self) -> np.ndarray:
        t = self._clock() - self._t0
        values = [
            c + a * math.sin(2 * math.pi * t / p) * (0.8 + 0.2 * math.sin(2 * math.pi * t / (3.1 * p)))
            for c, a, p in _MOTION
        ]
        return np.asarray(values, dtype=np.float32)


class SimulatedFollower:
    """A follower arm that moves toward its goal with a time constant, like a position-controlled servo."""

    def __init__(self, name: str = "follower (simulated)", time_constant_s: float = 0.08,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._tau = time_constant_s
        self._clock = clock
        self._position = np.array([c for c, _, _ in _MOTION], dtype=np.float32)
        self._goal = self._position.copy()
        self._last = clock()
        self._lock = threading.Lock()
        self.connected = False
        self.torque_enabled = False

    def connect(self) -> None:
        self.connected = True
        self.torque_enabled = True

    def disconnect(self) -> TorqueOff:
        self.torque_enabled = False
        self.connected = False
        return TorqueOff("follower", confirmed=not self.torque_enabled)

    def _advance(self) -> None:
        now = self._clock()
        dt = max(0.0, now - self._last)
        self._last = now
        if self.torque_enabled:
            alpha = 1.0 - math.exp(-dt / self._tau)
            self._position = self._position + (self._goal - self._position) * np.float32(alpha)

    def read(self) -> np.ndarray:
        with self._lock:
            self._advance()
            return self._position.astype(np.float32, copy=True)

    def write(self, goal: np.ndarray) -> np.ndarray:
        with self._lock:
            self._advance()
            self._goal = np.asarray(goal, dtype=np.float32).copy()
            return self._goal.copy()


class PatternCamera:
    """A camera made of numpy: a moving gradient with a frame counter bar, captured on its own thread.

    Cheap enough for tests; the demo uses PyAV's lavfi testsrc2 through the real camera reader instead.
    """

    def __init__(self, name: str, width: int = 64, height: int = 48, fps: float = 30.0) -> None:
        self.name = name
        self.kind = "testsrc"
        self.error: str | None = None  # a pattern never fails
        self.width = width
        self.height = height
        self._period = 1.0 / fps
        self._latest: Frame | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seq = 0
        self._times: list[float] = []
        self.paused = False  # tests set this to simulate a stalled camera

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def _render(self, seq: int) -> np.ndarray:
        x = np.arange(self.width, dtype=np.uint16)
        y = np.arange(self.height, dtype=np.uint16)[:, None]
        img = np.empty((self.height, self.width, 3), dtype=np.uint8)
        img[..., 0] = ((x + seq * 4) % 256).astype(np.uint8)
        img[..., 1] = ((y * 3 + seq) % 256).astype(np.uint8)
        img[..., 2] = 128
        img[: max(1, self.height // 10), : (seq % self.width)] = 255
        img.flags.writeable = False
        return img

    def _run(self) -> None:
        deadline = time.monotonic()
        while not self._stop.is_set():
            if not self.paused:
                now = time.monotonic()
                self._latest = Frame(self._render(self._seq), self._seq, now)
                self._seq += 1
                self._times = [t for t in self._times[-60:] if now - t < 1.0] + [now]
            deadline += self._period
            self._stop.wait(max(0.0, deadline - time.monotonic()))

    def latest(self) -> Frame | None:
        return self._latest

    @property
    def capture_fps(self) -> float:
        now = time.monotonic()
        return float(len([t for t in self._times if now - t < 1.0]))

    @property
    def stalled(self) -> bool:
        frame = self._latest
        return frame is None or time.monotonic() - frame.t > stall_after_s(1.0 / self._period)

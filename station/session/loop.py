"""The control loop: a fixed-rate thread that reads the leader, commands the follower and records a row.

Timing uses a monotonic deadline clock: tick k is due at start + k * period, so there is no drift; when a
tick is missed the loop skips to the next future deadline instead of bursting to catch up, and each tick it
could not run becomes a *filled* row (the last action, state and frames repeated), counted per take. So a take
has exactly one row per period of wall-clock time: `frame_index / fps` is always the time since it began.
Each tick takes the latest frame of every camera; a camera with no new frame repeats its last one and the
repeat is counted, so video and rows stay one-to-one. Nothing here touches Qt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from station.errors import StationError
from station.hardware.interfaces import Arm, Camera, Follower
from station.priority import raise_current_thread
from station.saving.spool import CadenceReport, SpoolWriter

if TYPE_CHECKING:
    from station.saving.queue import SaveJob

log = logging.getLogger(__name__)
LATE_FACTOR = 1.5
FLAG_FILLED_FRACTION = 0.02  # a take with more filled ticks than this is flagged


class TakeRecorder:
    """The take in progress: the spool it writes to, its cadence report, and its tick budget."""

    def __init__(self, spool: SpoolWriter, fps: int, max_rows: int | None, on_full: Callable[[], None] | None):
        self.spool = spool
        self.job: SaveJob | None = None  # its save, encoding while the take is recorded
        self.next: TakeRecorder | None = None  # the take to switch to, on the next tick, once this one is full
        self.max_rows = max_rows
        self.on_full = on_full
        names = [c.name for c in spool.info.cameras]
        self.cadence = CadenceReport(fps=fps, repeated_frames={n: 0 for n in names}, stalled_cameras=[])
        self._last_seq: dict[str, int] = {}
        self._last_t: float | None = None
        self._period = 1.0 / fps
        self.first_tick_no: int | None = None  # the control loop's tick numbers of the first and last row
        self.last_tick_no: int | None = None

    @property
    def rows(self) -> int:
        return self.cadence.ticks

    def add(
        self, t: float, action: np.ndarray, state: np.ndarray, frames: dict[str, tuple[int, np.ndarray]],
        tick_no: int = 0, filled: bool = False,
    ) -> bool:
        """Record one tick (a filled one: a tick the loop could not run); False once the take is full."""
        if self.max_rows is not None and self.cadence.ticks >= self.max_rows:
            return False
        if self.first_tick_no is None:
            self.first_tick_no = tick_no
        self.last_tick_no = tick_no
        c = self.cadence
        images = {}
        assert c.repeated_frames is not None
        if filled:
            c.filled_ticks += 1
            images = {name: image for name, (_seq, image) in frames.items()}
        else:
            if self._last_t is None:
                c.first_tick = t
            else:
                gap = t - self._last_t
                c.worst_period_ms = max(c.worst_period_ms, gap * 1000)
                if gap > LATE_FACTOR * self._period:
                    c.late_ticks += 1
            self._last_t = t
            for name, (seq, image) in frames.items():
                if self._last_seq.get(name) == seq:
                    c.repeated_frames[name] += 1
                self._last_seq[name] = seq
                images[name] = image
        c.last_tick = t
        c.ticks += 1
        self.spool.append(t, action, state, images, filled)
        if self.max_rows is not None and c.ticks >= self.max_rows and self.on_full is not None:
            self.on_full()
        return True


class JointHistory:
    """A ring buffer of the last few seconds of joints, for plots: the loop writes, the GUI copies."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._t = np.zeros(capacity)
        self._action = np.zeros((capacity, 6), dtype=np.float32)
        self._state = np.zeros((capacity, 6), dtype=np.float32)
        self.count = 0  # samples ever written
        self._lock = threading.Lock()

    def push(self, t: float, action: np.ndarray, state: np.ndarray) -> None:
        with self._lock:
            i = self.count % self.capacity
            self._t[i], self._action[i], self._state[i] = t, action, state
            self.count += 1

    def snapshot(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(t, action, state) of the buffered samples, oldest first."""
        with self._lock:
            n = min(self.count, self.capacity)
            order = (np.arange(self.count - n, self.count)) % self.capacity
            return self._t[order].copy(), self._action[order].copy(), self._state[order].copy()


class ControlLoop:
    """Runs teleoperation at `fps` on its own thread, recording into the current take when there is one."""

    def __init__(
        self,
        leader: Arm,
        follower: Follower,
        cameras: Sequence[Camera],
        fps: int,
        on_error: Callable[[BaseException], None] | None = None,
        history_s: float = 12.0,
    ) -> None:
        self.leader = leader
        self.follower = follower
        self.cameras = list(cameras)
        self.fps = fps
        self.period = 1.0 / fps
        self.on_error = on_error
        self.history = JointHistory(int(history_s * fps))
        self.error: BaseException | None = None
        self._take: TakeRecorder | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._blank: dict[str, np.ndarray] = {}
        self._tick_times: list[float] = []
        self.ticks = 0
        self.late_ticks = 0
        self.filled_ticks = 0  # ticks the loop could not run, recorded as repeats of the last row
        self._last_row: tuple[np.ndarray, np.ndarray, dict[str, tuple[int, np.ndarray]]] | None = None
        self._busy: tuple[str, float] | None = None  # the arm ("leader" or "follower") a call waits on, since
        self.failed_role: str | None = None  # the arm whose call raised the loop's error

    # -- take hand-over: called from the session's thread, atomic with respect to ticks --
    def swap_take(self, take: TakeRecorder | None) -> TakeRecorder | None:
        """Make `take` the one rows go to (None: record nothing) and return the previous one.

        Every tick goes entirely to one take: ticks before the swap to the old one, ticks after to the new,
        so back-to-back takes lose no tick between them.
        """
        with self._lock:
            old, self._take = self._take, take
        return old

    @property
    def take(self) -> TakeRecorder | None:
        return self._take

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="control-loop", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def achieved_fps(self) -> float:
        times = self._tick_times
        if len(times) < 2:
            return 0.0
        return (len(times) - 1) / max(1e-9, times[-1] - times[0])

    def _frames(self) -> dict[str, tuple[int, np.ndarray]]:
        out = {}
        for cam in self.cameras:
            frame = cam.latest()
            if frame is None:  # nothing captured yet: a black frame, counted as a repeat from seq -1
                blank = self._blank.get(cam.name)
                if blank is None:
                    blank = np.zeros((cam.height, cam.width, 3), dtype=np.uint8)
                    self._blank[cam.name] = blank
                out[cam.name] = (-1, blank)
            else:
                out[cam.name] = (frame.seq, frame.image)
        return out

    def stuck(self) -> tuple[str, float] | None:
        """The arm a tick has been waiting on, and for how long (None when no call is in progress)."""
        busy = self._busy
        if busy is None:
            return None
        return busy[0], time.monotonic() - busy[1]

    def tick(self, t: float, tick_no: int | None = None) -> None:
        self._busy = ("follower", time.monotonic())
        state = self.follower.read()
        self._busy = ("leader", time.monotonic())
        action = self.leader.read()
        self._busy = ("follower", time.monotonic())
        self.follower.write(action)
        self._busy = None
        frames = self._frames()
        self.history.push(t, action, state)
        self._last_row = (action, state, frames)
        with self._lock:
            take = self._record(t, action, state, frames, self.ticks if tick_no is None else tick_no, False)
            # Under the lock: once swap_take has handed the take over, its cadence is being serialised.
            self._note_stalls(take)

    def fill(self, ticks: Sequence[tuple[float, int]]) -> None:
        """Ticks the loop could not run, each (due time, tick number): the last row again, counted as filled."""
        if self._last_row is None:
            return
        action, state, frames = self._last_row
        with self._lock:
            for t, tick_no in ticks:
                take = self._take
                if take is None or take.rows == 0:  # a take begins with a tick that ran
                    continue
                self._record(t, action, state, frames, tick_no, True)
                self.filled_ticks += 1

    def _record(self, t: float, action: np.ndarray, state: np.ndarray, frames: dict[str, tuple[int, np.ndarray]],
                tick_no: int, filled: bool) -> TakeRecorder | None:
        """Add a row to the take in progress (under the lock); full: back-to-back takes switch here."""
        take = self._take
        if take is not None and not take.add(t, action, state, frames, tick_no, filled) and take.next is not None:
            self._take = take = take.next
            take.add(t, action, state, frames, tick_no, filled)
        return take

    def _note_stalls(self, take: TakeRecorder | None) -> None:
        if take is None:
            return
        stalled = take.cadence.stalled_cameras
        assert stalled is not None
        for cam in self.cameras:
            if cam.stalled and cam.name not in stalled:
                stalled.append(cam.name)

    def _stop_on(self, e: Exception) -> None:
        self.failed_role = self._busy[0] if self._busy is not None else None
        self._busy = None
        self.error = e
        if self.on_error is not None:
            self.on_error(e)

    def _run(self) -> None:
        log.info("control loop at %d Hz with %s", self.fps, raise_current_thread())
        start = time.monotonic()
        k = 0  # the slot of the wall-clock grid the next tick fills
        last = None
        while not self._stop.is_set():
            now = time.monotonic()
            due = int((now - start) / self.period)
            if due > k:  # slots that passed without a tick (a stall): filled rows, no catch-up burst
                self.fill([(start + j * self.period, j) for j in range(k, due)])
                k = due
            if last is not None and now - last > LATE_FACTOR * self.period:
                self.late_ticks += 1
            last = now
            try:
                self.tick(now, k)
            except (StationError, OSError) as e:  # a device failed: the session stops the take and the arms
                self._stop_on(e)
                return
            except Exception as e:  # a bug: the same, with its traceback in the log
                log.error("control loop stopped: %s", e, exc_info=True)
                self._stop_on(e)
                return
            self.ticks += 1
            self._tick_times.append(now)
            if len(self._tick_times) > 2 * self.fps:
                del self._tick_times[: self.fps]
            k += 1
            deadline = start + k * self.period
            now = time.monotonic()
            if now < deadline:
                self._stop.wait(deadline - now)

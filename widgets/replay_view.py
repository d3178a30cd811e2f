"""Replay of a take: every camera in sync and the joint traces with a moving cursor; play/pause, scrub, 1x/2x/4x.

The take comes from its spool while it is still being saved, from the dataset once committed
(station.dataset.take_source). Frames are read and decoded on a worker thread that serves one request at a
time through a mailbox: the GUI asks for frame k, the worker decodes frame k of every camera and leaves the
result; the GUI's ~30 Hz timer shows the newest result. A slow decoder skips frames rather than queueing them,
and nothing of it runs on the GUI thread or near the control loop.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from station.dataset.take_source import DatasetTake, SpoolTake, TakeSource
from station.errors import StationError
from station.saving.queue import JobStatus, SaveJob
from widgets.camera_view import FrameCanvas
from widgets.keymap import keep_session_keys_out
from widgets.messages import Level

if TYPE_CHECKING:
    from widgets.controller import Controller

log = logging.getLogger(__name__)
TICK_MS = 33
SPEEDS = (1, 2, 4)
LEADER_PEN, FOLLOWER_PEN = (70, 130, 230), (240, 140, 40)


class FrameWorker:
    """Decodes the requested frame of every camera on its own thread; the newest result waits in a mailbox."""

    def __init__(self, source: TakeSource) -> None:
        self.source = source
        self._wanted: int | None = None
        self._result: tuple[int, dict[str, np.ndarray]] | None = None
        self._cond = threading.Condition()
        self._stop = False
        self.error = ""
        self.decoded = 0
        self._thread = threading.Thread(target=self._run, name="replay-decode", daemon=True)
        self._thread.start()

    def request(self, index: int) -> None:
        with self._cond:
            self._wanted = index
            self._cond.notify()

    def take_result(self) -> tuple[int, dict[str, np.ndarray]] | None:
        with self._cond:
            result, self._result = self._result, None
        return result

    def _run(self) -> None:
        while True:
            with self._cond:
                while self._wanted is None and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                index, self._wanted = self._wanted, None
            assert index is not None
            try:
                frames = {cam: self.source.frame(cam, index) for cam in self.source.cameras}
            except (OSError, ValueError, StationError) as e:
                log.warning("replay: frame %s could not be read: %s", index, e)
                self.error = str(e)
                continue
            with self._cond:
                self._result = (index, frames)
                self.decoded += 1

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(5)
        self.source.close()


class Playhead:
    """Where playback is, in frames, advanced by wall time x speed; Qt-free so it is testable alone."""

    def __init__(self, length: int, fps: int) -> None:
        self.length, self.fps = length, fps
        self.position = 0.0
        self.speed = 1
        self.playing = False
        self._last: float | None = None

    @property
    def frame(self) -> int:
        return min(self.length - 1, int(self.position))

    def play(self, now: float) -> None:
        if self.frame >= self.length - 1:
            self.position = 0.0
        self.playing, self._last = True, now

    def pause(self) -> None:
        self.playing, self._last = False, None

    def seek(self, frame: int) -> None:
        self.position = float(max(0, min(frame, self.length - 1)))

    def advance(self, now: float) -> None:
        if not self.playing or self._last is None:
            return
        self.position += (now - self._last) * self.fps * self.speed
        self._last = now
        if self.position >= self.length - 1:
            self.position = float(self.length - 1)
            self.pause()


class ReplayDialog(QDialog):
    def __init__(self, source: TakeSource, title: str, parent: QWidget | None = None,
                 own_keys: Mapping[str, Callable[[], object]] | None = None) -> None:
        super().__init__(parent)
        # ← on the scrub slider scrubs: it never throws the last take away; `own_keys` (S, F, E on a saved
        # episode) act on the episode replayed
        keep_session_keys_out(self, own_keys)
        self.setObjectName("replayDialog")
        self.setWindowTitle(title)
        self.resize(960, 640)
        self.source = source
        self.playhead = Playhead(source.length, source.fps)
        self.worker = FrameWorker(source)
        self.shown_frame = -1

        cams = QGridLayout()
        self.canvases: dict[str, FrameCanvas] = {}
        for i, name in enumerate(source.cameras):
            box = QVBoxLayout()
            box.addWidget(QLabel(name))
            canvas = FrameCanvas()
            canvas.setMinimumSize(160, 120)
            box.addWidget(canvas, 1)
            cams.addLayout(box, 0, i)
            self.canvases[name] = canvas

        self.plots = pg.GraphicsLayoutWidget()
        t = np.arange(source.length) / source.fps
        self.cursors: list[pg.InfiniteLine] = []
        names = source.joint_names or [f"joint {k + 1}" for k in range(source.action.shape[1])]
        for k, name in enumerate(names):
            plot = self.plots.addPlot(row=k // 3, col=k % 3, title=name.removesuffix(".pos"))
            plot.plot(t, source.action[:, k], pen=pg.mkPen(LEADER_PEN, width=1.5))
            plot.plot(t, source.state[:, k], pen=pg.mkPen(FOLLOWER_PEN, width=1.5))
            cursor = pg.InfiniteLine(0.0, angle=90, pen=pg.mkPen((200, 40, 40), width=1))
            plot.addItem(cursor)
            plot.setMouseEnabled(x=False, y=False)
            self.cursors.append(cursor)

        self.play_button = QPushButton("Play")
        self.play_button.setObjectName("replay_play")
        self.play_button.clicked.connect(self.toggle)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("replay_scrub")
        self.slider.setRange(0, max(0, source.length - 1))
        self.slider.valueChanged.connect(self._on_scrub)
        self.speed_box = QComboBox()
        self.speed_box.addItems([f"{s}x" for s in SPEEDS])
        self.speed_box.currentIndexChanged.connect(lambda i: setattr(self.playhead, "speed", SPEEDS[i]))
        self.time_label = QLabel()
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.time_label)
        controls.addWidget(self.speed_box)

        legend = QLabel(f"<span style='color:{_hex(LEADER_PEN)}'>■</span> leader (the action) &nbsp; "
                        f"<span style='color:{_hex(FOLLOWER_PEN)}'>■</span> follower (the state)")
        legend.setObjectName("replayLegend")
        layout = QVBoxLayout(self)
        layout.addLayout(cams, 3)
        layout.addWidget(legend)
        layout.addWidget(self.plots, 2)
        layout.addLayout(controls)

        self.timer = QTimer(self)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        self.worker.request(0)
        self._show_time()

    def toggle(self) -> None:
        if self.playhead.playing:
            self.playhead.pause()
        else:
            self.playhead.play(time.monotonic())
        self.play_button.setText("Pause" if self.playhead.playing else "Play")

    def _on_scrub(self, value: int) -> None:
        if value != self.playhead.frame:
            self.playhead.seek(value)
            self.worker.request(value)
        self._show_time()

    def _tick(self) -> None:
        was = self.playhead.frame
        self.playhead.advance(time.monotonic())
        if self.playhead.frame != was:
            self.worker.request(self.playhead.frame)
            self.slider.blockSignals(True)
            self.slider.setValue(self.playhead.frame)
            self.slider.blockSignals(False)
            self._show_time()
        if not self.playhead.playing and self.play_button.text() != "Play":
            self.play_button.setText("Play")
        result = self.worker.take_result()
        if result is not None:
            index, frames = result
            for cam, image in frames.items():
                self.canvases[cam].set_frame(image)
            self.shown_frame = index

    def _show_time(self) -> None:
        t = self.playhead.frame / self.source.fps
        for cursor in self.cursors:
            cursor.setValue(t)
        total = (self.source.length - 1) / self.source.fps
        self.time_label.setText(f"{t:5.1f} / {total:.1f} s")

    def done(self, result: int) -> None:
        self.timer.stop()
        self.worker.stop()
        super().done(result)


def _hex(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def _open(ctrl: Controller, source: TakeSource, title: str, episode: int | None = None) -> ReplayDialog:
    """`episode`: the saved episode replayed, which S, F and E then mark (else they mark the last take)."""
    old = ctrl.review.replay_dialog
    if old is not None:
        old.close()
    review = ctrl.review
    own: dict[str, Callable[[], object]] = {}
    if episode is not None:
        own = {"S": lambda: review.mark(episode, "success"), "F": lambda: review.mark(episode, "failure"),
               "E": lambda: review.ask_note_on(episode, parent=dialog)}
    dialog = ReplayDialog(source, title, ctrl.window, own)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    ctrl.review.replay_dialog = dialog

    def closed(_result: int) -> None:
        if ctrl.review.replay_dialog is dialog:  # deleted on close: no one asks it anything after this
            ctrl.review.replay_dialog = None
        ctrl.hold_countdown_while_busy()

    dialog.finished.connect(closed)
    dialog.show()
    ctrl.hold_countdown_while_busy()  # the operator watches the replay: the next take waits for them
    dialog.toggle()  # starts playing
    return dialog


def replay_episode(ctrl: Controller, episode: int) -> ReplayDialog | None:
    """Replay a committed episode of the open dataset."""
    root = ctrl.review.root
    if root is None:
        return None
    try:
        source: TakeSource = DatasetTake(root, episode)
    except (StationError, OSError, ValueError, IndexError, KeyError) as e:
        ctrl.say(f"Could not replay episode {episode}: {e}", Level.ERROR, topic="review")
        return None
    return _open(ctrl, source, f"Replay — episode {episode}", episode)


def replay_take(ctrl: Controller, job: SaveJob) -> ReplayDialog | None:
    """Replay a take of this session: from the dataset once committed, from its spool while it is saved."""
    if job.status is JobStatus.DONE and job.episode is not None:
        return replay_episode(ctrl, job.episode)
    if not job.recorded:
        ctrl.say("The take is still being recorded: replay it once it has ended.", Level.INFO, topic="review")
        return None
    try:
        source: TakeSource = SpoolTake(Path(job.spool_dir))
    except (OSError, ValueError) as e:
        if job.status is JobStatus.DONE and job.episode is not None:  # committed meanwhile: spool removed
            return replay_episode(ctrl, job.episode)
        ctrl.say(f"Could not replay the take: {e}", Level.ERROR, topic="review")
        return None
    episode = ctrl.session.queue.expected_episode(job) if ctrl.session is not None else None
    dialog = _open(ctrl, source, f"Replay — take {episode} (being saved)")
    if ctrl.session is not None:
        queue = ctrl.session.queue

        def saved(done: SaveJob) -> None:  # it plays on from the spool's open files; its title says it is saved
            if done is job and ctrl.review.replay_dialog is dialog:
                dialog.setWindowTitle(f"Replay — episode {done.episode}")

        queue.job_saved.connect(saved)
        dialog.finished.connect(lambda _result: queue.job_saved.disconnect(saved))
    return dialog

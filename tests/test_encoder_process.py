"""The encoder process: live takes encoded in a child process, fed through shared-memory rings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import av
import numpy as np
import pytest

from station.dataset.spec import VideoSettings
from station.saving import spool as spool_module
from station.saving.encoder_process import EncoderProcessGone, encoder_process
from station.saving.job import NullReporter, prepare_episode, prepare_live
from station.saving.spool import CadenceReport, SpoolReader, SpoolWriter, TakeInfo, to_spool_format

W, H = 640, 480  # frames of 256 KiB or more: written straight to the disk from their ring slot


def take_info() -> TakeInfo:
    return TakeInfo(task="stack", fps=30, robot_type="so_follower", joint_names=[f"j{i}.pos" for i in range(6)],
                    cameras=[{"name": "front", "width": W, "height": H}], created=time.time())


def frame(i: int) -> np.ndarray:
    """A frame no other frame of the take could pass for: its grey level and a bar at its own place."""
    rgb = np.full((H, W, 3), 8 * i, dtype=np.uint8)
    rgb[:, 20 * i:20 * i + 20] = 255
    return to_spool_format(rgb, "yuv420p")


def decoded_luma(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="yuv420p")[:H].astype(np.int16) for f in container.decode(video=0)]


class LiveSave:
    """prepare_live on its own thread, as a save worker runs it while the take is recorded."""

    def __init__(self, spool: SpoolWriter, codec: str = "h264") -> None:
        self.result: object = None
        self.error: BaseException | None = None
        self.encoding = threading.Event()  # the encoder process has encoded a frame
        self._thread = threading.Thread(target=self._run, args=(spool, VideoSettings.for_codec(codec)))
        self._thread.start()

    def _run(self, spool: SpoolWriter, video: VideoSettings) -> None:
        try:
            reporter = NullReporter()
            reporter.progress = lambda fraction: self.encoding.set()  # type: ignore[method-assign]
            self.result = prepare_live(spool, video, reporter)
        except Exception as e:  # noqa: BLE001  (the test reads it)
            self.error = e

    def join(self) -> None:
        self._thread.join(timeout=60)
        assert not self._thread.is_alive()


def wait_for(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_live_take_is_encoded_in_the_encoder_process_frame_for_frame_through_a_small_ring(tmp_path, monkeypatch):
    monkeypatch.setattr(spool_module, "ring_slots", lambda stride, fps: 2)  # the writer laps a slow encoder
    spool = SpoolWriter.create(tmp_path, take_info())
    save = LiveSave(spool)
    frames = [frame(i) for i in range(30)]
    for i, f in enumerate(frames):  # as fast as the writer takes them: some from the ring, some from the file
        spool.append(i / 30, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": f})
    spool.finish(CadenceReport(fps=30, ticks=30))
    save.join()
    assert save.error is None, save.error
    assert encoder_process().pid not in (None, os.getpid())
    luma = decoded_luma(spool.directory / "out" / "front.mp4")
    want = [f[:H].astype(np.int16) for f in frames]
    assert len(luma) == 30
    # each decoded frame is its own source frame (a slot overwritten under the encoder would show another's)
    assert [int(np.abs(got - w).mean()) <= 3 for got, w in zip(luma, want, strict=True)] == [True] * 30
    assert [int(np.argmin([np.abs(got - w).mean() for w in want])) for got in luma] == list(range(30))


def test_the_encoder_process_ending_mid_take_fails_the_save_in_plain_words_and_the_next_save_starts_it_again(
        tmp_path):
    spool = SpoolWriter.create(tmp_path, take_info())
    save = LiveSave(spool, codec="libsvtav1")
    for i in range(10):
        spool.append(i / 30, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": frame(i)})
    assert save.encoding.wait(timeout=20)
    pid = encoder_process().pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    for i in range(10, 20):
        spool.append(i / 30, np.zeros(6, np.float32), np.zeros(6, np.float32), {"front": frame(i)})
    path = spool.finish(CadenceReport(fps=30, ticks=20))
    save.join()
    assert isinstance(save.error, EncoderProcessGone)
    assert str(save.error) == ("the encoder process ended while encoding camera front (signal 9): "
                               "save the take again")
    episode = prepare_episode(SpoolReader(path), VideoSettings.for_codec("h264"), NullReporter())  # a new one
    assert encoder_process().pid not in (None, pid)
    assert len(decoded_luma(episode.videos["front"])) == 20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_encoder_process_ends_with_the_station_process():
    with subprocess.Popen(
        [sys.executable, "-c", "import time\nfrom station.saving.encoder_process import encoder_process\n"
         "encoder_process().start(); print(encoder_process().pid, flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    ) as station:
        assert station.stdout is not None
        child = int(station.stdout.readline())
        station.kill()  # as kill -9 would: nothing of the station runs any more

    def gone() -> bool:
        try:
            return Path(f"/proc/{child}/stat").read_text().split(")")[-1].split()[0] in ("Z", "X")
        except OSError:
            return True

    wait_for(gone, timeout=10)

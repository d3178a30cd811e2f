"""Before the first take: does this camera set fit real time with this codec on this machine? Said in words.

From measured throughput, not a table: a short probe of the encoder on this machine (station.saving.
throughput, about two seconds once, then cached per machine and camera set). A set fits when it needs at
most CAPACITY of what the encoders do alone, the share `station bench` measures the whole station keeping
while it records. When it does not fit the text says by how much saving will fall behind and what would fit:
h264, a smaller size, fewer cameras. Nothing is refused: takes that outrun the encoder wait on disk.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from station.dataset.spec import CODECS, CameraSpec

log = logging.getLogger(__name__)
CAPACITY = 0.8  # of the encoder alone, what the station keeps while it records (bench: capacity_fraction)
SIZES = ((1920, 1080), (1280, 720), (960, 540), (848, 480), (640, 480), (640, 360), (424, 240), (320, 240))
CODEC_NAMES = {"av1": "AV1", "h264": "h264"}

Measure = Callable[[int, int, str, int], float]  # (width, height, codec, cameras) -> camera-frames/s alone


def machine_busy() -> bool:
    from station.saving.throughput import machine_busy as busy

    return busy()


def measured(cancelled: Callable[[], bool] = lambda: False, again: bool = False) -> Measure:
    """The cached probe of this machine (station.saving.throughput), ending early once `cancelled()`; with
    `again`, probed anew and the best figure kept."""
    from station.saving.throughput import cached_encoder_fps

    def measure(width: int, height: int, codec: str, cameras: int) -> float:
        return cached_encoder_fps(width, height, codec, cameras, cancelled=cancelled, again=again)[0]

    return measure


@dataclass(frozen=True)
class Fit:
    fits: bool
    needed_fps: float  # camera-frames per second the set records
    encoder_fps: float  # camera-frames per second the encoders do alone on this machine
    text: str  # one line in plain words, with the alternatives when it does not fit

    @property
    def realtime_factor(self) -> float:
        return self.encoder_fps / self.needed_fps if self.needed_fps else math.inf


def check_fit(cameras: Sequence[CameraSpec], fps: int, vcodec: str, measure: Measure | None = None,
              again: Measure | None = None) -> Fit | None:
    """Whether `cameras` at `fps` fit real time with `vcodec` here; None when there are no cameras. A set the
    first figure says does not fit is measured `again` before it is said (a slow figure may come from a busy
    moment: the probe is cached, and a wrong "does not fit" would be said at every start)."""
    if not cameras:
        return None
    if measure is None:
        measure, again = measured(), measured(again=True)
    big = max(cameras, key=lambda c: c.width * c.height)
    n = len(cameras)
    # in frames of the largest camera: a smaller one costs its share of pixels
    needed = fps * sum(c.width * c.height for c in cameras) / (big.width * big.height)
    alone = measure(big.width, big.height, vcodec, n)
    if needed > CAPACITY * alone and again is not None:
        alone = max(alone, again(big.width, big.height, vcodec, n))
    if alone <= 0:  # nothing measured (the probe was cancelled as the session closed)
        return None
    codec = CODEC_NAMES.get(CODECS.get(vcodec, ("", vcodec))[1], vcodec)
    what = f"{n} camera{'s' if n > 1 else ''} {big.width}x{big.height} at {fps} fps"
    if needed <= CAPACITY * alone:
        return Fit(True, needed, alone, f"preflight: {what} with {codec} fit real time on this machine "
                                        f"(the encoder does {alone / needed:.1f}x what they need).")
    usable = CAPACITY * alone
    behind_s = 60 * (needed - usable) / usable  # extra encoding time per minute recorded
    options = []
    if CODECS.get(vcodec, ("", ""))[1] != "h264":
        h264 = measure(big.width, big.height, "h264", n)
        if needed <= CAPACITY * h264:
            options.append(f"--vcodec h264 (it encodes {h264:.0f} frames/s here)")
    per_pixel = alone * big.width * big.height
    smaller = next((f"{w}x{h}" for w, h in SIZES if w * h < big.width * big.height
                    and needed * w * h <= CAPACITY * per_pixel), None)
    if smaller:
        options.append(f"cameras at {smaller}")
    fewer = int(CAPACITY * alone // max(fps, 1))
    if 0 < fewer < n:
        options.append(f"{fewer} camera{'s' if fewer > 1 else ''}")
    instead = "; to keep up use " + ", or ".join(options) if options else ""
    busy = " (measured while other programs keep this machine busy)" if machine_busy() else ""
    text = (f"preflight: {what} with {codec} need {needed:.0f} frames/s, but this machine encodes about "
            f"{alone:.0f}{busy} ({usable:.0f} while recording): saving will fall behind by about {behind_s:.0f} s "
            f"per minute recorded (takes wait on disk, nothing is lost){instead}.")
    return Fit(False, needed, alone, text)


def preflight_line(cameras: Sequence[CameraSpec], fps: int, vcodec: str, measure: Measure | None = None) -> str:
    """The headless command's one line (empty without cameras); a failed probe is said, never raised."""
    try:
        fit = check_fit(cameras, fps, vcodec, measure)
    except Exception as e:  # noqa: BLE001  (a probe that cannot run must not stop a recording; logged)
        log.warning("encoder probe failed: %s", e)
        return f"preflight: could not measure the encoder on this machine ({e}); recording anyway."
    return fit.text if fit is not None else ""

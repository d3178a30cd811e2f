"""Before the first take: does this camera set fit real time with this codec on this machine? Said in words.

From measured throughput, not a table: a short probe of the encoder on this machine (station.saving.
throughput, about two seconds once, then cached per machine and camera set). A set fits when it needs at
most CAPACITY of what the encoders do alone, the share `station bench` measures the whole station keeping
while it records. When it does not fit the text says by how much saving will fall behind and what would fit:
h264, a smaller size, fewer cameras; a set within what the encoders do alone is said to have little room
(the bench has measured the station keeping up to 0.93-0.97 of them with AV1), not to fall behind. Nothing
is refused: takes that outrun the encoder wait on disk.

The disk comes first: every frame goes to the spool as it is recorded, and a disk that cannot take the set's
bytes (more than DISK_SHARE of its measured speed, station.saving.disk_speed: about a second once per file
system) holds up the control loop itself, so that is said instead, with what would fit.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from station.dataset.spec import CODECS, CameraSpec
from station.saving.spool import frame_stride, spool_pix_fmt

log = logging.getLogger(__name__)
CAPACITY = 0.8  # of the encoder alone, what the station keeps while it records (bench: capacity_fraction)
# Of the disk's measured speed, what the spool may take: it also syncs every second, and a live encoder that fell
# behind reads back from the same disk (bench: the capacity probes' spool rate against spool_disk_mb_per_s).
DISK_SHARE = 0.8
SIZES = ((1920, 1080), (1280, 720), (960, 540), (848, 480), (640, 480), (640, 360), (424, 240), (320, 240))
CODEC_NAMES = {"av1": "AV1", "h264": "h264"}

Measure = Callable[[int, int, str, int], float]  # (width, height, codec, cameras) -> camera-frames/s alone
DiskMeasure = Callable[[bool], float]  # (measured again?) -> bytes/s the dataset's disk takes; 0: not known


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


def measured_disk(root: Path, cancelled: Callable[[], bool] = lambda: False) -> DiskMeasure:
    """The cached probe of the disk holding `root` (station.saving.disk_speed); one that cannot write there
    (no permission, an I/O error) gives 0 (not known) and is logged: the session says its own errors."""
    from station.saving.disk_speed import cached_disk_write_speed

    def measure(again: bool) -> float:
        try:
            return cached_disk_write_speed(root, cancelled=cancelled, again=again)[0]
        except OSError as e:
            log.warning("could not measure the disk's write speed at %s: %s", root, e)
            return 0.0

    return measure


@dataclass(frozen=True)
class Fit:
    fits: bool
    needed_fps: float  # camera-frames per second the set records
    encoder_fps: float  # camera-frames per second the encoders do alone on this machine
    text: str  # one line in plain words, with the alternatives when it does not fit
    spool_bytes_per_s: float = 0.0  # what the set writes to the spool
    disk_bytes_per_s: float = 0.0  # what the dataset's disk takes (0: not measured)

    @property
    def realtime_factor(self) -> float:
        return self.encoder_fps / self.needed_fps if self.needed_fps else math.inf


def check_fit(cameras: Sequence[CameraSpec], fps: int, vcodec: str, measure: Measure | None = None,
              again: Measure | None = None, disk: DiskMeasure | None = None) -> Fit | None:
    """Whether `cameras` at `fps` fit real time with `vcodec` here, and on the `disk` if given; None when there
    are no cameras. A set the first figure says does not fit is measured again before it is said (a slow
    figure may come from a busy moment: the probe is cached, and a wrong "does not fit" would be said at every
    start)."""
    if not cameras:
        return None
    disk_fit = _check_disk(cameras, fps, disk) if disk is not None else None
    if disk_fit is not None and not disk_fit.fits:
        return disk_fit
    fit = _check_encoder(cameras, fps, vcodec, measure, again)
    if fit is None or disk_fit is None:
        return fit
    spool, speed = disk_fit.spool_bytes_per_s, disk_fit.disk_bytes_per_s
    text = fit.text.removesuffix(").") + f"; the disk takes {speed / spool:.1f}x what they write)." if fit.fits \
        else fit.text
    return replace(fit, text=text, spool_bytes_per_s=spool, disk_bytes_per_s=speed)


def _spool_bytes_per_s(cameras: Sequence[CameraSpec], fps: int) -> float:
    pix_fmt = spool_pix_fmt(cameras)
    return fps * sum(frame_stride(c.width, c.height, pix_fmt) for c in cameras)


def _largest(cameras: Sequence[CameraSpec]) -> CameraSpec:
    return max(cameras, key=lambda c: c.width * c.height)


def _cameras(n: int) -> str:
    return f"{n} camera{'s' if n > 1 else ''}"


def _what(cameras: Sequence[CameraSpec], fps: int) -> str:
    """"2 cameras 1280x720 at 30 fps", or with sizes that differ "2 cameras (1280x720, 640x480) at 30 fps"."""
    largest_first = sorted(cameras, key=lambda c: -c.width * c.height)
    sizes = list(dict.fromkeys(f"{c.width}x{c.height}" for c in largest_first))
    named = sizes[0] if len(sizes) == 1 else f"({', '.join(sizes)})"
    return f"{_cameras(len(cameras))} {named} at {fps} fps"


def _check_disk(cameras: Sequence[CameraSpec], fps: int, disk: DiskMeasure) -> Fit | None:
    """Whether the dataset's disk takes what the set writes to the spool; None when its speed is not known."""
    needed = _spool_bytes_per_s(cameras, fps)
    speed = disk(False)
    if speed > 0 and needed > DISK_SHARE * speed:  # 0: not measured (no room, cancelled): not measured again
        speed = max(speed, disk(True))
    if speed <= 0:
        return None
    fps_needed = float(fps * len(cameras))
    usable = DISK_SHARE * speed
    if needed <= usable:
        return Fit(True, fps_needed, 0.0, "", needed, speed)
    big = _largest(cameras)
    options = []
    smaller = next((f"{w}x{h}" for w, h in SIZES if w * h < big.width * big.height
                    and _spool_bytes_per_s([CameraSpec(c.name, min(c.width, w), min(c.height, h)) for c in cameras],
                                           fps) <= usable), None)
    if smaller:
        options.append(f"cameras at {smaller}")
    fewer = int(usable // (needed / len(cameras)))
    if 0 < fewer < len(cameras):
        options.append(_cameras(fewer))
    options.append("a dataset on a faster disk")
    text = (f"preflight: {_what(cameras, fps)} write {needed / 1e6:.0f} MB/s to the disk as they record, but the "
            f"dataset's disk takes about {speed / 1e6:.0f} MB/s, of which recording can count on "
            f"{usable / 1e6:.0f}: recording will wait for the disk and frames will repeat the one before; to keep "
            "up use " + ", or ".join(options) + ".")
    return Fit(False, fps_needed, 0.0, text, needed, speed)


def _check_encoder(cameras: Sequence[CameraSpec], fps: int, vcodec: str, measure: Measure | None,
                   again: Measure | None) -> Fit | None:
    if measure is None:
        measure, again = measured(), measured(again=True)
    big = _largest(cameras)
    n = len(cameras)
    # in frames of the largest camera: a smaller one costs its share of pixels
    needed = fps * sum(c.width * c.height for c in cameras) / (big.width * big.height)
    alone = measure(big.width, big.height, vcodec, n)
    if needed > CAPACITY * alone and again is not None:
        alone = max(alone, again(big.width, big.height, vcodec, n))
    if alone <= 0:  # nothing measured (the probe was cancelled as the session closed)
        return None
    codec = CODEC_NAMES.get(CODECS.get(vcodec, ("", vcodec))[1], vcodec)
    what = _what(cameras, fps)
    if needed <= CAPACITY * alone:
        return Fit(True, needed, alone, f"preflight: {what} with {codec} fit real time on this machine "
                                        f"(the encoder does {alone / needed:.1f}x what they need).")
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
        options.append(_cameras(fewer))
    busy = " (measured while other programs keep this machine busy)" if machine_busy() else ""
    if needed <= alone:  # within what the encoders do alone: it may keep up (the bench has measured up to 0.97)
        instead = "; for more room use " + ", or ".join(options) if options else ""
        text = (f"preflight: {what} with {codec} need {needed:.0f} frames/s, close to the {alone:.0f} this machine "
                f"encodes{busy}: saving keeps up only while nothing else runs, and may fall behind (takes wait on "
                f"disk, nothing is lost){instead}.")
        return Fit(False, needed, alone, text)
    usable = CAPACITY * alone
    behind_s = 60 * (needed - usable) / usable  # extra encoding time per minute recorded
    instead = "; to keep up use " + ", or ".join(options) if options else ""
    text = (f"preflight: {what} with {codec} need {needed:.0f} frames/s, but this machine encodes about "
            f"{alone:.0f}{busy} ({usable:.0f} while recording): saving will fall behind by about {behind_s:.0f} s "
            f"per minute recorded (takes wait on disk, nothing is lost){instead}.")
    return Fit(False, needed, alone, text)


def preflight_line(cameras: Sequence[CameraSpec], fps: int, vcodec: str, measure: Measure | None = None,
                   disk: DiskMeasure | None = None) -> str:
    """The headless command's one line (empty without cameras); a failed probe is said, never raised."""
    try:
        fit = check_fit(cameras, fps, vcodec, measure, disk=disk)
    except Exception as e:  # noqa: BLE001  (a probe that cannot run must not stop a recording; logged)
        log.warning("preflight probe failed: %s", e)
        return f"preflight: could not measure this machine's encoder or disk ({e}); recording anyway."
    return fit.text if fit is not None else ""

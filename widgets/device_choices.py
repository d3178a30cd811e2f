"""What can be chosen in the Devices dialogs: the serial ports present, the cameras present and their sizes. Qt-free."""

from __future__ import annotations

import glob
import logging
from dataclasses import dataclass, field

from station.config import CameraSource
from station.errors import StationError

log = logging.getLogger(__name__)
TEST_PATTERN = "testsrc"
PATTERN_SIZES = [(640, 480), (1280, 720), (320, 240)]


def serial_ports() -> list[str]:
    """The serial ports present: USB adapters first (the SO-101's boards are USB serial), then the rest."""
    found: set[str] = set()
    try:
        from serial.tools import list_ports

        found.update(p.device for p in list_ports.comports())
    except ImportError:  # pyserial comes with the servo SDK; without it, the usual device names
        log.info("pyserial not installed: listing /dev/ttyACM* and /dev/ttyUSB* only")
    for pattern in ("/dev/ttyACM*", "/dev/ttyUSB*", "/dev/serial/by-id/*", "/dev/tty.usbmodem*"):
        found.update(glob.glob(pattern))
    return sorted(found, key=lambda p: (not any(k in p for k in ("ACM", "USB", "usbmodem", "by-id")), p))


@dataclass(frozen=True)
class CameraChoice:
    label: str  # what the list shows
    source: str  # what --camera takes after NAME=
    sizes: list[tuple[int, int]] = field(default_factory=list)  # empty: the source's own size (a file)


def camera_choices(pattern: str = "/dev/video*") -> list[CameraChoice]:
    """The test pattern and every V4L2 capture device with the sizes it offers."""
    from station.hardware.cameras import list_v4l2_devices

    choices = [CameraChoice("Test pattern", TEST_PATTERN, list(PATTERN_SIZES))]
    for device in list_v4l2_devices(pattern):
        if device.error or not device.capture:
            continue
        sizes = sorted({(w, h) for mode in device.modes for w, h, _rates in mode.sizes}, reverse=True)
        choices.append(CameraChoice(f"{device.card} ({device.path})", device.path, sizes))
    return choices


def sources_problem(rows: list[tuple[str, str, tuple[int, int] | None]]) -> tuple[tuple[CameraSource, ...], str]:
    """The camera sources for rows of (name, source, size), or the first problem in words ("" when none)."""
    sources: list[CameraSource] = []
    for name, source, size in rows:
        try:
            sources.append(CameraSource(name.strip(), source.strip(), *(size or (None, None))))
        except StationError as e:
            return (), str(e)
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        return (), "two cameras have the same name"
    return tuple(sources), ""


def device_advice(error: str) -> str:
    """A device that would not open, with what to do about it: a camera is changed, an arm is reconnected."""
    if "camera" in error.lower().split(":")[0]:
        return f"{error} — choose another source in Devices > Cameras…; the arms are not the problem."
    return f"{error} — check the cables and power, then connect with Devices > Connect arms…"

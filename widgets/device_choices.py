"""What can be chosen in the Devices dialogs: the serial ports present, the cameras present and their modes. Qt-free.

A V4L2 device offers modes (pixel format, size, the frame rates it lists for them); the test pattern offers
sizes; a video file plays at its own size. A mode that cannot serve the dataset's rate (or a pixel format the
station cannot ask for) is listed with the reason and cannot be chosen.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from station.config import DEFAULT_CAMERA_SIZE, V4L2_DEVICE, CameraSource
from station.errors import StationError
from station.hardware.pixel_formats import AUTOMATIC_FORMAT, FFMPEG_INPUT_FORMATS

if TYPE_CHECKING:
    from station.hardware.cameras import V4L2Device

log = logging.getLogger(__name__)
TEST_PATTERN = "testsrc"
PATTERN_SIZES = [(640, 480), (1280, 720), (320, 240)]
ModeKey = tuple[int, int, str | None]  # (width, height, V4L2 pixel format or None)


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
    return sorted(found, key=lambda p: (not usb_serial(p), p))


def usb_serial(port: str) -> bool:
    """A USB serial adapter's port (the SO-101's boards are), not the PC's own serial lines (ttyS0…)."""
    return any(k in port for k in ("ACM", "USB", "usbmodem", "by-id"))


def setting_words(key: ModeKey, description: str = "") -> str:
    """A size and pixel format in words: "640x480 · MJPG (Motion-JPEG)", "640x480 · YUYV 4:2:2"."""
    width, height, fourcc = key
    words = f"{width}x{height}"
    if fourcc and description.startswith(fourcc):  # the driver's words already name it
        words += f" · {description}"
    elif fourcc:
        words += f" · {fourcc}" + (f" ({description})" if description else "")
    return words


def setting_label(source: str, key: ModeKey | None) -> str:
    """Words for a setting the source does not list: one given on the command line, or (None) its default."""
    v4l2 = bool(V4L2_DEVICE.match(source))
    prefix = ""
    if key is None:
        if not v4l2 and source != TEST_PATTERN:
            return "its own size"
        key, prefix = (*DEFAULT_CAMERA_SIZE, None), "default: "
    words = prefix + setting_words(key)
    if v4l2 and key[2] is None:
        words += f" · {AUTOMATIC_FORMAT} when offered"
    return words


@dataclass(frozen=True)
class CameraMode:
    """One way to open a source: a size, and for a V4L2 device a pixel format and the rates listed for it."""

    width: int
    height: int
    fourcc: str | None = None
    description: str = ""  # the driver's name for the format, e.g. "Motion-JPEG"
    rates: tuple[float, ...] = ()  # fastest first; empty: not listed (or the test pattern: any rate)
    problem: str = ""  # why it cannot be chosen; "" when it can

    @property
    def key(self) -> ModeKey:
        return (self.width, self.height, self.fourcc)

    @property
    def label(self) -> str:
        """E.g. "640x480 · MJPG (Motion-JPEG) · 30, 15 fps"."""
        return " · ".join([setting_words(self.key, self.description), *self._rate_words()])

    def _rate_words(self) -> list[str]:
        if self.problem:
            return [self.problem]
        if self.rates:
            return [", ".join(f"{r:g}" for r in self.rates) + " fps"]
        return ["rates not listed"] if self.fourcc else []


@dataclass(frozen=True)
class CameraChoice:
    label: str  # what the list shows
    source: str  # what --camera takes after NAME=
    modes: tuple[CameraMode, ...] = ()  # empty: nothing to choose (a video file plays at its own size)
    problem: str = ""  # why the source cannot be used at all (a device that cannot be opened)

    def mode(self, key: ModeKey | None) -> CameraMode | None:
        return next((m for m in self.modes if m.key == key), None)

    def default_mode(self) -> CameraMode | None:
        """The mode a newly chosen source starts in: 640x480 (MJPG if offered), else the first that can be chosen."""
        usable = [m for m in self.modes if not m.problem]
        preferred = sorted(usable, key=lambda m: (m.key[:2] != DEFAULT_CAMERA_SIZE, m.fourcc != AUTOMATIC_FORMAT))
        return preferred[0] if preferred else None


def v4l2_modes(device: V4L2Device, fps: int) -> tuple[CameraMode, ...]:
    """A device's modes: its formats in the driver's order, each size largest first, each rate fastest first."""
    from station.hardware.cameras import mode_rate

    modes = []
    for mode in device.modes:
        for width, height, rates in sorted(mode.sizes, key=lambda s: s[0] * s[1], reverse=True):
            problem = ""
            if mode.fourcc not in FFMPEG_INPUT_FORMATS:
                problem = "a format the station cannot ask for"
            elif rates and mode_rate(rates, fps) is None:
                problem = f"max {max(rates):g} fps — slower than the dataset's {fps} fps"
            modes.append(CameraMode(width, height, mode.fourcc, mode.description,
                                    tuple(sorted(rates, reverse=True)), problem))
    return tuple(modes)


def camera_choices(fps: int, pattern: str = "/dev/video*") -> list[CameraChoice]:
    """The test pattern and every V4L2 capture device with the modes it offers, judged at the dataset's `fps`."""
    from station.hardware.cameras import list_v4l2_devices

    choices = [CameraChoice("Test pattern", TEST_PATTERN, tuple(CameraMode(w, h) for w, h in PATTERN_SIZES))]
    for device in list_v4l2_devices(pattern):
        if device.error:
            choices.append(CameraChoice(f"{device.path} — cannot be opened: {device.error}", device.path,
                                        problem=f"{device.path} cannot be opened ({device.error})"))
        elif device.capture:
            choices.append(CameraChoice(f"{device.card} ({device.path})", device.path, v4l2_modes(device, fps)))
    return choices


def sources_problem(rows: list[tuple[str, str, ModeKey | None]],
                    choices: Sequence[CameraChoice] = ()) -> tuple[tuple[CameraSource, ...], str]:
    """The camera sources for rows of (name, source, mode), or the first problem in words ("" when none).

    A source or mode that `choices` lists as unusable (a mode too slow for the dataset, say) is a problem too:
    it is never taken silently.
    """
    sources: list[CameraSource] = []
    for name, source, key in rows:
        width, height, fourcc = key or (None, None, None)
        try:
            sources.append(CameraSource(name.strip(), source.strip(), width, height, fourcc))
        except StationError as e:
            return (), str(e)
        choice = next((c for c in choices if c.source == source.strip()), None)
        mode = choice.mode(key) if choice else None
        if choice and choice.problem:
            return (), f"camera {name.strip()}: {choice.problem}"
        if choice and choice.modes and mode is None and key is not None and key[2] is not None:
            return (), (f"camera {name.strip()}: {source.strip()} does not offer {setting_words(key)}: "
                        "choose another mode")
        if mode and mode.problem:
            return (), (f"camera {name.strip()}: {setting_words(mode.key)} cannot be used ({mode.problem}): "
                        "choose another mode")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        return (), "two cameras have the same name"
    return tuple(sources), ""


def device_advice(error: str) -> str:
    """A device that would not open, with what to do about it: a camera is changed, an arm is reconnected."""
    if "camera" in error.lower().split(":")[0]:
        return f"{error} — choose another source in Devices > Cameras…; the arms are not the problem."
    return f"{error} — check the cables and power, then connect with Devices > Connect arms…"

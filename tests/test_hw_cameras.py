"""PyAV cameras: testsrc pacing and size, looped video files, stall detection, bad sources, V4L2 listing."""

from __future__ import annotations

import argparse
import itertools
import time
from collections.abc import Callable

import av
import numpy as np
import pytest

from station.commands import cameras as cameras_command
from station.config import CameraSource
from station.errors import ConfigError, HardwareError
from station.hardware.cameras import (
    VIDIOC_ENUM_FMT,
    VIDIOC_ENUM_FRAMEINTERVALS,
    VIDIOC_ENUM_FRAMESIZES,
    VIDIOC_QUERYCAP,
    PyAVCamera,
    V4L2Device,
    V4L2Mode,
    list_v4l2_devices,
    open_camera,
    v4l2_options,
)
from station.hardware.interfaces import CAMERA_PIX_FMT, image_format, image_size
from station.hardware.pixel_formats import FFMPEG_INPUT_FORMATS


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> float:
    """Poll until condition() holds; returns the time it took."""
    t0 = time.monotonic()
    while not condition():
        assert time.monotonic() - t0 < timeout, "condition not met in time"
        time.sleep(0.005)  # polling interval, not a synchronisation
    return time.monotonic() - t0


@pytest.fixture
def started():
    cams: list[PyAVCamera] = []

    def start(src: CameraSource, fps: int) -> PyAVCamera:
        cam = open_camera(src, fps)
        cams.append(cam)
        cam.start()
        return cam

    yield start
    for cam in cams:
        cam.stop()


def make_video(path, frames: int = 10, rate: int = 20, size: tuple[int, int] = (64, 48)) -> None:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=rate)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        for i in range(frames):
            img = np.full((size[1], size[0], 3), i * 20, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_testsrc_delivers_read_only_frames_of_the_requested_size_at_the_requested_rate(started):
    cam = started(CameraSource("front", "testsrc", 320, 240), 50)
    assert (cam.width, cam.height) == (320, 240)
    wait_for(lambda: (f := cam.latest()) is not None and f.seq >= 30)
    frame = cam.latest()
    assert frame is not None
    assert frame.image.shape == (360, 320) and frame.image.dtype == np.uint8  # yuv420p: Y, then U and V
    assert image_format(frame.image) == CAMERA_PIX_FMT and image_size(frame.image) == (320, 240)
    with pytest.raises(ValueError):
        frame.image[0, 0] = 1
    assert 45 <= cam.capture_fps <= 55
    assert not cam.stalled and cam.error is None
    newer = cam.latest()
    assert newer is not None and newer.seq >= frame.seq and newer.t >= frame.t


def test_default_size_and_stop_marks_stalled(started):
    cam = started(CameraSource("wrist", "testsrc"), 30)
    assert (cam.width, cam.height) == (640, 480)
    wait_for(lambda: cam.latest() is not None)
    cam.stop()
    assert cam.stalled


def test_camera_without_new_frames_is_stalled_after_half_a_second(started):
    cam = started(CameraSource("front", "testsrc", 64, 48), 60)
    wait_for(lambda: cam.latest() is not None)
    cam.paused = True
    last = cam.latest()
    assert last is not None
    took = wait_for(lambda: cam.stalled, timeout=3.0)
    assert took >= 0.3 and time.monotonic() - last.t >= 0.5
    cam.paused = False
    wait_for(lambda: not cam.stalled)


def test_reader_that_dies_is_stalled_and_keeps_the_reason(started, monkeypatch):
    def broken_decoder(self, frame):
        raise RuntimeError("decoder exploded")

    monkeypatch.setattr(PyAVCamera, "_to_image", broken_decoder)
    cam = started(CameraSource("front", "testsrc", 64, 48), 30)
    wait_for(lambda: cam.error is not None)
    assert cam.error == "decoder exploded"
    wait_for(lambda: cam.stalled)


def test_video_file_is_looped_scaled_and_paced_at_its_own_rate(started, tmp_path):
    path = tmp_path / "clip.mp4"
    make_video(path, frames=10, rate=20)
    native = open_camera(CameraSource("side", str(path)), 30)
    assert (native.width, native.height) == (64, 48)
    cam = started(CameraSource("side", str(path), 32, 24), 30)
    wait_for(lambda: (f := cam.latest()) is not None and f.seq >= 16)  # more frames than the file holds
    frame = cam.latest()
    assert frame is not None and image_size(frame.image) == (32, 24)
    assert 17 <= cam.capture_fps <= 23
    assert cam.error is None


@pytest.mark.parametrize(("rate", "from_memory"), [(20, True), (8, False)])
def test_a_file_of_up_to_a_second_is_decoded_once_and_then_played_from_memory(tmp_path, rate, from_memory):
    path = tmp_path / "clip.mp4"
    frames = 12
    make_video(path, frames=frames, rate=rate)  # at 20 fps: 0.6 s; at 8 fps: 1.5 s
    cam = open_camera(CameraSource("side", str(path)), 30)
    cam._container = cam._open()
    try:
        played = list(itertools.islice(cam._frames(), 3 * frames))
    finally:
        cam._container.close()
    pixels = [int(f.to_ndarray()[0, 0]) for f in played]
    assert pixels[:frames] == pixels[frames:2 * frames] == pixels[2 * frames:]  # looped either way
    again = [a is b for a, b in zip(played[:frames], played[frames:2 * frames], strict=True)]
    assert all(again) if from_memory else not any(again)  # the very frames decoded first, or decoded anew


def test_bad_sources(tmp_path):
    with pytest.raises(ConfigError, match="unknown camera source 'nonsense'"):
        open_camera(CameraSource("front", "nonsense"), 30)
    with pytest.raises(ConfigError, match="missing.mp4: no such file"):  # a path, named as one
        open_camera(CameraSource("front", str(tmp_path / "missing.mp4")), 30)
    cam = open_camera(CameraSource("front", "/dev/video99"), 30)
    with pytest.raises(HardwareError) as exc:
        cam.start()
    assert str(exc.value) == "camera front cannot open /dev/video99: no such device"
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    with pytest.raises(ConfigError) as refused:  # refused when the session is set up, not when it starts
        open_camera(CameraSource("top", str(junk)), 30)
    assert str(refused.value).startswith(f"camera source {junk} is not a video file") and "\n" not in str(
        refused.value
    )


def test_v4l2_ioctl_numbers_match_the_kernel_headers():
    assert VIDIOC_QUERYCAP == 0x80685600
    assert VIDIOC_ENUM_FMT == 0xC0405602
    assert VIDIOC_ENUM_FRAMESIZES == 0xC02C564A
    assert VIDIOC_ENUM_FRAMEINTERVALS == 0xC034564B


def test_listing_without_cameras_says_so(tmp_path, capsys):
    assert list_v4l2_devices(str(tmp_path / "video*")) == []
    args = argparse.Namespace(devices=str(tmp_path / "video*"))
    assert cameras_command.run(args) == 0
    assert capsys.readouterr().out == "no cameras found (no /dev/video* device)\n"
    not_v4l2 = tmp_path / "video0"
    not_v4l2.write_text("")
    [device] = list_v4l2_devices(str(tmp_path / "video*"))
    assert device.error == "not a V4L2 device" and not device.capture


# A webcam as its driver lists it: MJPG fast at every size, YUYV slow at the large one.
WEBCAM = [
    V4L2Mode("YUYV", "YUYV 4:2:2", [(1280, 720, [10.0, 5.0]), (640, 480, [30.0, 15.0])]),
    V4L2Mode("MJPG", "Motion-JPEG", [(1280, 720, [60.0, 30.0]), (640, 480, [60.0, 30.0, 15.0])]),
]


@pytest.fixture
def opened(monkeypatch):
    """A v4l2 camera started against the fake WEBCAM: what av.open was asked (no device is touched)."""
    calls: list[dict] = []

    class Opened(Exception):
        pass

    def fake_open(file, format=None, options=None, **kwargs):
        calls.append({"file": file, "format": format, "options": options})
        raise Opened  # stop here: the reader thread is not the point

    monkeypatch.setattr(av, "open", fake_open)
    monkeypatch.setattr("station.hardware.cameras.os.path.exists", lambda path: path == "/dev/video0")
    monkeypatch.setattr("station.hardware.cameras.device_modes", lambda path: WEBCAM)

    def start(text: str, fps: int) -> dict:
        cam = open_camera(CameraSource.parse(text), fps)
        try:
            cam.start()  # a refused mode raises HardwareError before av.open
        except Opened:
            return calls[-1]
        raise AssertionError("av.open was not called")

    return start


def test_a_v4l2_camera_opens_in_the_format_asked_at_a_rate_that_keeps_up(opened):
    call = opened("front=/dev/video0@640x480/YUYV", 30)
    assert call["file"] == "/dev/video0" and call["format"] == "v4l2"
    assert call["options"] == {"video_size": "640x480", "framerate": "30", "input_format": "yuyv422"}
    # no format asked: MJPG when offered, as before; the slowest listed rate that keeps up with the session
    assert opened("front=/dev/video0@1280x720", 25)["options"] == {
        "video_size": "1280x720", "framerate": "30", "input_format": "mjpeg"}
    assert opened("front=/dev/video0@640x480/MJPG", 50)["options"]["framerate"] == "60"


@pytest.mark.parametrize("text, fps, why", [
    ("front=/dev/video0@1280x720/YUYV", 30, "as 1280x720 YUYV it gives at most 10 fps, slower than the session's 30"),
    ("front=/dev/video0@640x480/NV12", 30, "it offers YUYV, MJPG, not NV12"),
    ("front=/dev/video0@800x600/MJPG", 30, "it offers MJPG at 1280x720, 640x480, not 800x600"),
])
def test_a_v4l2_mode_the_device_cannot_give_is_refused_in_one_line(opened, text, fps, why):
    with pytest.raises(HardwareError) as refused:
        opened(text, fps)
    assert why in str(refused.value) and "\n" not in str(refused.value)
    assert str(refused.value).startswith("camera front cannot open /dev/video0: ")


def test_without_a_listing_the_device_is_asked_as_given():
    assert v4l2_options(640, 480, 30, None, []) == {"video_size": "640x480", "framerate": "30"}
    assert v4l2_options(640, 480, 30, "YUYV", [])["input_format"] == "yuyv422"


def test_every_pixel_format_has_an_ffmpeg_name_this_ffmpeg_knows():
    for fourcc, name in FFMPEG_INPUT_FORMATS.items():
        if name in ("mjpeg", "h264"):
            assert av.codec.Codec(name, "r").type == "video", fourcc
        else:
            assert av.VideoFormat(name).name == name, fourcc


def test_the_camera_listing_shows_each_mode_and_how_to_ask_for_one(monkeypatch, capsys):
    webcam = V4L2Device("/dev/video0", "HD Webcam", "uvcvideo", True, WEBCAM)
    monkeypatch.setattr(cameras_command, "list_v4l2_devices", lambda pattern: [webcam])
    assert cameras_command.run(argparse.Namespace(devices="/dev/video*")) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "/dev/video0  HD Webcam (uvcvideo)"
    assert out[2] == "    MJPG  Motion-JPEG: 1280x720 @ 60/30 fps, 640x480 @ 60/30/15 fps"
    assert out[-1] == "Use one as --camera NAME=/dev/videoN@WxH/FORMAT, e.g. --camera front=/dev/video0@1280x720/YUYV"
    assert CameraSource.parse(out[-1].rsplit(" ", 1)[1]) == CameraSource("front", "/dev/video0", 1280, 720, "YUYV")

"""Preflight: from measured encoder throughput, whether a camera set fits real time, and what would."""

import json

import pytest

from station.dataset.spec import CameraSpec
from station.preflight import check_fit, preflight_line
from station.saving.throughput import cached_encoder_fps, encoder_fps


def machine(av1_fps: float, h264_fps: float):
    """A fake probe: camera-frames/s at 640x480, scaled by pixels, the same whatever the camera count."""
    calls = []

    def measure(width: int, height: int, codec: str, cameras: int) -> float:
        calls.append((width, height, codec, cameras))
        base = h264_fps if codec == "h264" else av1_fps
        return base * 640 * 480 / (width * height)

    return measure, calls


def cams(n: int, w: int, h: int) -> list[CameraSpec]:
    return [CameraSpec(f"c{i}", w, h) for i in range(n)]


def test_a_set_within_the_encoders_capacity_fits_and_says_by_how_much():
    measure, calls = machine(av1_fps=230, h264_fps=900)
    fit = check_fit(cams(2, 640, 480), 30, "libsvtav1", measure)
    assert fit is not None and fit.fits and fit.needed_fps == 60
    assert "fit real time" in fit.text and "3.8x" in fit.text
    assert calls == [(640, 480, "libsvtav1", 2)]  # no h264 probe when AV1 fits


def test_a_set_beyond_it_says_how_far_behind_and_offers_h264_a_smaller_size_and_fewer_cameras():
    measure, _calls = machine(av1_fps=230, h264_fps=900)
    fit = check_fit(cams(3, 1280, 720), 30, "libsvtav1", measure)  # AV1 does ~77 frames/s of 720p here
    assert fit is not None and not fit.fits and fit.needed_fps == 90
    assert "fall behind by about" in fit.text and "nothing is lost" in fit.text
    assert "--vcodec h264" in fit.text and "cameras at 960x540" in fit.text and "2 cameras" in fit.text


def test_a_set_close_to_the_encoders_speed_is_said_to_have_little_room_not_to_fall_behind():
    measure, _calls = machine(av1_fps=66, h264_fps=900)  # needs 60: above 0.8 of 66, within 66
    fit = check_fit(cams(2, 640, 480), 30, "libsvtav1", measure)
    assert fit is not None and not fit.fits  # said, as a risk
    assert "close to the 66 this machine encodes" in fit.text and "may fall behind" in fit.text
    assert "fall behind by about" not in fit.text and "for more room use --vcodec h264" in fit.text


def test_a_set_a_slow_figure_says_does_not_fit_is_measured_again_before_it_is_said():
    slow, _ = machine(av1_fps=40, h264_fps=900)  # a figure cached while the machine was busy
    fast, again_calls = machine(av1_fps=230, h264_fps=900)
    fit = check_fit(cams(2, 640, 480), 30, "libsvtav1", slow, again=fast)
    assert fit is not None and fit.fits and again_calls == [(640, 480, "libsvtav1", 2)]
    fine, _ = machine(av1_fps=230, h264_fps=900)
    never: list[tuple] = []
    check_fit(cams(2, 640, 480), 30, "libsvtav1", fine, again=lambda *a: never.append(a) or 0.0)
    assert never == []  # a set that fits is not probed again


def test_cameras_of_different_sizes_are_named_by_their_sizes():
    measure, _ = machine(av1_fps=230, h264_fps=900)
    fit = check_fit([CameraSpec("front", 1280, 720), CameraSpec("wrist", 640, 480)], 30, "libsvtav1", measure)
    assert fit is not None and fit.text.startswith("preflight: 2 cameras (1280x720, 640x480) at 30 fps with AV1")


def test_a_cached_figure_measured_again_keeps_the_best(tmp_path, monkeypatch):
    import station.saving.throughput as throughput

    monkeypatch.setattr(throughput, "machine_busy", lambda: False)
    cache = tmp_path / "throughput.json"
    key = f"v{throughput.CACHE_VERSION} {throughput._machine()} | h264 64x48 x1"
    cache.write_text(json.dumps({key: 1.0}))  # slow: measured in a bad moment
    assert cached_encoder_fps(64, 48, "h264", 1, cache=cache, seconds=0.2) == (1.0, True)
    fps, cached = cached_encoder_fps(64, 48, "h264", 1, cache=cache, seconds=0.2, again=True)
    assert fps > 30 and not cached and json.loads(cache.read_text())[key] == round(fps, 1)
    cache.write_text(json.dumps({key: 1e9}))  # a better figure than any probe now: kept and given
    assert cached_encoder_fps(64, 48, "h264", 1, cache=cache, seconds=0.2, again=True) == (1e9, True)


def test_no_cameras_no_verdict_and_a_failing_probe_is_said_not_raised():
    measure, _calls = machine(230, 900)
    assert check_fit([], 30, "libsvtav1", measure) is None

    def broken(*_args: object) -> float:
        raise RuntimeError("no encoder")

    assert "could not measure this machine's encoder or disk" in preflight_line(cams(1, 640, 480), 30, "h264", broken)


def test_the_probe_encodes_for_real_and_is_measured_once_per_machine_and_set(tmp_path, monkeypatch):
    import station.saving.throughput as throughput

    busy = [True]
    monkeypatch.setattr(throughput, "machine_busy", lambda: busy[0])
    cache = tmp_path / "throughput.json"
    _fps, cached = cached_encoder_fps(64, 48, "h264", 1, cache=cache, seconds=0.2)
    assert not cached and not cache.exists()  # measured while the machine was busy: used, not kept
    busy[0] = False
    fps, cached = cached_encoder_fps(64, 48, "h264", 1, cache=cache, seconds=0.2)
    assert fps > 30 and not cached
    again, cached = cached_encoder_fps(64, 48, "h264", 1, cache=cache, seconds=0.2)
    assert cached and again == round(fps, 1)
    assert len(json.loads(cache.read_text())) == 1
    assert encoder_fps(64, 48, "h264", 1, seconds=5.0, cancelled=lambda: True) == 0.0  # cancelled: ends at once


@pytest.fixture
def station(qtbot, tmp_path, no_leaked_windows):
    from tests.test_gui_window import Station

    s = Station(qtbot, tmp_path)
    yield s
    s.close_all()


def test_the_window_says_before_the_first_take_that_the_set_does_not_fit(station, qtbot, monkeypatch):
    import widgets.preflight_banner as banner

    def slow(_w: int, _h: int, _codec: str, _cameras: int) -> float:  # the test's two cameras need ~38 frames/s
        return 20.0

    monkeypatch.setattr(banner, "measured", lambda cancelled, again=False: slow)  # slow measured again too
    window, controller = station.open()
    qtbot.waitUntil(lambda: any("fall behind" in t for t in window.messages.texts()), timeout=5000)
    text = next(t for t in window.messages.texts() if "fall behind" in t)
    assert "h264 need 38 frames/s" in text and controller.preflight.last is not None
    assert not controller.preflight.last.fits


def test_a_cancelled_probe_gives_no_verdict():
    assert check_fit(cams(2, 640, 480), 30, "libsvtav1", lambda *_a: 0.0) is None


def test_the_window_knows_while_its_probe_runs(station, qtbot, monkeypatch):
    import threading

    import widgets.preflight_banner as banner

    probing, go_on = threading.Event(), threading.Event()

    def held(_w: int, _h: int, _codec: str, _cameras: int) -> float:
        probing.set()
        go_on.wait(10)
        return 1000.0  # fits

    monkeypatch.setattr(banner, "measured", lambda cancelled, again=False: held)
    _window, controller = station.open()
    qtbot.waitUntil(probing.is_set, timeout=5000)
    assert controller.preflight.busy()  # the window bench waits for it before its first take
    go_on.set()
    qtbot.waitUntil(lambda: not controller.preflight.busy(), timeout=5000)


def disk(speed: float, again: float | None = None):
    """A fake disk probe: `speed` bytes/s, or `again` when measured anew."""
    calls: list[bool] = []

    def measure(anew: bool) -> float:
        calls.append(anew)
        return again if anew and again is not None else speed

    return measure, calls


def test_a_disk_slower_than_the_set_writes_is_said_first_with_what_would_fit():
    encoder, encoder_calls = machine(av1_fps=230, h264_fps=900)
    slow, calls = disk(100e6)
    fit = check_fit(cams(2, 1920, 1080), 30, "h264", encoder, disk=slow)  # writes 187 MB/s of yuv420p
    assert fit is not None and not fit.fits and round(fit.spool_bytes_per_s / 1e6) == 187
    assert "write 187 MB/s" in fit.text and "takes about 100 MB/s, of which recording can count on 80" in fit.text
    assert "cameras at 960x540" in fit.text and "a faster disk" in fit.text and "1 camera" not in fit.text
    assert calls == [False, True] and encoder_calls == []  # measured again before it is said; no encoder probe


def test_a_disk_that_takes_the_set_is_said_with_the_encoders_verdict():
    encoder, _ = machine(av1_fps=230, h264_fps=900)
    fast, calls = disk(500e6)
    fit = check_fit(cams(2, 640, 480), 30, "libsvtav1", encoder, disk=fast)
    assert fit is not None and fit.fits and "3.8x what they need; the disk takes 18.0x what they write" in fit.text
    assert calls == [False]
    busy, _ = disk(10e6, again=500e6)  # a figure kept from a bad moment: measured again, and it fits
    fit = check_fit(cams(2, 640, 480), 30, "libsvtav1", encoder, disk=busy)
    assert fit is not None and fit.fits
    unknown, _ = disk(0.0)  # not measured: the encoder's verdict alone
    fit = check_fit(cams(2, 640, 480), 30, "libsvtav1", encoder, disk=unknown)
    assert fit is not None and fit.fits and "disk" not in fit.text
    fit = check_fit(cams(3, 1280, 720), 30, "libsvtav1", encoder, disk=fast)
    assert fit is not None and not fit.fits and "fall behind" in fit.text  # the encoder's verdict as before


def test_the_disk_probe_writes_for_real_and_leaves_nothing(tmp_path, monkeypatch):
    import station.saving.disk_speed as disk_speed
    from station.preflight import measured_disk

    speed = disk_speed.disk_write_speed(tmp_path, seconds=0.2)
    assert speed > 1e6 and list(tmp_path.iterdir()) == []
    assert disk_speed.disk_write_speed(tmp_path, seconds=5.0, cancelled=lambda: True) == 0.0
    cache = tmp_path.parent / f"{tmp_path.name}-disk.json"
    first, cached = disk_speed.cached_disk_write_speed(tmp_path, cache=cache, seconds=0.2)
    assert first > 1e6 and not cached
    assert disk_speed.cached_disk_write_speed(tmp_path, cache=cache, seconds=0.2) == (round(first, 1), True)
    assert measured_disk(tmp_path / "gone")(False) == 0.0  # cannot write there: not known, logged
    busy = tmp_path.parent / f"{tmp_path.name}-busy.json"  # a take or a save writing: not measured, nothing kept
    assert disk_speed.cached_disk_write_speed(tmp_path, cache=busy, cancelled=lambda: True) == (0.0, False)
    assert not busy.exists()
    monkeypatch.setattr(disk_speed, "FREE_SHARE", 1e-12)  # a nearly full disk is not filled further to measure
    assert disk_speed.disk_write_speed(tmp_path, seconds=0.2) == 0.0


def test_the_window_says_before_the_first_take_that_the_disk_is_too_slow(station, qtbot, monkeypatch):
    import widgets.preflight_banner as banner

    monkeypatch.setattr(banner, "measured", lambda cancelled, again=False: lambda *_a: 1e6)  # the encoder fits
    monkeypatch.setattr(banner, "measured_disk", lambda root, cancelled: lambda again: 1e4)  # 10 kB/s
    window, controller = station.open()
    qtbot.waitUntil(lambda: any("faster disk" in t for t in window.messages.texts()), timeout=5000)
    assert controller.preflight.last is not None and not controller.preflight.last.fits


@pytest.mark.parametrize("refused", ["O_TMPFILE", "O_TMPFILE and O_DIRECT"])
def test_the_disk_probe_measures_where_unnamed_files_or_direct_io_are_refused(tmp_path, monkeypatch, refused):
    import errno
    import fcntl
    import os

    import station.saving.disk_speed as disk_speed

    real_open, opened = os.open, []

    def fussy_open(path, flags, *args):  # vfat, exFAT: no O_TMPFILE (and some file systems no direct I/O)
        if flags & os.O_TMPFILE == os.O_TMPFILE:
            raise OSError(errno.EOPNOTSUPP, "Operation not supported")
        if "O_DIRECT" in refused and flags & os.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        fd = real_open(path, flags, *args)
        opened.append(fcntl.fcntl(fd, fcntl.F_GETFL))
        return fd

    monkeypatch.setattr(os, "open", fussy_open)
    assert disk_speed.disk_write_speed(tmp_path, seconds=0.2) > 1e6
    assert list(tmp_path.iterdir()) == []  # the named file went as soon as it was open
    assert bool(opened[-1] & os.O_DIRECT) == ("O_DIRECT" not in refused)

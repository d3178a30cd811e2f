"""The capacity bench's arithmetic: probe sizes and what a probe that kept up counts for (no encoding here)."""

from __future__ import annotations

import pytest

from station.bench.capacity_bench import Probe, scaled_size


@pytest.mark.parametrize("scale", [0.4, 0.8, 1.0, 2.5, 6.0])
def test_probe_sizes_keep_the_aspect_and_scale_the_pixels(scale: float):
    w, h = scaled_size((640, 480), scale)
    assert w % 16 == 0 and h % 16 == 0
    assert abs(w / h - 640 / 480) < 0.05
    assert abs(w * h / (640 * 480) - scale) / scale < 0.1


def test_a_tiny_scale_still_gives_an_encodable_size():
    assert scaled_size((640, 480), 0.0) == (64, 64)


def test_a_probe_counts_its_load_against_the_encoder_alone_on_the_same_frames():
    steady = Probe(size=(640, 480), fps=30, load=60, recorded=60, encoded=60, backlog_growth=0.5, backlog_end=2,
                   encoder_alone=75)
    assert steady.keeps_up and steady.fraction == pytest.approx(0.8)
    behind = Probe(size=(640, 480), fps=30, load=60, recorded=60, encoded=40, backlog_growth=20, backlog_end=160,
                   encoder_alone=75)
    assert not behind.keeps_up



def test_the_probes_cameras_hand_over_the_very_frames_the_encoder_alone_is_measured_on(tmp_path):
    from itertools import islice

    from station.bench.capacity_bench import write_raw_video
    from station.config import CameraSource
    from station.hardware.cameras import open_camera
    from station.saving.throughput import pattern_frames

    frames = pattern_frames(64, 48, count=5)
    camera = open_camera(CameraSource("front", str(write_raw_video(frames, tmp_path / "pattern.nut")), 64, 48), 30)
    camera._container = camera._open()  # what the reader thread reads, frame by frame (its pacing left out)
    try:
        images = [camera._to_image(f) for f in islice(camera._frames(), 7)]  # more than it holds: it loops
    finally:
        camera._container.close()
    assert [i.tobytes() for i in images] == [f.tobytes() for f in (frames + frames)[:7]]  # no conversion

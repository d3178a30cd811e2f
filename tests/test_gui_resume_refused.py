"""The window opening a dataset its devices cannot append to says the difference in its own words: the
command line's options (`--camera ...`) are no advice there."""

from __future__ import annotations

from station.dataset.spec import CameraSpec, DatasetSpec, VideoSettings
from station.dataset.writer import DatasetWriter
from tests.test_gui_window import Station, station  # noqa: F401  (the fixture)


def test_a_dataset_the_connected_cameras_do_not_fit_is_refused_without_command_line_advice(station):  # noqa: F811
    root = station.tmp_path / "bigger"
    cams = (CameraSpec("front", 64, 48), CameraSpec("wrist", 16, 12))  # the test station's front is 32x24
    DatasetWriter.create(root, "op/bigger", DatasetSpec(fps=30, cameras=cams, video=VideoSettings.for_codec("h264")))
    window, controller = station.open(root=root, resume=True)
    assert controller.session is None
    said = [t for t in window.messages.texts() if "64x48" in t]
    assert said == ["The dataset records camera front at 64x48, not 32x24: this session cannot append to it."], \
        window.messages.texts()

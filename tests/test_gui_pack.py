"""File > Pack dataset: the open dataset is packed in the background and reopened to record on."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from station.config import CameraSource, SessionConfig
from station.dataset.check import check_dataset
from station.dataset.reader import DatasetReader
from station.dataset.spec import CameraSpec
from station.saving.queue import SaveQueue
from tests.test_dataset_writer import spec_with, write_dataset
from widgets.app import build_window


@pytest.fixture
def window_on(qtbot, tmp_path, no_leaked_windows):
    opened = []

    def open_(config: SessionConfig):
        settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        window, controller = build_window(config, settings, queue_factory=SaveQueue)
        qtbot.addWidget(window)
        opened.append((window, controller))
        window.show()
        controller.start()
        return window, controller

    yield open_
    for window, controller in opened:
        qtbot.waitUntil(lambda w=window: w.pack_job is None, timeout=60_000)
        controller._quit_anyway = True
        window.close()
        controller.shutdown()


def test_pack_action_packs_the_open_dataset_and_reopens_it(window_on, qtbot, tmp_path: Path):
    root = tmp_path / "ds"
    write_dataset(root, spec_with(cameras=(CameraSpec("front", 32, 24),)), [(8, "wave"), (6, "wave"), (7, "wave")])
    config = SessionConfig(root=root, repo_id="local/ds", fps=30, vcodec="h264", resume=True,
                           cameras=(CameraSource("front", "testsrc", 32, 24),))
    window, controller = window_on(config)
    assert controller.session is not None
    window.pack_action.trigger()
    assert controller.session is None and window.pack_job is not None  # the dataset is released while packing
    qtbot.waitUntil(lambda: window.pack_job is None and controller.session is not None, timeout=60_000)
    assert any("Packed 3 episodes" in t for t in window.messages.texts())
    assert len(list((root / "data").rglob("*.parquet"))) == 1 and check_dataset(root) == []
    assert controller.session.writer.total_episodes == DatasetReader(root).total_episodes == 3

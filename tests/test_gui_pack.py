"""File > Pack dataset: the open dataset is packed in the background and reopened to record on."""

from __future__ import annotations

from pathlib import Path

from station.config import CameraSource, SessionConfig
from station.dataset.check import check_dataset
from station.dataset.reader import DatasetReader
from station.dataset.spec import CameraSpec
from tests.test_dataset_writer import spec_with, write_dataset


def test_pack_action_packs_the_open_dataset_as_a_queue_job_and_reopens_it(open_window, qtbot, tmp_path: Path):
    root = tmp_path / "ds"
    write_dataset(root, spec_with(cameras=(CameraSpec("front", 32, 24),)), [(8, "wave"), (6, "wave"), (7, "wave")])
    config = SessionConfig(root=root, repo_id="local/ds", fps=30, vcodec="h264", resume=True,
                           cameras=(CameraSource("front", "testsrc", 32, 24),))
    window, controller = open_window(config)
    assert controller.session is not None
    window.pack_action.trigger()
    assert controller.session is None and window.pack_job is not None  # the dataset is released while packing
    model = window.queue_model
    assert model.rowCount() == 1 and model.view_at(0).task == "pack the dataset"  # a job in the save queue
    qtbot.waitUntil(lambda: window.pack_job is None and controller.session is not None, timeout=60_000)
    assert any("Packed 3 episodes" in t for t in window.messages.texts())
    row = model.view_at(model.rowCount() - 1)
    assert row.progress_text == "✓ packed" and "packed 3 episodes" in row.words
    assert len(list((root / "data").rglob("*.parquet"))) == 1 and check_dataset(root) == []
    assert controller.session.writer.total_episodes == DatasetReader(root).total_episodes == 3


def test_pack_asks_before_deleting_excluded_episodes(open_window, qtbot, tmp_path: Path):
    from PySide6.QtWidgets import QMessageBox

    from station.dataset.curation import set_excluded

    root = tmp_path / "ds"
    write_dataset(root, spec_with(cameras=(CameraSpec("front", 32, 24),)), [(8, "wave"), (6, "wave"), (7, "wave")])
    set_excluded(root, 1, True)
    config = SessionConfig(root=root, repo_id="local/ds", fps=30, vcodec="h264", resume=True,
                           cameras=(CameraSource("front", "testsrc", 32, 24),))
    window, controller = open_window(config)
    window.pack_action.trigger()
    box = window.pack_question
    assert isinstance(box, QMessageBox) and box.isVisible() and window.pack_job is None
    assert box.text() == ("Packing deletes the 1 excluded episode (1) for good and renumbers the episodes after "
                          "them. Pack it?")
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert window.pack_job is None and controller.session is not None  # nothing packed
    assert DatasetReader(root).total_episodes == 3
    window.pack_action.trigger()
    window.pack_question.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: window.pack_job is None and controller.session is not None, timeout=60_000)
    assert DatasetReader(root).total_episodes == 2 and check_dataset(root) == []


def test_a_failed_pack_is_a_failed_row_and_the_dataset_reopens(open_window, qtbot, tmp_path: Path, monkeypatch):
    import station.commands.pack as pack_command
    from station.errors import DatasetError

    def refuse(*_args, **_kwargs):
        raise DatasetError("the disk is full")

    monkeypatch.setattr(pack_command, "pack_locked", refuse)
    root = tmp_path / "ds"
    write_dataset(root, spec_with(cameras=(CameraSpec("front", 32, 24),)), [(8, "wave")])
    config = SessionConfig(root=root, repo_id="local/ds", fps=30, vcodec="h264", resume=True,
                           cameras=(CameraSource("front", "testsrc", 32, 24),))
    window, controller = open_window(config)
    window.pack_action.trigger()
    qtbot.waitUntil(lambda: window.pack_job is None and controller.session is not None, timeout=60_000)
    row = window.queue_model.view_at(window.queue_model.rowCount() - 1)
    assert row.progress_text == "not packed" and "the disk is full" in row.words
    assert any("could not be packed and is unchanged" in t for t in window.messages.texts())


def test_pack_is_refused_while_a_take_is_being_recorded(open_window, qtbot, tmp_path: Path):
    config = SessionConfig(root=tmp_path / "ds", repo_id="local/ds", fps=30, vcodec="h264", episode_time_s=30,
                           cameras=(CameraSource("front", "testsrc", 32, 24),))
    window, controller = open_window(config)
    window.keys["record"].trigger()
    qtbot.waitUntil(lambda: not controller._can_switch(), timeout=10_000)
    window.pack_action.trigger()
    assert window.pack_job is None and controller.session is not None
    assert any("Stop the session" in t and "packing" in t for t in window.messages.texts())
    window.keys["stop"].trigger()

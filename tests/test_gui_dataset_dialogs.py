"""File > New dataset and File > Open: one dialog each, checked before anything closes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtWidgets import QDialog

from station.dataset.spec import CameraSpec, DatasetSpec, VideoSettings
from station.dataset.writer import DatasetWriter
from tests.test_gui_window import Station
from widgets.dataset_summary import dataset_repo_id, new_dataset_problems, propose_mapping
from widgets.new_dataset_dialog import NewDatasetDialog
from widgets.open_dataset_dialog import OpenDatasetDialog

CAMS = (CameraSpec("front", 32, 24), CameraSpec("wrist", 16, 12))  # the test station's cameras


def make_dataset(root: Path, fps: int = 30, cameras=CAMS, repo_id: str = "op/heavy") -> Path:
    DatasetWriter.create(root, repo_id, DatasetSpec(fps=fps, cameras=cameras, video=VideoSettings.for_codec("h264")))
    return root


def test_new_dataset_problems_follow_the_command_lines_rule(tmp_path):
    assert new_dataset_problems(str(tmp_path / "a" / "b"), "alice/cubes", "stack") == []  # created if missing
    assert any("not a dataset name" in p for p in new_dataset_problems(str(tmp_path / "x"), "bad name", "stack"))
    assert any("not a dataset name" in p for p in new_dataset_problems(str(tmp_path / "x"), "alice", "stack"))
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f.txt").write_text("x")
    assert new_dataset_problems(str(tmp_path / "full"), "a/b", "stack") == [f"{tmp_path / 'full'} is not empty."]
    held = make_dataset(tmp_path / "held")
    assert "File > Open" in new_dataset_problems(str(held), "a/b", "stack")[0]
    assert new_dataset_problems("", "a/b", " ") == ["Choose a folder for the dataset.",
                                                    "Say what the operator does in each take (the task)."]


def test_every_difference_is_listed():
    from widgets.dataset_summary import differences

    station = DatasetSpec(fps=30, cameras=CAMS)
    other = DatasetSpec(fps=15, cameras=(CameraSpec("front", 64, 48), CameraSpec("wrist", 16, 12)))
    assert differences(other, station) == ["rate: the dataset 15 fps, the station 30 fps",
                                           "camera front: the dataset 64x48, connected 32x24"]
    assert differences(station, station) == []


def test_a_datasets_own_name_and_camera_mappings(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_LEROBOT_HOME", str(tmp_path / "hf"))
    assert dataset_repo_id(tmp_path / "hf" / "op" / "heavy") == "op/heavy"
    assert dataset_repo_id(tmp_path / "opds3") == "local/opds3"
    assert dataset_repo_id(tmp_path / "opds3", remembered="op/heavy") == "op/heavy"
    left, right = CameraSpec("left", 32, 24), CameraSpec("right", 16, 12)
    assert propose_mapping(CAMS, (right, left)) == {"left": "front", "right": "wrist"}
    assert propose_mapping(CAMS, (left,)) is None  # a camera missing: no renaming fixes it
    assert propose_mapping(CAMS, (CameraSpec("left", 64, 48), right)) is None  # sizes differ
    assert propose_mapping(CAMS, CAMS) is None


@pytest.fixture
def station(qtbot, tmp_path, no_leaked_windows):
    s = Station(qtbot, tmp_path)
    yield s
    s.close_all()


def test_file_new_creates_the_folder_and_records_under_the_name_given(station, qtbot, tmp_path):
    window, controller = station.open()
    window.new_dataset_action.trigger()
    dialog = window.dataset_dialog
    assert isinstance(dialog, NewDatasetDialog) and dialog.isVisible()
    dialog.folder.setText(str(tmp_path / "new" / "cubes"))
    assert dialog.repo_id.text() == "local/cubes"  # follows the folder until typed
    dialog.repo_id.setText("alice cubes")
    assert not dialog.create_button.isEnabled() and "not a dataset name" in dialog.problems.text()
    dialog.repo_id.setText("alice/cubes")
    dialog.task.setText("stack the cubes")
    assert dialog.create_button.isEnabled()
    dialog.create_button.click()
    qtbot.waitUntil(lambda: controller.session is not None and controller.session.config.root == tmp_path / "new"
                    / "cubes", timeout=5000)
    session = controller.session
    assert session.config.repo_id == "alice/cubes" and session.config.task == "stack the cubes"
    assert (tmp_path / "new" / "cubes" / "meta" / "info.json").exists()
    assert "alice/cubes" in window.session_bar.dataset_label.text()
    # opened again later, it shows its own name, not local/<folder>
    controller._switch(replace(controller.config, root=tmp_path / "other", resume=False))
    from widgets.dataset_actions import open_dataset

    open_dataset(controller, tmp_path / "new" / "cubes")
    opened = window.dataset_dialog
    assert isinstance(opened, OpenDatasetDialog) and opened.summary.repo_id == "alice/cubes"
    assert "alice/cubes" in opened.windowTitle()
    opened.reject()


def test_file_open_of_an_incompatible_dataset_says_what_differs_and_keeps_the_session(station, qtbot, tmp_path):
    window, controller = station.open()
    working = controller.session
    other = make_dataset(tmp_path / "slow", fps=15)
    from widgets.dataset_actions import open_dataset

    open_dataset(controller, other)
    dialog = window.dataset_dialog
    assert isinstance(dialog, OpenDatasetDialog)
    assert dialog.values["Rate"].text() == "15 fps" and dialog.values["Episodes"].text().startswith("0 ")
    said = dialog.verdict_label.text()
    assert "rate: the dataset 15 fps, the station 30 fps" in said and "current dataset stays open" in said
    assert not dialog.open_button.isEnabled()
    dialog.reject()
    assert controller.session is working and working.config.root == tmp_path / "ds"


def test_file_open_maps_camera_names_when_only_they_differ(station, qtbot, tmp_path):
    window, controller = station.open()
    renamed = make_dataset(tmp_path / "renamed", cameras=(CameraSpec("top", 32, 24), CameraSpec("hand", 16, 12)))
    from widgets.dataset_actions import open_dataset

    open_dataset(controller, renamed)
    dialog = window.dataset_dialog
    assert isinstance(dialog, OpenDatasetDialog) and dialog.mapping() == {"front": "top", "wrist": "hand"}
    assert "Only the camera names differ" in dialog.verdict_label.text() and dialog.open_button.isEnabled()
    dialog.mapping_boxes["front"].setCurrentText("hand")  # both onto one name, or sizes that differ: refused
    assert not dialog.open_button.isEnabled()
    dialog.mapping_boxes["front"].setCurrentText("top")
    dialog.open_button.click()
    assert dialog.result() == QDialog.DialogCode.Accepted
    qtbot.waitUntil(lambda: controller.session is not None and controller.session.config.root == renamed,
                    timeout=5000)
    assert [c.name for c in controller.devices.cameras] == ["top", "hand"]
    assert controller.session.config.vcodec == "h264"  # the dataset's own video codec

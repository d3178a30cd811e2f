"""What the window offers after an error follows the error's type, not its wording; File > New/Open use the
one repo-id rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from station.config import ArmConfig, CameraSource, SessionConfig
from station.errors import CalibrationNeeded, DatasetExistsError


def demo_config(root: Path) -> SessionConfig:
    return SessionConfig(root=root, repo_id="local/offers", fps=30, vcodec="h264",
                         cameras=(CameraSource("front", "testsrc", 32, 24),))


def actions_of(window, words: str) -> list[str]:
    banner = next(b for b in window.messages.banners if words in b.text)
    return [b.text() for b in banner.buttons]


def test_a_missing_calibration_offers_calibrate_whatever_its_wording(open_window, tmp_path, monkeypatch):
    def no_file(path, role, arm_id, port=None):
        raise CalibrationNeeded(f"the {role} has no usable settings file", role, arm_id, Path(path))

    monkeypatch.setattr("station.hardware.so101.load_calibration", no_file)
    arms = ArmConfig(str(tmp_path / "ttyF"), str(tmp_path / "ttyL"), tmp_path / "cal")
    config = SessionConfig(root=tmp_path / "ds", repo_id="local/offers", demo=False, arms=arms)
    window, controller = open_window(config)
    assert controller.devices is None
    text = next(t for t in window.messages.texts() if "usable settings" in t)
    assert "Devices > Calibrate an arm" in text
    assert not (tmp_path / "ds").exists()


def test_an_existing_dataset_offers_append_whatever_its_wording(open_window, tmp_path):
    root = tmp_path / "ds"

    def elsewhere(_writer):
        raise DatasetExistsError("there is something here", root)

    window, controller = open_window(demo_config(root), queue_factory=elsewhere)
    assert controller.session is None
    assert actions_of(window, "already holds a dataset") == ["Append to it", "Choose another folder…"]


@pytest.mark.parametrize("folder", [".cache", "_x"])
def test_file_new_refuses_a_folder_whose_name_is_no_dataset_name(open_window, tmp_path, folder):
    from widgets.new_dataset_dialog import NewDatasetDialog

    window, controller = open_window(demo_config(tmp_path / "ds"))
    assert controller.session is not None
    target = tmp_path / folder
    window.new_dataset_action.trigger()
    dialog = window.dataset_dialog
    assert isinstance(dialog, NewDatasetDialog)
    dialog.folder.setText(str(target))
    assert dialog.repo_id.text() == f"local/{folder}"
    assert not dialog.create_button.isEnabled() and "not a dataset name" in dialog.problems.text()
    dialog.reject()
    assert controller.config.root == tmp_path / "ds" and controller.session is not None
    assert not target.exists()

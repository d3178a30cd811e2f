"""File > Push to Hub…: the open dataset goes to the (local test) Hub as a save-queue job while the session
stays open."""

from __future__ import annotations

from pathlib import Path

from station.config import CameraSource, SessionConfig
from station.dataset.check import check_dataset
from station.dataset.spec import CameraSpec
from tests.hub_server import HubServer
from tests.test_dataset_writer import spec_with, write_dataset
from tests.test_hub_push import download, hub  # noqa: F401  (fixtures and helper)
from widgets.push_action import SNAPSHOT, push_open_dataset

# huggingface_hub's LFS upload passes a file as `data=`, which its HTTP client has deprecated.
pytestmark = __import__("pytest").mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes:DeprecationWarning")


def open_on(open_window, tmp_path: Path):  # noqa: F811
    root = tmp_path / "cubes"
    write_dataset(root, spec_with(cameras=(CameraSpec("front", 32, 24),)), [(8, "wave"), (6, "wave")])
    config = SessionConfig(root=root, repo_id="local/cubes", fps=30, vcodec="h264", resume=True,
                           cameras=(CameraSource("front", "testsrc", 32, 24),))
    return root, *open_window(config)


def test_push_runs_as_a_queue_job_while_the_session_stays_open(hub: HubServer, open_window, qtbot,  # noqa: F811
                                                               tmp_path: Path):
    root, window, controller = open_on(open_window, tmp_path)
    session = controller.session
    assert push_open_dataset(controller, ask=lambda _w, default: (default or "tester/cubes"))
    assert controller.session is session  # recording is not interrupted
    qtbot.waitUntil(lambda: window.push_job is None, timeout=60_000)
    row = window.queue_model.view_at(window.queue_model.rowCount() - 1)
    assert row.progress_text == "✓ pushed", row.words
    assert "v3.0" in hub.state.repos["tester/cubes"].tags
    assert not (root / SNAPSHOT).exists() and not any(".station" in p for p in hub.files("tester/cubes"))
    assert check_dataset(download(hub, tmp_path / "dl")) == []


def test_a_failed_push_says_what_to_do_in_its_row(hub: HubServer, open_window, qtbot, tmp_path: Path):  # noqa: F811
    from tests.hub_server import Fault

    _root, window, controller = open_on(open_window, tmp_path)
    hub.state.faults.append(Fault("POST", r"/api/repos/create", 403))
    assert push_open_dataset(controller, ask=lambda _w, _d: "tester/cubes")
    qtbot.waitUntil(lambda: window.push_job is None, timeout=60_000)
    row = window.queue_model.view_at(window.queue_model.rowCount() - 1)
    assert row.progress_text == "not pushed" and "write access" in row.words
    assert controller.session is not None


def test_push_without_a_token_says_how_to_log_in(hub: HubServer, open_window, tmp_path: Path, monkeypatch):  # noqa: F811
    _root, window, controller = open_on(open_window, tmp_path)
    monkeypatch.delenv("HF_TOKEN")
    assert not push_open_dataset(controller, ask=lambda _w, _d: "tester/cubes")
    assert any("hf auth login" in t for t in window.messages.texts()) and window.push_job is None

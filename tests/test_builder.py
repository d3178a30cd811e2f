"""The one session builder: the same order and the same clean-up for the window, headless and the bench."""

from __future__ import annotations

import dataclasses

import pytest

from station.config import CameraSource, SessionConfig
from station.errors import DatasetError, DatasetExistsError
from station.session import builder
from station.session.builder import start_session


def demo(root) -> SessionConfig:
    return SessionConfig(root=root, repo_id="local/builder", vcodec="h264",
                         cameras=(CameraSource("front", "testsrc", 32, 24),))


def test_a_bad_root_is_refused_before_any_device_opens(tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr(builder, "open_devices", lambda config: opened.append(config))
    (tmp_path / "mine.txt").write_text("not a dataset")
    with pytest.raises(DatasetError, match="not a LeRobot dataset"):
        start_session(demo(tmp_path))
    assert opened == []


def test_a_session_closes_what_it_opened_and_can_be_opened_again(qapp, tmp_path):
    root = tmp_path / "ds"
    session = start_session(demo(root))
    assert session.owns_devices and session.recorder.queue is session.queue
    follower = session.devices.follower
    session.close()
    assert not follower.torque_enabled
    with pytest.raises(DatasetExistsError) as refused:  # the dataset exists now: appending is the remedy
        start_session(demo(root))
    assert refused.value.root == root
    again = start_session(dataclasses.replace(demo(root), resume=True))  # the lock was released
    again.close()

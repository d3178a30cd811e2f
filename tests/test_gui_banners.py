"""Banners carry their time, replace their own earlier copy, and go away when their condition ends."""

from __future__ import annotations

import re

import pytest

from tests.test_gui_window import Station
from widgets.banners import ARMS, CAMERA, DISK, READY, SAVE, Facts, ended_topics, recovery_words, topic_of
from widgets.messages import Level, MessageArea


def test_topics_and_their_ends():
    assert topic_of("arm error, recording stopped and follower torque off: no answer") == ARMS
    stall = "camera front has sent no frame for over 0.5 s: its last frame is being repeated"
    assert topic_of(stall) == CAMERA + "front"
    assert topic_of("could not write the take to disk (EIO)") == "text:could not write the take to disk (EIO)"
    facts = Facts(arms_ok=True, stalled_cameras=frozenset({"wrist"}), cameras=frozenset({"front", "wrist"}),
                  disk_low=False, failed_saves=frozenset({3}))
    topics = [ARMS, CAMERA + "front", CAMERA + "wrist", CAMERA + "gone", DISK, SAVE + "3", SAVE + "4", "text:x"]
    assert ended_topics(topics, facts) == {ARMS, CAMERA + "front", DISK, SAVE + "4"}


def test_a_take_that_could_not_start_for_a_silent_device_is_forgotten_once_the_device_is_back():
    silent = ("The next take did not start: camera wrist has no signal: check its cable, "
              "then use Devices > Reconnect cameras.")
    assert topic_of(silent) == READY
    assert topic_of("No take started: the arms are not running; reconnect the arms (Devices > Connect arms…) first.") \
        == READY
    cut = "No take started: a take cut short by a failure waits: keep it or drop it first."
    assert topic_of(cut) == "text:" + cut  # ends when the operator decides, not when a device comes back
    still_silent = Facts(arms_ok=True, stalled_cameras=frozenset({"wrist"}), cameras=frozenset({"front", "wrist"}),
                         disk_low=False, failed_saves=frozenset())
    back = Facts(arms_ok=True, stalled_cameras=frozenset(), cameras=frozenset({"front", "wrist"}),
                 disk_low=False, failed_saves=frozenset())
    assert ended_topics([READY], still_silent) == set()
    assert ended_topics([READY], back) == {READY}


def test_command_line_advice_becomes_the_windows():
    from widgets.banners import window_words

    said = window_words("/data/x exists and is not a LeRobot dataset: choose another --root")
    assert said == "/data/x exists and is not a LeRobot dataset: choose another folder"
    assert "--" not in window_words("no arms: give --follower-port and --leader-port, or use --demo")
    assert "--" not in window_words("cannot write to /x: choose a --root you may write to")


def test_the_recovery_banner_speaks_plainly():
    assert recovery_words([2]) == "1 take from the last session was not saved: saving it now as episode 2."
    assert recovery_words([4, 5, 6]) == ("3 takes from the last session were not saved: "
                                         "saving them now as episodes 4 to 6.")
    assert "take(s)" not in recovery_words([1, 3]) and "episodes 1, 3" in recovery_words([1, 3])


def test_a_banner_replaces_its_own_earlier_copy_with_its_time(qtbot):
    area = MessageArea()
    qtbot.addWidget(area)
    area.show_message("camera front has sent no frame for over 0.5 s: its last frame is being repeated")
    area.show_message("camera front has sent no frame for over 0.5 s: its last frame is being repeated")
    area.show_message("arm error, recording stopped and follower torque off: first")
    area.show_message("arm error, recording stopped and follower torque off: second", Level.ERROR)
    assert area.texts() == ["camera front has sent no frame for over 0.5 s: its last frame is being repeated",
                            "arm error, recording stopped and follower torque off: second"]
    assert all(re.fullmatch(r"\d\d:\d\d", b.time_label.text()) for b in area.banners)
    area.clear(ARMS)
    assert area.topics() == [CAMERA + "front"]


@pytest.fixture
def station(qtbot, tmp_path, no_leaked_windows):
    s = Station(qtbot, tmp_path)
    yield s
    s.close_all()


def test_arm_and_camera_banners_go_away_when_the_arm_and_camera_are_back(station, qtbot):
    window, controller = station.open()
    camera = controller.devices.cameras[0]
    camera.paused = True
    qtbot.waitUntil(lambda: CAMERA + camera.name in window.messages.topics(), timeout=5000)
    camera.paused = False
    qtbot.waitUntil(lambda: CAMERA + camera.name not in window.messages.topics(), timeout=5000)
    # an arm banner from before a reconnect: the loop runs without error now, so it goes
    controller.say("arm error, recording stopped and follower torque off: the follower stopped answering")
    assert ARMS in window.messages.topics()
    qtbot.waitUntil(lambda: ARMS not in window.messages.topics(), timeout=3000)


def test_opening_another_dataset_clears_what_was_said_about_the_last(station, qtbot, tmp_path):
    from dataclasses import replace

    window, controller = station.open(root=tmp_path / "a")
    controller.quit_anyway()
    window2, controller2 = station.open(root=tmp_path / "a")  # not appending: it says so, with a way out
    assert any("already holds a dataset" in t for t in window2.messages.texts())
    controller2._switch(replace(controller2.config, root=tmp_path / "b", resume=False))
    assert controller2.session is not None and controller2.session.config.root == tmp_path / "b"
    assert not any("already holds a dataset" in t for t in window2.messages.texts())


def test_the_dark_theme_keeps_every_banner_readable(qtbot, qapp):
    from PySide6.QtGui import QColor

    from widgets.main_window import MainWindow
    from widgets.messages import COLOURS, palette_is_dark

    window = MainWindow()
    qtbot.addWidget(window)
    for level in Level:
        window.messages.show_message(f"a {level.value} banner", level)
    try:
        window.theme_actions["dark"].trigger()
        assert palette_is_dark() and window.theme_actions["dark"].isChecked()
        for banner in window.messages.banners:
            bg, fg = COLOURS[banner.level][1]
            assert bg in banner.styleSheet() and fg in banner.styleSheet()
            assert abs(QColor(fg).lightness() - QColor(bg).lightness()) > 100  # light words on a dark ground
        window.theme_actions["light"].trigger()
        assert not palette_is_dark()
        assert all(COLOURS[b.level][0][0] in b.styleSheet() for b in window.messages.banners)
    finally:
        window.set_theme("system")
    assert window.theme_actions["system"].isChecked()

"""Banners carry their time, replace their own earlier copy, and go away when their condition ends."""

from __future__ import annotations

import re

import pytest

import widgets.messages as messages_module
from station.session.problems import About, Problem
from tests.test_gui_window import Station
from widgets.banners import (
    ARMS,
    CAMERA,
    CUT,
    DISK,
    READY,
    ROOM,
    SAVE,
    TORQUE,
    WRITE,
    Facts,
    ended_topics,
    own_topic,
    recovery_words,
    topic_for,
)
from widgets.messages import Level, MessageArea


def test_topics_and_their_ends():
    assert topic_for(Problem(About.ARM_STOPPED, "The follower arm stopped answering", device="follower")) == ARMS
    assert topic_for(Problem(About.TORQUE, "Follower torque off, confirmed.", serious=False)) == TORQUE
    stall = Problem(About.CAMERA_SILENT, "camera front has sent no frame for over 0.5 s", device="front")
    assert topic_for(stall) == CAMERA + "front"
    failed = Problem(About.OTHER, "could not do it (EIO)")
    assert topic_for(failed) == own_topic("could not do it (EIO)")
    facts = Facts(arms_ok=True, stalled_cameras=frozenset({"wrist"}), cameras=frozenset({"front", "wrist"}),
                  disk_low=False, failed_saves=frozenset({3}))
    topics = [ARMS, CAMERA + "front", CAMERA + "wrist", CAMERA + "gone", DISK, SAVE + "3", SAVE + "4", "text:x"]
    assert ended_topics(topics, facts) == {ARMS, CAMERA + "front", DISK, SAVE + "4"}
    assert ended_topics([TORQUE], facts) == {TORQUE}  # the arms run again: what was read back no longer holds
    stopped = Facts(arms_ok=False, stalled_cameras=frozenset(), cameras=frozenset(), disk_low=False,
                    failed_saves=frozenset())
    assert ended_topics([TORQUE, ARMS], stopped) == set()  # said while the arms are stopped, it stays
    full = Facts(arms_ok=True, stalled_cameras=frozenset(), cameras=frozenset(), disk_low=True,
                 failed_saves=frozenset(), room_for_a_take=False)
    assert ended_topics([ROOM], full) == set() and ended_topics([ROOM], facts) == {ROOM}  # room again: it goes
    assert ended_topics([WRITE], facts) == set()  # a refused write stays until a take records again
    assert ended_topics([WRITE], Facts(**{**facts.__dict__, "recording": True})) == {WRITE}


def test_a_take_that_could_not_start_for_a_silent_device_is_forgotten_once_the_device_is_back():
    silent = Problem(About.NOT_READY, "The next take did not start: camera wrist has no signal.")
    assert topic_for(silent) == READY
    cut = Problem(About.TAKE_WAITS, "No take started: a take cut short by a failure waits: keep it or drop it first.")
    assert topic_for(cut).startswith(CUT)  # ends when the operator decides, not when a device comes back
    still_silent = Facts(arms_ok=True, stalled_cameras=frozenset({"wrist"}), cameras=frozenset({"front", "wrist"}),
                         disk_low=False, failed_saves=frozenset())
    back = Facts(arms_ok=True, stalled_cameras=frozenset(), cameras=frozenset({"front", "wrist"}),
                 disk_low=False, failed_saves=frozenset())
    assert ended_topics([READY], still_silent) == set()
    assert ended_topics([READY], back) == {READY}
    assert ended_topics([topic_for(cut)], back) == set()


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
    area.show_message("The follower arm stopped answering: first", topic=ARMS)
    area.show_message("The leader arm stopped answering: second", Level.ERROR, topic=ARMS)
    assert area.texts() == ["camera front has sent no frame for over 0.5 s: its last frame is being repeated",
                            "The leader arm stopped answering: second"]
    assert all(re.fullmatch(r"\d\d:\d\d", b.time_label.text()) for b in area.banners)
    area.clear(ARMS)
    assert area.topics() == [own_topic("camera front has sent no frame for over 0.5 s: its last frame is being "
                                       "repeated")]


def test_an_error_stays_in_view_when_routine_messages_follow(qtbot):
    area = MessageArea()
    qtbot.addWidget(area)
    area.show()
    area.show_message("Could not switch the follower's torque off: switch its power off.", Level.ERROR,
                      topic=TORQUE)
    for i in range(4):
        area.show_message(f"routine message {i}", Level.INFO)
    shown = [b.text for b in area.shown()]
    assert "Could not switch the follower's torque off: switch its power off." in shown
    assert "routine message 3" in shown and area.folded() >= 1


def test_a_plain_notice_goes_by_itself_and_gives_its_room_back_to_an_offer(qtbot, monkeypatch):
    monkeypatch.setattr(messages_module, "INFO_SHOWN_MS", 300)
    area = MessageArea()
    qtbot.addWidget(area)
    area.show()
    area.show_message("Camera front sent nothing: check its cable.", Level.WARNING,
                      actions=[("Reconnect cameras", lambda: None)], topic=CAMERA)
    area.show_message("Arms connected.", Level.WARNING, topic=ARMS)
    area.show_message("Reopened camera wrist.", Level.INFO)  # a routine notice, the newest
    area.show_message("Episode 3 dropped.", Level.INFO)
    question = area.show_message("Keep the take?", Level.INFO, actions=[("Keep", lambda: None)], question=True)
    assert len(area.banners) == 5
    qtbot.waitUntil(lambda: len(area.banners) == 3, timeout=3000)  # the two notices went
    assert area.texts() == ["Camera front sent nothing: check its cable.", "Arms connected.", "Keep the take?"]
    assert question in area.shown()
    qtbot.wait(500)  # what has a button, or is a warning, stays until its condition ends or it is dismissed
    assert len(area.banners) == 3


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
    assert controller.session is not None
    controller.session.recorder.fault.emit(Problem(About.ARM_STOPPED, "The follower arm stopped answering.",
                                                   device="follower"))
    assert ARMS in window.messages.topics()
    qtbot.waitUntil(lambda: ARMS not in window.messages.topics(), timeout=3000)


def test_rewording_the_sessions_messages_changes_neither_which_banner_they_replace_nor_when_it_goes(
        station, qtbot, monkeypatch):
    import itertools

    from station.session import recorder as recorder_module
    from station.session.state import Event

    count, said = itertools.count(), []

    def reworded(about, text, **fields):  # every message the session says, in words never used before
        said.append(f"Reworded {next(count)}: {text[::-1]}")
        return Problem(about, said[-1], **fields)

    monkeypatch.setattr(recorder_module, "Problem", reworded)
    window, controller = station.open()
    qtbot.waitUntil(lambda: all(v.frames_drawn > 0 for v in window.cameras.views), timeout=5000)
    camera = controller.devices.cameras[0]
    camera.paused = True
    qtbot.waitUntil(lambda: CAMERA + camera.name in window.messages.topics(), timeout=5000)
    assert not controller.fire(Event.RECORD) and not controller.fire(Event.RECORD)  # refused twice: one banner
    topics = window.messages.topics()
    assert topics.count(READY) == 1 and topics.count(CAMERA + camera.name) == 1, topics
    ready = window.messages.banners[topics.index(READY)]
    assert ready.text == said[-1]  # the second refusal, in its own words, replaced the first
    camera.paused = False  # the camera is back: its banner and the refused take's go, whatever they said
    qtbot.waitUntil(lambda: not {READY, CAMERA + camera.name} & set(window.messages.topics()), timeout=5000)
    assert not any(t.startswith("Reworded") for t in window.messages.texts())


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


def test_the_status_bar_says_a_small_free_space_in_megabytes(qtbot):
    from widgets.status_bar import StationStatusBar

    bar = StationStatusBar()
    qtbot.addWidget(bar)
    bar.show_disk(42e6, "/data")
    assert bar.disk_label.text() == "Disk: 42 MB free at /data"  # it said "0.0 GB free"

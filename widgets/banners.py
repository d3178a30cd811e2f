"""What the message banners are about, and when that ends. Qt-free.

A banner has a topic: a second message on the same topic replaces the first (with its new time), and a
topic whose condition has ended (the arm is back, the camera sends frames again, another dataset is open,
the disk has room) takes its banner away.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from station.session.problems import About, Problem

ARMS = "arms"
TORQUE = ARMS + ":torque"  # the follower's torque as read back after an arm stopped: ends when the arms run again
DISK = "disk"
DATASET = "dataset:"  # + what: about the dataset that is open, ends when another one is opened
DEVICES = "devices"  # the arms or cameras could not be opened: ends when they are
CAMERA = "camera:"  # + the camera's name
SAVE = "save:"  # + the save job's id
READY = "ready"  # no take could start because a device was not ready: ends when the arms run and no camera is silent
CUT = "cut:"  # + the save job's id (or "waits"): a take cut short waits for Keep / Drop; ends when decided
ROOM = "room"  # not enough free disk space for the next take
WRITE = "write"  # the disk refused a write of a take: ends when a take records again
DISK_SLOW = DATASET + "disk slow"  # the dataset's disk fell behind the cameras during a take: once a session
TEXT = "text:"  # + the words: a message of its own, which only its own repetition replaces

_TOPICS = {
    About.ARM_STOPPED: ARMS, About.TORQUE: TORQUE, About.NOT_READY: READY, About.TAKE_WAITS: CUT + "waits",
    About.NO_ROOM: ROOM, About.WRITE_FAILED: WRITE, About.DISK_SLOW: DISK_SLOW,
}


def topic_for(problem: Problem) -> str:
    """The banner topic of a problem the session said: from what it is about, never from its words."""
    if problem.about is About.CAMERA_SILENT:
        return CAMERA + problem.device
    return _TOPICS.get(problem.about) or own_topic(problem.text)


def own_topic(text: str) -> str:
    """The topic of a message about nothing in particular: repeated word for word, it replaces itself."""
    return TEXT + text


@dataclass(frozen=True)
class Facts:
    """What is true now, read by the controller twice a second."""

    arms_ok: bool  # the arms are connected and the control loop runs without an error
    stalled_cameras: frozenset[str]
    cameras: frozenset[str]  # the cameras connected now
    disk_low: bool
    failed_saves: frozenset[int]  # ids of the save jobs that failed and wait for Retry or Discard
    room_for_a_take: bool = True  # the disk has room for the next take's recording
    recording: bool = False  # a take is being recorded, and its rows reach the spool


def ended_topics(topics: Iterable[str], facts: Facts) -> set[str]:
    """The topics among `topics` whose condition has ended."""
    return {topic for topic in topics if _ended(topic, facts)}


def _ended(topic: str, facts: Facts) -> bool:
    if topic in (ARMS, TORQUE, DEVICES):  # the arms run again: the torque read back before is history
        return facts.arms_ok
    if topic == READY:
        return facts.arms_ok and not facts.stalled_cameras
    if topic.startswith(SAVE):
        return int(topic[len(SAVE):]) not in facts.failed_saves
    if topic.startswith(CAMERA):
        name = topic[len(CAMERA):]
        return name in facts.cameras and name not in facts.stalled_cameras
    if topic == DISK:
        return not facts.disk_low
    if topic == ROOM:
        return facts.room_for_a_take
    if topic == WRITE:  # a take records again: the disk takes its writes (a failed save says its own word)
        return facts.recording
    return False


def recovery_words(episodes: list[int]) -> str:
    """The recovery banner in plain words: how many takes, and the episodes they become."""
    if not episodes:
        return ""
    if len(episodes) == 1:
        return f"1 take from the last session was not saved: saving it now as episode {episodes[0]}."
    first, last = min(episodes), max(episodes)
    numbers = f"episodes {first} to {last}" if last - first + 1 == len(episodes) else \
        "episodes " + ", ".join(str(e) for e in episodes)
    return f"{len(episodes)} takes from the last session were not saved: saving them now as {numbers}."



# The core's messages are written for the command line; in the window the same advice names the window's ways.
_WINDOW_WORDS = (
    ("choose a --root you may write to", "choose a folder you may write to (File > New dataset)"),
    ("choose another --root", "choose another folder"),
    ("add --resume to append to it", "append to it (File > Open)"),
    ("use --resume to add episodes to it", "add episodes to it with File > Open"),
    ("--resume: there is no dataset", "there is no dataset to open"),
    ("give --follower-port and --leader-port, or use --demo", "connect them with Devices > Connect arms…"),
    ("give both --follower-port and --leader-port", "choose the port of each arm (Devices > Connect arms…)"),
    ("--vcodec h264", "H.264 video (File > New dataset)"),
)


def window_words(text: str) -> str:
    """A message with command-line advice replaced by the window's own (menus and dialogs)."""
    for cli, window in _WINDOW_WORDS:
        text = text.replace(cli, window)
    return text

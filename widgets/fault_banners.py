"""What the window says when a device fails during a session, with the way back.

A take cut short by a camera or arm failure waits for the operator (Keep it / Drop it, or → / ←); a silent
camera offers Reconnect cameras, an arm that stopped answering offers Connect arms, and the follower's torque
is said as read back from its servos. The banners go when their condition ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from station.session.recorder import FinishedTake, Recorder
from station.session.state import Event, Step
from widgets.banners import ARMS, CAMERA
from widgets.messages import Level

if TYPE_CHECKING:
    from widgets.controller import Controller

CUT = "cut:"  # + the save job's id: a take cut short by a device failure waits for Keep / Drop


class FaultBanners(QObject):
    def __init__(self, controller: Controller) -> None:
        super().__init__(controller)
        self.c = controller

    def attach(self, recorder: Recorder) -> None:
        recorder.take_cut.connect(lambda ft: self.take_cut(recorder, ft))
        recorder.fault.connect(self.fault)
        recorder.state_changed.connect(self.step)

    def take_cut(self, recorder: Recorder, ft: FinishedTake) -> None:
        """A device failure ended the take: held until the operator keeps or drops it."""
        seconds = ft.take.rows / max(1, ft.take.cadence.fps)
        why = ft.take.cadence.interrupted or "a device failed"
        self.c.say(
            f"The take was cut short ({why}; {ft.take.rows} frames, {seconds:.1f} s). Keep it in the dataset "
            "(flagged), or drop it? No take starts until you decide (→ keeps it, ← drops it).",
            Level.WARNING,
            [("Keep it", lambda *_: recorder.try_fire(Event.KEEP)),
             ("Drop it", lambda *_: recorder.try_fire(Event.RERECORD))],
            topic=f"{CUT}{ft.job.id if ft.job is not None else 0}",
        )

    def fault(self, text: str) -> None:
        """A device failed: said with the way back (reconnect the cameras, or the arms)."""
        menus = self.c.menus
        if text.startswith("Camera "):
            name = text.split(" ", 2)[1]
            self.c.say(text, actions=[("Reconnect cameras", menus.reconnect_cameras)], topic=CAMERA + name)
        elif text.startswith("The "):
            self.c.say(text, actions=[("Connect arms…", menus.connect_arms)], topic=ARMS)
        else:  # the follower's torque as read back
            self.c.say(text, Level.WARNING if "could not" in text else Level.INFO, topic=ARMS + ":torque")

    def step(self, step: Step) -> None:
        if not step.cut:  # a cut take was kept or dropped: its banner goes
            messages = self.c.window.messages
            for topic in messages.topics():
                if topic.startswith(CUT):
                    messages.clear(topic)

"""What the window says when a device fails or the session meets a problem, with the way back.

A take cut short by a camera or arm failure waits for the operator (Keep it / Drop it, or → / ←); a silent
camera offers Reconnect cameras, an arm that stopped answering offers Connect arms, and the follower's torque
is said as read back from its servos. Each problem's banner is chosen by what it is about (Problem.about),
never by its words, and goes when its condition ends.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from station.session.problems import About, Problem
from station.session.recorder import SWITCHING_TORQUE_OFF, FinishedTake, Recorder
from station.session.state import Event, Step
from widgets.banners import ARMS, CUT, topic_for
from widgets.messages import Actions, Level

if TYPE_CHECKING:
    from widgets.controller import Controller

class FaultBanners(QObject):
    def __init__(self, controller: Controller) -> None:
        super().__init__(controller)
        self.c = controller

    def attach(self, recorder: Recorder) -> None:
        recorder.take_cut.connect(lambda ft: self.take_cut(recorder, ft))
        recorder.fault.connect(self.said)
        recorder.problem.connect(self.said)
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
            topic=f"{CUT}{ft.job.id if ft.job is not None else 0}", question=True,
        )

    def said(self, problem: Problem) -> None:
        """A problem from the session, on its banner: a failed device with the way back to it."""
        menus = self.c.menus
        actions: Actions = []
        level = Level.ERROR
        if problem.about is About.CAMERA_SILENT:
            actions = [("Reconnect cameras", menus.reconnect_cameras)]
        elif problem.about is About.ARM_STOPPED:
            actions = self._arm_actions()
        elif problem.about is About.TORQUE:  # the follower's torque as read back
            level = Level.ERROR if problem.serious else Level.INFO  # not known off: a danger, said in red
            self._torque_read_back()
        elif problem.about is About.DISK_SLOW:  # the take goes on; its flags will say what it cost
            level = Level.WARNING
        elif problem.about in (About.TAKE_WAITS, About.NOT_READY):  # why a key did nothing: not a failure
            level = Level.WARNING  # (errors stay in view before it when banners fold)
        self.c.say(problem.text, level, actions, topic=topic_for(problem))

    def _torque_read_back(self) -> None:
        """The arm's banner no longer says the torque is being switched off: its own banner says how that went."""
        arm = next((b for b in self.c.window.messages.banners if b.topic == ARMS), None)
        if arm is not None and arm.text.endswith(SWITCHING_TORQUE_OFF):
            self.c.say(arm.text.removesuffix(SWITCHING_TORQUE_OFF).rstrip(), arm.level, self._arm_actions(),
                       topic=ARMS)

    def _arm_actions(self) -> Actions:
        return [("Connect arms…", self.c.menus.connect_arms)]

    def step(self, step: Step) -> None:
        if not step.cut:  # a cut take was kept or dropped: its banner goes
            self.c.window.messages.clear_all(CUT)

"""The recording session as a declared state machine: phases, events and one transition table.

The machine is pure: `fire(event)` returns a Step saying what to do with takes (start one, keep the one in
progress, discard it, discard or confirm the one just finished). The Recorder carries the steps out.
Semantics follow LeRobot's recording keys: next ends the current phase early; rerecord throws away the take in
progress (or, during reset, the take just finished) and records that episode again; stop keeps the take in
progress and ends the session; reset starts a reset phase with teleop live and nothing recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Phase(Enum):
    IDLE = "idle"
    RECORDING = "recording"
    RESETTING = "resetting"
    STOPPED = "stopped"


class Event(Enum):
    RECORD = "record"
    NEXT = "next"
    RERECORD = "rerecord"
    STOP = "stop"
    RESET = "reset"


class Take(Enum):
    """What a transition does to takes, in the order the Recorder applies them."""

    KEEP_CURRENT = "keep current"  # end the take in progress and queue it for saving
    DISCARD_CURRENT = "discard current"  # throw the take in progress away
    CONFIRM_PREVIOUS = "confirm previous"  # the take just finished may now be committed
    DISCARD_PREVIOUS = "discard previous"  # cancel the save of the take just finished
    START = "start"  # start a new take


# "AFTER_TAKE" is resolved when the take ends: RESETTING if there is a reset time and episodes remain,
# RECORDING if reset time is 0 and episodes remain, STOPPED after the last episode.
AFTER_TAKE = "after take"
AFTER_RESET = "after reset"  # RECORDING if episodes remain, else STOPPED

TRANSITIONS: dict[tuple[Phase, Event], tuple[Phase | str, tuple[Take, ...]]] = {
    (Phase.IDLE, Event.RECORD): (Phase.RECORDING, (Take.START,)),
    (Phase.IDLE, Event.RESET): (Phase.RESETTING, ()),
    (Phase.IDLE, Event.STOP): (Phase.STOPPED, ()),
    (Phase.RECORDING, Event.NEXT): (AFTER_TAKE, (Take.KEEP_CURRENT,)),
    (Phase.RECORDING, Event.RERECORD): (Phase.RECORDING, (Take.DISCARD_CURRENT, Take.START)),
    (Phase.RECORDING, Event.STOP): (Phase.STOPPED, (Take.KEEP_CURRENT, Take.CONFIRM_PREVIOUS)),
    (Phase.RECORDING, Event.RESET): (Phase.RESETTING, (Take.KEEP_CURRENT,)),
    (Phase.RESETTING, Event.NEXT): (AFTER_RESET, (Take.CONFIRM_PREVIOUS,)),
    (Phase.RESETTING, Event.RECORD): (AFTER_RESET, (Take.CONFIRM_PREVIOUS,)),
    (Phase.RESETTING, Event.RERECORD): (Phase.RECORDING, (Take.DISCARD_PREVIOUS, Take.START)),
    (Phase.RESETTING, Event.STOP): (Phase.STOPPED, (Take.CONFIRM_PREVIOUS,)),
}


class IllegalTransition(Exception):
    def __init__(self, phase: Phase, event: Event) -> None:
        super().__init__(f"{event.value} is not possible while {phase.value}")
        self.phase = phase
        self.event = event


@dataclass(frozen=True)
class Step:
    event: Event
    before: Phase
    after: Phase
    takes: tuple[Take, ...]
    episode: int  # the episode index the session is on after the step (the take in progress or the next one)


class SessionMachine:
    """Phases and episode numbering. `episode` counts kept takes, so it never lies after re-records."""

    def __init__(self, episodes: int, reset_time_s: float, first_episode: int = 0) -> None:
        self.episodes = episodes  # takes to record in this session
        self.reset_time_s = reset_time_s
        self.first_episode = first_episode
        self.phase = Phase.IDLE
        self.kept = 0  # takes kept in this session (their saves may still be running)
        self.previous_pending = False  # a finished take whose commit waits for the reset phase to end

    @property
    def episode(self) -> int:
        return self.first_episode + self.kept

    def take_was_empty(self) -> None:
        """The take just kept had no rows (stopped before its first tick): it does not count as an episode."""
        self.kept -= 1
        self.previous_pending = False

    def allowed(self, event: Event) -> bool:
        return (self.phase, event) in TRANSITIONS

    def allowed_events(self) -> set[Event]:
        return {e for e in Event if self.allowed(e)}

    def fire(self, event: Event) -> Step:
        try:
            target, takes = TRANSITIONS[(self.phase, event)]
        except KeyError:
            raise IllegalTransition(self.phase, event) from None
        before = self.phase
        if Take.DISCARD_PREVIOUS in takes and not self.previous_pending:
            takes = tuple(t for t in takes if t is not Take.DISCARD_PREVIOUS)  # nothing finished to discard
        if Take.KEEP_CURRENT in takes:
            self.kept += 1
        if Take.DISCARD_PREVIOUS in takes:
            self.kept -= 1
        if target == AFTER_TAKE:
            if self.kept >= self.episodes:
                target, takes = Phase.STOPPED, takes + (Take.CONFIRM_PREVIOUS,)
            elif self.reset_time_s > 0:
                target = Phase.RESETTING
            else:
                target, takes = Phase.RECORDING, takes + (Take.CONFIRM_PREVIOUS, Take.START)
        elif target == AFTER_RESET:
            if self.kept >= self.episodes:
                target = Phase.STOPPED
            else:
                target, takes = Phase.RECORDING, takes + (Take.START,)
        assert isinstance(target, Phase)
        # A take kept on the way into a reset phase waits there: rerecord may still throw it away.
        self.previous_pending = Take.KEEP_CURRENT in takes and target is Phase.RESETTING
        self.phase = target
        return Step(event, before, target, takes, self.episode)

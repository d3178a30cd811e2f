"""The recording session as a declared state machine: phases, events and one transition table.

The machine is pure: `fire(event)` returns a Step saying what to do with takes (start one, keep the one in
progress, discard it, discard or confirm the one just finished). The Recorder carries the steps out.
Semantics follow LeRobot's recording keys:
- next ends the current phase early (keeps the take in progress, or ends the reset);
- rerecord during a take throws it away and runs a reset phase before that episode is recorded again; during a
  reset (or after a stop) it throws away the take just finished and the reset countdown starts again;
- stop keeps the take in progress and ends the session, but it is not a dead end: record starts another take;
- reset starts a reset phase with teleop live and nothing recorded; from READY it is a warm-up that ends in
  READY again (its countdown never starts a take by itself).
A kept take stays *held* (its save may not commit) while it can still be thrown away: during the reset phase
after it, and after a stop until the hold time runs out. A take cut short by a device failure (FAULT) stays
held until the operator keeps or drops it.
The machine does not number episodes: the save queue (the dataset) is the one source of episode numbers.
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
    KEEP = "keep"  # keep the held take now (the operator decided, or the session is closing)
    TIME_UP = "time up"  # the phase's time ran out (the take is full, the reset or the hold is over)
    FAULT = "fault"  # a camera or an arm failed: the take in progress ends, held for Keep / Drop


class Take(Enum):
    """What a transition does to takes, in the order the Recorder applies them."""

    KEEP_CURRENT = "keep current"  # end the take in progress and queue it for saving
    DISCARD_CURRENT = "discard current"  # throw the take in progress away
    CONFIRM_PREVIOUS = "confirm previous"  # the take just finished may now be committed
    DISCARD_PREVIOUS = "discard previous"  # cancel the save of the take just finished
    START = "start"  # start a new take


# Targets resolved when the event fires:
AFTER_TAKE = "after take"  # RESETTING if there is a reset time and episodes remain, RECORDING if reset time is
#                            0 and episodes remain, STOPPED after the last planned episode
AFTER_RESET = "after reset"  # RECORDING if episodes remain, else STOPPED; READY again after a warm-up's time
AFTER_RERECORD = "after rerecord"  # a reset phase before the episode is recorded again (at once if reset is 0)

TRANSITIONS: dict[tuple[Phase, Event], tuple[Phase | str, tuple[Take, ...]]] = {
    (Phase.IDLE, Event.RECORD): (Phase.RECORDING, (Take.START,)),
    (Phase.IDLE, Event.RESET): (Phase.RESETTING, ()),
    (Phase.IDLE, Event.STOP): (Phase.STOPPED, ()),
    (Phase.RECORDING, Event.NEXT): (AFTER_TAKE, (Take.KEEP_CURRENT,)),
    (Phase.RECORDING, Event.TIME_UP): (AFTER_TAKE, (Take.KEEP_CURRENT,)),
    (Phase.RECORDING, Event.RERECORD): (AFTER_RERECORD, (Take.DISCARD_CURRENT,)),
    (Phase.RECORDING, Event.STOP): (Phase.STOPPED, (Take.KEEP_CURRENT,)),
    (Phase.RECORDING, Event.RESET): (Phase.RESETTING, (Take.KEEP_CURRENT,)),
    (Phase.RECORDING, Event.FAULT): (Phase.STOPPED, (Take.KEEP_CURRENT,)),
    (Phase.RESETTING, Event.NEXT): (AFTER_RESET, (Take.CONFIRM_PREVIOUS,)),
    (Phase.RESETTING, Event.TIME_UP): (AFTER_RESET, (Take.CONFIRM_PREVIOUS,)),
    (Phase.RESETTING, Event.RECORD): (Phase.RECORDING, (Take.CONFIRM_PREVIOUS, Take.START)),
    (Phase.RESETTING, Event.RERECORD): (Phase.RESETTING, (Take.DISCARD_PREVIOUS,)),
    (Phase.RESETTING, Event.STOP): (Phase.STOPPED, ()),
    (Phase.RESETTING, Event.FAULT): (Phase.STOPPED, ()),
    (Phase.STOPPED, Event.RECORD): (Phase.RECORDING, (Take.CONFIRM_PREVIOUS, Take.START)),
    (Phase.STOPPED, Event.RERECORD): (Phase.STOPPED, (Take.DISCARD_PREVIOUS,)),
    (Phase.STOPPED, Event.KEEP): (Phase.STOPPED, (Take.CONFIRM_PREVIOUS,)),
    (Phase.STOPPED, Event.NEXT): (Phase.STOPPED, (Take.CONFIRM_PREVIOUS,)),  # → keeps the held take now
    (Phase.STOPPED, Event.TIME_UP): (Phase.STOPPED, (Take.CONFIRM_PREVIOUS,)),
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
    held: bool  # after the step, a kept take waits (may still be thrown away)
    cut: bool  # ... and it was cut short by a device failure: the operator keeps or drops it


class SessionMachine:
    """Phases, the held take and how many takes this session kept (re-records and drops do not count)."""

    def __init__(self, episodes: int, reset_time_s: float) -> None:
        self.episodes = episodes  # takes planned for this session (more may be recorded after a stop)
        self.reset_time_s = reset_time_s
        self.phase = Phase.IDLE
        self.kept = 0  # takes kept in this session (their saves may still be running)
        self.held = False  # a kept take whose commit waits: the reset phase after it, a stop, or a fault
        self.cut = False  # the held take was cut short by a device failure: it waits for Keep / Drop
        self.warmup = False  # a reset phase started from READY: its time running out leads back to READY
        self.redo = False  # a reset phase after a re-record: the episode is recorded again, even past the plan

    def take_was_empty(self) -> None:
        """The take just kept had no rows (stopped before its first tick): it does not count as an episode."""
        self.kept -= 1
        self.held = self.cut = False

    def take_dropped(self) -> None:
        """A take this session kept was dropped afterwards (its failed save discarded)."""
        self.kept = max(0, self.kept - 1)

    def allowed(self, event: Event) -> bool:
        if (self.phase, event) not in TRANSITIONS:
            return False
        if self.phase is Phase.STOPPED or (self.phase is Phase.RESETTING and event is Event.RERECORD):
            if event in (Event.RERECORD, Event.KEEP, Event.NEXT):
                return self.held
            if event is Event.TIME_UP:
                return self.held and not self.cut
            if event is Event.RECORD:
                return not self.cut  # the take cut short waits for Keep / Drop first
        return True

    def allowed_events(self) -> set[Event]:
        return {e for e in Event if self.allowed(e)}

    def fire(self, event: Event) -> Step:
        if not self.allowed(event):
            raise IllegalTransition(self.phase, event)
        target, takes = TRANSITIONS[(self.phase, event)]
        before = self.phase
        redo, self.redo = self.redo, False
        if Take.KEEP_CURRENT in takes:
            self.kept += 1
        if Take.DISCARD_PREVIOUS in takes and self.held:
            self.kept -= 1
        if target == AFTER_TAKE:
            if self.kept >= self.episodes:
                target = Phase.STOPPED
            elif self.reset_time_s > 0:
                target = Phase.RESETTING
            else:
                target, takes = Phase.RECORDING, takes + (Take.CONFIRM_PREVIOUS, Take.START)
        elif target == AFTER_RESET:
            if self.warmup and event is Event.TIME_UP:
                target = Phase.IDLE
            elif self.kept >= self.episodes and not self.warmup and not redo:
                target = Phase.STOPPED
            else:
                target, takes = Phase.RECORDING, takes + (Take.START,)
        elif target == AFTER_RERECORD:
            target = Phase.RESETTING if self.reset_time_s > 0 else Phase.RECORDING
            self.redo = target is Phase.RESETTING
            if target is Phase.RECORDING:
                takes = takes + (Take.START,)
        assert isinstance(target, Phase)
        if Take.KEEP_CURRENT in takes:
            # A take kept on the way into a reset phase or a stop waits there: it may still be thrown away.
            self.held = target in (Phase.RESETTING, Phase.STOPPED)
            self.cut = event is Event.FAULT
        elif Take.CONFIRM_PREVIOUS in takes or Take.DISCARD_PREVIOUS in takes:
            self.held = self.cut = False
        self.warmup = target is Phase.RESETTING and (before is Phase.IDLE or (self.warmup and before is target))
        self.phase = target
        return Step(event, before, target, takes, self.held, self.cut)

"""The session's transition table, driven event by event (legal and illegal)."""

from __future__ import annotations

import pytest

from station.session.state import Event, IllegalTransition, Phase, SessionMachine, Take

R, N, RR, S, RS = Event.RECORD, Event.NEXT, Event.RERECORD, Event.STOP, Event.RESET
K, T, F = Event.KEEP, Event.TIME_UP, Event.FAULT
IDL, REC, RES, STP = Phase.IDLE, Phase.RECORDING, Phase.RESETTING, Phase.STOPPED


def run(events, episodes=3, reset=5.0):
    m = SessionMachine(episodes, reset)
    steps = [m.fire(e) for e in events]
    return m, steps


@pytest.mark.parametrize(
    "events, phase, kept, held",
    [
        ([], IDL, 0, False),
        ([R], REC, 0, False),
        ([R, N], RES, 1, True),  # held while the reset runs
        ([R, N, N], REC, 1, False),
        ([R, N, T], REC, 1, False),  # the reset's time runs out: the next take
        ([R, N, RR], RES, 0, False),  # rerecord during reset: the take just finished is thrown away, reset again
        ([R, RR], RES, 0, False),  # rerecord during a take: thrown away, then a reset phase
        ([R, RR, T], REC, 0, False),  # ... after which the same episode is recorded again
        ([R, RR, RR], None, 0, False),  # nothing finished to throw away: illegal (see below)
        ([R, S], STP, 1, True),  # stop keeps the take in progress, held: ← may still throw it away
        ([R, S, RR], STP, 0, False),
        ([R, S, K], STP, 1, False),
        ([R, S, N], STP, 1, False),  # → keeps the held take now
        ([R, S, T], STP, 1, False),  # the hold's time ran out: kept for good
        ([R, S, R], REC, 1, False),  # stop is not a dead end: record more
        ([R, N, S], STP, 1, True),
        ([RS], RES, 0, False),  # reset from READY: a warm-up, nothing recorded
        ([RS, N], REC, 0, False),  # next (or space) ends the warm-up and records
        ([RS, T], IDL, 0, False),  # its time running out does not start a take by itself
        ([RS, R], REC, 0, False),
        ([R, RS], RES, 1, True),
        ([S], STP, 0, False),
        ([S, R], REC, 0, False),
        ([R, N, N, N, N, N], STP, 3, True),  # after the last episode there is no reset; the last take is held
        ([R, N, N, N, N, N, R], REC, 3, False),  # ... and Space records more
        ([R, N, N, N, N, N, R, RR, T], REC, 3, False),  # a take past the plan re-recorded: recorded again
        ([R, N, N, N, N, N, R, RR, N], REC, 3, False),  # (→ ends that reset early: recorded again too)
        ([R, N, N, N, N, N, R, RR, T, N], STP, 4, True),  # ... and kept, it stops again
        ([R, N, N, N, N, N, R, RR, S], STP, 3, False),
        ([R, F], STP, 1, True),  # a device failure ends the take, held for Keep / Drop
        ([R, F, RR], STP, 0, False),
        ([R, F, K], STP, 1, False),
        ([R, N, F], STP, 1, True),  # a failure in a reset: no automatic next take; the last take stays held
    ],
)
def test_sequences(events, phase, kept, held):
    if phase is None:
        m, _ = run(events[:-1])
        with pytest.raises(IllegalTransition):
            m.fire(events[-1])
        return
    m, _ = run(events)
    assert m.phase is phase
    assert m.kept == kept
    assert m.held == held


def test_no_reset_time_starts_next_take_at_once_and_rerecords_at_once():
    m, steps = run([R, N], reset=0)
    assert m.phase is REC and m.kept == 1
    assert steps[-1].takes == (Take.KEEP_CURRENT, Take.CONFIRM_PREVIOUS, Take.START)
    m, steps = run([R, RR], reset=0)
    assert m.phase is REC and steps[-1].takes == (Take.DISCARD_CURRENT, Take.START)


def test_take_effects_of_reset_phase():
    _, steps = run([R, N, RR])
    assert steps[1].takes == (Take.KEEP_CURRENT,) and steps[1].held  # held while the reset runs
    assert steps[2].takes == (Take.DISCARD_PREVIOUS,)
    _, steps = run([R, N, N])
    assert steps[2].takes == (Take.CONFIRM_PREVIOUS, Take.START)
    _, steps = run([R, RR])
    assert steps[1].takes == (Take.DISCARD_CURRENT,) and steps[1].after is RES


def test_a_cut_take_waits_for_a_decision_before_the_next_take():
    m, steps = run([R, F])
    assert steps[-1].cut and m.cut
    assert not m.allowed(R) and not m.allowed(T)  # neither Space nor a timer records over it
    assert m.allowed(K) and m.allowed(RR)
    m.fire(K)
    assert m.allowed(R) and not m.cut


@pytest.mark.parametrize(
    "events, illegal",
    [([], N), ([], RR), ([], K), ([R], R), ([R, S, K], N), ([R, S], S), ([R, S], RS), ([RS], RS),
     ([R, S, RR], RR), ([R, S, K], K), ([R, RR], RR), ([RS], RR), ([R, F], R)],
)
def test_illegal_events_raise_and_change_nothing(events, illegal):
    m, _ = run(events)
    phase, kept = m.phase, m.kept
    assert not m.allowed(illegal)
    with pytest.raises(IllegalTransition):
        m.fire(illegal)
    assert (m.phase, m.kept) == (phase, kept)


def test_kept_counts_only_kept_takes_after_many_rerecords():
    m, _ = run([R, RR, T, RR, T, N, RR, N, N, N], episodes=5)
    # re-recorded twice in the take; kept, thrown away in its reset; recorded again and kept
    assert m.kept == 1 and m.phase is REC

"""The session's transition table, driven event by event (legal and illegal)."""

from __future__ import annotations

import pytest

from station.session.state import Event, IllegalTransition, Phase, SessionMachine, Take

R, N, RR, S, RS = Event.RECORD, Event.NEXT, Event.RERECORD, Event.STOP, Event.RESET
IDL, REC, RES, STP = Phase.IDLE, Phase.RECORDING, Phase.RESETTING, Phase.STOPPED


def run(events, episodes=3, reset=5.0):
    m = SessionMachine(episodes, reset)
    steps = [m.fire(e) for e in events]
    return m, steps


@pytest.mark.parametrize(
    "events, phase, episode",
    [
        ([], IDL, 0),
        ([R], REC, 0),
        ([R, N], RES, 1),
        ([R, N, N], REC, 1),
        ([R, N, RR], REC, 0),  # rerecord during reset throws the take just finished away
        ([R, RR], REC, 0),  # rerecord during a take throws it away, same episode
        ([R, RR, RR, N], RES, 1),
        ([R, S], STP, 1),  # stop keeps the take in progress
        ([R, N, S], STP, 1),
        ([RS], RES, 0),  # reset from idle: teleop live, nothing recorded
        ([RS, N], REC, 0),
        ([RS, RR], REC, 0),  # nothing finished to discard
        ([R, RS], RES, 1),
        ([S], STP, 0),
        ([R, N, N, N, N, N], STP, 3),  # after the last episode there is no reset
    ],
)
def test_sequences(events, phase, episode):
    m, _ = run(events)
    assert m.phase is phase
    assert m.episode == episode


def test_no_reset_time_starts_next_take_at_once():
    m, steps = run([R, N], reset=0)
    assert m.phase is REC and m.episode == 1
    assert steps[-1].takes == (Take.KEEP_CURRENT, Take.CONFIRM_PREVIOUS, Take.START)


def test_take_effects_of_reset_phase():
    _, steps = run([R, N, RR])
    assert steps[1].takes == (Take.KEEP_CURRENT,)  # held while the reset runs
    assert steps[2].takes == (Take.DISCARD_PREVIOUS, Take.START)
    _, steps = run([R, N, N])
    assert steps[2].takes == (Take.CONFIRM_PREVIOUS, Take.START)


@pytest.mark.parametrize(
    "events, illegal",
    [([], N), ([], RR), ([R], R), ([R, S], R), ([R, S], N), ([R, S], S), ([R, S], RR), ([R, S], RS), ([RS], RS)],
)
def test_illegal_events_raise_and_change_nothing(events, illegal):
    m, _ = run(events)
    phase, episode = m.phase, m.episode
    assert not m.allowed(illegal)
    with pytest.raises(IllegalTransition):
        m.fire(illegal)
    assert (m.phase, m.episode) == (phase, episode)


def test_numbering_after_many_rerecords_counts_only_kept_takes():
    m, _ = run([R, RR, RR, N, RR, RR, N, N, N], episodes=5)
    # take 0 kept, rerecord in reset discards it, take 0 again kept, then take 1 started and kept
    assert m.kept == 2 and m.episode == 2


def test_first_episode_offset_for_resume():
    m = SessionMachine(2, 0, first_episode=7)
    m.fire(R)
    assert m.episode == 7
    m.fire(N)
    assert m.episode == 8

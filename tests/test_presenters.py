"""What the session bar says, from plain facts: no window, no Qt."""

from __future__ import annotations

from station.saving.spool import CadenceReport
from station.session.state import Phase
from widgets.presenters import (
    SessionFacts,
    cadence_details,
    cadence_words,
    session_view,
    thrown_away_words,
    waiting_takes_words,
)


def facts(**kw) -> SessionFacts:
    base = dict(dataset="local/d", phase=Phase.IDLE, episode=3, kept=2, planned=50, duration_s=None,
                remaining_s=0.0)
    base.update(kw)
    return SessionFacts(**base)


def test_numbering_says_the_dataset_index_and_the_session_progress_apart():
    view = session_view(facts(phase=Phase.RECORDING, duration_s=60.0, remaining_s=45.0))
    assert view.episode == "Episode 3  ·  2 of 50 kept"
    assert view.countdown == "45 s left" and abs(view.fraction - 0.25) < 1e-9
    assert session_view(facts()).episode == "Next: episode 3  ·  2 of 50 kept"
    stopped = session_view(facts(phase=Phase.STOPPED, kept=50, held=True))
    assert stopped.episode == "Stopped  ·  next: episode 3  ·  50 of 50 kept"
    assert "Space: record more" in stopped.hint and "← or R: throw the last take away" in stopped.hint
    assert "throw" not in session_view(facts(phase=Phase.STOPPED, kept=50)).hint  # nothing held any more


def test_the_countdown_says_when_it_is_held_for_typing():
    view = session_view(facts(phase=Phase.RESETTING, duration_s=10.0, remaining_s=4.2, countdown_held=True,
                              typing_task=True))
    assert view.countdown == "4 s until the next take, held while you type"
    asking = session_view(facts(phase=Phase.RESETTING, duration_s=10.0, remaining_s=4.2, countdown_held=True))
    assert asking.countdown == "4 s until the next take, held"  # by the quit question, not by typing
    held_stop = session_view(facts(phase=Phase.STOPPED, duration_s=10.0, remaining_s=6.0, held=True))
    assert held_stop.countdown == "6 s to throw it away (←)"
    assert "← or R: throw the last take away" in held_stop.hint


def test_once_the_last_take_is_committed_the_stopped_hint_offers_no_throw_away_or_keep():
    done = session_view(facts(phase=Phase.STOPPED, kept=20, planned=20, held=False))
    assert "Space: record more" in done.hint
    assert "throw" not in done.hint and "keep it" not in done.hint and done.countdown == ""


def test_a_reset_offers_to_throw_the_last_take_away_only_while_there_is_one():
    after_kept = session_view(facts(phase=Phase.RESETTING, duration_s=5.0, remaining_s=3.0, held=True))
    assert "← or R: throw the last take away" in after_kept.hint
    after_thrown = session_view(facts(phase=Phase.RESETTING, duration_s=5.0, remaining_s=3.0, held=False))
    assert "←" not in after_thrown.hint and "Space or →: next take" in after_thrown.hint


def test_warm_up_and_a_cut_take_say_what_to_do():
    warm = session_view(facts(phase=Phase.RESETTING, duration_s=5.0, remaining_s=5.0, warmup=True))
    assert warm.episode.startswith("Warm-up") and "nothing recorded" in warm.hint
    assert warm.countdown == "5 s of warm-up left"
    cut = session_view(facts(phase=Phase.STOPPED, held=True, cut=True))
    assert "keep it (flagged)" in cut.hint and "drop it" in cut.hint
    assert cut.episode == "Stopped  ·  next: episode 3  ·  1 of 50 kept · 1 waits"  # kept only once kept
    assert thrown_away_words() == "Last take: thrown away (← / R)."


def test_cadence_words_count_filled_ticks_and_flag_over_two_percent():
    c = CadenceReport(fps=30, ticks=300, late_ticks=2, worst_period_ms=120, repeated_frames={"front": 4},
                      stalled_cameras=[], filled_ticks=9)
    words = cadence_details(c)
    assert "9 filled ticks (3.0 %: flagged)" in words and "repeated frames: front 4" in words
    assert cadence_words(c) == "Last take: 9 filled ticks, +2 more."  # the worst, and how many more
    c.filled_ticks = 3
    assert "3 filled ticks (1.0 %)" in cadence_details(c)
    c.interrupted = "camera front sent nothing for over 1 s"
    assert "ended early: camera front" in cadence_details(c)
    assert cadence_words(c) == "Last take: ended early, +3 more."
    assert cadence_words(CadenceReport(fps=30, ticks=240, repeated_frames={"front": 2, "wrist": 1})) == \
        "Last take: 3 frames repeated."
    clean = CadenceReport(fps=30, ticks=180, late_ticks=0, worst_period_ms=34, repeated_frames={"front": 0},
                          stalled_cameras=[])
    assert cadence_words(clean) == "Last take: 6.0 s, all on time."  # short: it shares the hint's line


def test_takes_waiting_in_a_datasets_spool_are_counted_before_appending(tmp_path):
    from station.saving.spool import find_spools, spool_root

    def waiting_takes_words_at(root):
        return waiting_takes_words(*(len(spools) for spools in find_spools(root)))

    assert waiting_takes_words_at(tmp_path) == ""  # no spool at all
    spools = spool_root(tmp_path)
    (spools / "take-0001").mkdir(parents=True)
    (spools / "take-0001" / "done.json").write_text("{}")
    assert waiting_takes_words_at(tmp_path) == " 1 take recorded there earlier waits to be saved: appending saves it."
    (spools / "take-0002").mkdir()  # cut short by a crash: the window asks Keep or Drop
    (spools / "take-0003").mkdir()
    (spools / "take-0003" / "done.json").write_text("{}")
    assert waiting_takes_words_at(tmp_path) == (
        " 2 takes recorded there earlier wait to be saved: appending saves them."
        " 1 take a crash cut short waits there: appending asks whether to keep it.")


def test_the_status_bar_says_simulated_arms_with_a_session_or_without():
    from types import SimpleNamespace

    from widgets.live_refresh import arms_words

    assert arms_words(SimpleNamespace(simulated=True)) == "simulated (demo)"  # not "connected" between sessions
    assert arms_words(SimpleNamespace(simulated=False)) == "connected"
    assert arms_words(None) == "not connected"

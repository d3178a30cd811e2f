"""What the session bar says, from plain facts: no Qt, tested without a window (the save queue's words are in
widgets.save_queue_presenter).

The controller gathers the facts (from the recorder and the queue) and hands the words to the views. Episode
numbers come from one source, the save queue (the dataset's index as LeRobot counts it); the session's progress
is said apart from it: "Episode 3  ·  2 of 50 kept".
"""

from __future__ import annotations

from dataclasses import dataclass

from station.saving.spool import CadenceReport
from station.session.loop import FLAG_FILLED_FRACTION
from station.session.state import Phase

HINTS = {
    Phase.IDLE: "Space: record   ↓: warm-up reset (records nothing)   F2: edit the task",
    Phase.RECORDING: "→ or N: keep the take   ← or R: throw it away, record again   Esc or Q: stop",
    Phase.RESETTING: "Space or →: next take   ← or R: throw the last take away   F2: task   Esc: stop",
    Phase.STOPPED: "Space: record more   ← or R: throw the last take away   → or N: keep it",  # then Ctrl+Q
}
HINT_STOPPED_KEPT = "Space: record more   Ctrl+Q: quit (waits for saves)"
HINT_RESET_NOTHING_HELD = "Space or →: next take   F2: task   Esc: stop"  # the last take was thrown away
HINT_CUT = "A take was cut short by a failure (see the message above)   → or N: keep it (flagged)   ← or R: drop it"
HINT_WARMUP = "Warm-up: arms live, nothing recorded   Space or →: record now   Esc: stop"
HINT_NO_SESSION = "No session: see the message above."
HINT_TYPING_NEXT_TASK = "Typing the next take's task (this take keeps its own)   Enter or Esc: the keys again"
HINT_TYPING_TASK = "Typing the task   Enter or Esc: the keys again"


@dataclass(frozen=True)
class SessionView:
    dataset: str
    phase: Phase | None
    episode: str  # e.g. "Episode 3  ·  2 of 50 kept"
    remaining_s: float | None  # seconds left in the current phase, None when it has no end
    fraction: float  # 0..1 of the current phase
    hint: str  # what to press next
    countdown: str = ""  # the countdown in words ("12 s until the next take")


@dataclass(frozen=True)
class SessionFacts:
    dataset: str
    phase: Phase
    episode: int  # the dataset's index of the take in progress, or of the next take (from the queue)
    kept: int  # takes kept in this session
    planned: int  # takes planned for this session
    duration_s: float | None  # the phase's length, None when it has no countdown
    remaining_s: float  # seconds left in the phase's countdown
    countdown_held: bool = False  # held while the task is typed or a take is replayed
    held_for_replay: bool = False  # ... the replay window is open
    held: bool = False  # the last take is held: it may still be thrown away
    cut: bool = False  # ... it was cut short by a failure and waits for Keep / Drop
    warmup: bool = False  # a reset phase started from READY
    typing_task: bool = False  # the task field has the keys (during a take: the next take's task)


def progress_words(kept: int, planned: int, cut: bool = False) -> str:
    """`kept` counts a take cut short by a failure until it is dropped; said apart while it waits."""
    if cut:
        return f"{max(0, kept - 1)} of {planned} kept · 1 waits"
    return f"{kept} of {planned} kept"


def session_view(f: SessionFacts) -> SessionView:
    progress = progress_words(f.kept, f.planned, f.cut)
    if f.phase is Phase.RECORDING:
        episode = f"Episode {f.episode}  ·  {progress}"
    elif f.phase is Phase.STOPPED:
        episode = f"Stopped  ·  next: episode {f.episode}  ·  {progress}"
    elif f.warmup:
        episode = f"Warm-up  ·  next: episode {f.episode}  ·  {progress}"
    else:
        episode = f"Next: episode {f.episode}  ·  {progress}"
    remaining: float | None = None
    fraction = 0.0
    countdown = ""
    if f.duration_s:
        remaining = max(0.0, f.remaining_s)
        fraction = 1.0 - remaining / f.duration_s
        if f.phase is Phase.RECORDING:
            countdown = f"{remaining:.0f} s left"
        elif f.phase is Phase.STOPPED:
            countdown = f"{remaining:.0f} s to throw it away (←)"
        elif f.warmup:
            countdown = f"{remaining:.0f} s of warm-up left"
        else:
            countdown = f"{remaining:.0f} s until the next take"
        if f.countdown_held:
            countdown += ", held while the replay is open" if f.held_for_replay else \
                ", held while you type" if f.typing_task else ", held"  # (a question is open: quitting)
    hint = HINTS[f.phase]
    if f.phase is Phase.STOPPED and not f.held:
        hint = HINT_STOPPED_KEPT  # nothing left to throw away or keep
    if f.cut:
        hint = HINT_CUT
    elif f.warmup and f.phase is Phase.RESETTING:
        hint = HINT_WARMUP
    elif f.phase is Phase.RESETTING and not f.held:  # thrown away already (← in the take): nothing to throw
        hint = HINT_RESET_NOTHING_HELD
    if f.typing_task:  # the session's keys type: say how to get them back
        hint = HINT_TYPING_NEXT_TASK if f.phase is Phase.RECORDING else HINT_TYPING_TASK
    return SessionView(f.dataset, f.phase, episode, remaining, fraction, hint, countdown)


def no_session_view(dataset: str) -> SessionView:
    return SessionView(dataset, None, "", None, 0.0, HINT_NO_SESSION)


def cadence_words(c: CadenceReport | None) -> str:
    """The last take's timing in a few words that fit beside the hint at 1280 px: its length when all went
    well, else what went worst and how many other things went wrong; `cadence_details` says it all (the
    line's tooltip)."""
    if c is None:
        return "No take yet in this session."
    seconds = c.ticks / c.fps if c.fps else 0.0
    repeated = sum((c.repeated_frames or {}).values())
    problems = [words for words, happened in (
        ("ended early", c.interrupted), ("camera stalled", c.stalled_cameras),
        (f"{c.filled_ticks} filled tick{'s' if c.filled_ticks != 1 else ''}", c.filled_ticks),
        (f"{c.late_ticks} late tick{'s' if c.late_ticks != 1 else ''}", c.late_ticks),
        (f"{repeated} frame{'s' if repeated != 1 else ''} repeated", repeated)) if happened]
    if not problems:
        return f"Last take: {seconds:.1f} s, all on time."
    more = f", +{len(problems) - 1} more" if len(problems) > 1 else ""
    return f"Last take: {problems[0]}{more}."


def cadence_details(c: CadenceReport | None) -> str:
    """The last take's timing in full: every figure and what went wrong (the last-take line's tooltip)."""
    if c is None:
        return "No take yet in this session."
    seconds = c.ticks / c.fps if c.fps else 0.0
    parts = [f"Last take: {c.ticks} frames ({seconds:.1f} s)"]
    if c.late_ticks:
        parts.append(f"{c.late_ticks} tick{'s' if c.late_ticks != 1 else ''} late "
                     f"(worst gap {c.worst_period_ms:.0f} ms)")
    elif not c.filled_ticks and not any((c.repeated_frames or {}).values()) and not c.stalled_cameras \
            and not c.interrupted:
        return f"Last take: {seconds:.1f} s, all on time."
    if c.filled_ticks:
        flagged = ": flagged" if c.filled_fraction > FLAG_FILLED_FRACTION else ""
        parts.append(f"{c.filled_ticks} filled tick{'s' if c.filled_ticks != 1 else ''} "
                     f"({100 * c.filled_fraction:.1f} %{flagged})")
    repeats = {k: v for k, v in (c.repeated_frames or {}).items() if v}
    if repeats:
        parts.append("repeated frames: " + ", ".join(f"{k} {v}" for k, v in repeats.items()))
    if c.stalled_cameras:
        parts.append("camera stalled: " + ", ".join(c.stalled_cameras))
    if c.interrupted:
        parts.append(f"ended early: {c.interrupted}")
    return ", ".join(parts) + "."


# The last-take line is short enough to be whole at 1280 px: the episode label beside it says which episode
# comes next, and a banner says the rest of a drop.
def dropped_words(dropped: int) -> str:
    """The last-take line after Review > Drop last take (the number comes from the dataset)."""
    return f"Last take: episode {dropped} dropped."


def put_back_words(episode: int) -> str:
    """The last-take line after Review > Put the dropped take back."""
    return f"Last take: episode {episode} put back."


def thrown_away_words() -> str:
    return "Last take: thrown away (← / R)."


def waiting_takes_words(complete: int, cut_short: int) -> str:
    """What a dataset's spool holds for the next session (`station.saving.spool.find_spools`), said before the
    operator chooses to append: takes left unsaved (Quit anyway, a failed save, a crash between takes), which
    appending saves, and takes a crash cut short, which the window then offers to keep or drop; "" if none."""

    def takes(n: int) -> str:
        return f"{n} take{'s' if n != 1 else ''}"

    words = ""
    if complete:
        words += (f" {takes(complete)} recorded there earlier {'wait' if complete != 1 else 'waits'} to be saved: "
                  f"appending saves {'them' if complete != 1 else 'it'}.")
    if cut_short:
        words += (f" {takes(cut_short)} a crash cut short {'wait' if cut_short != 1 else 'waits'} there: "
                  f"appending asks whether to keep {'them' if cut_short != 1 else 'it'}.")
    return words

"""The display gives way to the control loop: plots first, cameras only when the GUI itself falls behind."""

from widgets.display_rate import CALM_S, LEVELS, LOOP_LEVELS, DisplayRate

PULL = 1 / 30


def run(rate: DisplayRate, seconds: float, start: float, late_every_s: float | None = None, gap: float = PULL,
        late: int = 0) -> tuple[float, int, list[tuple[bool, bool]]]:
    t, drawn = start, []
    next_late = start + (late_every_s or 1e9)
    while t < start + seconds:
        if t >= next_late:
            late += 1
            next_late += late_every_s or 1e9
        d = rate.due(t, late)
        drawn.append((d.cameras, d.plots))
        t += gap
    return t, late, drawn


def test_full_rate_while_the_loop_keeps_time():
    rate = DisplayRate(PULL)
    _t, _late, drawn = run(rate, 5.0, 0.0)
    assert rate.level == 0 and all(c and p for c, p in drawn)


def test_late_ticks_slow_the_plots_but_never_the_cameras_and_calm_brings_them_back():
    rate = DisplayRate(PULL)
    t, late, drawn = run(rate, 5.0, 0.0, late_every_s=0.4)
    assert rate.level == LOOP_LEVELS - 1 and rate.steps_down == LOOP_LEVELS - 1
    tail = drawn[-60:]
    assert all(c for c, _p in tail) and sum(p for _c, p in tail) == 60 // LEVELS[rate.level][1]
    t, late, _drawn = run(rate, CALM_S * (LOOP_LEVELS + 1), t, late=late)
    assert rate.level == 0


def test_a_gui_that_falls_behind_also_halves_the_cameras():
    rate = DisplayRate(PULL)
    _t, _late, drawn = run(rate, 5.0, 0.0, gap=4 * PULL)
    assert rate.level == len(LEVELS) - 1
    assert sum(c for c, _p in drawn[-10:]) == 5

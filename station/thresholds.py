"""Numbers the station judges by, each defined once (the window, the headless lines and the tests read them)."""

from __future__ import annotations

# A camera that delivered no new frame for this long is "stalled": its last frame is repeated in the take and
# the window shows "no signal". (A camera silent for much longer ends the take: see the session.)
STALL_AFTER_S = 0.5
STALL_AFTER_FRAMES = 2.5  # ... and never less than this many frame periods (at 1 fps a frame comes once a second)


def stall_after_s(fps: float) -> float:
    """How long a camera running at `fps` may deliver nothing before it counts as stalled."""
    return max(STALL_AFTER_S, STALL_AFTER_FRAMES / fps) if fps > 0 else STALL_AFTER_S

# Below this much free space where the dataset lives, the window warns once and the status bar turns amber.
LOW_DISK_BYTES = 5e9

"""Where the window goes and how its space is shared: the rules, Qt-free (rectangles are (x, y, w, h) tuples).

The window opens at a size that fits the screen it is on; a remembered size is used only if it still fits.
The default layout gives the live view (cameras and six joint plots) most of the height and the save queue a
few rows; a remembered layout that squashes the live view is ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Rect = tuple[int, int, int, int]

PREFERRED_SIZE = (1500, 950)
MIN_PLOTS_HEIGHT = 240  # six joint plots in three rows stay readable down to this
MIN_CAMERAS_WIDTH = 360
MIN_PLOTS_WIDTH = 380
QUEUE_ROWS_SMALL = 3  # rows of the save queue shown by default on a small screen
QUEUE_ROWS_LARGE = 6


def initial_rect(available: Rect, preferred: tuple[int, int] = PREFERRED_SIZE) -> Rect:
    """Nine tenths of a large screen (at least the preferred size), the whole of a small one; centred."""
    ax, ay, aw, ah = available
    w, h = min(max(preferred[0], aw * 9 // 10), aw), min(max(preferred[1], ah * 9 // 10), ah)
    if aw - w < 80 and ah - h < 80:  # nearly the whole screen: take all of it rather than leave a sliver
        w, h = aw, ah
    return ax + (aw - w) // 2, ay + (ah - h) // 2, w, h


def fits(rect: Rect, available: Rect, slack: int = 8) -> bool:
    """The rectangle lies within the screen's available area (a few pixels of frame allowed)."""
    x, y, w, h = rect
    ax, ay, aw, ah = available
    return (w > 0 and h > 0 and x >= ax - slack and y >= ay - slack
            and x + w <= ax + aw + slack and y + h <= ay + ah + slack)


@dataclass(frozen=True)
class Shares:
    queue_height: int  # the save-queue panel
    cameras_width: int
    plots_width: int


def default_shares(window_w: int, window_h: int, row_h: int = 26) -> Shares:
    """How the default layout shares the window: a few queue rows, cameras and plots side by side."""
    rows = QUEUE_ROWS_SMALL if window_h < 900 else QUEUE_ROWS_LARGE
    queue = 64 + rows * row_h  # the summary line and the table's header, then the rows
    live_w = max(0, window_w - 20)
    plots = max(MIN_PLOTS_WIDTH, int(live_w * 0.46))
    return Shares(queue_height=queue, cameras_width=max(0, live_w - plots), plots_width=plots)


def usable(plots_height: int, cameras_width: int, plots_width: int, queue_visible: bool,
           queue_height: int, window_h: int) -> bool:
    """A layout the operator can work with: readable plots, cameras and plots both shown, the queue not huge."""
    if plots_height < MIN_PLOTS_HEIGHT:
        return False
    if cameras_width < MIN_CAMERAS_WIDTH or plots_width < MIN_PLOTS_WIDTH:
        return False
    return not (queue_visible and queue_height > 0.45 * window_h)


# -- the banners: a few shown, the rest folded into a count ("show all"), so the live view and the newest
# row of the save queue keep their room at laptop heights --
SMALL_WINDOW_H = 820  # below this height (1280x720, 1366x768) the banners get less room


def banners_shown(window_h: int) -> int:
    """How many banners are shown when the older ones are folded."""
    return 2 if window_h < SMALL_WINDOW_H else 3 if window_h < 1000 else 4


def banners_height(window_h: int) -> int:
    """The most height the banners take (beyond it they scroll): never the live view's or the queue's room."""
    return 112 if window_h < SMALL_WINDOW_H else min(220, window_h // 5)


QUESTION, OFFER, NOTICE = 2, 1, 0  # a banner's claim to stay in view: the session waits for its answer (Keep /
# Drop, Retry), it offers a way back (Connect arms…), or it only says something


def shown_banners(claims: Sequence[int], limit: int) -> list[int]:
    """Which banners (indices, oldest first) stay in view when the rest are folded: the newest (just said),
    then the questions, then the offers, then the newest of the others."""
    count = len(claims)
    if count <= limit:
        return list(range(count))
    newest = count - 1
    rest = sorted(range(newest), key=lambda i: (claims[i], i), reverse=True)
    return sorted([newest, *rest[:max(0, limit - 1)]])

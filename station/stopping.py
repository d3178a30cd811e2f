"""Stop signals (Ctrl-C, SIGTERM from `systemctl stop`/`docker stop`, SIGHUP from a closed terminal or a logout).

From the first moment of the process they are remembered instead of raising KeyboardInterrupt in the middle
of an import or killing the process mid-start: a command that records handles them like Ctrl-C (the take in
progress is kept and the saves finish, see station.session.stop_signals); every other command gets the
usual behaviour back once it is chosen (`restore`). A signal ignored when the process started (nohup) stays
ignored. Standard library only, so it can be installed before anything heavy is imported.
"""

from __future__ import annotations

import signal

TYPE_CHECKING = False  # typing itself takes milliseconds to import: nothing but `signal` comes before the handlers
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_previous: dict[int, Any] = {}
_received: list[int] = []


def _remember(signum: int, _frame: FrameType | None) -> None:
    _received.append(signum)


def defer() -> None:
    """Remember stop signals from now on (main thread only; does nothing elsewhere or if already deferring)."""
    if _previous or not _on_main_thread():
        return
    for sig in STOP_SIGNALS:
        current = signal.getsignal(sig)
        if current is signal.SIG_IGN:
            continue
        _previous[sig] = current
        signal.signal(sig, _remember)


def deferring() -> bool:
    return bool(_previous)


def take_received() -> list[int]:
    """The stop signals received since the last call (oldest first), forgetting them."""
    taken = list(_received)
    del _received[: len(taken)]
    return taken


def requested() -> bool:
    """A stop signal came and has not been taken yet."""
    return bool(_received)


def restore() -> bool:
    """Give the signals their earlier handlers back. Returns True if a stop signal came meanwhile."""
    if _on_main_thread():
        for sig, handler in _previous.items():
            signal.signal(sig, handler)
        _previous.clear()
    return bool(take_received())


def _on_main_thread() -> bool:
    """Signal handlers can be set from the main thread only (asked without importing threading)."""
    current = signal.getsignal(signal.SIGINT)
    try:
        signal.signal(signal.SIGINT, current if current is not None else signal.SIG_DFL)
    except ValueError:
        return False
    return True


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"

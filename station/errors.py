"""Errors the operator sees: each carries one plain sentence saying what is wrong and what to do.

Where a remedy is an action the window can offer (calibrate, append), the error has its own type and
carries the facts the offer needs: callers branch on the type, never on the wording.
"""

from __future__ import annotations

from pathlib import Path


class StationError(Exception):
    """A problem with the operator's input or environment. str(error) is the one-line message shown.

    The command line prints it on stderr and exits 2; the window shows it in plain words.
    """


class ConfigError(StationError):
    """An option value that cannot work (fps <= 0, unknown camera source, ...)."""


class DatasetError(StationError):
    """A dataset that cannot be created, opened, appended to or validated."""


class DatasetExistsError(DatasetError):
    """The folder chosen for a new dataset already holds one: appending to it (--resume) is the remedy."""

    def __init__(self, message: str, root: Path) -> None:
        super().__init__(message)
        self.root = root


class DatasetMismatchError(DatasetError):
    """A dataset this session cannot append to as configured. str(error) names the difference and the
    command-line options that would fit (`--vcodec h264`); `difference` is the difference alone, for the window."""

    def __init__(self, message: str, difference: str) -> None:
        super().__init__(message)
        self.difference = difference


class HardwareError(StationError):
    """An arm or camera that cannot be opened or stopped answering."""


class CalibrationError(HardwareError):
    """A calibration file that is missing or unreadable, or a calibration procedure that cannot finish."""


class CalibrationNeeded(CalibrationError):
    """An arm without a usable calibration file: calibrating it is the remedy."""

    def __init__(self, message: str, role: str, arm_id: str, path: Path) -> None:
        super().__init__(message)
        self.role = role
        self.arm_id = arm_id
        self.path = path


class DiskFullError(StationError):
    """Not enough free space to record or save."""


def describe_error(error: BaseException) -> str:
    """A failure in plain words: our own errors are already sentences; others get their type and text."""
    if isinstance(error, StationError):
        return str(error)
    if isinstance(error, OSError) and error.strerror:
        if error.filename and error.filename2:  # a move: either folder may be the one that refused
            return f"{error.strerror} (moving {error.filename} to {error.filename2})"
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{where}"
    if isinstance(error, OSError) and str(error):  # raised with a sentence of ours, not by the system
        return str(error)
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

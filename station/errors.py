"""Errors the operator sees: each carries one plain sentence saying what is wrong and what to do."""


class StationError(Exception):
    """A problem with the operator's input or environment. str(error) is the one-line message shown.

    The command line prints it on stderr and exits 2; the window shows it in plain words.
    """


class ConfigError(StationError):
    """An option value that cannot work (fps <= 0, unknown camera source, ...)."""


class DatasetError(StationError):
    """A dataset that cannot be created, opened, appended to or validated."""


class HardwareError(StationError):
    """An arm or camera that cannot be opened or stopped answering."""


class DiskFullError(StationError):
    """Not enough free space to record or save."""
